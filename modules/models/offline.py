"""Environment set-up that keeps model libraries off the network (call before importing them).

:func:`configure` is idempotent and cheap; every model module calls it at the top of ``load()``,
before it imports ultralytics, open_clip or transformers:

- ``YOLO_CONFIG_DIR`` (unless the user set it) -> ``<vipexec cache>/ultralytics``, so ultralytics
  writes its settings there, ``YOLO_AUTOINSTALL=False`` (it never pip-installs anything);
- offline (the default): ``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``, ``YOLO_OFFLINE=1``
  (ultralytics then skips its DNS look-ups and update checks);
- a local TrueType font copied as ``Arial.ttf`` and ``Arial.Unicode.ttf`` into ultralytics'
  config folder: its plotting code otherwise downloads Arial at draw time.

:func:`import_ultralytics` also undoes ultralytics' import-time replacement of
``PIL.Image.open`` (on an unidentifiable file it tries to pip-install ``pi-heif`` and raises
``ModuleNotFoundError`` instead of ``PIL.UnidentifiedImageError``, which breaks every caller's
handling of corrupt images in the same process).

The vipexec cache folder is ``$VIPEXEC_CACHE_DIR``, else ``$XDG_CACHE_HOME/vipexec``, else
``~/.cache/vipexec``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "configure", "find_font", "import_ultralytics", "ultralytics_dir"]

_LOCK = threading.Lock()
_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


def cache_dir() -> Path:
    """vipexec's cache folder (not created here)."""
    explicit = os.environ.get("VIPEXEC_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vipexec"


def ultralytics_dir() -> Path:
    """The folder ultralytics uses for settings and fonts (``$YOLO_CONFIG_DIR/Ultralytics``)."""
    root = os.environ.get("YOLO_CONFIG_DIR") or str(cache_dir() / "ultralytics")
    return Path(root).expanduser() / "Ultralytics"


def find_font() -> Path | None:
    """A local TrueType font: matplotlib's DejaVuSans (found without importing matplotlib),
    then common system locations; ``None`` when there is none."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin:
        mpl_fonts = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
        candidates.append(mpl_fonts / "DejaVuSans.ttf")
    candidates.extend(Path(p) for p in _SYSTEM_FONTS)
    for path in candidates:
        if path.is_file():
            return path
    return None


def configure(*, offline: bool = True) -> Path:
    """Set the environment for offline model loading; returns ultralytics' config folder.

    With ``offline=False`` the hub variables are left as the user set them (downloads allowed),
    but ``YOLO_CONFIG_DIR``, ``YOLO_AUTOINSTALL`` and the font are still set up.
    """
    with _LOCK:
        os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_dir() / "ultralytics"))
        os.environ["YOLO_AUTOINSTALL"] = "False"
        os.environ.setdefault("YOLO_VERBOSE", "False")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if offline:
            for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE"):
                os.environ[name] = "1"
        folder = ultralytics_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return folder
        _install_fonts(folder)
        return folder


def _install_fonts(folder: Path) -> None:
    missing = [name for name in _FONT_NAMES if not (folder / name).is_file()]
    if not missing:
        return
    font = find_font()
    if font is None:
        return
    for name in missing:
        try:
            shutil.copyfile(font, folder / name)
        except OSError:
            return


def import_ultralytics(*, offline: bool = True) -> Any:
    """``import ultralytics`` after :func:`configure`, with ``PIL.Image.open`` restored."""
    configure(offline=offline)
    import ultralytics

    restore_pil_open()
    return ultralytics


def restore_pil_open() -> None:
    """Put back the ``PIL.Image.open`` that ultralytics replaced at import (if it did)."""
    import sys

    patches = sys.modules.get("ultralytics.utils.patches")
    if patches is None:
        return
    from PIL import Image

    original = getattr(patches, "_image_open", None)
    if original is not None and Image.open is getattr(patches, "image_open", None):
        Image.open = original
