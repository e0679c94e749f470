"""Image decoding and hashing: PDQ (perceptual, with its quality score) and MD5/SHA-1/SHA-256.

Decoding is defensive: the byte size and the pixel count declared in the header are checked
before any pixel is decoded, so a decompression bomb costs a header parse, not gigabytes. The
global Pillow settings (MAX_IMAGE_PIXELS, LOAD_TRUNCATED_IMAGES) are never changed; Pillow's
own bomb check stays in force as a second line behind ours.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from indexguard.errors import LimitExceeded, ParseError

PDQ_BITS = 256
# The order pdqhash.compute_dihedral returns its eight variants in.
DIHEDRAL_NAMES: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Safety caps applied before decoding. Thumbnails are far below these."""

    max_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 65_535


DEFAULT_LIMITS = ImageLimits()


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """Every hash of one image. `dihedral` holds the eight PDQ variants (original first) when asked."""

    pdq: str
    quality: int
    md5: str
    sha1: str
    sha256: str
    width: int
    height: int
    dihedral: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "pdq": self.pdq,
            "quality": self.quality,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
        }
        if self.dihedral:
            out["dihedral"] = dict(zip(DIHEDRAL_NAMES, self.dihedral, strict=True))
        return out


def hash_image(
    data: bytes,
    *,
    dihedral: bool = False,
    limits: ImageLimits = DEFAULT_LIMITS,
    pdq_max_side: int | None = None,
) -> ImageHashes:
    """Hash one encoded image (any format Pillow reads). Raises ParseError or LimitExceeded.

    pdq_max_side: shrink larger images to this side before PDQ (about 5x faster on photos, a few
    bits of drift from the full-resolution reference); None hashes at full resolution.
    """
    if len(data) > limits.max_bytes:
        raise LimitExceeded("image", f"{len(data)} bytes exceeds the limit of {limits.max_bytes}")
    import pdqhash  # here, not at import: screening text (sweeps) never loads the image hasher

    rgb, (width, height) = _decode(data, limits, pdq_max_side)
    if dihedral:
        vectors, quality = pdqhash.compute_dihedral(rgb)
        variants = [bits_to_hex(v) for v in vectors]
        pdq = variants[0]
    else:
        vector, quality = pdqhash.compute(rgb)
        pdq = bits_to_hex(vector)
        variants = []
    return ImageHashes(
        pdq=pdq,
        quality=int(quality),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        dihedral=variants,
    )


def bits_to_hex(bits: npt.NDArray[np.generic]) -> str:
    """pdqhash's 256-element 0/1 vector -> the canonical 64-hex form (first bit = top bit)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def decode_rgb(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> npt.NDArray[np.uint8]:
    """Decode to an upright (EXIF orientation applied) H×W×3 uint8 array."""
    return _decode(data, limits, None)[0]


def _decode(
    data: bytes, limits: ImageLimits, max_side: int | None
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """Upright RGB pixels (shrunk to max_side when given) and the upright full size."""
    image = _open_checked(data, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = _to_rgb_array(upright)
            size = upright.size
            if max_side is not None and max(size) > max_side:
                # Shrink after the mode conversion: resampling raw LAB or palette bytes is wrong.
                small = Image.fromarray(rgb, "RGB")
                small.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
                rgb = np.asarray(small, dtype=np.uint8)
            return rgb, size
    except LimitExceeded:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LimitExceeded("image", f"decompression bomb refused by the decoder: {exc}") from exc
    except MemoryError as exc:
        raise LimitExceeded("image", "image needs more memory than allowed to decode") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError) as exc:
        raise ParseError("image", f"cannot decode image: {_reason(exc)}") from exc


def _open_checked(data: bytes, limits: ImageLimits) -> Image.Image:
    """Parse the header only and refuse sizes beyond the limits before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LimitExceeded("image", f"declared size refused as a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ParseError("image", "not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError) as exc:
        raise ParseError("image", f"cannot read image header: {_reason(exc)}") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ParseError("image", f"invalid declared size {width}x{height}")
    if width > limits.max_side or height > limits.max_side:
        raise LimitExceeded("image", f"declared size {width}x{height} exceeds side limit {limits.max_side}")
    if width * height > limits.max_pixels:
        raise LimitExceeded(
            "image", f"declared size {width}x{height} exceeds the pixel limit of {limits.max_pixels}"
        )
    return image


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def _to_rgb_array(image: Image.Image) -> npt.NDArray[np.uint8]:
    """Any Pillow mode -> RGB. Alpha is dropped (as the PDQ reference tools do), high bit depths are
    scaled to 8 bits, and colour spaces Pillow cannot convert directly go through their own maths."""
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8)
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _grey_from_wide(image)
    if mode == "LAB":
        return _rgb_from_lab(np.asarray(image, dtype=np.uint8))
    if mode == "HSV":
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    if mode in ("RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "L", "LA", "La", "1", "P", "PA"):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _grey_from_wide(image: Image.Image) -> npt.NDArray[np.uint8]:
    """16-bit / 32-bit integer / float greyscale -> 8-bit grey replicated to RGB.

    I;16 is always 16-bit; I is treated as 16-bit only when it holds values above 255 (Pillow
    loads many 8-bit sources as I); F is taken as 0..1 when its maximum is at most 1."""
    arr = np.asarray(image, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    top = float(finite.max()) if finite.size else 0.0
    if image.mode.startswith("I;16") or (image.mode == "I" and top > 255.0):
        arr = arr / 257.0
    elif image.mode == "F" and 0.0 < top <= 1.0:
        arr = arr * 255.0
    grey = np.clip(np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0), 0.0, 255.0)
    grey8 = np.rint(grey).astype(np.uint8)
    return np.repeat(grey8[:, :, None], 3, axis=2)


def _rgb_from_lab(lab: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Pillow's 8-bit LAB -> sRGB, D65 white. Pillow stores L as 0..255 for 0..100 and a/b as
    signed bytes (two's complement) in the pixel buffer, whatever getpixel() shows."""
    lum = lab[..., 0].astype(np.float64) * (100.0 / 255.0)
    a = lab[..., 1].view(np.int8).astype(np.float64)
    b = lab[..., 2].view(np.int8).astype(np.float64)
    fy = (lum + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0

    def finv(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.where(t > 6.0 / 29.0, t**3, 3.0 * (6.0 / 29.0) ** 2 * (t - 4.0 / 29.0))

    x = 0.95047 * finv(fx)
    y = finv(fy)
    z = 1.08883 * finv(fz)
    r = 3.2406 * x - 1.5372 * y - 0.4986 * z
    g = -0.9689 * x + 1.8758 * y + 0.0415 * z
    bl = 0.0557 * x - 0.2040 * y + 1.0570 * z
    lin = np.clip(np.stack([r, g, bl], axis=-1), 0.0, 1.0)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)
    return np.rint(srgb * 255.0).astype(np.uint8)
