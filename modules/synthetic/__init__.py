"""The synthetic world: seeded scenes with exact ground truth and backends that read them.

See :mod:`.world` for the conventions (coordinates, depth), :mod:`.scene` for specs and the
renderer, :mod:`.backend` for the clean and noisy backends, :mod:`.video` for moving-shapes clips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

# Imported on first use: running programs on the synthetic backend needs the backend only, not
# the renderer, the clip maker or the scene writer (PIL's drawing module, numpy.ma).
_EXPORTS = {
    "NoisySyntheticBackend": "vipexec.modules.synthetic.backend",
    "SyntheticBackend": "vipexec.modules.synthetic.backend",
    "write_scenes": "vipexec.modules.synthetic.export",
    "GenerationOptions": "vipexec.modules.synthetic.scene",
    "ObjectSpec": "vipexec.modules.synthetic.scene",
    "Rendered": "vipexec.modules.synthetic.scene",
    "SceneSpec": "vipexec.modules.synthetic.scene",
    "generate_scene": "vipexec.modules.synthetic.scene",
    "render": "vipexec.modules.synthetic.scene",
    "ClipSpec": "vipexec.modules.synthetic.video",
    "MovingObject": "vipexec.modules.synthetic.video",
    "generate_clip": "vipexec.modules.synthetic.video",
    "render_clip": "vipexec.modules.synthetic.video",
}

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

if TYPE_CHECKING:  # pragma: no cover
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

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
