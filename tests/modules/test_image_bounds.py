"""Decompression bombs: an image's pixel count is checked from the file header, before decoding."""

import struct
import zlib

import numpy as np
import pytest

from vipexec.modules.errors import InputError
from vipexec.modules.images import MAX_IMAGE_PIXELS, ImageStore, to_rgb_array


def png_declaring(path, width, height):
    """A tiny PNG whose header declares ``width x height`` (its pixel data is never read)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(bytes(min(height * (width + 1), 4096)))  # only small ones are read
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_png_declaring_144_megapixels_is_refused_before_decoding(tmp_path):
    path = png_declaring(tmp_path / "bomb.png", 12000, 12000)
    assert path.stat().st_size < 200
    with pytest.raises(InputError) as caught:
        ImageStore().load(path)
    assert str(caught.value) == (
        f"{path}: image is 12000x12000 (144.0 megapixels), more than the limit of 40 megapixels"
    )


def test_a_video_of_too_many_pixels_is_refused(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (4, 4)).save(frames / f"{i}.png")
    import vipexec.modules.images as images

    original = images.MAX_VIDEO_PIXELS
    images.MAX_VIDEO_PIXELS = 40  # 3 frames of 16 pixels
    try:
        with pytest.raises(InputError, match="video has 3 frames of 4x4"):
            ImageStore().load_video(frames)
    finally:
        images.MAX_VIDEO_PIXELS = original


def test_an_array_over_the_bound_is_refused_without_a_copy():
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    huge = np.broadcast_to(np.zeros((1, 1, 3), dtype=np.uint8), (side, side, 3))
    with pytest.raises(InputError, match=f"image is {side}x{side}"):
        to_rgb_array(huge)


def test_a_small_image_is_accepted(tmp_path):
    assert ImageStore().load(png_declaring(tmp_path / "ok.png", 8, 8)).width == 8
