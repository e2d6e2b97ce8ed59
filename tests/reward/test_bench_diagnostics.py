"""The reward benchmark's diagnostics read the scene truth the way the renderer draws it.

``truth_tokens`` (bench/reward_table.py) works from the scene file's visible boxes; the check
here is the renderer's owner map, a different source (the pixels each object really covers),
read by the image encoder's pretraining targets. ``first_box_cell`` (bench/grounding_probe.py)
is checked on boxes whose cells are worked out by hand.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[2]


def load_script(relative: str):
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_truth_tokens_match_the_renderers_owner_map(tmp_path):
    from vipexec.modules.synthetic.export import derive_seed
    from vipexec.modules.synthetic.scene import generate_scene, render
    from vipexec.reward.config import ImageConfig

    table = load_script("bench/reward_table.py")
    pretrain = load_script("scripts/pretrain_image_encoder.py")
    config = ImageConfig(encoder="conv")
    n_values = len(pretrain.TARGETS)
    agree = total = missed = 0
    for i in range(12):
        rendered = render(generate_scene(derive_seed(3, "truth-tokens-test", i)))
        owner = pretrain.cell_targets(rendered.truth, rendered.owner, config.grid, 0.05) > 0
        (tmp_path / f"scene_{i}.json").write_text(json.dumps(rendered.truth), encoding="utf-8")
        tokens = table.truth_tokens(tmp_path / f"scene_{i}.png", config.grid, config.channels)
        assert tokens.shape == (config.grid[0] * config.grid[1], config.channels)
        boxes = tokens[:, :n_values] >= 0.05
        agree += int((boxes == owner).sum())
        total += owner.size
        missed += int((owner & ~boxes).sum())
        rows, cols = config.grid
        position = tokens[:, n_values : n_values + rows + cols]
        assert (position.sum(1) == 2).all()  # one row flag and one column flag per cell
    # A box covers at least the pixels its shape does, so the box reading misses nothing;
    # it over-reports only where a shape leaves its box's corners empty.
    assert missed == 0
    assert agree / total > 0.95


def test_first_box_cell_reads_the_centre_of_the_first_box():
    probe = load_script("bench/grounding_probe.py")
    size, grid = (320, 240), (6, 8)
    # centre (20, 230): x in column 0; 10 px from the top, in row 0
    assert probe.first_box_cell("at (0, 220, 40, 240) and (300, 0, 320, 20)", size, grid) == (
        0,
        0,
    )
    # centre (310, 10): last column; 230 px from the top, in the last row
    assert probe.first_box_cell("it finds 1, at (300, 0, 320, 20).", size, grid) == (5, 7)
    assert probe.first_box_cell("no region here", size, grid) == (-1, -1)


def test_region_truth_reads_what_lies_at_the_boxes_a_step_names():
    from vipexec.benchmark.scene_facts import SceneObject
    from vipexec.modules.synthetic import world

    probe = load_script("bench/grounding_probe.py")
    names = [*world.SHAPES, *world.COLORS]
    objects = [
        SceneObject(0, "red", "star", "small", (10, 10, 40, 40), 1.0, ""),
        SceneObject(1, "blue", "circle", "large", (100, 100, 150, 150), 2.0, ""),
    ]
    nothing = len(names)
    # one box on the red star, one where nothing is; the whole image is no object's region
    text = "it finds 2 stars, at (10, 10, 40, 40) and (200, 200, 230, 230), in (0, 0, 320, 240)"
    features = probe.region_truth(text, objects, (320, 240))
    pooled = features[: nothing + 1]
    assert pooled[names.index("star")] == pooled[names.index("red")] == 0.5
    assert pooled[nothing] == 0.5 and pooled[names.index("circle")] == 0.0
    said = features[nothing + 1 : 2 * (nothing + 1)]  # the step says "star": crossed with truth
    assert said[names.index("star")] == 0.5 and said[names.index("red")] == 0.0
    assert features[-1] == 1.0
    assert probe.region_truth("no region here", objects, (320, 240))[-1] == 0.0
