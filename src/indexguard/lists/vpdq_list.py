"""vPDQ banks: videos (preview clips) by their vPDQ hashes, from JSONL files.

One JSON object a line: `{"id": "...", "category": "csam", "source": "...", "vpdq": [...]}` where
`vpdq` is the `threatexchange` serialisation (a list of "pdq_hex,quality,timestamp" strings, or that
list as one JSON string, as ThreatExchange and HMA store it). `id` defaults to `<bank>:<line>`. One bad
line refuses the file, naming the line, never repeating a hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from indexguard.errors import ListFormatError, ParseError
from indexguard.formats.video import Frame, parse_vpdq

MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class VpdqEntry:
    id: str
    category: str
    source: str
    frames: tuple[Frame, ...]

    def __repr__(self) -> str:  # keeps hashes out of logs
        return f"VpdqEntry(id={self.id!r}, category={self.category!r}, frames={len(self.frames)})"


@dataclass(frozen=True)
class VpdqList:
    name: str
    entries: list[VpdqEntry]

    def __repr__(self) -> str:
        return f"VpdqList(name={self.name!r}, videos={len(self.entries)})"


def load_vpdq_bank(path: str | Path, name: str | None = None, category: str = "csam") -> VpdqList:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ListFormatError(str(p), None, f"file larger than {MAX_FILE_BYTES} bytes")
        text = p.read_text("utf-8")
    except OSError as e:
        raise ListFormatError(str(p), None, f"cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ListFormatError(str(p), None, "not valid UTF-8") from None
    bank = name or p.stem
    return VpdqList(bank, parse_vpdq_bank(text, str(p), bank, category))


def parse_vpdq_bank(text: str, source: str, bank: str, category: str = "csam") -> list[VpdqEntry]:
    entries: list[VpdqEntry] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise ListFormatError(source, number, "not a JSON object") from None
        if not isinstance(obj, dict) or "vpdq" not in obj:
            raise ListFormatError(source, number, "needs a 'vpdq' field")
        raw = obj["vpdq"]
        try:
            frames = parse_vpdq(raw if isinstance(raw, str) else json.dumps(raw))
        except ParseError as e:
            raise ListFormatError(source, number, e.reason) from None
        entry_id = str(obj.get("id") or f"{bank}:{number}")
        if entry_id in seen:
            raise ListFormatError(source, number, f"duplicate entry id {entry_id!r}")
        seen.add(entry_id)
        entries.append(
            VpdqEntry(entry_id, str(obj.get("category") or category), str(obj.get("source") or bank), tuple(frames))
        )
    return entries
