"""The command line: exit codes 0/1/2, one clear line for every kind of bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vipexec.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenes")
    assert main(["scene", str(out), "--count", "2", "--seed", "1", "--clips", "1"]) == 0
    return out


def test_run_prints_answer_and_blocks(scenes, capsys):
    code = main(["run", str(EXAMPLES / "count_shapes.py"), str(scenes / "scene_0000.png")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith("answer: ")
    assert "step 1" in out.out and "find every shape" in out.out
    assert out.err == ""


def test_json_and_trace_file(scenes, tmp_path, capsys):
    trace = tmp_path / "trace.json"
    code = main(["run", str(EXAMPLES / "least_to_most.py"), str(scenes / "scene_0000.png"),
                 "--json", "--trace", str(trace)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == 1 and data["program"]["form"] == "script"
    assert json.loads(trace.read_text()) == data


def test_failing_program_exits_1_with_one_line(tmp_path, scenes, capsys):
    program = tmp_path / "bad.py"
    program.write_text("def execute_command(image):\n    # Step 1: oops\n    return 1 / 0\n")
    code = main(["run", str(program), str(scenes / "scene_0000.png")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        f"vipexec: {program}: runtime error in block 0, line 3: ZeroDivisionError: division by zero"
    ]


def test_timeout_and_policy_exit_1(tmp_path, capsys):
    program = tmp_path / "spin.py"
    program.write_text("while True:\n    pass\n")
    assert main(["run", str(program), "--timeout", "0.5"]) == 1
    assert "timeout error in block 0" in capsys.readouterr().err
    program.write_text("import os\n")
    assert main(["run", str(program)]) == 1
    err = capsys.readouterr().err
    assert f"{program}: block 0: policy: line 1: import of 'os' is not allowed (available:" in err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "missing.py", "missing.py: no such file"),
        (lambda d: d, "is a directory, not a program file"),
        (lambda d: _write(d / "latin.py", b"x = '\xe9'\n"), "not UTF-8 text"),
        (lambda d: _write(d / "empty.py", b"\n# nothing\n"), "the program is empty"),
        (lambda d: _write(d / "huge.py", b"x = 1\n" * 400_000), "too large for a program"),
        (lambda d: _write(d / "binary.py", b"\x7fELF\x00\x00"), "binary data"),
    ],
)
def test_unusable_programs_exit_2(tmp_path, capsys, setup, message):
    path = setup(tmp_path)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda d: d / "nope.png", "nope.png: no such file or directory"),
        (lambda d: _write(d / "broken.png", b"\x89PNG\r\n\x1a\nnot really"), "broken.png"),
        (lambda d: _write(d / "text.jpg", b"hello"), "text.jpg"),
    ],
)
def test_unreadable_inputs_exit_2(tmp_path, capsys, make_input, message):
    path = make_input(tmp_path)
    code = main(["run", str(EXAMPLES / "count_shapes.py"), str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0]


def test_input_count_and_missing_parameters(tmp_path, scenes, capsys):
    program = tmp_path / "two.py"
    program.write_text("def execute_command(image, query):\n    return query\n")
    assert main(["run", str(program), str(scenes / "scene_0000.png")]) == 2
    assert "no input for parameter 'query'" in capsys.readouterr().err
    code = main(["run", str(program), str(scenes / "scene_0000.png"), "--arg", "query=hi"])
    assert code == 0 and "answer: 'hi'" in capsys.readouterr().out
    image = str(scenes / "scene_0000.png")
    assert main(["run", str(program), image, image, image]) == 2
    assert "takes 2 input(s)" in capsys.readouterr().err


def test_several_images_go_to_a_single_parameter_as_a_list(tmp_path, scenes, capsys):
    program = tmp_path / "multi.py"
    program.write_text("def execute_command(images):\n    return len(images)\n")
    code = main(
        ["run", str(program), str(scenes / "scene_0000.png"), str(scenes / "scene_0001.png")]
    )
    assert code == 0 and "answer: 2" in capsys.readouterr().out


def test_videos_bind_to_video_parameters(tmp_path, scenes, capsys):
    program = tmp_path / "video.py"
    program.write_text(
        "def execute_command(video):\n    segment = VideoSegment(video)\n"
        "    return segment.num_frames\n"
    )
    assert main(["run", str(program), str(scenes / "clip_0000.gif")]) == 0
    assert "answer: 8" in capsys.readouterr().out


def test_bad_options_exit_2(capsys):
    assert main(["run", str(EXAMPLES / "count_shapes.py"), "--backend", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["run", str(EXAMPLES / "count_shapes.py"), "--arg", "oops"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    assert main(["scene", "/proc/forbidden/x"]) == 2


def test_run_on_the_synthetic_backend_does_not_import_torch(scenes):
    code = (
        "import sys\nfrom vipexec.cli import main\n"
        f"rc = main(['run', {str(EXAMPLES / 'count_shapes.py')!r}, "
        f"{str(scenes / 'scene_0000.png')!r}])\n"
        "heavy = [m for m in ('torch', 'transformers', 'ultralytics', 'open_clip', 'lightning') "
        "if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stderr
