"""The synthetic world: seeded scenes with exact ground truth and backends that read them.

See :mod:`.world` for the conventions (coordinates, depth), :mod:`.scene` for specs and the
renderer, :mod:`.backend` for the clean and noisy backends, :mod:`.video` for moving-shapes clips.
"""

from __future__ import annotations

from vipexec.modules.synthetic.backend import NoisySyntheticBackend, SyntheticBackend
from vipexec.modules.synthetic.export import write_scenes
from vipexec.modules.synthetic.scene import (
    GenerationOptions,
    ObjectSpec,
    Rendered,
    SceneSpec,
    generate_scene,
    render,
)
from vipexec.modules.synthetic.video import ClipSpec, MovingObject, generate_clip, render_clip

__all__ = [
    "ClipSpec",
    "GenerationOptions",
    "MovingObject",
    "NoisySyntheticBackend",
    "ObjectSpec",
    "Rendered",
    "SceneSpec",
    "SyntheticBackend",
    "generate_clip",
    "generate_scene",
    "render",
    "render_clip",
    "write_scenes",
]
