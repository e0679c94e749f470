"""URL lists (the IWF URL List model): plain text or CSV, exact / prefix / host entries.

Plain text: one entry a line, `#` starts a comment (a whole line, or after whitespace), blank
lines are ignored. The match kind follows from how the entry is written:
- `http://host.test/a/b/*` (ends with `/*`): prefix: that host, path /a/b and everything below it;
- `host.test` (a bare host: no scheme, no `/`, no `?`) or `*.host.test`: host and its subdomains;
- anything else: exact URL.
CSV: header `id,url,match,category,severity,source,note`, only `url` required; `match` is one of
exact | prefix | host and, when empty, follows the plain-text rule.

A file with one broken line loads nothing: ListFormatError names the file, the line and the
reason, never the URL (lists are confidential). Entries keep their canonical form only.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from indexguard.errors import ListFormatError
from indexguard.formats.url import CanonicalUrl, UrlError, canonicalize
from indexguard.lists.severity import SEVERITIES, Severity

MatchKind = Literal["exact", "prefix", "host"]
MATCH_KINDS: tuple[MatchKind, ...] = get_args(MatchKind)
CSV_COLUMNS = ("id", "url", "match", "category", "severity", "source", "note")
DEFAULT_CATEGORY = "csam"
MAX_LINE_CHARS = 16384
MAX_FILE_BYTES = 1 << 30
MAX_ID_CHARS = 256
# A prefix entry may be at most this many path segments deep and a host entry at most this many
# labels long; the matcher then needs at most this many probes of each kind per URL.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class UrlEntry:
    """One list entry. `url` and `key` are confidential: never log them or put them in results."""

    id: str
    match: MatchKind
    url: str  # canonical URL of the entry (for a host entry: http://host/)
    key: str  # what the matcher looks up: see match/url_match.py
    category: str
    severity: Severity
    source: str
    note: str
    line: int
    depth: int  # host entries: labels; prefix entries: path segments; exact: 1 with a query, else 0

    @property
    def mode(self) -> str:
        return self.match

    def __repr__(self) -> str:  # keeps the URL out of logs and tracebacks
        return f"UrlEntry(id={self.id!r}, match={self.match}, category={self.category!r})"


@dataclass(frozen=True, slots=True)
class UrlList:
    name: str
    version: str
    entries: tuple[UrlEntry, ...]
    allowlist: bool = False
    source: str = ""

    def __len__(self) -> int:
        return len(self.entries)


def load_url_list(path: str | Path, name: str | None = None, *, allowlist: bool = False) -> UrlList:
    """Read a list file; `.csv` files are CSV, anything else plain text unless it has a header."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ListFormatError(str(p), None, f"file of {size} bytes exceeds {MAX_FILE_BYTES}")
        data = p.read_bytes()
    except OSError as e:
        raise ListFormatError(str(p), None, f"cannot read: {e.strerror or e}") from None
    text = _decode(data, str(p))
    fmt: Literal["txt", "csv"] | None = "csv" if p.suffix.lower() == ".csv" else None
    return parse_url_list(text, name or p.stem, fmt, allowlist=allowlist, source=str(p))


def parse_url_list(
    text: str,
    name: str,
    fmt: Literal["txt", "csv"] | str | None = None,
    *,
    allowlist: bool = False,
    source: str | None = None,
) -> UrlList:
    """Parse a whole list; raises ListFormatError on the first broken line and loads nothing.

    `fmt` None means: CSV when the first non-comment line is a header naming a `url` column."""
    src = source or name
    if fmt not in (None, "txt", "csv"):
        raise ListFormatError(src, None, f"format must be txt or csv, not {fmt!r}")
    if fmt is None:
        fmt = "csv" if _looks_like_header(text) else "txt"
    lines = _numbered_lines(text, src)
    entries = list(_parse_csv(lines, name, src) if fmt == "csv" else _parse_plain(lines, name, src))
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            raise ListFormatError(src, e.line, f"duplicate entry id {e.id!r}")
        seen.add(e.id)
    return UrlList(name, list_version(entries), tuple(entries), allowlist, src)


