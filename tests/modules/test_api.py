"""The program-facing API: ViperGPT's ImagePatch / VideoSegment contract."""

from __future__ import annotations

import numpy as np
import pytest

from vipexec.core.summarize import summarize
from vipexec.core.tracer import Recorder
from vipexec.modules import api as api_module
from vipexec.modules.api import (
    ImagePatch,
    VideoSegment,
    bool_to_yesno,
    build_api,
    coerce_to_numeric,
    distance,
)
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.refs import ImageRef, VideoRef
from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, render


class FakeDispatcher:
    """Records calls and answers from a table (no pixels at all)."""

    def __init__(self, answers=None):
        self.calls = []
        self.answers = answers or {}

    def call(self, method, image, box, args):
        self.calls.append((method, image, box, args))
        answer = self.answers.get(method)
        return answer(image, box, args) if callable(answer) else answer


REF = ImageRef("0" * 16, 100, 80)


def fake_api(**answers):
    dispatcher = FakeDispatcher(answers)
    return build_api(dispatcher), dispatcher


# --- construction, coordinates, crop ----------------------------------------------------------


def test_whole_image_patch_attributes():
    names, _ = fake_api()
    patch = names["ImagePatch"](REF)
    assert (patch.left, patch.lower, patch.right, patch.upper) == (0, 0, 100, 80)
    assert (patch.width, patch.height) == (100, 80)
    assert (patch.horizontal_center, patch.vertical_center) == (50.0, 40.0)
    assert repr(patch) == "ImagePatch(0, 0, 100, 80)"
    assert isinstance(patch, ImagePatch) and isinstance(patch, names["ImagePatch"])


def test_constructor_coordinates_are_clamped_and_partial_ones_default_to_the_parent():
    names, _ = fake_api()
    Patch = names["ImagePatch"]
    assert repr(Patch(REF, 10, 5, 30, 25)) == "ImagePatch(10, 5, 30, 25)"
    assert repr(Patch(REF, -20, -5, 500, 30.9)) == "ImagePatch(0, 0, 100, 30)"
    assert repr(Patch(REF, left=60)) == "ImagePatch(60, 0, 100, 80)"
    inner = Patch(REF, 10, 10, 50, 50)
    assert repr(Patch(inner)) == "ImagePatch(10, 10, 50, 50)"
    assert repr(Patch(inner, 0, 0, 30, 30)) == "ImagePatch(10, 10, 30, 30)"  # clamped to the patch


def test_crop_takes_original_coordinates_and_clamps_to_the_parent():
    names, _ = fake_api()
    whole = names["ImagePatch"](REF)
    part = whole.crop(20, 10, 60, 40)
    assert repr(part) == "ImagePatch(20, 10, 60, 40)"
    assert repr(part.crop(0, 0, 30, 100)) == "ImagePatch(20, 10, 30, 40)"
    assert repr(part.crop(25.7, 12.2, 35.9, 20)) == "ImagePatch(25, 12, 35, 20)"
    assert type(part) is names["ImagePatch"]


@pytest.mark.parametrize(
    "coords", [(50, 10, 50, 40), (30, 20, 10, 40), (200, 0, 300, 80), (0, 90, 100, 120)]
)
def test_empty_crop_raises(coords):
    names, _ = fake_api()
    whole = names["ImagePatch"](REF)
    with pytest.raises(ValueError, match=r"^ImagePatch has no area: "):
        whole.crop(*coords)
    with pytest.raises(ValueError, match=r"^ImagePatch has no area: "):
        names["ImagePatch"](REF, *coords)


def test_bad_constructor_and_coordinate_arguments():
    names, _ = fake_api()
    Patch = names["ImagePatch"]
    with pytest.raises(TypeError, match="takes one image; this input holds several"):
        Patch([REF, REF])
    with pytest.raises(TypeError, match="takes an image or an ImagePatch, not str"):
        Patch("image.png")
    with pytest.raises(TypeError, match="left must be a number, not str"):
        Patch(REF).crop("0", 0, 10, 10)
    with pytest.raises(ValueError, match="upper must be a number, not NaN"):
        Patch(REF).crop(0, 0, 10, float("nan"))


