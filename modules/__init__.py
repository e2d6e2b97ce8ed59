"""vipexec.modules: the ImagePatch / VideoSegment API, backends and the synthetic world.

Names are imported lazily: ``import vipexec.modules`` loads nothing heavy (no numpy until an
image store or a backend is used, never torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

_EXPORTS = {
    "ImageRef": "vipexec.modules.refs",
    "VideoRef": "vipexec.modules.refs",
    "ImageStore": "vipexec.modules.images",
    "Backend": "vipexec.modules.backend",
    "create_backend": "vipexec.modules.backend",
    "register_backend": "vipexec.modules.backend",
    "available_backends": "vipexec.modules.backend",
    "crop_pixels": "vipexec.modules.backend",
    "Dispatcher": "vipexec.modules.dispatch",
    "LocalDispatcher": "vipexec.modules.dispatch",
    "ImagePatch": "vipexec.modules.api",
    "VideoSegment": "vipexec.modules.api",
    "build_api": "vipexec.modules.api",
    "InputError": "vipexec.modules.errors",
    "ArgumentTooLarge": "vipexec.modules.errors",
    "ModuleUnavailable": "vipexec.modules.errors",
    "BackendError": "vipexec.modules.errors",
    "UnknownImageError": "vipexec.modules.errors",
    "write_scenes": "vipexec.modules.synthetic.export",
}

__all__ = [
    "ArgumentTooLarge",
    "Backend",
    "BackendError",
    "Dispatcher",
    "ImagePatch",
    "ImageRef",
    "ImageStore",
    "InputError",
    "LocalDispatcher",
    "ModuleUnavailable",
    "UnknownImageError",
    "VideoRef",
    "VideoSegment",
    "available_backends",
    "build_api",
    "create_backend",
    "crop_pixels",
    "register_backend",
    "write_scenes",
]

if TYPE_CHECKING:  # pragma: no cover
    from vipexec.modules.api import ImagePatch, VideoSegment, build_api
    from vipexec.modules.backend import (
        Backend,
        available_backends,
        create_backend,
        crop_pixels,
        register_backend,
    )
    from vipexec.modules.dispatch import Dispatcher, LocalDispatcher
    from vipexec.modules.errors import (
        ArgumentTooLarge,
        BackendError,
        InputError,
        ModuleUnavailable,
        UnknownImageError,
    )
    from vipexec.modules.images import ImageStore
    from vipexec.modules.refs import ImageRef, VideoRef
    from vipexec.modules.synthetic.export import write_scenes


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
