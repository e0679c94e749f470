"""vPDQ hashes of preview clips a site hosts, through the `vpdq` package (Meta's reference, BSD).

`vpdq` is built against FFmpeg's development libraries, so it installs only where those are present
(Debian: libavcodec-dev, libavformat-dev, libavdevice-dev, libavfilter-dev, libswscale-dev,
libswresample-dev), and FFmpeg builds that enable GPL parts make the combination GPL: check the
licence of the FFmpeg you link. indexguard therefore never requires it: without it, hashing a video
fails with one line saying so, and everything else (matching vPDQ hashes a site computed itself,
`indexguard.match.vpdq_index`) works.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError, ParseError

MAX_FRAMES = 100_000  # a preview clip has tens of frames; a day of video at 1 frame/s is 86,400
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Frame:
    pdq: str
    quality: int
    timestamp: float


def parse_vpdq(text: str) -> list[Frame]:
    """The library's serialisation (JSON list of "pdq_hex,quality,timestamp"); ParseError when malformed."""
    try:
        items = json.loads(text or "[]")
    except ValueError:
        raise ParseError("vpdq", "not a JSON list of frames") from None
    if not isinstance(items, list) or len(items) > MAX_FRAMES:
        raise ParseError("vpdq", f"expected a JSON list of at most {MAX_FRAMES} frames")
    frames = []
    for n, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        try:
            pdq, quality, ts = parts[0].strip().lower(), int(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ParseError("vpdq", f"frame {n} is not 'pdq_hex,quality,timestamp'") from None
        if len(pdq) != 64 or not _HEX.issuperset(pdq) or not 0 <= quality <= 100 or ts < 0 or len(parts) != 3:
            raise ParseError("vpdq", f"frame {n} is out of range")
        frames.append(Frame(pdq, quality, ts))
    return frames


VPDQ_HINT = (
    "vPDQ video hashing needs the 'vpdq' package, which builds against FFmpeg's development libraries: "
    "pip install vpdq (check the licence of your FFmpeg build); matching precomputed vPDQ hashes needs nothing"
)


class VpdqUnavailable(IndexguardError):
    """The `vpdq` package is not installed (or cannot load its FFmpeg libraries)."""


def vpdq_module() -> Any:
    try:
        return importlib.import_module("vpdq")
    except ImportError:
        raise VpdqUnavailable(VPDQ_HINT) from None


def hash_video(path: str | Path, seconds_per_hash: float = 1.0) -> list[Frame]:
    """One frame hash per `seconds_per_hash` of the clip (the library's default sampling)."""
    mod = vpdq_module()
    p = Path(path)
    if not p.is_file():
        raise IndexguardError(f"{p}: not a file")
    features = mod.computeHash(str(p), seconds_per_hash=seconds_per_hash)
    return [Frame(f.hex, int(f.quality), float(f.timestamp)) for f in features]


def to_json(frames: list[Frame]) -> list[str]:
    """The `threatexchange` serialisation: "pdq_hex,quality,timestamp" per frame."""
    return [f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in frames]
