"""label_command, the label-quality machinery, and the scene strategies."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings

from vipexec.benchmark.cli import quality_command
from vipexec.benchmark.quality import QualityConfig, ground_truth, measure, metrics
from vipexec.benchmark.templates import TEMPLATES, make_instances
from vipexec.labelers.cli import label_command
from vipexec.testing import Scene, scenes

SOURCE = """def execute_command(image):
    # Step 1: find the red circles
    red_circles = ImagePatch(image).find("red circle")
    # Step 2: count them
    count = len(red_circles) - 1
    return count
"""


def test_label_command_writes_labels_and_prints_a_table(tmp_path, run_on, world):
    from PIL import Image

    _, _, _, scene = world
    image = tmp_path / "scene.png"
    Image.fromarray(scene.image).save(image)
    trace = tmp_path / "trace.json"
    run_on(SOURCE, "How many red circles are there?").save(trace)
    out, err = io.StringIO(), io.StringIO()
    assert label_command(trace, images=[image], out=out, err=err) == 0, err.getvalue()
    data = json.loads(trace.read_text())
    assert [b["labels"]["logic"]["value"] for b in data["blocks"]] == [True, False]
    assert [b["labels"]["attribute"]["value"] for b in data["blocks"]] == [True, True]
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:5] == ["block", "step", "relevance", "logic", "attribute"]
    assert "NO" in lines[2] and "glue" in lines[2]


def test_label_command_bad_input(tmp_path):
    err = io.StringIO()
    assert label_command(tmp_path / "missing.json", err=err) == 2
    assert err.getvalue().startswith("vipexec: ") and err.getvalue().count("\n") == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    err = io.StringIO()
    assert label_command(bad, err=err) == 2
    assert "not JSON" in err.getvalue()
    err = io.StringIO()
    assert label_command(bad, "relevance,nope", err=err) == 2
    assert "unknown labeler 'nope'" in err.getvalue()


# --- the label-quality machinery --------------------------------------------------------------


def test_every_template_makes_programs_whose_faults_apply(rendered):
    import random

    truth = rendered(3, min_objects=5, max_objects=6).truth
    instances = make_instances(truth, random.Random(0))
    assert {i.template for i in instances} <= set(TEMPLATES)
    for instance in instances:
        for fault in instance.faults:
            assert fault.apply(instance.source) != instance.source


def test_ground_truth_for_a_logic_fault(rendered):
    from vipexec import Program
    from vipexec.benchmark.quality import _World
    from vipexec.benchmark.templates import Fault

    config = QualityConfig()
    world = _World(config)
    scene = rendered(
        11,
        min_objects=4,
        max_objects=6,
        colors=("red", "blue"),
        shapes=("circle", "square"),
        text_prob=0.0,
    )
    ref = world.store.add(scene.image)
    world.truth_backend.add(scene)
    source = """def execute_command(image):
    # Step 1: find
    circles = ImagePatch(image).find("circle")
    # Step 2: filter
    kept = []
    for c in circles:
        # Step 3: check
        if c.verify_property("circle", "red"):
            kept.append(c)
    # Step 4: answer
    return len(kept)
"""
    fault = Fault("attribute_word", 3, '"circle", "red"', '"circle", "blue"')
    program = Program.from_source(fault.apply(source))
    run = program.run_in_process(namespace=world.clean, inputs={"image": ref}, policy=True)
    truth_run = program.run_in_process(namespace=world.truth, inputs={"image": ref}, policy=True)
    truth, faulty = ground_truth(run, fault, truth_run, world)
    assert faulty == [2]
    assert truth["logic"] == [True, False, False, True]
    assert truth["relevance"] == [True, True, True, True]
    assert truth["attribute"] == [True, True, True, True]


def test_metrics_from_a_confusion():
    from collections import Counter

    counts = Counter({(True, True): 8, (False, False): 3, (False, True): 1, (True, None): 2})
    m = metrics(counts)
    assert m["accuracy"] == pytest.approx(11 / 12)
    assert m["strict_accuracy"] == pytest.approx(11 / 14)
    assert m["neg_precision"] == 1.0
    assert m["neg_recall"] == pytest.approx(3 / 4)
    assert m["coverage"] == pytest.approx(12 / 14)


def test_a_small_benchmark_is_accurate():
    report = measure(QualityConfig(scenes=2, seed=5, max_examples=20))
    assert report.counts()["programs"] > 10
    for dimension in ("relevance", "logic", "attribute"):
        assert report.metrics(dimension)["accuracy"] >= 0.9


def test_quality_command_prints_the_report():
    out = io.StringIO()
    assert quality_command(scenes=1, seed=2, templates=["exists_and"], out=out) == 0
    text = out.getvalue()
    assert "relevance  accuracy" in text and "confusion (rows truth" in text
    err = io.StringIO()
    assert quality_command(scenes=1, templates=["nope"], out=io.StringIO(), err=err) == 2
    assert "unknown templates" in err.getvalue()


@pytest.mark.slow
def test_label_quality_meets_the_target():
    report = measure(QualityConfig(scenes=20, seed=1))
    for dimension in ("relevance", "logic", "attribute"):
        assert report.metrics(dimension)["accuracy"] >= 0.9, dimension


# --- scene strategies -------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(scene=scenes(min_objects=2, max_objects=4, shapes=["circle"], colors=["red", "blue"]))
def test_scenes_respect_their_options(scene):
    assert isinstance(scene, Scene)
    assert 2 <= len(scene.objects) <= 4
    assert {o["shape"] for o in scene.objects} == {"circle"}
    assert {o["color"] for o in scene.objects} <= {"red", "blue"}
    assert scene.count(color="red") + scene.count(color="blue") == len(scene.objects)
    assert scene.image.shape == (240, 320, 3)


def test_scene_strategy_arguments_are_checked():
    from vipexec.core.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="unknown shapes"):
        scenes(shapes=["hexagon"])
    with pytest.raises(InvalidArgumentError, match="min_objects 3 > max_objects 2"):
        scenes(min_objects=3, max_objects=2)
    with pytest.raises(InvalidArgumentError, match="colors must be a list"):
        scenes(colors="red")
