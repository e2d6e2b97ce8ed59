"""The synthetic backend answers from pixels; its answers agree with the scenes' ground truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vipexec.modules.api import build_api
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, render

SEEDS = range(30)


def _box(patch):
    return [patch.left, patch.lower, patch.right, patch.upper]


def _scene_api(rendered, **backend_options):
    store = ImageStore()
    names = build_api(LocalDispatcher(SyntheticBackend(**backend_options), store))
    return names, names["ImagePatch"](store.add(rendered.image))


@pytest.mark.parametrize("seed", SEEDS)
def test_answers_agree_with_ground_truth(seed, rendered_scene):
    rendered = rendered_scene(seed)
    truth = rendered.truth["objects"]
    _, image = _scene_api(rendered)
    found = image.find("object")
    # counting and locating: one patch per object, at its visible box
    assert sorted(_box(p) for p in found) == sorted(o["visible_box"] for o in truth)
    by_box = {tuple(_box(p)): p for p in found}
    for obj in truth:
        patch = by_box[tuple(obj["visible_box"])]
        description = f"{obj['size']} {obj['color']} {obj['shape']}"
        assert patch.simple_query() == description
        assert patch.simple_query("What color is this?") == obj["color"]
        assert patch.simple_query("What shape is it?") == obj["shape"]
        assert patch.verify_property("object", obj["size"])
        expected_text = obj["text"] or "no text"
        assert patch.simple_query("What does the text say?") == expected_text
        assert image.exists(description)
        if obj["occlusion"] == 0:
            assert patch.compute_depth() == pytest.approx(obj["depth"], rel=1e-12)
    for color in {o["color"] for o in truth}:
        count = sum(o["color"] == color for o in truth)
        assert image.simple_query(f"How many {color} objects are there?") == str(count)
        assert len(image.find(f"{color} object")) == count
    # depth order and left/right between unoccluded objects
    clear = [o for o in truth if o["occlusion"] == 0]
    for a, b in itertools.combinations(clear, 2):
        pa, pb = by_box[tuple(a["visible_box"])], by_box[tuple(b["visible_box"])]
        if a["depth"] != b["depth"]:
            assert (pa.compute_depth() < pb.compute_depth()) == (a["depth"] < b["depth"])
        centre_a, centre_b = (a["box"][0] + a["box"][2]) / 2, (b["box"][0] + b["box"][2]) / 2
        assert (pa.horizontal_center < pb.horizontal_center) == (centre_a < centre_b)


def _hand_made():
    return render(
        SceneSpec(
            (
                ObjectSpec("circle", "red", "large", 60, 5, text="A7"),
                ObjectSpec("square", "blue", "small", 160, 30),
                ObjectSpec("triangle", "yellow", "large", 250, 60),
                ObjectSpec("star", "red", "small", 150, 100),
            )
        )
    )


@pytest.fixture(scope="module")
def scene():
    names, image = _scene_api(_hand_made())
    patches = {p.simple_query(): p for p in image.find("object")}
    return names, image, patches


def test_find_vocabulary(scene):
    _, image, _ = scene
    assert [_box(p) for p in image.find("red object")] == [[34, 5, 86, 57], [136, 100, 164, 128]]
    assert len(image.find("red circles")) == 1 and len(image.find("stars")) == 1
    assert len(image.find("big shape")) == 2 and len(image.find("little things")) == 2
    assert [_box(p) for p in image.find("text")] == [[34, 5, 86, 57]]
    assert len(image.find("circle labelled 'A7'")) == 1 and image.find('circle labelled "B"') == []
    assert image.find("dog") == [] and image.find("person") == [] and image.find("people") == []
    # objects with at least half of their pixels inside the patch count, clamped to the patch:
    # most of the star (x 136..164) is left of 155, most of the square (x 146..174) is not
    left_half = image.crop(0, 0, 155, 240)
    assert [_box(p) for p in left_half.find("object")] == [[34, 5, 86, 57], [136, 100, 155, 128]]
    assert left_half.exists("square") is False and image.exists("square") is True


def test_verify_property(scene):
    _, _, patches = scene
    circle = patches["large red circle"]
    assert circle.verify_property("circle", "red") is True
    assert circle.verify_property("object", "large red") is True
    assert circle.verify_property("circle", "blue") is False
    assert circle.verify_property("circle", "small") is False
    assert circle.verify_property("object", "round") is True
    assert circle.verify_property("object", "labelled") is True
    assert circle.verify_property("square", "red") is False  # no square in this patch
    assert circle.verify_property("circle", "wooden") is False  # closed world
    assert patches["small blue square"].verify_property("square", "labelled") is False


def test_simple_query_forms(scene):
    _, image, patches = scene
    answers = {
        "What is this?": "large red circle",
        "how many red objects are there?": "2",
        "How many squares are in the image?": "1",
        "How many dogs are there?": "0",
        "Is there a yellow triangle?": "yes",
        "Are there any green objects?": "no",
        "What color is the square?": "blue",
        "What is the colour of the star?": "red",
        "What shape is the yellow object?": "triangle",
        "What size is the star?": "small",
        "Is the square blue?": "yes",
        "Is the triangle small?": "no",
        "What does the text say?": "A7",
        "What is written on the circle?": "A7",
    }
    for question, answer in answers.items():
        assert image.simple_query(question) == answer, question
    assert patches["small blue square"].simple_query("Is this a blue square?") == "yes"
    assert patches["small blue square"].simple_query("Is it a circle?") == "no"
    assert image.simple_query("What color is the dog?") == "unknown: no such object in this patch"
    assert image.simple_query("Why is the sky blue?") == (
        "unknown: the synthetic backend cannot answer 'Why is the sky blue?'"
    )
    empty = image.crop(290, 200, 320, 240)
    assert (
        empty.simple_query() == "nothing" and empty.simple_query("What does it say?") == "no text"
    )


def test_best_text_match_and_best_image_match(scene):
    names, _image, patches = scene
    circle, star = patches["large red circle"], patches["small red star"]
    assert circle.best_text_match(["blue", "red", "yellow"]) == "red"
    assert circle.best_text_match(["square", "circle"], prefix="red") == "circle"
    assert star.best_text_match(["small star", "large star"]) == "small star"
    assert circle.best_text_match(["B", "A7"]) == "A7"
    match = names["best_image_match"]
    everything = list(patches.values())
    assert match(everything, ["yellow triangle"]) is patches["large yellow triangle"]
    assert match(everything, ["star"], return_index=True) == everything.index(star)


def test_compute_depth(scene):
    _, image, patches = scene
    depths = {name: p.compute_depth() for name, p in patches.items()}
    assert depths["large red circle"] == pytest.approx(150 / 145)
    assert depths["small red star"] == pytest.approx(150 / 50)
    assert sorted(depths, key=depths.get) == [
        "large red circle", "small blue square", "large yellow triangle", "small red star",
    ]  # fmt: skip
    sky = image.crop(0, 200, 20, 240)
    assert sky.compute_depth() == pytest.approx(150.0)  # the horizon row's depth
    ground = image.crop(300, 0, 320, 10)
    assert ground.compute_depth() == pytest.approx(np.median([150 / (150 - r) for r in range(10)]))


def test_llm_query_and_select_answer(scene):
    names, image, _ = scene
    llm = names["llm_query"]
    assert llm("What is 3 + 4 * 2?") == "11"
    assert image.llm_query("what is twelve divided by four?", long_answer=False) == "3"
    assert llm("Is 7 greater than 10?") == "no"
    assert llm("Which is larger, 3 or 8?") == "8"
    assert llm("What is the sum of 2, 3 and 4?") == "9"
    assert llm("Who invented the telephone?") == (
        "unknown: the synthetic backend cannot answer 'Who invented the telephone?'"
    )


def test_exists_vqa_option_agrees_on_synthetic_scenes():
    rendered = _hand_made()
    _, plain = _scene_api(rendered)
    _, checked = _scene_api(rendered, exists_vqa=True)
    for name in ["red object", "square", "green circle", "text", "dog"]:
        assert plain.exists(name) == checked.exists(name), name
