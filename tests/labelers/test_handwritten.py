"""Integrity of the hand-written evaluation set (tests/labelers/handwritten).

The labels were decided by hand; these tests check that the set is what it claims to be: every
program parses into as many blocks as it has labels, every scene exists, and running a program
on its scene returns what the entry says and runs exactly the blocks labelled as judged.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from vipexec.core.errors import InvalidArgumentError
from vipexec.labelers.handwritten import SceneRunner, load_set

FOLDER = Path(__file__).parent / "handwritten"
ITEMS = load_set(FOLDER)


@pytest.fixture(scope="module")
def runner():
    return SceneRunner(FOLDER)


def test_the_set_is_large_and_balanced():
    assert len(ITEMS) >= 80
    faulty = [item for item in ITEMS if item.fault]
    assert 0.35 <= len(faulty) / len(ITEMS) <= 0.65
    assert {item.style for item in ITEMS} >= {"vipergpt", "visprog", "least-to-most"}
    assert sum(item.split == "heldout" for item in ITEMS) >= 20
    assert sum(item.split == "heldout-2" for item in ITEMS) >= 20


def test_a_faulty_program_has_a_logic_fault_and_a_correct_one_has_none():
    for item in ITEMS:
        assert bool(item.fault) == bool(item.faulty_blocks), item.id


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.id)
def test_program_parses_into_one_block_per_label(item):
    program = item.program()
    assert program.form in ("function", "script")
    assert len(program.blocks) == len(item.labels["logic"])
    for dimension in ("relevance", "attribute"):
        assert len(item.labels[dimension]) == len(program.blocks)


def test_every_scene_exists_with_its_truth():
    for scene in sorted({item.scene for item in ITEMS}):
        assert (FOLDER / "scenes" / f"{scene}.png").is_file(), scene
        truth = json.loads((FOLDER / "scenes" / f"{scene}.json").read_text(encoding="utf-8"))
        assert truth["kind"] == "scene" and truth["objects"], scene


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.id)
def test_program_returns_what_the_entry_says_and_runs_the_judged_blocks(item, runner):
    run = runner.run(item)
    assert run.error is None
    assert str(run.result) == str(item.returns)
    ran = [trace.executions > 0 for trace in run.blocks]
    judged = [value is not None for value in item.labels["relevance"]]
    assert ran == judged
    if not item.fault:
        assert str(run.result) == str(item.truth)


def test_labels_of_blocks_that_never_ran_are_all_unknown():
    for item in ITEMS:
        for index, relevance in enumerate(item.labels["relevance"]):
            if relevance is None:
                assert item.labels["logic"][index] is None, item.id
                assert item.labels["attribute"][index] is None, item.id


def test_ids_are_unique_and_files_group_query_families():
    assert len({item.id for item in ITEMS}) == len(ITEMS)
    families = Counter(item.file for item in ITEMS)
    assert len(families) >= 7


def _write(tmp_path, text):
    (tmp_path / "set.yaml").write_text(text, encoding="utf-8")
    return tmp_path


ENTRY = """
- id: x
  scene: scene_0001
  style: vipergpt
  query: Is there a star?
  truth: "yes"
  returns: "yes"
  source: |
    def execute_command(image):
        return "yes"
  labels: [{label}]
{why}
"""


def test_a_negative_label_without_why_is_refused(tmp_path):
    folder = _write(tmp_path, ENTRY.format(label="TFT", why=""))
    with pytest.raises(InvalidArgumentError, match="without why"):
        load_set(folder)


def test_a_malformed_label_code_is_refused(tmp_path):
    folder = _write(tmp_path, ENTRY.format(label="TYT", why=""))
    with pytest.raises(InvalidArgumentError, match="not three of T, F, n"):
        load_set(folder)


def test_a_well_formed_entry_loads(tmp_path):
    folder = _write(tmp_path, ENTRY.format(label="TFT", why='  why: {0: "says yes blindly"}'))
    (item,) = load_set(folder)
    assert item.labels == {"relevance": (True,), "logic": (False,), "attribute": (True,)}
    assert item.why == {0: "says yes blindly"}
    assert item.split == "dev"
