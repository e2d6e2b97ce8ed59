"""The noisy synthetic backend: configured error rates, reproducible per call content."""

from __future__ import annotations

import math

import pytest

from vipexec.modules.backend import create_backend
from vipexec.modules.errors import BackendError
from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.backend import NoisySyntheticBackend, SyntheticBackend

SEEDS = range(12)
RATE = 0.2


def _within(errors: int, trials: int, rate: float) -> bool:
    """Binomial tolerance: 4 standard deviations plus one count."""
    sd = math.sqrt(rate * (1 - rate) / trials)
    return abs(errors / trials - rate) <= 4 * sd + 1 / trials


@pytest.fixture(scope="module")
def images(rendered_scene):
    return [rendered_scene(seed).image for seed in SEEDS]


def _full(image):
    return (0, 0, image.shape[1], image.shape[0])


def test_find_miss_and_spurious_rates(images):
    clean = SyntheticBackend()
    noisy = NoisySyntheticBackend(miss_rate=RATE, spurious_rate=RATE, color_error=0.0, seed=1)
    boxes = missed = calls = spurious = 0
    for image in images:
        for name in ["object", "shape", "thing", *world.COLORS, *world.SHAPES, "large", "small"]:
            expected = clean.find(image, _full(image), name)
            got = noisy.find(image, _full(image), name)
            boxes += len(expected)
            missed += len(set(expected) - set(got))
            calls += 1
            spurious += any(b not in expected for b in got)
    assert boxes > 250 and calls > 200
    assert _within(missed, boxes, RATE), missed / boxes
    assert _within(spurious, calls, RATE), spurious / calls


def test_colour_and_shape_error_rates(images):
    clean = SyntheticBackend()
    noisy = NoisySyntheticBackend(color_error=RATE, shape_error=RATE, miss_rate=0.0, seed=2)
    counts = {"color": [0, 0], "shape": [0, 0], "verify": [0, 0]}
    for image in images:
        for box in clean.find(image, _full(image), "object"):
            for kind, question in (("color", "What color is this?"), ("shape", "What shape?")):
                answer = noisy.simple_query(image, box, question)
                counts[kind][0] += answer != clean.simple_query(image, box, question)
                counts[kind][1] += 1
                assert answer in (world.COLORS if kind == "color" else world.SHAPES)
            for color in world.COLORS:
                flipped = noisy.verify_property(image, box, "object", color) != (
                    clean.verify_property(image, box, "object", color)
                )
                counts["verify"][0] += flipped
                counts["verify"][1] += 1
    assert counts["color"][1] > 40 and counts["verify"][1] > 400
    for kind, (errors, trials) in counts.items():
        assert _within(errors, trials, RATE), (kind, errors / trials)


def test_same_call_same_answer_and_seed_matters(images):
    image = images[0]
    box = _full(image)
    a = NoisySyntheticBackend(miss_rate=0.5, spurious_rate=0.5, seed=7)
    b = NoisySyntheticBackend(miss_rate=0.5, spurious_rate=0.5, seed=7)
    names = [*world.COLORS, *world.SHAPES, "object"]
    first = [a.find(image, box, name) for name in names]
    assert first == [a.find(image, box, name) for name in names]
    assert first == [b.find(image, box, name) for name in names]
    other = NoisySyntheticBackend(miss_rate=0.5, spurious_rate=0.5, seed=8)
    assert first != [other.find(image, box, name) for name in names]
    for name in names:  # exists is len(find) > 0 over the same noisy detections
        assert a.exists(image, box, name) == (len(a.find(image, box, name)) > 0)


def test_other_methods_pass_through(images):
    image = images[1]
    box = _full(image)
    clean, noisy = SyntheticBackend(), NoisySyntheticBackend(color_error=1.0, shape_error=1.0)
    for question in ["How many objects are there?", "What is this?", "What does the text say?"]:
        assert noisy.simple_query(image, box, question) == clean.simple_query(image, box, question)
    assert noisy.compute_depth(image, box) == clean.compute_depth(image, box)
    assert noisy.llm_query("2 + 2", True) == "4"
    assert noisy.verify_property(image, box, "object", "wooden") is False  # no colour: no noise


def test_options_are_validated():
    with pytest.raises(BackendError, match=r"miss_rate must be a number in \[0, 1\], got 1.5"):
        NoisySyntheticBackend(miss_rate=1.5)
    with pytest.raises(BackendError, match="seed must be an int"):
        NoisySyntheticBackend(seed="x")
    backend = create_backend("synthetic-noisy", color_error=0.25, seed=4)
    assert backend.options["color_error"] == 0.25 and "seed=4" in backend.backend_id
