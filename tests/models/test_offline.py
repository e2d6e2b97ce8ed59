"""Offline set-up and light imports: nothing heavy at import, nothing downloaded at plot time."""

from __future__ import annotations

import os
import subprocess
import sys

from vipexec.modules.models import offline


def test_importing_the_model_layer_imports_no_heavy_library():
    code = (
        "import sys, vipexec, vipexec.modules, vipexec.modules.models as m\n"
        "from vipexec.modules.models import profile, host, cli, cache, backend, remote\n"
        "from vipexec.modules.models import yolo, owl, clip, hf_clip, vqa, depth\n"
        "from vipexec.modules.models import llm_http, llm_local, wrapped, tiny\n"
        "m.load_config(m.profile.default_config_path())\n"
        "from vipexec.modules.backend import create_backend, available_backends\n"
        "assert 'profile' in available_backends()\n"
        "heavy = {'torch', 'ultralytics', 'open_clip', 'transformers', 'timm', 'cv2'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_configure_sets_the_environment_and_a_local_font(tmp_path, monkeypatch):
    monkeypatch.delenv("YOLO_CONFIG_DIR", raising=False)
    monkeypatch.setenv("VIPEXEC_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE", "YOLO_AUTOINSTALL"):
        monkeypatch.delenv(name, raising=False)
    folder = offline.configure()
    assert folder == tmp_path / "cache" / "ultralytics" / "Ultralytics"
    assert os.environ["YOLO_CONFIG_DIR"] == str(tmp_path / "cache" / "ultralytics")
    assert os.environ["YOLO_AUTOINSTALL"] == "False"
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["YOLO_OFFLINE"] == "1"
    if offline.find_font() is not None:
        assert (folder / "Arial.ttf").stat().st_size > 10_000
        assert (folder / "Arial.Unicode.ttf").is_file()
    assert offline.configure() == folder  # idempotent


def test_configure_keeps_the_users_yolo_dir_and_online_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "mine"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    folder = offline.configure(offline=False)
    assert folder == tmp_path / "mine" / "Ultralytics"
    assert "HF_HUB_OFFLINE" not in os.environ


def test_ultralytics_plots_without_downloading(tiny_models, tmp_path):
    """Drawing labels (non-ASCII too) finds the local font: no download is attempted."""
    offline.import_ultralytics()
    import numpy as np
    from ultralytics.utils import checks
    from ultralytics.utils.plotting import Annotator

    assert str(checks.check_font("Arial.ttf")).startswith(os.environ["YOLO_CONFIG_DIR"])
    annotator = Annotator(np.zeros((64, 64, 3), dtype=np.uint8), pil=True, example="日本")
    annotator.box_label((5, 5, 40, 40), "person 0.9 人")
    assert annotator.result().shape == (64, 64, 3)


def test_ultralytics_does_not_change_how_pil_reports_corrupt_images(tmp_path):
    """ultralytics replaces PIL.Image.open at import; import_ultralytics() puts it back."""
    import pytest
    from PIL import Image, UnidentifiedImageError

    offline.import_ultralytics()
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(UnidentifiedImageError):
        Image.open(garbage)
