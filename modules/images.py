"""The image store: pixels live here, programs get :class:`ImageRef` values.

Images are normalised to ``H x W x 3`` ``uint8`` RGB arrays (read-only) and named by a content
hash, so the same pixels always get the same id (what model caches key on). Bad inputs raise
:class:`~vipexec.modules.errors.InputError` with one line naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vipexec.modules.errors import InputError, UnknownImageError
from vipexec.modules.refs import ImageRef, VideoRef

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["FRAME_SUFFIXES", "ImageRef", "ImageStore", "VideoRef", "image_id", "to_rgb_array"]

FRAME_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
"""File suffixes taken as frames when a video is a directory of images."""

MAX_IMAGE_PIXELS = 40_000_000
"""the most pixels (width x height) an image may have; a file's header is checked before its
pixels are decoded, so a small file declaring a huge image (a decompression bomb: a 140 kB PNG
can declare 12000 x 12000) is refused without the memory"""
MAX_VIDEO_PIXELS = 400_000_000
"""the most pixels all frames of one video may have together"""

_VIDEO_CODEC_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg"})


def image_id(pixels: np.ndarray) -> str:
    """Content id of an ``H x W x 3`` uint8 array: sha256 of shape and bytes, 16 hex digits."""
    digest = hashlib.sha256(f"{pixels.shape[0]}x{pixels.shape[1]}x3:".encode())
    digest.update(np.ascontiguousarray(pixels).data)
    return digest.hexdigest()[:16]


def to_rgb_array(image: Any, *, what: str = "image") -> np.ndarray:
    """Normalise a PIL image or an array to a read-only ``H x W x 3`` uint8 RGB array."""
    if _is_pil_image(image):
        image = _pil_to_rgb(image)
        array = np.asarray(image, dtype=np.uint8)
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise InputError(
            f"{what}: expected a numpy array or a PIL image, got {type(image).__name__}"
        )
    if array.dtype != np.uint8:
        raise InputError(f"{what}: expected a uint8 array, got dtype {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise InputError(
            f"{what}: expected an H x W, H x W x 3 or H x W x 4 array, got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{what}: image has zero size ({array.shape[1]}x{array.shape[0]})")
    _check_pixels(what, array.shape[1], array.shape[0])
    out = np.array(array, dtype=np.uint8, order="C", copy=True)
    out.setflags(write=False)
    return out


def _check_pixels(what: str, width: int, height: int, frames: int = 1) -> None:
    pixels = width * height
    if pixels > MAX_IMAGE_PIXELS:
        raise InputError(
            f"{what}: image is {width}x{height} ({pixels / 1e6:.1f} megapixels), more than the "
            f"limit of {MAX_IMAGE_PIXELS / 1e6:g} megapixels"
        )
    if pixels * frames > MAX_VIDEO_PIXELS:
        raise InputError(
            f"{what}: video has {frames} frames of {width}x{height} ({pixels * frames / 1e6:.0f} "
            f"megapixels), more than the limit of {MAX_VIDEO_PIXELS / 1e6:g} megapixels"
        )


def _is_pil_image(value: Any) -> bool:
    kind = type(value)
    return any(
        f"{base.__module__}.{base.__qualname__}" == "PIL.Image.Image" for base in kind.__mro__
    )


def _pil_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
        return image.convert("RGBA").convert("RGB")
    return image.convert("RGB")


def is_animated(path: Path) -> bool:
    """Whether ``path`` is an image file with several frames (an animated GIF, APNG or WebP)."""
    if path.suffix.lower() not in (".gif", ".apng", ".webp"):
        return False
    try:
        from PIL import Image

        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) > 1
    except OSError:
        return False


class ImageStore:
    """In-memory pixels by content id; thread-safe for concurrent ``add``/``pixels``."""

    def __init__(self) -> None:
        self._pixels: dict[str, np.ndarray] = {}
        self._videos: dict[str, VideoRef] = {}
        self._lock = threading.Lock()

    # --- adding -------------------------------------------------------------------------------

    def add(self, image: Any) -> ImageRef:
        """Add a numpy array (H x W, H x W x 3 or 4, uint8) or a PIL image; returns its ref."""
        pixels = to_rgb_array(image)
        return self._put(pixels)

    def load(self, path: str | os.PathLike[str]) -> ImageRef:
        """Read an image file (PNG, JPEG, ... anything PIL reads); the first frame if animated."""
        path = Path(path)
        with _open_image(path) as image:
            pixels = _decode(path, image)
        return self._put(pixels)

    def load_input(self, path: str | os.PathLike[str]) -> ImageRef | VideoRef:
        """Read a program input: a video when ``path`` is a directory or an animated file
        (GIF, APNG, WebP with several frames), else an image."""
        path = Path(path)
        return self.load_video(path) if path.is_dir() or is_animated(path) else self.load(path)

    def load_video(self, path: str | os.PathLike[str]) -> VideoRef:
        """Read a video: a multi-frame image file (animated GIF, APNG, WebP, TIFF) or a
        directory of frame images (sorted by file name). All frames must share one size."""
        path = Path(path)
        if path.is_dir():
            frames = self._frames_from_directory(path)
        else:
            frames = self._frames_from_file(path)
        return self.add_video(frames, what=str(path))

    def add_video(self, frames: Any, *, what: str = "video") -> VideoRef:
        """Add a sequence of frames (arrays or PIL images) as one video."""
        frames = [to_rgb_array(frame, what=f"{what} frame {i}") for i, frame in enumerate(frames)]
        if not frames:
            raise InputError(f"{what}: video has no frames")
        height, width = frames[0].shape[:2]
        for i, frame in enumerate(frames):
            if frame.shape[:2] != (height, width):
                raise InputError(
                    f"{what}: frame {i} is {frame.shape[1]}x{frame.shape[0]}, "
                    f"frame 0 is {width}x{height} (all frames must share one size)"
                )
        refs = [self._put(frame) for frame in frames]
        ids = tuple(ref.id for ref in refs)
        video_id = hashlib.sha256(("video:" + ",".join(ids)).encode()).hexdigest()[:16]
        video = VideoRef(video_id, len(ids), width, height, ids)
        with self._lock:
            self._videos[video_id] = video
        return video

    # --- reading ------------------------------------------------------------------------------

    def pixels(self, image_id: str) -> np.ndarray:
        """The read-only ``H x W x 3`` uint8 array of an image id."""
        try:
            return self._pixels[image_id]
        except (KeyError, TypeError):
            raise UnknownImageError(f"image id {image_id!r} is not in this image store") from None

    def ref(self, image_id: str) -> ImageRef:
        """The :class:`ImageRef` of an image id held by the store."""
        pixels = self.pixels(image_id)
        return ImageRef(image_id, int(pixels.shape[1]), int(pixels.shape[0]))

    def video(self, video_id: str) -> VideoRef:
        try:
            return self._videos[video_id]
        except (KeyError, TypeError):
            raise UnknownImageError(f"video id {video_id!r} is not in this image store") from None

    def __contains__(self, image_id: object) -> bool:
        return isinstance(image_id, str) and image_id in self._pixels

    def __len__(self) -> int:
        return len(self._pixels)

    # --- helpers ------------------------------------------------------------------------------

    def _put(self, pixels: np.ndarray) -> ImageRef:
        key = image_id(pixels)
        with self._lock:
            self._pixels.setdefault(key, pixels)
        return ImageRef(key, int(pixels.shape[1]), int(pixels.shape[0]))

    def _frames_from_directory(self, path: Path) -> list[np.ndarray]:
        files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()
        )
        if not files:
            kinds = ", ".join(sorted(FRAME_SUFFIXES))
            raise InputError(f"{path}: directory holds no frame images ({kinds})")
        frames = []
        for file in files:
            with _open_image(file) as image:
                frames.append(_decode(file, image))
            height, width = frames[0].shape[:2]
            _check_pixels(str(path), width, height, frames=len(frames))
        return frames

    def _frames_from_file(self, path: Path) -> list[np.ndarray]:
        if path.suffix.lower() in _VIDEO_CODEC_SUFFIXES:
            raise InputError(
                f"{path}: {path.suffix} videos are not supported; "
                "convert to an animated GIF or a directory of frame images"
            )
        with _open_image(path) as image:
            count = int(getattr(image, "n_frames", 1))
            frames = []
            for index in range(count):
                try:
                    image.seek(index)
                except (EOFError, OSError, ValueError) as exc:
                    raise InputError(f"{path}: cannot read frame {index} ({exc})") from None
                frames.append(_decode(path, image, frame=index))
        return frames


def _open_image(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an image file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable image (unknown or corrupt format)") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: image too large ({exc})") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None
    try:
        _check_pixels(str(path), *image.size, frames=int(getattr(image, "n_frames", 1)))
    except InputError:
        image.close()
        raise
    return image


def _decode(path: Path, image: Image.Image, frame: int | None = None) -> np.ndarray:
    from PIL import Image, ImageOps

    where = f"{path}" if frame is None else f"{path} (frame {frame})"
    try:
        image.load()
        if frame is None:
            image = ImageOps.exif_transpose(image) or image
        rgb = _pil_to_rgb(image)
        array = np.asarray(rgb, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise InputError(f"{where}: image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{where}: not a readable image ({message})") from None
    return to_rgb_array(array, what=where)
