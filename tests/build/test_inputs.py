"""Queries files, splits by image, and the one-line refusals of `vipexec build`."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vipexec.build.cli import build_command
from vipexec.build.splits import assign_splits
from vipexec.cli import main
from vipexec.core.errors import InvalidArgumentError
from vipexec.generate.queries import read_queries

SPLITS = (("train", 0.5), ("test", 0.5))


def _image(path: Path, value: int) -> Path:
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(path)
    return path


def _queries(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for value in range(6):
        _image(folder / f"{value}.png", value)
    shutil.copy(folder / "0.png", folder / "copy-of-0.png")
    return folder


def test_a_build_reads_queries_with_generate_and_needs_an_image(tmp_path, images):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"id": "a", "query": "how many?", "images": ["0.png"], "answer": 2}\n'
        '{"id": "b", "query": "what?", "images": []}\n'
        '{"id": "c", "query": "what?"}\n'
    )
    queries, errors = read_queries(path, images)
    assert [q.id for q in queries] == ["a", "b", "c"] and not errors
    queries, errors = read_queries(path, images, require_images=True)
    assert [q.id for q in queries] == ["a"]
    assert queries[0].answer == 2 and queries[0].images == ((images / "0.png").resolve(),)
    assert [e.split(": ")[0] for e in errors] == [f"{path}:2", f"{path}:3"]
    assert all("at least one image" in e for e in errors)


def test_queries_sharing_an_image_share_a_split(tmp_path, images):
    records = [
        {"id": "q0", "query": "x", "images": ["0.png"]},
        {"id": "q1", "query": "x", "images": ["1.png", "2.png"]},
        {"id": "q2", "query": "x", "images": ["2.png", "3.png"]},
        {"id": "q3", "query": "x", "images": ["copy-of-0.png"]},  # the same pixels as q0
        {"id": "q4", "query": "x", "images": ["4.png"]},
        {"id": "q5", "query": "x", "images": ["5.png"]},
    ]
    queries, _ = read_queries(_queries(tmp_path / "q.jsonl", records), images)
    for seed in range(20):
        splits = assign_splits(queries, seed=seed, splits=SPLITS)
        assert splits["q0"] == splits["q3"] and splits["q1"] == splits["q2"]
        assert assign_splits(queries[::-1], seed=seed, splits=SPLITS) == splits
    assert (
        len({tuple(assign_splits(queries, seed=s, splits=SPLITS).values()) for s in range(20)}) > 1
    )


def test_a_named_split_moves_its_group_and_conflicts_are_refused(tmp_path, images):
    records = [
        {"id": "q1", "query": "x", "images": ["1.png", "2.png"], "split": "test"},
        {"id": "q2", "query": "x", "images": ["2.png"]},
    ]
    queries, _ = read_queries(_queries(tmp_path / "q.jsonl", records), images)
    assert set(assign_splits(queries, seed=0, splits=SPLITS).values()) == {"test"}
    records[1]["split"] = "train"
    queries, _ = read_queries(_queries(tmp_path / "q.jsonl", records), images)
    with pytest.raises(InvalidArgumentError, match="share an image but name different splits"):
        assign_splits(queries, seed=0, splits=SPLITS)


def test_user_queries_without_synthetic_meta_are_logged_failures(tmp_path, images):
    queries = _queries(tmp_path / "q.jsonl", [{"id": "q0", "query": "x", "images": ["0.png"]}])
    out, err = io.StringIO(), io.StringIO()
    code = build_command(
        queries, images=images, out=tmp_path / "out", command="t", stdout=out, stderr=err,
        show_progress=False,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    assert "1 errors" in out.getvalue()
    log = (tmp_path / "out" / "errors.log").read_text()
    assert log.startswith("q0/0-no-fault: request failed: ValueError: query q0: the grammar ")
    assert "needs meta.family" in log


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--generator", "llm"], "--generator llm needs --llm-base-url URL"),
        (["--converter", "llm"], "--converter llm needs --llm-base-url URL"),
        (["--generator", "nope"], "--generator 'nope': one of grammar, llm"),
        (["--converter", "nope"], "--converter 'nope': one of template, llm"),
        (["--engine", "spark"], "--engine 'spark': one of local"),
        (["--workers", "0"], "--workers 0: expected a positive"),
        (["--max-steps", "0"], "--max-steps"),
        (["--config", "missing.yaml"], "--config missing.yaml: no"),
    ],
)
def test_build_refusals_are_one_line(tmp_path, images, capfd, monkeypatch, options, message):
    for name in ("VIPEXEC_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    queries = _queries(tmp_path / "q.jsonl", [{"id": "q0", "query": "x", "images": ["0.png"]}])
    argv = ["build", str(queries), "--images", str(images), "--out", str(tmp_path / "o")]
    assert main([*argv, *options]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_dataset_refuses_a_file_name(tmp_path, capfd):
    assert main(["dataset", str(tmp_path / "steps.jsonl")]) == 2
    assert "writes a folder" in capfd.readouterr().err
    assert main(["dataset", "stats"]) == 2
    assert "name the built folder" in capfd.readouterr().err


def test_a_synthetic_build_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from vipexec.cli import main; "
        f"code = main(['dataset', {str(tmp_path / 'o')!r}, '--queries', '2']); "
        "assert code == 0, code; "
        "print(sorted(m for m in ('torch', 'transformers', 'ray') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_progress_counts_queries_programs_steps_and_errors():
    from vipexec.build.progress import BuildProgress
    from vipexec.build.unit import QueryResult

    stream = io.StringIO()
    bar = BuildProgress(stream, enabled=True)
    bar.start(3, 1)
    result = QueryResult("q", rows=[{"completions": ["a", "b"]}], errors=["q: broke"])
    bar.advance(result)
    bar.advance(result)
    bar.close()
    assert bar.counts == {"programs": 2, "steps": 4, "errors": 2}
    shown = stream.getvalue()
    assert "3/3" in shown and "2 programs, 4 steps, 2 errors" in shown and "queries/s" in shown
