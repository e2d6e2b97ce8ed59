"""ImageStore: normalisation, content ids, loading, and one-line InputError messages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vipexec.core.errors import VipexecError
from vipexec.modules.errors import InputError, UnknownImageError


def _rgb(h=4, w=6, value=(10, 20, 30)):
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[:] = value
    return image


def test_add_gives_content_id_and_size(store):
    ref = store.add(_rgb())
    assert (ref.width, ref.height) == (6, 4)
    assert len(ref.id) == 16 and int(ref.id, 16) >= 0
    assert store.add(_rgb()) == ref  # same pixels, same id
    assert store.add(_rgb(value=(10, 20, 31))).id != ref.id
    assert ref.id in store and "nope" not in store and 3 not in store


def test_pixels_are_read_only_copies(store):
    source = _rgb()
    ref = store.add(source)
    source[:] = 0
    pixels = store.pixels(ref.id)
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8 and pixels[0, 0, 2] == 30
    with pytest.raises(ValueError):
        pixels[0, 0, 0] = 1


def test_grey_rgba_and_pil_inputs_become_rgb(store):
    grey = store.add(np.full((3, 5), 7, dtype=np.uint8))
    assert store.pixels(grey.id)[1, 1].tolist() == [7, 7, 7]
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., :3] = 9
    assert store.pixels(store.add(rgba).id)[0, 0].tolist() == [9, 9, 9]
    pil = Image.new("RGB", (5, 3), (1, 2, 3))
    ref = store.add(pil)
    assert (ref.width, ref.height) == (5, 3)
    assert store.pixels(ref.id)[2, 4].tolist() == [1, 2, 3]
    assert store.add(pil.convert("L")).width == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((0, 4, 3), dtype=np.uint8), "image: image has zero size (4x0)"),
        (np.zeros((4, 4, 3), dtype=np.float32), "image: expected a uint8 array, got dtype float32"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "image: expected an H x W, H x W x 3 or H x W x 4"),
        ([[1, 2]], "image: expected a numpy array or a PIL image, got list"),
    ],
)
def test_add_rejects_bad_arrays(store, value, message):
    with pytest.raises(InputError) as info:
        store.add(value)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, VipexecError)


def test_load_png_and_jpeg(store, tmp_path):
    Image.fromarray(_rgb(8, 10)).save(tmp_path / "a.png")
    Image.fromarray(_rgb(8, 10, (200, 100, 50))).save(tmp_path / "b.jpg", quality=95)
    png = store.load(tmp_path / "a.png")
    assert png == store.add(_rgb(8, 10))  # lossless: the same content id
    jpg = store.load(str(tmp_path / "b.jpg"))
    assert (jpg.width, jpg.height) == (10, 8)
    assert np.abs(store.pixels(jpg.id).astype(int) - [200, 100, 50]).max() < 8


def _one_line_error(call, path):
    with pytest.raises(InputError) as info:
        call(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    return text


def test_load_errors_name_the_file_and_the_problem(store, tmp_path):
    missing = tmp_path / "missing.png"
    assert _one_line_error(store.load, missing) == f"{missing}: no such file"
    assert (
        _one_line_error(store.load, tmp_path)
        == f"{tmp_path}: is a directory, expected an image file"
    )
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert _one_line_error(store.load, empty) == f"{empty}: file is empty (0 bytes)"
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image at all" * 10)
    assert _one_line_error(store.load, garbage) == (
        f"{garbage}: not a readable image (unknown or corrupt format)"
    )
    truncated = tmp_path / "truncated.png"
    Image.fromarray(_rgb(64, 64)).save(tmp_path / "whole.png")
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:60])
    text = _one_line_error(store.load, truncated)
    assert text.startswith(f"{truncated}: not a readable image (")


def test_unknown_image_id(store):
    with pytest.raises(UnknownImageError) as info:
        store.pixels("0123456789abcdef")
    assert str(info.value) == "image id '0123456789abcdef' is not in this image store"
    assert isinstance(info.value, LookupError)


def _frames(n, size=(6, 4)):
    return [_rgb(size[1], size[0], (i * 20, 5, 5)) for i in range(n)]


def test_load_video_from_gif_and_directory(store, tmp_path):
    frames = _frames(3)
    images = [Image.fromarray(f) for f in frames]
    images[0].save(tmp_path / "clip.gif", save_all=True, append_images=images[1:], duration=50)
    video = store.load_video(tmp_path / "clip.gif")
    assert (video.num_frames, video.width, video.height) == (3, 6, 4)
    assert [store.pixels(i)[0, 0, 0] for i in video.frame_ids] == [0, 20, 40]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(images):
        image.save(folder / f"f{i:02d}.png")
    (folder / "notes.txt").write_text("ignored")
    again = store.load_video(folder)
    assert again.frame_ids == video.frame_ids and again.id == video.id
    assert store.video(video.id) == video
    assert video.frame(1).id == video.frame_ids[1]


def test_load_video_errors(store, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _one_line_error(store.load_video, empty).startswith(
        f"{empty}: directory holds no frame images ("
    )
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (4, 4)).save(mixed / "a.png")
    Image.new("RGB", (5, 4)).save(mixed / "b.png")
    assert _one_line_error(store.load_video, mixed) == (
        f"{mixed}: frame 1 is 5x4, frame 0 is 4x4 (all frames must share one size)"
    )
    movie = tmp_path / "movie.mp4"
    movie.write_bytes(b"\x00" * 10)
    assert _one_line_error(store.load_video, movie) == (
        f"{movie}: .mp4 videos are not supported; "
        "convert to an animated GIF or a directory of frame images"
    )
    assert _one_line_error(store.load_video, tmp_path / "nope.gif").endswith(": no such file")
