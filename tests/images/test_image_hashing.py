"""PDQ and exact hashing of images: reference fixtures, every mode, orientation, bombs, corrupt input."""

from __future__ import annotations

import csv
import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from indexguard.errors import LimitExceeded, ParseError
from indexguard.formats.image import DIHEDRAL_NAMES, ImageLimits, hash_image
from indexguard.match.hash_set import pdq_distance


def _pdq_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "pdq"


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _photo_like(seed: int = 3, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A generated image with structure at several scales (smooth gradients plus blobs)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, 90)
        colour = rng.uniform(0, 255, 3)
        mask = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += mask[..., None] * colour
    img += (xx / w * 60)[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def test_reference_hashes_within_ten_bits(fixtures_dir: Path) -> None:
    root = _pdq_dir(fixtures_dir)
    checked = 0
    with (root / "expected-hashes.csv").open() as f:
        for row in csv.DictReader(f):
            got = hash_image((root / row["path"]).read_bytes())
            if got.quality >= 80:
                assert pdq_distance(got.pdq, row["pdq_hex"]) <= 10, row["path"]
                checked += 1
    assert checked >= 14


def test_shrunk_pdq_stays_close_to_reference(fixtures_dir: Path) -> None:
    root = _pdq_dir(fixtures_dir)
    with (root / "expected-hashes.csv").open() as f:
        for row in csv.DictReader(f):
            got = hash_image((root / row["path"]).read_bytes(), pdq_max_side=512)
            if got.quality >= 80:
                assert pdq_distance(got.pdq, row["pdq_hex"]) <= 10, row["path"]


def test_bridge_mods_match_the_original(fixtures_dir: Path) -> None:
    mods = _pdq_dir(fixtures_dir) / "bridge-mods"
    orig = hash_image((mods / "aaa-orig.jpg").read_bytes()).pdq
    files = sorted(mods.glob("*.jpg"))
    assert len(files) == 12
    for path in files:
        assert pdq_distance(hash_image(path.read_bytes()).pdq, orig) <= 31, path.name


def test_every_mode_fixture_decodes_and_matches_the_original(fixtures_dir: Path) -> None:
    modes = _pdq_dir(fixtures_dir) / "misc-images" / "modes"
    orig = hash_image((modes / "original.jpg").read_bytes()).pdq
    files = [p for p in sorted(modes.iterdir()) if p.suffix != ".md"]
    assert len(files) >= 14
    for path in files:
        got = hash_image(path.read_bytes())
        assert got.quality >= 80, path.name
        assert pdq_distance(got.pdq, orig) <= 10, path.name


@pytest.mark.parametrize(
    "mode", ["1", "L", "P", "PA", "LA", "RGBA", "CMYK", "I", "F", "YCbCr", "LAB", "I;16"]
)
def test_in_memory_modes_hash_like_rgb(mode: str) -> None:
    base = _photo_like()
    if mode == "I;16":
        grey = np.asarray(base.convert("L"), dtype=np.uint16) * 257
        image = Image.fromarray(grey.astype("<u2"))
        assert image.mode == "I;16"
    else:
        image = base.convert(mode)
    buf = io.BytesIO()
    image.save(buf, "TIFF")
    ref = hash_image(_png(base.convert("L") if mode in ("1", "L", "LA", "I", "F", "I;16") else base))
    got = hash_image(buf.getvalue())
    limit = 40 if mode == "1" else 12  # 1-bit dithering changes fine detail
    assert pdq_distance(got.pdq, ref.pdq) <= limit


def test_webp_and_hsv_decode() -> None:
    base = _photo_like()
    buf = io.BytesIO()
    base.save(buf, "WEBP", quality=90)
    assert pdq_distance(hash_image(buf.getvalue()).pdq, hash_image(_png(base)).pdq) <= 12
    hsv = base.convert("HSV")
    arr = np.asarray(hsv.convert("RGB"))
    assert arr.shape == (240, 320, 3)


def test_exact_hashes_are_of_the_file_bytes() -> None:
    data = _png(_photo_like())
    got = hash_image(data)
    assert got.md5 == hashlib.md5(data).hexdigest()
    assert got.sha1 == hashlib.sha1(data).hexdigest()
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert (got.width, got.height) == (320, 240)
    assert len(got.pdq) == 64 and 0 <= got.quality <= 100


def test_exif_orientation_is_honoured() -> None:
    upright = _photo_like(seed=5)
    # Orientation 6 means "rotate 90° clockwise to display": store the pixels turned the other way.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    got = hash_image(buf.getvalue())
    assert (got.width, got.height) == upright.size
    assert pdq_distance(got.pdq, hash_image(_png(upright)).pdq) <= 12


def test_dihedral_variants_catch_a_rotated_copy() -> None:
    base = _photo_like(seed=9)
    rotated = base.transpose(Image.Transpose.ROTATE_90)
    got = hash_image(_png(base), dihedral=True)
    assert len(got.dihedral) == 8 and got.dihedral[0] == got.pdq
    rot = hash_image(_png(rotated)).pdq
    assert pdq_distance(rot, got.pdq) > 31
    assert min(pdq_distance(rot, v) for v in got.dihedral) <= 8
    assert set(got.as_dict()["dihedral"]) == set(DIHEDRAL_NAMES)  # type: ignore[arg-type]


def _png_declaring(width: int, height: int, mode_byte: int = 0) -> bytes:
    """A tiny PNG whose header declares a huge image (the IDAT holds almost nothing)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode_byte, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(
        b"IEND", b""
    )


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 20_000), (60_000, 1_000)])
def test_decompression_bomb_header_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(LimitExceeded, match=r"limit|bomb"):
        hash_image(_png_declaring(*size))


def test_real_zlib_bomb_refused_by_pixel_limit() -> None:
    bomb = _png(Image.new("L", (3000, 3000)))  # 9M pixels from a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(LimitExceeded, match="pixel limit"):
        hash_image(bomb, limits=ImageLimits(max_pixels=1_000_000))


def test_byte_limit() -> None:
    with pytest.raises(LimitExceeded, match="bytes"):
        hash_image(b"\0" * 2048, limits=ImageLimits(max_bytes=1024))


def test_truncated_and_corrupt_images_give_parse_error() -> None:
    data = _png(_photo_like())
    buf = io.BytesIO()
    _photo_like().save(buf, "JPEG")
    jpeg = buf.getvalue()
    for bad in (data[: len(data) // 2], jpeg[: len(jpeg) // 3], b"", b"not an image at all", data[:40]):
        with pytest.raises(ParseError) as err:
            hash_image(bad)
        assert "image" in str(err.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_images_never_crash(data: st.DataObject) -> None:
    original = bytearray(_png(_photo_like(size=(64, 48))))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(original) - 1))
        original[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    try:
        got = hash_image(bytes(original[:cut]), limits=ImageLimits(max_pixels=4_000_000))
    except ParseError:
        return
    assert len(got.pdq) == 64
