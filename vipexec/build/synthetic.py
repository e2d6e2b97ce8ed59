"""Synthetic queries and the program source that answers them with the label-quality templates.

:func:`write_synthetic_queries` renders scenes and writes a QUERIES.jsonl whose lines carry, in
``meta``, what regenerates their programs: the scene seed and the template. For each such query
:func:`template_programs` rebuilds the scene's template instance and yields the correct program
run on the clean synthetic backend, the same program on the noisy backend (attribute errors),
and up to two programs with injected code faults, each labelled by the three labelers. Every
choice is seeded from the query, so a query's programs do not depend on which other queries a
build holds or in what order they run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vipexec.build.unit import LabelledRun
from vipexec.core.errors import InvalidArgumentError
from vipexec.core.run import json_text
from vipexec.generate.protocol import Query

__all__ = ["SCENE_OPTIONS", "template_programs", "write_synthetic_queries"]

SCENE_OPTIONS = {"min_objects": 3, "max_objects": 6, "text_prob": 0.0}
FAULTS_PER_QUERY = 2


def write_synthetic_queries(out_dir: str | os.PathLike, count: int, seed: int) -> Path:
    """Render scenes into ``out_dir/images`` and write ``count`` queries to
    ``out_dir/queries.jsonl`` (every template that fits a scene, scene after scene); returns the
    queries file. Same ``count`` and ``seed``, same files."""
    from PIL import Image

    from vipexec.benchmark.templates import TEMPLATES
    from vipexec.modules.synthetic.export import derive_seed

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidArgumentError(f"the number of queries must be a positive int, got {count!r}")
    out_dir = Path(out_dir)
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    scene = 0
    while len(lines) < count:
        scene_seed = derive_seed(seed, "build-scene", scene)
        rendered = _rendered(scene_seed)
        name = f"scene-{scene:05d}.png"
        path = images / name
        if not path.exists():
            Image.fromarray(rendered.image).save(path)
        for template in TEMPLATES:
            instance = _instance(scene_seed, template, rendered.truth)
            if instance is None or len(lines) == count:
                continue
            record = {
                "id": f"{template}-{scene:05d}",
                "query": instance.query,
                "images": [name],
                "answer": instance.answer,
                "meta": {"scene_seed": scene_seed, "template": template},
            }
            lines.append(json_text(record))
        scene += 1
    target = out_dir / "queries.jsonl"
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return target


def template_programs(query: Query, context: Any) -> Iterator[LabelledRun]:
    """The labelled programs of one synthetic query (see the module docstring)."""
    from vipexec.core.program import Program

    scene_seed, template = _synthetic_meta(query)
    with context.clock.stage("generate"):
        rendered = _rendered(scene_seed)
        instance = _instance(scene_seed, template, rendered.truth)
        if instance is None:
            raise InvalidArgumentError(f"template {template!r} does not fit scene {scene_seed}")
        rng = random.Random(f"{scene_seed}:{template}:faults")
        faults = rng.sample(instance.faults, min(FAULTS_PER_QUERY, len(instance.faults)))
    world = context.synthetic_world(query)
    variants: list[tuple[str, Any, Any]] = [("correct", None, world.clean)]
    variants.append(("noisy", None, world.noisy(rng.randrange(2**31))))
    variants += [(fault.kind, fault, world.clean) for fault in faults]
    for variant, fault, namespace in variants:
        with context.clock.stage("execute"):
            source = fault.apply(instance.source) if fault else instance.source
            program = Program.from_source(source, name=f"{query.id}-{variant}.py")
            run = program.run(namespace=namespace, inputs={"image": world.image}, sandbox=True)
        context.label(query, run, world.store)
        yield LabelledRun(run, variant)


def _synthetic_meta(query: Query) -> tuple[int, str]:
    meta = query.meta or {}
    scene_seed, template = meta.get("scene_seed"), meta.get("template")
    if not isinstance(scene_seed, int) or not isinstance(template, str):
        raise InvalidArgumentError(
            "the templates generator answers only synthetic queries "
            '(lines with "meta": {"scene_seed": int, "template": name}, as `vipexec dataset` '
            "writes them)"
        )
    from vipexec.benchmark.templates import TEMPLATES

    if template not in TEMPLATES:
        raise InvalidArgumentError(f"unknown template {template!r}; known: {sorted(TEMPLATES)}")
    return scene_seed, template


def _rendered(scene_seed: int) -> Any:
    from vipexec.modules.synthetic.scene import generate_scene, render

    return render(generate_scene(scene_seed, **SCENE_OPTIONS))


def _instance(scene_seed: int, template: str, truth: dict[str, Any]) -> Any:
    from vipexec.benchmark.templates import TEMPLATES

    return TEMPLATES[template](random.Random(f"{scene_seed}:{template}"), truth)