def test_crop_margin_option_widens_crops_and_found_boxes():
    dispatcher = FakeDispatcher({"find": [(10, 10, 20, 20), (95, 0, 100, 5)]})
    names = build_api(dispatcher, crop_margin=10)
    whole = names["ImagePatch"](REF)
    assert repr(whole.crop(20, 20, 30, 30)) == "ImagePatch(10, 10, 40, 40)"
    assert [repr(p) for p in whole.find("x")] == [
        "ImagePatch(0, 0, 30, 30)",
        "ImagePatch(85, 0, 100, 15)",
    ]
    with pytest.raises(ValueError, match="crop_margin"):
        build_api(dispatcher, crop_margin=-1)


def test_patches_are_read_only():
    names, _ = fake_api()
    patch = names["ImagePatch"](REF)
    for name in ("left", "width", "horizontal_center", "anything"):
        with pytest.raises(AttributeError):
            setattr(patch, name, 1)
    with pytest.raises(AttributeError):
        del patch.left
    assert patch.left == 0


def test_overlaps_with_uses_closed_boxes_like_viper():
    names, _ = fake_api()
    patch = names["ImagePatch"](REF, 10, 10, 20, 20)
    assert patch.overlaps_with(15, 15, 30, 30) is True
    assert patch.overlaps_with(20, 20, 30, 30) is True  # touching counts
    assert patch.overlaps_with(21, 0, 30, 30) is False
    assert patch.overlaps_with(0, 21, 30, 30) is False


# --- calls go through the dispatcher as plain data ---------------------------------------------


def test_find_returns_patches_clamped_to_the_parent_and_drops_empty_ones():
    names, dispatcher = fake_api(find=[(5, 5, 15, 15), (40, 40, 90, 90), (70, 70, 80, 80)])
    part = names["ImagePatch"](REF, 0, 0, 60, 60)
    found = part.find("ball")
    assert [repr(p) for p in found] == ["ImagePatch(5, 5, 15, 15)", "ImagePatch(40, 40, 60, 60)"]
    assert dispatcher.calls == [("find", REF.id, (0, 0, 60, 60), {"object_name": "ball"})]


@pytest.mark.parametrize("name", ["people", "person", "persons", "People"])
def test_person_and_people_are_the_same_call(name):
    names, dispatcher = fake_api(find=[], exists=True)
    patch = names["ImagePatch"](REF)
    patch.find(name)
    patch.exists(f"tall {name}")
    patch.verify_property(name, "red")
    assert [c[3]["object_name"] for c in dispatcher.calls] == ["person", "tall person", "person"]


def test_verify_property_accepts_property_or_attribute_keyword():
    names, dispatcher = fake_api(verify_property=True)
    patch = names["ImagePatch"](REF)
    assert patch.verify_property("circle", "red") is True
    assert patch.verify_property("circle", property="blue") is True
    assert patch.verify_property("circle", attribute="green") is True
    assert [c[3]["attribute"] for c in dispatcher.calls] == ["red", "blue", "green"]
    with pytest.raises(TypeError, match="not both"):
        patch.verify_property("circle", "red", attribute="blue")
    with pytest.raises(TypeError, match="missing the property"):
        patch.verify_property("circle")
    with pytest.raises(TypeError, match="object_name must be a str, not int"):
        patch.verify_property(3, "red")


def test_simple_query_default_question_and_other_methods():
    names, dispatcher = fake_api(
        simple_query=lambda i, b, a: a["question"],
        compute_depth=3,
        best_text_match=lambda i, b, a: a["options"][1],
        exists=1,
        llm_query=lambda i, b, a: f"{a['question']}|{a['long_answer']}",
    )
    patch = names["ImagePatch"](REF)
    assert patch.simple_query() == "What is this?"
    assert patch.simple_query("What colour?") == "What colour?"
    depth = patch.compute_depth()
    assert depth == 3.0 and type(depth) is float
    assert patch.best_text_match(["a", "b"]) == "b"
    assert patch.best_text_match(option_list=("a", "b"), prefix="the") == "b"
    assert dispatcher.calls[-1][3] == {"options": ["a", "b"], "prefix": "the"}
    assert patch.exists("x") is True
    assert patch.llm_query("Who?") == "Who?|True"
    assert patch.llm_query("Who?", long_answer=False) == "Who?|False"
    assert names["llm_query"]("Why?", False) == "Why?|False"
    assert dispatcher.calls[-1] == (
        "llm_query",
        None,
        None,
        {"question": "Why?", "long_answer": False},
    )
    with pytest.raises(ValueError, match="at least one option"):
        patch.best_text_match([])
    with pytest.raises(TypeError, match="option_list must be a list of str, not str"):
        patch.best_text_match("ab")


