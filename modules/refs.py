"""References to images and videos: what a program holds instead of pixels.

These are tiny immutable values (an id and a size) that cross process boundaries as they are.
The pixels stay in an :class:`vipexec.modules.images.ImageStore` outside the sandbox; every API
call names its image by ``id``. This module imports nothing heavy: a sandbox worker needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vipexec.core import summarize
from vipexec.sandbox.language.safe_api import mark_safe_api


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image: ``id`` is a content hash (same pixels, same id), size in pixels."""

    id: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class VideoRef:
    """A sequence of same-sized frames, each an image in the store (``frame_ids``)."""

    id: str
    num_frames: int
    width: int
    height: int
    frame_ids: tuple[str, ...]

    def frame(self, index: int) -> ImageRef:
        """The :class:`ImageRef` of frame ``index`` (Python indexing rules)."""
        return ImageRef(self.frame_ids[index], self.width, self.height)


def _summarize_image_ref(value: ImageRef, limits: Any) -> dict[str, Any]:
    return {
        "type": "ImageRef",
        "image": object.__getattribute__(value, "id"),
        "width": object.__getattribute__(value, "width"),
        "height": object.__getattribute__(value, "height"),
    }


def _summarize_video_ref(value: VideoRef, limits: Any) -> dict[str, Any]:
    return {
        "type": "VideoRef",
        "video": object.__getattribute__(value, "id"),
        "num_frames": object.__getattribute__(value, "num_frames"),
        "width": object.__getattribute__(value, "width"),
        "height": object.__getattribute__(value, "height"),
    }


summarize.register(f"{__name__}.ImageRef", _summarize_image_ref, immutable=True)
summarize.register(f"{__name__}.VideoRef", _summarize_video_ref, immutable=True)

# Immutable plain values: programs hold them without proxies.
mark_safe_api(ImageRef, VideoRef)
