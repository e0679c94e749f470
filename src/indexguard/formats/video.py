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
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.match.vpdq_index import Frame

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
