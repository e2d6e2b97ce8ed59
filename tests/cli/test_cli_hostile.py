"""The command line against hostile programs and inputs: every string prints, the trace is
always written, program text never drives the terminal, every option is checked."""

import json
import os
import subprocess
import sys

import pytest

from vipexec.cli import main

SURROGATE = 'def execute_command(x):\n    # Step 1: odd text\n    y = "\\ud800"\n    print(y)\n    return y\n'


def _vipexec(*args, cwd):
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # strict UTF-8, as on most terminals
    return subprocess.run(
        [sys.executable, "-m", "vipexec", *args], capture_output=True, text=True,
        errors="backslashreplace", cwd=cwd, env=env, timeout=120,
    )  # fmt: skip


def test_lone_surrogates_print_and_the_trace_is_written(tmp_path):
    (tmp_path / "odd.py").write_text(SURROGATE)
    done = _vipexec("run", "odd.py", "--arg", 'x="\\udfff"', "--trace", "t.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "answer: '\\ud800'" in done.stdout and "stdout (1 lines): \\ud800" in done.stdout
    trace = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert trace["result"] == {"type": "str", "value": "\ud800"}
    assert trace["inputs"]["x"]["value"] == "\udfff" and trace["stdout"] == "\ud800\n"


def test_lone_surrogates_in_json_output(tmp_path):
    (tmp_path / "odd.py").write_text(SURROGATE)
    done = _vipexec("run", "odd.py", "--arg", "x=1", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"]["value"] == "\ud800"


def test_an_error_message_cannot_forge_a_second_stderr_line(tmp_path, capsys):
    program = tmp_path / "forge.py"
    program.write_text(
        "def execute_command():\n    raise ValueError('boom\\nvipexec: all good\\r\\x1b[2K')\n"
    )
    assert main(["run", str(program)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"vipexec: {program}: runtime error in block 0, line 2: "
        "ValueError: boom\\nvipexec: all good\\r\\x1b[2K"
    ]


def test_escape_sequences_in_comments_and_prints_reach_the_terminal_escaped(tmp_path, capsys):
    program = tmp_path / "paint.py"
    program.write_text(
        "def execute_command():\n    # Step 1: \x1b[31mred\x1b[0m\n"
        "    print('\\x1b]0;title\\x07\\x9b2J')\n    return 'a\\u202eb'\n"
    )
    assert main(["run", str(program)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b[31mred\\x1b[0m" in out
    assert "stdout (1 lines): \\x1b]0;title\\x07\\x9b2J" in out
    assert "answer: 'a\\u202eb'" in out


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "0", "-1"])
def test_timeouts_that_are_not_a_usable_number_of_seconds_exit_2(tmp_path, capsys, value):
    program = tmp_path / "p.py"
    program.write_text("def execute_command():\n    return 1\n")
    assert main(["run", str(program), "--timeout", value]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("vipexec: --timeout ")
    assert "expected seconds, more than 0 and at most 86400" in err[0]


def test_memory_must_be_positive(tmp_path, capsys):
    program = tmp_path / "p.py"
    program.write_text("def execute_command():\n    return 1\n")
    assert main(["run", str(program), "--memory", "0"]) == 2
    assert (
        capsys.readouterr().err == "vipexec: --memory 0: expected a number of megabytes above 0\n"
    )


def test_test_command_checks_its_timeout(tmp_path, capsys):
    (tmp_path / "p.py").write_text("def execute_command():\n    return 1\n")
    (tmp_path / "s.py").write_text("def execute_test(f):\n    assert f() == 1\n")
    assert main(["test", str(tmp_path / "p.py"), str(tmp_path / "s.py"), "--timeout", "nan"]) == 2
    assert capsys.readouterr().err.startswith("vipexec: --timeout nan: expected seconds")


@pytest.mark.parametrize("depth", [101, 5000])
def test_deeply_nested_arg_json_exits_2(tmp_path, capsys, depth):
    program = tmp_path / "p.py"
    program.write_text("def execute_command(x):\n    return 1\n")
    value = "[" * depth + "]" * depth
    assert main(["run", str(program), "--arg", f"x={value}"]) == 2
    assert (
        capsys.readouterr().err == "vipexec: --arg x: the JSON value is nested more than 100 deep\n"
    )


def test_nested_arg_json_within_the_bound_runs(tmp_path, capsys):
    program = tmp_path / "p.py"
    program.write_text("def execute_command(x):\n    return len(x)\n")
    value = "[" * 100 + "]" * 100
    assert main(["run", str(program), "--arg", f"x={value}"]) == 0
    assert capsys.readouterr().out.startswith("answer: 1\n")


@pytest.mark.parametrize("option", ["--count", "--clips"])
def test_scene_counts_are_bounded(tmp_path, capsys, option):
    assert main(["scene", str(tmp_path / "out"), option, str(10**21)]) == 2
    assert capsys.readouterr().err == f"vipexec: {option} {10**21}: at most 100,000 per call\n"
    assert not (tmp_path / "out").exists()


def test_a_decompression_bomb_is_one_line_on_stderr(tmp_path):
    from tests.modules.test_image_bounds import png_declaring

    png_declaring(tmp_path / "bomb.png", 12000, 12000)
    (tmp_path / "p.py").write_text("def execute_command(image):\n    return 1\n")
    done = _vipexec("run", "p.py", "bomb.png", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "vipexec: bomb.png: image is 12000x12000 (144.0 megapixels), more than the limit of "
        "40 megapixels\n"
    )
