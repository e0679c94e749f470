"""Term lists and allowlists: the plain-text and CSV formats of DESIGN.md.

A list loads whole or not at all: one broken line raises ListFormatError naming the file, the line and
the reason. Term text is confidential; nothing here logs it, and errors never quote it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import regex

from indexguard.errors import ListFormatError
from indexguard.lists.severity import SEVERITIES, Severity
from indexguard.text.canonicalize import Canonicalizer
from indexguard.text.leet import COLLAPSE_TABLE
from indexguard.text.units import compact, unit_letters

Mode = Literal["token", "phrase", "prefix", "substring", "regex"]
MODES: tuple[Mode, ...] = ("token", "phrase", "prefix", "substring", "regex")
CSV_COLUMNS = ("id", "term", "mode", "severity", "category", "source", "note")
MIN_LETTERS = 2
MAX_TERM_CHARS = 512


@dataclass(frozen=True, slots=True)
class TermEntry:
    id: str
    term: str  # confidential: never logged, never in a Decision
    mode: Mode
    severity: Severity
    category: str
    source: str
    note: str
    line: int
    # Derived by the canonicalizer: the term's letter units (multi-character leet mapped to its
    # letter), the same collapsed for stage one, and the unit indexes where a token ends.
    letters: str = ""
    collapsed: str = ""
    token_ends: frozenset[int] = frozenset()

    def __reduce__(self) -> tuple[type[TermEntry], tuple[object, ...]]:
        # Positional arguments: a compiled list unpickles 10,000 entries per worker, and the pickling
        # that dataclasses give slotted classes looks the fields up again for every object (4x slower).
        return (TermEntry, (self.id, self.term, self.mode, self.severity, self.category, self.source, self.note,
                            self.line, self.letters, self.collapsed, self.token_ends))


@dataclass(frozen=True, slots=True)
class TermList:
    name: str
    version: str
    entries: tuple[TermEntry, ...]
    allowlist: bool = False
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)


def load_term_list(
    path: str | Path, name: str | None = None, *, allowlist: bool = False, canon: Canonicalizer | None = None
) -> TermList:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ListFormatError(str(p), None, f"cannot read: {e.strerror or e}") from None
    fmt: Literal["txt", "csv"] = "csv" if p.suffix.lower() == ".csv" else "txt"
    text = _decode(data, str(p))
    return parse_term_list(text, name or p.stem, fmt, allowlist=allowlist, source=str(p), canon=canon)


def parse_term_list(
    text: str,
    name: str,
    fmt: Literal["txt", "csv"] | None = None,
    *,
    allowlist: bool = False,
    source: str | None = None,
    canon: Canonicalizer | None = None,
) -> TermList:
    """Parse a whole list; raises ListFormatError on the first broken line and loads nothing."""
    src = source or name
    canon = canon or Canonicalizer()
    text = text.removeprefix("\ufeff")
    if fmt is None:
        fmt = "csv" if _looks_like_csv(text) else "txt"
    raw = _parse_csv(text, name, src) if fmt == "csv" else _parse_txt(text, name)
    seen: dict[str, int] = {}
    entries: list[TermEntry] = []
    for e in raw:
        if e.id in seen:
            raise ListFormatError(src, e.line, f"duplicate entry id {e.id!r} (first on line {seen[e.id]})")
        seen[e.id] = e.line
        entries.append(_derive(e, canon, src))
    return TermList(name, _version(entries), tuple(entries), allowlist, src)


def _decode(data: bytes, src: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ListFormatError(src, line, f"not valid UTF-8 (byte {e.start})") from None


def _looks_like_csv(text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    cols = [c.strip().lower() for c in first.split(",")]
    return "term" in cols and all(c in CSV_COLUMNS for c in cols)


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    cut = line.find(" #")
    return line[:cut] if cut >= 0 else line


def _parse_txt(text: str, name: str) -> list[TermEntry]:
    out = []
    for no, line in enumerate(text.splitlines(), start=1):
        term = " ".join(_strip_comment(line).split())
        if not term:
            continue
        mode: Mode = "phrase" if " " in term else "token"
        out.append(TermEntry(f"{name}:{no}", term, mode, "block", "csam", name, "", no))
    return out


def _parse_csv(text: str, name: str, src: str) -> list[TermEntry]:
    lines = [(no, ln) for no, ln in enumerate(text.splitlines(), start=1) if ln.strip() and not ln.startswith("#")]
    if not lines:
        return []
    header_no, header_line = lines[0]
    header = [h.strip().lower() for h in next(csv.reader([header_line]))]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        allowed = ", ".join(CSV_COLUMNS)
        raise ListFormatError(src, header_no, f"unknown column(s) {', '.join(unknown)}; allowed: {allowed}")
    if "term" not in header:
        raise ListFormatError(src, header_no, "the header has no 'term' column")
    out = []
    for no, line in lines[1:]:
        try:
            row = next(csv.reader(io.StringIO(line), strict=True))
        except csv.Error as e:
            raise ListFormatError(src, no, f"malformed CSV: {e}") from None
        if len(row) != len(header):
            raise ListFormatError(src, no, f"expected {len(header)} fields, found {len(row)}")
        out.append(_csv_entry(dict(zip(header, (c.strip() for c in row), strict=True)), name, src, no))
    return out


def _csv_entry(row: dict[str, str], name: str, src: str, no: int) -> TermEntry:
    term = row.get("term", "")
    if not term:
        raise ListFormatError(src, no, "empty term")
    mode = row.get("mode") or ("phrase" if " " in term.strip() else "token")
    if mode not in MODES:
        raise ListFormatError(src, no, f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    severity = row.get("severity") or "block"
    if severity not in SEVERITIES:
        raise ListFormatError(src, no, f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return TermEntry(
        id=row.get("id") or f"{name}:{no}",
        term=term if mode == "regex" else " ".join(term.split()),
        mode=mode,
        severity=severity,
        category=row.get("category") or "csam",
        source=row.get("source") or name,
        note=row.get("note", ""),
        line=no,
    )


def _derive(e: TermEntry, canon: Canonicalizer, src: str) -> TermEntry:
    if len(e.term) > MAX_TERM_CHARS:
        raise ListFormatError(src, e.line, f"term longer than {MAX_TERM_CHARS} characters")
    if e.mode == "regex":
        try:
            regex.compile(e.term)
        except regex.error as err:
            raise ListFormatError(src, e.line, f"invalid regex: {err}") from None
        return e
    folded = canon.canonical(e.term)
    units = compact(folded)
    letters = unit_letters(folded, units)
    if len(letters) < MIN_LETTERS:
        raise ListFormatError(src, e.line, f"term has fewer than {MIN_LETTERS} letters after canonicalization")
    ends = {i for i in range(len(letters) - 1) if units.ends[i] != units.starts[i + 1]}
    ends.add(len(letters) - 1)
    mode: Mode = "phrase" if e.mode == "token" and len(ends) > 1 else e.mode
    collapsed = letters.translate(COLLAPSE_TABLE)
    return TermEntry(
        e.id, e.term, mode, e.severity, e.category, e.source, e.note, e.line, letters, collapsed, frozenset(ends)
    )


def _version(entries: Iterable[TermEntry]) -> str:
    h = hashlib.sha256()
    # One encoder for every row: json.dumps with options builds a new one per call (half the cost of a
    # 10,000-entry list's version). The bytes hashed are json.dumps(row, ensure_ascii=False)'s.
    encode = json.JSONEncoder(ensure_ascii=False).encode
    for e in sorted(entries, key=lambda x: x.id):
        h.update(encode([e.id, e.term, e.mode, e.severity, e.category, e.source]).encode("utf-8") + b"\n")
    return h.hexdigest()
