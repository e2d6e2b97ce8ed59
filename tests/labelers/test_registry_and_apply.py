"""The labeler registry, entry points, and labelling runs, trees and files."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from vipexec.core.registry import Registry
from vipexec.labelers import (
    Label,
    LabelContext,
    LabelerError,
    available_labelers,
    create_labeler,
    label_file,
    label_run,
    label_tree,
    register_labeler,
)
from vipexec.labelers import registry as registry_module

SOURCE = """def execute_command(image):
    # Step 1: find
    circles = ImagePatch(image).find("circle")
    # Step 2: count
    return len(circles)
"""


class EveryOther:
    """A third-party labeler: positive on even blocks."""

    name: ClassVar[str] = "every-other"
    version: ClassVar[int] = 3

    def __init__(self, *, flip: bool = False) -> None:
        self.flip = flip

    def config(self):
        return {"flip": self.flip}

    def label(self, run, context):
        return [Label((b.index % 2 == 0) != self.flip, "parity") for b in run.blocks]


def fresh_registry(group=None):
    return Registry(
        "labeler", LabelerError, registry_module.BUILTIN_LABELERS, entry_point_group=group
    )


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry_module, "_LABELERS", fresh_registry())


def test_builtins_are_available():
    assert {"relevance", "logic", "attribute"} <= set(available_labelers())
    assert create_labeler("relevance").name == "relevance"
    assert create_labeler("attribute", iou=0.7).iou == 0.7


def test_unknown_names_and_options_are_clear_errors():
    with pytest.raises(LabelerError, match="unknown labeler 'nope'; available labelers: "):
        create_labeler("nope")
    with pytest.raises(LabelerError, match="labeler 'logic': bad options"):
        create_labeler("logic", colour="red")


def test_register_a_custom_labeler(clean_registry, kit):
    register_labeler("every-other", EveryOther)
    with pytest.raises(LabelerError, match="already registered"):
        register_labeler("every-other", EveryOther)
    run = kit.hand_run(SOURCE, ["ok", "ok"])
    found = label_run(run, "relevance,every-other", options={"every-other": {"flip": True}})
    assert [lab.value for lab in found["every-other"]] == [False, True]
    assert run.blocks[1].labels["every-other"] == {"value": True, "evidence": {"text": "parity"}}
    assert run.meta["labels"]["every-other"] == {"version": 3, "config": {"flip": True}}


def test_entry_points_are_loaded_lazily(monkeypatch):
    class FakeEntryPoint:
        name = "plugin-labeler"
        value = "tests_plugin_module:Factory"

    monkeypatch.setattr(
        registry_module, "_LABELERS", fresh_registry(registry_module.ENTRY_POINT_GROUP)
    )
    import importlib.metadata

    seen = []

    def entry_points(group):
        seen.append(group)
        return [FakeEntryPoint()]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert "plugin-labeler" in available_labelers()
    assert seen == ["vipexec.labelers"]
    with pytest.raises(LabelerError, match="cannot be loaded"):
        create_labeler("plugin-labeler")


def test_label_run_rejects_a_short_label_list(clean_registry, kit):
    class Short(EveryOther):
        def label(self, run, context):
            return []

    with pytest.raises(LabelerError, match="returned 0 labels for 2 blocks"):
        label_run(kit.hand_run(SOURCE, ["ok", "ok"]), [Short()])


def test_label_a_trace_file_in_place(tmp_path, run_on):
    run = run_on(SOURCE, "How many circles are there?")
    path = tmp_path / "trace.json"
    run.save(path)
    label_file(path, "relevance,logic")
    data = json.loads(path.read_text())
    labels = [b["labels"] for b in data["blocks"]]
    assert [lab["relevance"]["value"] for lab in labels] == [True, True]
    assert [lab["logic"]["value"] for lab in labels] == [True, True]
    assert set(data["meta"]["labels"]) == {"relevance", "logic"}
    from vipexec import Run

    assert Run.load(path).blocks[0].labels["relevance"]["value"] is True


def test_label_a_program_tree(tmp_path, run_on, world):
    from vipexec import ProgramTree

    store, _, _, _ = world
    good = run_on(SOURCE)
    bad = run_on(SOURCE.replace("len(circles)", "len(circle)"))
    tree = ProgramTree(query="How many circles are there?")
    tree.add(good, program_id="good")
    tree.add(bad, program_id="bad")
    path = tmp_path / "tree.json"
    tree.save(path)
    kind, _labelled = label_file(path, context=LabelContext(store=store))
    assert kind == "tree"
    reloaded = ProgramTree.load(path)
    shared, ok_end, bad_end = (n for n, _ in reloaded.nodes())
    nodes = reloaded.graph.nodes
    assert nodes[shared]["labels"]["relevance"]["value"] is True
    assert nodes[ok_end]["labels"]["relevance"]["value"] is True
    assert nodes[bad_end]["labels"]["relevance"]["value"] is False
    assert nodes[shared]["labels"]["attribute"]["value"] is True
    assert label_tree(reloaded, "relevance") == 2


def test_a_file_that_is_neither(tmp_path):
    from vipexec.core.errors import InvalidArgumentError

    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(InvalidArgumentError, match="neither a trace"):
        label_file(path)
    with pytest.raises(InvalidArgumentError, match="no such file"):
        label_file(tmp_path / "missing.json")
