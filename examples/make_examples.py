#!/usr/bin/env python3
"""Writes the README's example files, deterministically: examples/placeholder.torrent (a v1 torrent whose name
carries a placeholder pseudo-word of the demo list, so `inspect` and `screen` show a match) and
examples/thumbnail.jpg (a generated picture of coloured blobs). Nothing here is real content.

    .venv/bin/python examples/make_examples.py        # rewrites both files beside this script
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def bencode(v: object) -> bytes:
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def placeholder_torrent() -> bytes:
    piece = 16384
    files = [("Zorblat.Holiday.2019.1080p.mkv", 40000), ("readme.txt", 120)]
    payload = b"".join(bytes([i % 251]) * size for i, (_, size) in enumerate(files))
    pieces = b"".join(hashlib.sha1(payload[i:i + piece]).digest() for i in range(0, len(payload), piece))
    info = {
        "name": "Zorblat.Holiday.2019.1080p",
        "piece length": piece,
        "pieces": pieces,
        "files": [{"length": size, "path": [name]} for name, size in files],
    }
    return bencode({"announce": "udp://tracker.example.invalid:1337/announce", "comment": "indexguard example",
                    "created by": "examples/make_examples.py", "creation date": 1546300800, "info": info})


def thumbnail() -> bytes:
    rng = np.random.default_rng(7)
    h, w = 240, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3)) + (xx / w * 60)[..., None]
    for _ in range(12):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, 90)
        img += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None] * rng.uniform(0, 255, 3)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def main() -> None:
    (HERE / "placeholder.torrent").write_bytes(placeholder_torrent())
    (HERE / "thumbnail.jpg").write_bytes(thumbnail())


if __name__ == "__main__":
    main()