class _StrSub(str):
    def upper(self):  # a program-defined subclass must not cross the dispatcher
        return "x"


def test_arguments_cross_as_exact_builtin_types():
    names, dispatcher = fake_api(find=[], simple_query="a")
    patch = names["ImagePatch"](REF)
    patch.find(_StrSub("cat"))
    patch.simple_query(_StrSub("q"))
    for _, _, _, args in dispatcher.calls:
        assert all(type(v) is str for v in args.values())


def test_best_image_match():
    names, dispatcher = fake_api(best_image_match=lambda i, b, a: 1)
    Patch = names["ImagePatch"]
    patches = [Patch(REF, 0, 0, 10, 10), Patch(REF, 20, 20, 40, 40)]
    match = names["best_image_match"]
    assert match([], ["cat"]) is None
    assert match(patches, ["cat"]) is patches[1]
    assert match(patches, "cat", return_index=True) == 1
    assert dispatcher.calls[-1] == (
        "best_image_match",
        None,
        None,
        {"crops": [[REF.id, [0, 0, 10, 10]], [REF.id, [20, 20, 40, 40]]], "content": ["cat"]},
    )
    with pytest.raises(TypeError, match="items must be ImagePatch, not int"):
        match([1], ["cat"])


def test_unbound_base_class_refuses_calls():
    patch = ImagePatch(REF)
    with pytest.raises(RuntimeError, match="not bound to a backend"):
        patch.find("x")


# --- free functions -----------------------------------------------------------------------------


def test_distance():
    names, _ = fake_api()
    Patch = names["ImagePatch"]
    a = Patch(REF, 0, 0, 10, 10)
    assert distance(a, Patch(REF, 13, 14, 20, 20)) == 5.0  # 3-4-5 corner gap
    assert distance(a, Patch(REF, 20, 0, 30, 10)) == 10.0
    assert distance(a, Patch(REF, 10, 0, 20, 10)) == 0.0  # touching
    assert distance(a, Patch(REF, 5, 0, 15, 10)) == pytest.approx(-50 / 150)
    assert distance(a, a) == -1.0
    assert distance(3, 7.5) == 4.5
    with pytest.raises(TypeError, match="not a mix"):
        distance(a, 3)
    with pytest.raises(TypeError, match="not str and int"):
        distance("a", 3)


def test_bool_to_yesno_and_coerce_to_numeric():
    assert bool_to_yesno(True) == "yes" and bool_to_yesno(0) == "no"
    cases = {
        "3": 3, "three": 3, "twenty one": 21, "4.5 meters": 4.5, "10-15": 10, "-7": -7,
        "about 1,200 people": 1200, "one hundred": 100, "none": "none", 5: 5, 2.5: 2.5,
    }  # fmt: skip
    for text, expected in cases.items():
        assert coerce_to_numeric(text) == expected, text
    with pytest.raises(ValueError, match="no number in 'blue'"):
        coerce_to_numeric("blue", no_string=True)


# --- VideoSegment ------------------------------------------------------------------------------


VIDEO = VideoRef("v" * 16, 5, 100, 80, tuple(f"{i:016d}" for i in range(5)))


