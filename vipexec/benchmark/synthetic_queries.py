"""Synthetic queries for the grammar generator: the family table, plans, and QUERIES.jsonl files.

:func:`make_synthetic_queries` writes ``count`` queries over freshly generated scenes and clips
(seeded: the same arguments write the same files)::

    out_dir/images/scene_0000.png  scene_0000.json  ...  clip_0000.gif  clip_0000.json
    out_dir/queries.jsonl

Each line is ``{"id", "query", "images", "answer", "split", "meta"}`` with ``images`` relative to
``out_dir/images`` and ``meta`` = ``{"family", "plan_seed", "style"}``: what the grammar
generator (:class:`vipexec.generate.grammar.GrammarGenerator`) needs to rebuild the query's plan
from the scene files beside the images. ``vipexec generate out_dir/queries.jsonl --images
out_dir/images --generator grammar`` then grows one program tree per query.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vipexec.benchmark import families_attribute, families_count, families_space, families_video
from vipexec.benchmark.family_parts import Family
from vipexec.benchmark.plan import Names, Plan
from vipexec.benchmark.scene_facts import Scene

__all__ = ["FAMILIES", "FamilySpec", "build_plan", "make_synthetic_queries"]


@dataclass(frozen=True)
class FamilySpec:
    name: str
    inputs: str
    """``image`` (one scene), ``images`` (two scenes) or ``clip`` (one video)"""
    build: Callable[[random.Random, list[Scene], Names], Plan | None]


def _on_one_image(build: Family) -> Callable[..., Plan | None]:
    return lambda rng, scenes, names: build(rng, scenes[0], names)


IMAGE_FAMILIES: dict[str, Family] = {
    "count_attribute": families_count.count_with_attribute,
    "count_shape": families_count.count_shape,
    "count_color": families_count.count_color,
    "exists": families_count.exists,
    "exists_and": families_count.exists_and,
    "exists_or": families_count.exists_or,
    "all_attribute": families_count.all_attribute,
    "any_attribute": families_count.any_attribute,
    "none_attribute": families_count.none_attribute,
    "more_than": families_count.more_than,
    "same_count": families_count.same_count,
    "at_least": families_count.at_least,
    "left_right": families_space.left_right,
    "above_below": families_space.above_below,
    "extreme_color": families_space.extreme_color,
    "nearer_farther": families_space.nearer,
    "depth_extreme": families_space.depth_extreme,
    "size": families_attribute.size_of,
    "color": families_attribute.color_of,
    "color_choice": families_attribute.color_choice,
    "shape": families_attribute.shape_of,
    "read_text": families_attribute.read_text,
    "what_is": families_attribute.what_is,
}
FAMILIES: dict[str, FamilySpec] = {
    **{
        name: FamilySpec(name, "image", _on_one_image(build))
        for name, build in IMAGE_FAMILIES.items()
    },
    "compare_images": FamilySpec("compare_images", "images", families_video.compare_images),
    "both_images": FamilySpec("both_images", "images", families_video.both_images),
    "video_first_frame": FamilySpec("video_first_frame", "clip", families_video.first_frame),
    "video_count_frames": FamilySpec("video_count_frames", "clip", families_video.frames_visible),
}
INPUT_COUNTS = {"image": 1, "images": 2, "clip": 1}
TEST_EVERY = 10
"""every tenth query goes to the test split"""


def build_plan(family: str, plan_seed: int, scenes: Sequence[Scene]) -> Plan | None:
    """The plan of ``family`` for ``scenes`` (None when they do not fit); deterministic."""
    if family not in FAMILIES:
        raise ValueError(f"unknown query family {family!r}; known: {', '.join(sorted(FAMILIES))}")
    spec = FAMILIES[family]
    if len(scenes) != INPUT_COUNTS[spec.inputs]:
        raise ValueError(
            f"family {family} takes {INPUT_COUNTS[spec.inputs]} input(s), got {len(scenes)}"
        )
    rng = random.Random(plan_seed)
    names = Names(rng.choice(Names.STYLES))
    return spec.build(rng, list(scenes), names)


def make_synthetic_queries(
    out_dir: str | os.PathLike[str],
    count: int,
    seed: int,
    *,
    family_names: Sequence[str] | None = None,
    test_every: int | None = TEST_EVERY,
) -> Path:
    """Write ``count`` queries (families in turn) and their scenes; returns queries.jsonl.

    Every ``test_every``-th query names the ``test`` split and the others ``train``; with None
    the lines name no split (a reader that splits by image decides)."""
    from vipexec.modules.synthetic.export import derive_seed, write_scenes

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    chosen = list(family_names or FAMILIES)
    unknown = sorted(set(chosen) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown query families {unknown}; known: {', '.join(sorted(FAMILIES))}")
    out = Path(out_dir)
    images = out / "images"
    scene_count, clip_count = max(count, 2), max(1, count // 8)
    written = write_scenes(images, scene_count, seed=seed, clips=clip_count)
    scene_paths = [p for p in written if p.suffix == ".png"]
    clip_paths = [p for p in written if p.suffix == ".gif"]
    facts = {p: Scene.load(p) for p in written}
    lines = []
    for index in range(count):
        plan_seed = derive_seed(seed, "query", index)
        found = _first_fitting(index, plan_seed, chosen, scene_paths, clip_paths, facts)
        if found is None:
            raise ValueError(f"no query family fits the scenes for query {index}")
        family, used_seed, plan, paths = found
        line = {
            "id": f"q{index:05d}",
            "query": plan.query,
            "images": [p.relative_to(images).as_posix() for p in paths],
            "answer": plan.answer,
            "split": None if test_every is None else _split(index, test_every),
            "meta": {"family": family, "plan_seed": used_seed, "style": plan.style},
        }
        if test_every is None:
            del line["split"]
        lines.append(line)
    target = out / "queries.jsonl"
    target.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return target


def _split(index: int, test_every: int) -> str:
    return "test" if index % test_every == 0 else "train"


def _first_fitting(
    index: int,
    plan_seed: int,
    chosen: list[str],
    scene_paths: list[Path],
    clip_paths: list[Path],
    facts: dict[Path, Scene],
) -> tuple[str, int, Plan, list[Path]] | None:
    """The family due at ``index`` on its scenes; when they do not fit, the next scenes, then
    the next family."""
    for shift in range(len(chosen)):
        family = chosen[(index + shift) % len(chosen)]
        inputs = FAMILIES[family].inputs
        pool = clip_paths if inputs == "clip" else scene_paths
        for attempt in range(len(pool)):
            start = (index + attempt) % len(pool)
            paths = [pool[(start + k) % len(pool)] for k in range(INPUT_COUNTS[inputs])]
            plan = build_plan(family, plan_seed + attempt, [facts[p] for p in paths])
            if plan is not None:
                return family, plan_seed + attempt, plan, paths
    return None
