"""Exactly-once builds: a SIGKILLed build, resumed, equals an uninterrupted one; a torn journal
line is ignored; another command on the same folder is refused."""

import io
import json
import signal
import subprocess
import sys
import time

from vipexec.build.cli import build_command, dataset_command
from vipexec.build.journal import Journal

QUERIES = 28


def _journal_lines(out):
    path = out / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_sigkill_mid_build_then_resume_equals_an_uninterrupted_build(
    tmp_path, build_dataset, files_of, rows_of
):
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "vipexec", "dataset", str(killed), "--queries", str(QUERIES)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # Wait for some committed queries (no time limit that load could break: the build
        # itself is the clock; it cannot finish before journalling all of them).
        while _journal_lines(killed) < 3 and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the build ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    committed = _journal_lines(killed)
    assert 3 <= committed < QUERIES
    assert not (killed / "README.md").exists()
    # A kill in the middle of a write leaves a torn last line: resuming must ignore it.
    with (killed / "journal.jsonl").open("ab") as handle:
        handle.write(b'{"query": "count-00000", "rows": [{"prompt": "tor')
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({committed} from an earlier run)" in resumed.stdout

    whole = tmp_path / "whole"
    build_dataset(whole, queries=QUERIES)
    assert files_of(killed) == files_of(whole)
    ids = [row["meta"]["program_id"] for row in rows_of(killed)]
    assert len(ids) == len(set(ids))
    records = Journal(killed / "journal.jsonl").records()
    assert len(records) == QUERIES


def test_journal_ignores_and_cuts_a_torn_last_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        journal.commit({"query": "a", "rows": [], "errors": []})
    path.write_bytes(path.read_bytes() + b'{"query": "b", "ro')
    assert list(Journal(path).records()) == ["a"]
    with Journal(path) as journal:
        journal.commit({"query": "b", "rows": [], "errors": []})
    assert [json.loads(line)["query"] for line in path.read_text().splitlines()] == ["a", "b"]


def test_finished_build_rerun_changes_nothing(small_build, files_of, build_dataset):
    before = files_of(small_build)
    out = build_dataset(small_build)
    assert "(14 from an earlier run)" in out
    assert files_of(small_build) == before


def test_another_command_on_the_folder_is_refused(small_build, files_of):
    source = small_build / "source"
    before = {**files_of(small_build), "queries": (source / "queries.jsonl").read_bytes()}

    def refusal(**options):
        err = io.StringIO()
        options = {"images": source / "images", **options}
        code = build_command(
            source / "queries.jsonl", out=small_build, command="other", stdout=io.StringIO(),
            stderr=err, show_progress=False, **options,
        )  # fmt: skip
        assert code == 2 and err.getvalue().count("\n") == 1
        return err.getvalue()

    message = refusal(seed=1)
    assert "different command (test small)" in message and "differs in seed" in message
    assert "differs in images" in refusal(images=source)
    for options in ({"seed": 1}, {"queries": 15}):
        err = io.StringIO()
        code = dataset_command(
            small_build, command="other", stdout=io.StringIO(), stderr=err,
            show_progress=False, **{"queries": 14, **options},
        )  # fmt: skip
        assert code == 2 and "other synthetic queries" in err.getvalue()
    after = {**files_of(small_build), "queries": (source / "queries.jsonl").read_bytes()}
    assert after == before
    assert not [p.name for p in small_build.iterdir() if p.name.startswith(".")]


def test_a_folder_holding_something_else_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    err = io.StringIO()
    code = dataset_command(
        tmp_path, queries=2, command="x", stdout=io.StringIO(), stderr=err, show_progress=False
    )
    assert code == 2 and "not empty" in err.getvalue()
    assert (tmp_path / "notes.txt").read_text() == "mine"
