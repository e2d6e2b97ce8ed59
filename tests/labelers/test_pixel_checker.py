"""The independent pixel reader: the attribute labeler's default checker.

Its readings are compared with the scene files' truth (not with the primary backend), and its
source must not use the primary backend's reading code.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vipexec.labelers.pixel_checker as pixel_checker
from vipexec.labelers.attribute import INDEPENDENT_CHECKER, AttributeLabeler
from vipexec.labelers.pixel_checker import IndependentSyntheticChecker, read_regions

SCENES = Path(__file__).parent / "handwritten" / "scenes"
SCENE_NAMES = sorted(p.stem for p in SCENES.glob("*.json"))


def scene(name):
    truth = json.loads((SCENES / f"{name}.json").read_text(encoding="utf-8"))
    pixels = np.asarray(Image.open(SCENES / f"{name}.png").convert("RGB"))
    return truth, pixels


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_every_object_is_read_as_the_scene_file_says(name):
    truth, pixels = scene(name)
    got = sorted((r.size, r.color, r.shape) for r in read_regions(pixels))
    want = sorted((o["size"], o["color"], o["shape"]) for o in truth["objects"])
    assert got == want


@pytest.mark.parametrize("name", SCENE_NAMES)
def test_depths_follow_the_scene_file_within_ten_percent(name):
    truth, pixels = scene(name)
    got = sorted(r.depth for r in read_regions(pixels))
    want = sorted(o["depth"] for o in truth["objects"])
    assert np.allclose(got, want, rtol=0.1)


def test_the_reader_does_not_use_the_primary_backends_reading_code():
    tree = ast.parse(Path(pixel_checker.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    primary = ("vision", "language", "label", "backend.SyntheticBackend", "text")
    synthetic = [name for name in imported if "modules.synthetic" in name]
    assert synthetic == ["vipexec.modules.synthetic.world"]
    assert not any(name.endswith(p) for name in imported for p in primary)


def test_it_answers_the_checkers_questions_from_the_pixels():
    truth, pixels = scene("scene_0002")
    checker = IndependentSyntheticChecker()
    full = (0, 0, pixels.shape[1], pixels.shape[0])
    stars = [o for o in truth["objects"] if o["shape"] == "star"]
    assert checker.simple_query(pixels, full, "How many stars?") == str(len(stars))
    assert checker.simple_query(pixels, full, "Is there a purple star?") == "yes"
    assert checker.simple_query(pixels, full, "Is there a blue star?") == "no"
    assert checker.simple_query(pixels, full, "What color is the circle?") == "purple"
    assert checker.simple_query(pixels, full, "What does the text say?").startswith("unknown")
    assert len(checker.find(pixels, full, "star")) == len(stars)
    red_square = next(o for o in truth["objects"] if o["color"] == "red")
    box = tuple(red_square["box"])
    assert checker.verify_property(pixels, box, "square", "red") is True
    assert checker.verify_property(pixels, box, "square", "blue") is False
    assert checker.best_text_match(pixels, box, ["blue square", "red square"]) == "red square"


def test_it_is_the_attribute_labelers_default_checker():
    labeler = AttributeLabeler()
    assert labeler.checker == INDEPENDENT_CHECKER
    assert isinstance(labeler.backend, IndependentSyntheticChecker)
    assert labeler.config()["checker"] == INDEPENDENT_CHECKER
    with pytest.raises(ValueError, match="takes no checker options"):
        _ = AttributeLabeler(checker_options={"seed": 1}).backend


def test_a_partly_hidden_object_is_not_judged_by_its_shape():
    from vipexec.modules.errors import ModuleUnavailable
    from vipexec.modules.synthetic.export import derive_seed
    from vipexec.modules.synthetic.scene import generate_scene, render

    rendered = render(
        generate_scene(
            derive_seed(0, "label-quality", 24), min_objects=3, max_objects=6, text_prob=0.0
        )
    )
    hidden = [o for o in rendered.truth["objects"] if o["occlusion"] > 0.2]
    assert hidden  # this scene has a square 30% hidden behind another object
    target = hidden[0]
    box = tuple(target["visible_box"])
    checker = IndependentSyntheticChecker()
    (region,) = [r for r in checker.regions(rendered.image) if r.box == box]
    assert region.shape is None and region.color == target["color"]
    name = f"{target['color']} {target['shape']}"
    assert checker.simple_query(rendered.image, box, f"Is there a {name}?").startswith("unknown")
    assert box not in checker.find(rendered.image, box, name)
    with pytest.raises(ModuleUnavailable):
        checker.verify_property(rendered.image, box, "object", target["shape"])
    whole = [r for r in checker.regions(rendered.image) if r.shape is not None]
    assert whole  # the other objects keep their shapes