def test_video_segment_frames_and_trim():
    names, dispatcher = fake_api(select_answer=lambda i, b, a: a["options"][0])
    Segment = names["VideoSegment"]
    video = Segment(VIDEO)
    assert (video.start, video.end, video.num_frames) == (0, 5, 5)
    frame = video.frame_from_index(2)
    assert isinstance(frame, names["ImagePatch"]) and frame._image.id == VIDEO.frame_ids[2]
    assert video.frame_from_index(99)._image.id == VIDEO.frame_ids[4]  # ViperGPT: the last frame
    assert video.frame_from_index(-1)._image.id == VIDEO.frame_ids[4]
    with pytest.raises(IndexError):
        video.frame_from_index(-6)
    half = video.trim(video.num_frames // 2, video.num_frames)
    assert (half.start, half.end, half.num_frames) == (2, 5, 3)
    assert half.frame_from_index(0)._image.id == VIDEO.frame_ids[2]
    assert (half.trim(0, 4).start, half.trim(0, 4).end) == (2, 4)  # original indices, clamped
    assert [f._image.id for f in half.frame_iterator()] == list(VIDEO.frame_ids[2:])
    assert repr(Segment(VIDEO, 1, 3)) == "VideoSegment(1, 3)"
    with pytest.raises(ValueError, match="VideoSegment has no frames"):
        video.trim(4, 4)
    info = {"count": np.int64(2), "patch": frame, 3: [True, None, 1.5]}
    assert video.select_answer(info, "how many?", ["two", "three"]) == "two"
    assert dispatcher.calls[-1][3]["info"] == {
        "count": 2,
        "patch": {"image_patch": [0, 0, 100, 80]},
        "3": [True, None, 1.5],
    }
    with pytest.raises(TypeError, match="info cannot hold a object"):
        video.select_answer({"x": object()}, "q", ["a"])


# --- tracing and summaries ------------------------------------------------------------------------


def _scene_store():
    from vipexec.modules.images import ImageStore

    spec = SceneSpec((ObjectSpec("square", "red", "small", 30, 10),))
    store = ImageStore()
    ref = store.add(render(spec).image)
    return store, ref


def test_calls_are_recorded_in_the_active_block():
    store, ref = _scene_store()
    names = build_api(LocalDispatcher(SyntheticBackend(), store))
    recorder = Recorder([[]])
    token = recorder.activate()
    recorder.enter(0)
    patch = names["ImagePatch"](ref)
    found = patch.find("red square")
    colour = found[0].simple_query("What color is it?")
    recorder.exit(0, {})
    Recorder.deactivate(token)
    calls = recorder.blocks[0].calls
    assert colour == "red"
    assert [c["method"] for c in calls] == ["find", "simple_query"]
    assert calls[0]["box"] == [0, 0, 320, 240] and calls[0]["image"] == ref.id
    assert calls[1]["box"] == [16, 10, 44, 38]
    assert calls[1]["result"] == {"type": "str", "value": "red"}
    assert calls[0]["backend"] == "synthetic@1(exists_vqa=False)"


def test_summaries_of_api_values():
    names, _ = fake_api()
    patch = names["ImagePatch"](REF, 1, 2, 30, 40)
    assert summarize(patch) == {"type": "ImagePatch", "image": REF.id, "box": [1, 2, 30, 40]}
    assert summarize(REF) == {"type": "ImageRef", "image": REF.id, "width": 100, "height": 80}
    assert summarize(VIDEO) == {
        "type": "VideoRef", "video": VIDEO.id, "num_frames": 5, "width": 100, "height": 80,
    }  # fmt: skip
    segment = names["VideoSegment"](VIDEO, 1, 4)
    assert summarize(segment) == {"type": "VideoSegment", "video": VIDEO.id, "start": 1, "end": 4}
    assert summarize([patch])["items"][0]["type"] == "ImagePatch"


def test_coordinate_convention_against_pixels(store):
    """A red block in the top-left array corner is at the top of the image (high lower/upper)."""
    image = np.full((60, 80, 3), world.SKY, dtype=np.uint8)
    image[0:12, 0:20] = world.PALETTE["red"]  # array rows 0..11 = the 12 top rows
    image[50:60, 70:80] = world.PALETTE["blue"]  # bottom-right corner
    ref = store.add(image)
    names = build_api(LocalDispatcher(SyntheticBackend(), store))
    whole = names["ImagePatch"](ref)
    (red,) = whole.find("red object")
    (blue,) = whole.find("blue object")
    assert repr(red) == "ImagePatch(0, 48, 20, 60)"
    assert repr(blue) == "ImagePatch(70, 0, 80, 10)"
    assert red.vertical_center > blue.vertical_center
    assert [repr(p) for p in whole.crop(0, 30, 80, 60).find("object")] == [
        "ImagePatch(0, 48, 20, 60)"
    ]
    assert whole.crop(0, 0, 40, 30).exists("object") is False


def test_module_exports():
    assert set(build_api(FakeDispatcher())) == {
        "ImagePatch", "VideoSegment", "llm_query", "best_image_match", "distance",
        "bool_to_yesno", "coerce_to_numeric",
    }  # fmt: skip
    assert api_module.VideoSegment is VideoSegment
