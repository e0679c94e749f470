"""Reading `screen` inputs: JSONL items, .torrent, .nzb and image files, and stdin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexguard.screen.item import Item, ItemError

MAX_FILE_BYTES = 64 * 1024 * 1024
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True, slots=True)
class Entry:
    """One input record: an Item, or the error that stopped one from being read."""

    item: Item | None
    error: str | None = None
    id: str = ""


def missing_inputs(paths: list[str]) -> list[str]:
    """Named inputs that are not there at all: a usage error (exit 2), unlike an unreadable item (review)."""
    return [p for p in paths if p != "-" and not Path(p).exists()]


def read_inputs(paths: list[str]) -> Iterator[Entry]:
    for p in paths:
        if p == "-":
            yield from _jsonl(sys.stdin, "stdin")
        else:
            yield from _file(Path(p))


def _file(path: Path) -> Iterator[Entry]:
    kind = _kind(path)
    if kind == "jsonl":
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                yield from _jsonl(fh, path.name)
        except OSError as e:
            yield Entry(None, f"{path}: cannot read: {e.strerror or e}", path.name)
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield Entry(None, f"{path}: file larger than {MAX_FILE_BYTES} bytes", path.name)
            return
        data = path.read_bytes()
    except OSError as e:
        yield Entry(None, f"{path}: cannot read: {e.strerror or e}", path.name)
        return
    yield Entry(Item(id=path.name, kind=kind, raw=data, extra={"filename": path.name}))  # type: ignore[arg-type]


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".torrent"):
        return "torrent"
    if name.endswith((".nzb", ".nzb.gz")):
        return "nzb"
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return "jsonl"
    if head.startswith(b"d") and b":" in head[:12]:
        return "torrent"
    if any(head.startswith(m) for m in IMAGE_MAGIC):
        return "image"
    if head.lstrip().startswith(b"<") or head.startswith(b"\x1f\x8b"):
        return "nzb"
    return "jsonl"


def _jsonl(fh: Iterable[str], source: str) -> Iterator[Entry]:
    for no, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        fallback = f"{source}:{no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Entry(None, f"{fallback}: not valid JSON: {e.msg} (column {e.colno})", fallback)
            continue
        try:
            yield Entry(Item.from_json(obj, default_id=fallback))
        except ItemError as e:
            ident = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else fallback
            yield Entry(None, f"{fallback}: {e}", str(ident))
