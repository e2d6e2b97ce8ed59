"""Moving-shapes clips through VideoSegment, multi-image inputs, and the backend's language."""

from __future__ import annotations

import itertools

import pytest

from vipexec.modules.api import build_api
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic import language
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.modules.synthetic.scene import generate_scene, render
from vipexec.modules.synthetic.video import (
    ClipSpec,
    generate_clip,
    render_clip,
    write_gif,
)


def _api(store):
    return build_api(LocalDispatcher(SyntheticBackend(), store))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_clip_frames_agree_with_ground_truth(seed, tmp_path):
    spec = generate_clip(seed, num_frames=6)
    frames, truth = render_clip(spec)
    assert ClipSpec.from_dict(truth["spec"]) == spec
    write_gif(tmp_path / "clip.gif", frames)
    store = ImageStore()
    video = store.load_video(tmp_path / "clip.gif")  # lossless round trip
    names = _api(store)
    segment = names["VideoSegment"](video)
    assert segment.num_frames == 6
    for index, frame in enumerate(segment.frame_iterator()):
        expected = sorted(o["visible_box"] for o in truth["frames"][index]["objects"])
        found = sorted([p.left, p.lower, p.right, p.upper] for p in frame.find("object"))
        assert found == expected
        for obj in truth["frames"][index]["objects"]:
            assert frame.exists(f"{obj['color']} {obj['shape']}")
    # an object moving right has a growing horizontal centre
    for moving in spec.objects:
        name = f"{moving.obj.color} {moving.obj.shape}"
        centres = [
            f.find(name)[0].horizontal_center for f in segment.frame_iterator() if f.exists(name)
        ]
        steps = {round(b - a) for a, b in itertools.pairwise(centres)}
        assert steps <= {moving.vx}


def test_video_program_with_select_answer():
    frames, truth = render_clip(generate_clip(4, num_frames=5))
    store = ImageStore()
    names = _api(store)
    segment = names["VideoSegment"](store.add_video(frames))
    counts = [len(frame.find("object")) for frame in segment.frame_iterator()]
    assert counts == [len(f["objects"]) for f in truth["frames"]]
    info = {"Number of objects": max(counts)}
    options = ["one", "two", "three"]
    answer = segment.select_answer(info, "how many objects are there?", options)
    assert answer == options[max(counts) - 1]


def test_multi_image_inputs():
    store = ImageStore()
    images = [store.add(render(generate_scene(seed)).image) for seed in (1, 2)]
    names = _api(store)
    patches = [names["ImagePatch"](image) for image in images]  # a program gets a list
    counts = [len(p.find("object")) for p in patches]
    assert counts == [len(generate_scene(seed).objects) for seed in (1, 2)]
    found = [q for p in patches for q in p.find("object")]
    best = names["best_image_match"](found, [found[-1].simple_query()], return_index=True)
    assert found[best].simple_query() == found[-1].simple_query()


@pytest.mark.parametrize(
    ("question", "kind", "phrase"),
    [
        (None, "describe", ""),
        ("", "describe", ""),
        ("What is this?", "describe", ""),
        ("What is in the image?", "describe", ""),
        ("How many red circles are there in the image?", "count", "red circles"),
        ("how many stars?", "count", "stars"),
        ("What color is the large square?", "color", "the large square"),
        ("What is the colour of it?", "color", "it"),
        ("What color?", "color", ""),
        ("What shape is the red object?", "shape", "the red object"),
        ("What size is it?", "size", "it"),
        ("Is there a blue triangle?", "exists", "blue triangle"),
        ("Are there any stars in the picture?", "exists", "stars"),
        ("Is this a red circle?", "is_this", "red circle"),
        ("Is the circle red?", "is_attr", "circle"),
        ("What does the text say?", "text", ""),
        ("What is written on the sign?", "text", ""),
        ("Is the man happy?", "unknown", ""),
        ("Why is the sky blue?", "unknown", ""),
    ],
)
def test_question_forms(question, kind, phrase):
    parsed = language.parse_question(question or "")
    assert (parsed.kind, parsed.phrase) == (kind, phrase)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is 2 + 3?", "5"),
        ("what is 2 + 3 * 4 - 1", "13"),
        ("What is seven times six?", "42"),
        ("What is 10 divided by 4?", "2.5"),
        ("what is 5 / 0", None),
        ("Is 3 less than 5?", "yes"),
        ("Is 3 more than 5?", "no"),
        ("Is 4 equal to 4?", "yes"),
        ("Which is smaller, 9 or 2?", "2"),
        ("What is the difference between 3 and 10?", "7"),
        ("What is the average of 2, 4 and 9?", "5"),
        ("What is the product of 3 and 1,000?", "3000"),
        ("Who painted the Mona Lisa?", None),
    ],
)
def test_arithmetic(question, answer):
    assert language.answer_arithmetic(question) == answer


def test_phrases_and_select_answer():
    phrase = language.parse_phrase("the small red stars labelled 'QT'")
    assert (phrase.color, phrase.size, phrase.shape, phrase.text) == ("red", "small", "star", "QT")
    assert language.parse_phrase("a purple dog").unknown == ("dog",)
    assert language.parse_phrase("this").empty and not language.parse_phrase("it, red").empty
    info = {"count": 3, "colour": "blue", "seen": True}
    assert language.select_answer(info, ["two", "three"]) == "three"
    assert language.select_answer(info, ["red", "blue"]) == "blue"
    assert language.select_answer(info, ["no", "yes"]) == "yes"
    assert language.select_answer({}, ["a", "b"]) == "a"


def test_no_clip_repeats_a_frame_and_a_gif_refuses_repeated_frames(tmp_path):
    # Pillow keeps one of two identical consecutive GIF frames, so a clip with two empty frames
    # in a row would load shorter than its ground truth says.
    for seed in range(100):
        frames, _ = render_clip(generate_clip(seed, num_frames=8))
        assert all(not (a == b).all() for a, b in itertools.pairwise(frames)), seed
    frames, _ = render_clip(generate_clip(0, num_frames=3))
    with pytest.raises(ValueError, match="frame 2 repeats frame 1"):
        write_gif(tmp_path / "clip.gif", [*frames[:2], frames[1]])
