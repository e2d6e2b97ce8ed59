"""The synthetic world: specs, the renderer's ground truth, the generator, glyphs, labelling."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.export import write_scenes
from vipexec.modules.synthetic.label import fill_holes, label
from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, generate_scene, render
from vipexec.modules.synthetic.strategies import raw_scene_specs, scene_specs
from vipexec.modules.synthetic.text import ALPHABET, glyphs, read_text, text_ink


def test_spec_validation_messages():
    with pytest.raises(ValueError, match="unknown shape 'blob'; shapes: circle, square"):
        ObjectSpec("blob", "red", "small", 10, 10)
    with pytest.raises(ValueError, match="unknown colour 'teal'"):
        ObjectSpec("circle", "teal", "small", 10, 10)
    with pytest.raises(ValueError, match="outside the alphabet"):
        ObjectSpec("square", "red", "large", 40, 10, text="D")
    with pytest.raises(ValueError, match="does not stand below the horizon"):
        SceneSpec((ObjectSpec("circle", "red", "small", 40, 150),))


def test_ground_truth_of_a_hand_made_scene():
    near = ObjectSpec("square", "blue", "large", 100, 10, text="AB")
    far = ObjectSpec("circle", "red", "small", 120, 40)
    rendered = render(SceneSpec((far, near)))
    truth = rendered.truth
    assert truth["horizon"] == 150 and truth["width"] == 320 and truth["height"] == 240
    red, blue = truth["objects"]
    assert blue["box"] == [74, 10, 126, 62] and blue["visible_box"] == [74, 10, 126, 62]
    assert red["box"] == [106, 40, 134, 68]
    # the square (x < 126, rows < 62) hides the circle's lower left: its visible part starts
    # higher up (42 > 40), so occlusion can only make it look farther, never nearer
    assert red["visible_box"] == [109, 42, 134, 68]
    assert red["occlusion"] == pytest.approx(0.633117) and blue["occlusion"] == 0.0
    assert blue["depth"] == pytest.approx(150 / 140) and red["depth"] == pytest.approx(150 / 110)
    assert (red["draw_order"], blue["draw_order"]) == (0, 1)  # far first
    # pixels agree with the boxes (bottom-left origin)
    image = rendered.image
    assert image[240 - 11, 74].tolist() == list(world.PALETTE["blue"])  # row lower=10
    assert image[240 - 10, 74].tolist() != list(world.PALETTE["blue"])
    assert image[240 - 66, 120].tolist() == list(world.PALETTE["red"])  # above the square
    assert image[240 - 54, 120].tolist() == list(world.PALETTE["blue"])  # hidden by the square
    assert blue["text"] == "AB" and blue["text_visible"]
    assert json.loads(json.dumps(truth)) == truth


def test_render_is_pure_and_specs_round_trip():
    spec = generate_scene(11)
    first, second = render(spec), render(spec)
    assert np.array_equal(first.image, second.image) and first.truth == second.truth
    again = SceneSpec.from_dict(json.loads(json.dumps(first.truth["spec"])))
    assert again == spec and np.array_equal(render(again).image, first.image)
    assert generate_scene(11) == spec and generate_scene(12) != spec


def test_noise_is_seeded():
    spec = generate_scene(3, noise=6.0)
    assert np.array_equal(render(spec).image, render(spec).image)
    assert not np.array_equal(render(spec).image, render(generate_scene(3)).image)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene_specs(max_objects=5))
def test_generated_scenes_keep_their_promises(spec):
    truth = render(spec).truth
    boxes = {}
    for obj in truth["objects"]:
        assert obj["occlusion"] <= 0.3 and obj["visible_area"] >= 120
        assert obj["text"] == "" or obj["text_visible"]
        boxes.setdefault(obj["color"], []).append(obj["box"])
        left, lower, right, upper = obj["visible_box"]
        assert 0 <= left < right <= 320 and 0 <= lower < upper <= 240
    for same in boxes.values():
        for a, b in itertools.combinations(same, 2):
            assert max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) >= 3


@settings(max_examples=20, deadline=None)
@given(raw_scene_specs(max_objects=4))
def test_any_spec_renders_with_consistent_truth(spec):
    rendered = render(spec)
    assert rendered.image.shape == (240, 320, 3) and rendered.image.dtype == np.uint8
    for i, obj in enumerate(rendered.truth["objects"]):
        assert obj["visible_area"] == int((rendered.owner == i).sum())
        assert 0.0 <= obj["occlusion"] <= 1.0


def test_palette_background_and_ink_are_separable():
    colors = list(world.PALETTE.values())
    closest = min(np.linalg.norm(np.subtract(a, b)) for a, b in itertools.combinations(colors, 2))
    assert closest >= 2 * world.COLOR_TOLERANCE
    others = [world.SKY, *world.INK.values()]
    others += [world.ground_color(row, 150) for row in range(150)]
    for color, other in itertools.product(colors, others):
        assert np.linalg.norm(np.subtract(color, other)) > 2 * world.COLOR_TOLERANCE


def test_glyph_templates_are_distinct_and_text_reads_back():
    table = glyphs()
    assert set(table) == set(ALPHABET)
    for a, b in itertools.combinations(ALPHABET, 2):
        assert (table[a] != table[b]).sum() >= 4, (a, b)
    for text in ["A", "Z9", "Q7", "MW", "1"]:
        ink = text_ink(text)
        assert read_text(ink) == text
        padded = np.zeros((ink.shape[0] + 9, ink.shape[1] + 13), dtype=bool)
        padded[4 : 4 + ink.shape[0], 7 : 7 + ink.shape[1]] = ink
        assert read_text(padded) == text
    assert read_text(np.zeros((5, 5), dtype=bool)) == ""


def test_label_matches_a_reference_implementation():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    for _ in range(60):
        classes = rng.integers(-1, 3, rng.integers(1, 25, 2))
        labels, count = label(classes)
        assert (labels[classes < 0] == -1).all()
        seen = 0
        for value in range(3):
            reference, n = ndimage.label(classes == value)
            pairs = set(zip(reference[classes == value], labels[classes == value]))
            assert len(pairs) == n == len({ours for _, ours in pairs})
            seen += n
        assert seen == count
    mask = rng.random((40, 40)) > 0.45
    assert np.array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))


def test_write_scenes(tmp_path):
    paths = write_scenes(tmp_path / "out", 2, seed=5, clips=1, clip_frames=3, max_objects=3)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "clip_0000.gif", "clip_0000.json", "scene_0000.json", "scene_0000.png",
        "scene_0001.json", "scene_0001.png",
    ]  # fmt: skip
    assert [p.name for p in paths] == ["scene_0000.png", "scene_0001.png", "clip_0000.gif"]
    truth = json.loads((tmp_path / "out" / "scene_0001.json").read_text())
    assert (
        truth["schema"] == 1 and truth["image"] == "scene_0001.png" and len(truth["objects"]) <= 3
    )
    again = write_scenes(tmp_path / "again", 2, seed=5, clips=1, clip_frames=3, max_objects=3)
    for a, b in zip(paths, again):
        assert a.read_bytes() == b.read_bytes()
    with pytest.raises(ValueError, match="count must be a non-negative int"):
        write_scenes(tmp_path, -1, seed=0)
