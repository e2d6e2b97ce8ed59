"""Attribute labels: module results re-asked of a checker backend, on hand-built traces."""

from __future__ import annotations

import pytest

from vipexec.labelers.attribute import AttributeLabeler
from vipexec.labelers.base import LabelContext

SOURCE = """def execute_command(image):
    # Step 1: find the circles
    image_patch = ImagePatch(image)
    circles = image_patch.find("circle")
    # Step 2: check the first
    first = circles[0].verify_property("circle", "red")
    # Step 3: answer
    return bool_to_yesno(first)
"""
RED_CIRCLE = [19, 49, 47, 77]
BLUE_CIRCLES = [[156, 37, 184, 65], [168, 113, 196, 141], [232, 41, 260, 69]]
FULL = [0, 0, 320, 240]


def s(value):
    return {"type": type(value).__name__, "value": value}


def box_summary(box):
    return {"type": "list", "len": 4, "items": [s(v) for v in box]}


def find_call(image, boxes, name="circle"):
    return {
        "method": "find",
        "args": {"object_name": s(name)},
        "result": {"type": "list", "len": len(boxes), "items": [box_summary(b) for b in boxes]},
        "image": image,
        "box": FULL,
    }


def verify_call(image, box, attribute, value):
    return {
        "method": "verify_property",
        "args": {"object_name": s("circle"), "attribute": s(attribute)},
        "result": s(value),
        "image": image,
        "box": box,
    }


@pytest.fixture
def setup(world, kit):
    store, _, ref, _ = world

    def make(find_boxes, verify, statuses=("ok", "ok", "ok"), **kwargs):
        calls = (
            {0: [find_call(ref.id, find_boxes)], 1: [verify]}
            if verify
            else {0: [find_call(ref.id, find_boxes)]}
        )
        return kit.hand_run(SOURCE, list(statuses), calls=calls, **kwargs)

    return store, ref, make


def label(run, store, **options):
    return AttributeLabeler(**options).label(run, LabelContext(store=store))


def test_confirmed_results_are_positive(setup, kit):
    store, ref, make = setup
    run = make([RED_CIRCLE, *BLUE_CIRCLES], verify_call(ref.id, RED_CIRCLE, "red", True))
    labels = label(run, store)
    assert kit.values(labels) == [True, True, True]
    assert labels[0].text == "1 module result(s) confirmed by the checker"
    assert labels[2].text == "uses no module result (nothing to contradict)"


def test_a_flipped_property_is_contradicted(setup, kit):
    store, ref, make = setup
    run = make([RED_CIRCLE, *BLUE_CIRCLES], verify_call(ref.id, RED_CIRCLE, "blue", True))
    labels = label(run, store)
    assert kit.values(labels) == [True, False, True]
    assert labels[1].text == "verify_property: said True, the checker says False"


def test_a_spurious_detection_is_contradicted(setup, kit):
    store, _ref, make = setup
    run = make([RED_CIRCLE, *BLUE_CIRCLES, [290, 200, 318, 228]], None)
    labels = label(run, store)
    assert labels[0].value is False
    assert labels[0].text == "find: the checker sees no circle in box [290, 200, 318, 228]"


def test_a_missed_detection_is_contradicted(setup, kit):
    store, _ref, make = setup
    run = make([RED_CIRCLE, *BLUE_CIRCLES[:2]], None)
    labels = label(run, store)
    assert labels[0].value is False
    assert labels[0].text == "find: missed a circle the checker finds at [232, 41, 260, 69]"
    assert label(run, store, check_misses=False)[0].value is True


def test_iou_threshold_decides_what_counts_as_the_same_box(setup):
    store, _ref, make = setup
    shifted = [RED_CIRCLE[0] + 8, RED_CIRCLE[1], RED_CIRCLE[2] + 8, RED_CIRCLE[3]]
    run = make([shifted, *BLUE_CIRCLES], None)
    assert label(run, store, iou=0.5)[0].value is True  # IoU 0.56
    assert label(run, store, iou=0.7)[0].value is False


def test_nested_calls_count_for_the_enclosing_block(world, kit):
    store, _, ref, _ = world
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
    calls = {
        0: [find_call(ref.id, [RED_CIRCLE, *BLUE_CIRCLES])],
        2: [verify_call(ref.id, BLUE_CIRCLES[0], "red", True)],
    }
    run = kit.hand_run(source, ["ok", "ok", "ok", "ok"], calls=calls, executions={2: 4})
    assert kit.values(label(run, store)) == [True, False, False, True]


def test_none_cases(setup, kit):
    store, ref, make = setup
    # a block that failed, and the blocks that never ran
    run = make(
        [RED_CIRCLE, *BLUE_CIRCLES],
        verify_call(ref.id, RED_CIRCLE, "red", True),
        statuses=("ok", "error", "not_run"),
        error=kit.err(block=1, line=6),
    )
    labels = label(run, store)
    assert kit.values(labels) == [True, None, None]
    assert labels[1].text == "failed before its results were used"
    # no pixels for the image: calls cannot be checked
    ok = make([RED_CIRCLE], None)
    labels = label(ok, None)
    assert kit.values(labels) == [None, True, True]
    assert "the image's pixels are not available" in labels[0].text
    # only non-visual calls
    llm = {"method": "llm_query", "args": {}, "result": s("4")}
    only_llm = kit.hand_run(SOURCE, ["ok", "ok", "ok"], calls={0: [llm]})
    assert label(only_llm, store)[0].value is None


def test_depth_tolerance(setup, kit):
    store, ref, _ = setup
    depth = {
        "method": "compute_depth",
        "args": {},
        "result": s(1.0),
        "image": ref.id,
        "box": RED_CIRCLE,
    }
    run = kit.hand_run(SOURCE, ["ok", "ok", "ok"], calls={0: [depth]})
    true_depth = AttributeLabeler().backend.compute_depth(store.pixels(ref.id), tuple(RED_CIRCLE))
    assert label(run, store, depth_tolerance=1.0)[0].value is True
    assert label(run, store, depth_tolerance=abs(1.0 - true_depth) / true_depth / 2)[0].value is (
        False
    )


def test_a_noisy_checker_and_the_reported_configuration():
    labeler = AttributeLabeler(
        checker="synthetic-noisy", checker_options={"seed": 3, "color_error": 0.0}, iou=0.6
    )
    config = labeler.config()
    assert config["checker"] == "synthetic-noisy"
    assert config["iou"] == 0.6
    assert config["depth_tolerance"] == 0.1
    with pytest.raises(ValueError, match="mode"):
        AttributeLabeler(mode="both")
    with pytest.raises(ValueError, match="iou"):
        AttributeLabeler(iou=2)


def test_real_noisy_run_is_caught(world):
    from vipexec import Program
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher

    store, _, ref, _ = world
    noisy = create_backend("synthetic-noisy", color_error=1.0, miss_rate=0.0, spurious_rate=0.0)
    api = build_api(ServerDispatcher(LocalDispatcher(noisy, store)))
    run = Program.from_source(SOURCE).run_in_process(
        namespace=api, inputs={"image": ref}, policy=True
    )
    labels = label(run, store)
    assert [lab.value for lab in labels] == [True, False, True]