def list_version(entries: list[UrlEntry]) -> str:
    """sha256 of the canonical content: what matches, not how the file was written."""
    h = hashlib.sha256(b"indexguard-url-list-1\n")
    for e in sorted(entries, key=lambda x: x.id):
        row = [e.id, e.match, e.key, e.severity, e.category, e.source]
        h.update(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


def infer_match(raw: str) -> MatchKind:
    """The plain-text rule: `/*` at the end is a prefix, a bare host (or `*.host`) a host match."""
    if raw.endswith("/*"):
        return "prefix"
    if raw.startswith("*.") or ("://" not in raw and "/" not in raw and "?" not in raw):
        return "host"
    return "exact"


def make_entry(
    raw: str,
    match: MatchKind,
    *,
    id: str,
    line: int,
    category: str = DEFAULT_CATEGORY,
    severity: Severity = "block",
    source: str = "",
    note: str = "",
) -> UrlEntry:
    """One entry from its written form; raises ValueError with a reason (never the URL)."""
    if match == "prefix":
        c = _canon(raw[:-1] if raw.endswith("/*") else raw)
        if c.query is not None:
            raise ValueError("a prefix entry cannot have a query ('?')")
        segments = [s for s in c.path.split("/") if s]
        key, depth, url = prefix_key(c.host, segments), len(segments), c.url
    elif match == "host":
        c = _canon(raw[2:] if raw.startswith("*.") else raw)
        if c.path != "/" or c.query is not None:
            raise ValueError("a host entry takes a host only, not a path or query")
        key, depth, url = c.host, 1 if c.is_ip else c.host.count(".") + 1, c.url
    else:
        c = _canon(raw)
        key, depth, url = c.key, 1 if c.query else 0, c.url
    if depth > MAX_DEPTH:
        unit = "labels" if match == "host" else "path segments"
        raise ValueError(f"a {match} entry deeper than {MAX_DEPTH} {unit} is not supported")
    return UrlEntry(id, match, url, key, category, severity, source, note, line, depth)


def prefix_key(host: str, segments: list[str]) -> str:
    """The key of a path-segment prefix: `host/` for the root, `host/a/b` for /a/b/*."""
    return host + "/" + "/".join(segments)


def _canon(raw: str) -> CanonicalUrl:
    if not raw.strip():
        raise ValueError("empty URL")
    try:
        return canonicalize(raw)
    except UrlError as e:
        raise ValueError(f"not a usable URL: {e.reason}") from None


def _parse_plain(lines: Iterator[tuple[int, str]], name: str, src: str) -> Iterator[UrlEntry]:
    for n, line in lines:
        raw = _strip_comment(line)
        if not raw:
            continue
        try:
            # The list's name, not the file's path: the version must not depend on where the file lies.
            yield make_entry(raw, infer_match(raw), id=f"{name}:{n}", line=n, source=name)
        except ValueError as e:
            raise ListFormatError(src, n, str(e)) from None


def _parse_csv(lines: Iterator[tuple[int, str]], name: str, src: str) -> Iterator[UrlEntry]:
    header: list[str] | None = None
    for n, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = next(csv.reader([line], strict=True))
        except csv.Error as e:
            raise ListFormatError(src, n, f"bad CSV: {e}") from None
        if header is None:
            header = _check_header([c.strip().lower() for c in row], src, n)
            continue
        if len(row) > len(header):
            raise ListFormatError(src, n, f"{len(row)} fields, the header has {len(header)}")
        rec = dict(zip(header, (c.strip() for c in row), strict=False))
        try:
            yield _csv_entry(rec, name, src, n)
        except ValueError as e:
            raise ListFormatError(src, n, str(e)) from None
    if header is None:
        raise ListFormatError(src, None, "a CSV URL list needs a header line naming a 'url' column")


def _check_header(cols: list[str], src: str, n: int) -> list[str]:
    for c in cols:
        if c not in CSV_COLUMNS:
            raise ListFormatError(src, n, f"unknown column {c!r}; columns are {', '.join(CSV_COLUMNS)}")
    if len(set(cols)) != len(cols):
        raise ListFormatError(src, n, "a column is named twice")
    if "url" not in cols:
        raise ListFormatError(src, n, "the header has no 'url' column")
    return cols


def _csv_entry(rec: dict[str, str], name: str, src: str, n: int) -> UrlEntry:
    raw = rec.get("url", "")
    if not raw:
        raise ValueError("empty url")
    match = rec.get("match", "").lower() or infer_match(raw)
    if match not in MATCH_KINDS:
        raise ValueError(f"match must be one of {', '.join(MATCH_KINDS)}, not {match!r}")
    severity = rec.get("severity", "").lower() or "block"
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    entry_id = rec.get("id", "") or f"{name}:{n}"
    if len(entry_id) > MAX_ID_CHARS:
        raise ValueError(f"id longer than {MAX_ID_CHARS} characters")
    return make_entry(
        raw,
        match,
        id=entry_id,
        line=n,
        category=rec.get("category", "") or DEFAULT_CATEGORY,
        severity=severity,
        source=rec.get("source", "") or name,
        note=rec.get("note", ""),
    )


def _numbered_lines(text: str, src: str) -> Iterator[tuple[int, str]]:
    for n, line in enumerate(_lazy_lines(text), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ListFormatError(src, n, f"line longer than {MAX_LINE_CHARS} characters")
        yield n, line


def _looks_like_header(text: str) -> bool:
    for line in _lazy_lines(text):
        s = line.strip()
        if s and not s.startswith("#"):
            return "," in s and "url" in [c.strip().lower() for c in s.split(",")]
    return False


def _lazy_lines(text: str) -> Iterator[str]:
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end].removesuffix("\r")
        start = end + 1


def _strip_comment(line: str) -> str:
    s = line.strip()
    if s.startswith("#"):
        return ""
    for i, ch in enumerate(s):
        if ch == "#" and i > 0 and s[i - 1] in " \t":
            return s[:i].strip()
    return s


def _decode(data: bytes, src: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ListFormatError(src, line, "not valid UTF-8") from None
