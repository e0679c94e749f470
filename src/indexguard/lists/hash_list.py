"""Hash lists (banks): PDQ and exact hashes with provenance, loaded from plain or CSV files.

A file with one broken line loads nothing: the error names the file, the line and the reason,
never the hash text (lists are confidential).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from indexguard.errors import ListFormatError
from indexguard.lists.severity import SEVERITIES, Severity

HashType = Literal[
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "infohash_v1",
    "infohash_v2",
    "infohash_v2_trunc",
    "bep47_sha1",
    "pieces_root",
    "nzb_id",
]
HASH_TYPES: tuple[HashType, ...] = get_args(HashType)
HEX_LENGTH: dict[HashType, int] = {
    "md5": 32,
    "sha1": 40,
    "sha256": 64,
    "pdq": 64,
    "infohash_v1": 40,
    "infohash_v2": 64,
    "infohash_v2_trunc": 40,
    "bep47_sha1": 40,
    "pieces_root": 64,
    "nzb_id": 64,
}
# What a bare hash of each length is taken to be when the caller names no type. 64 hex digits
# could be SHA-256 or PDQ (or an infohash v2): guessing would silently change matching, so no.
INFERRED_BY_LENGTH: dict[int, HashType] = {32: "md5", 40: "sha1"}

BankKind = Literal["normal", "allowlist"]
BANK_KINDS: tuple[BankKind, ...] = ("normal", "allowlist")
DEFAULT_PDQ_THRESHOLD = 31
CSV_COLUMNS = ("hash", "type", "id", "category", "source", "severity", "enabled")
MAX_LINE_CHARS = 4096
MAX_FILE_BYTES = 1 << 30

# Low-entropy PDQ: such hashes come from flat or near-blank images and match far too much.
PDQ_MIN_BITS = 16
PDQ_MAX_BITS = 240
PDQ_MIN_DISTINCT_BYTES = 5

_HEX = frozenset("0123456789abcdef")
_TRUE = frozenset({"1", "true", "yes", "y", "on", "enabled"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "disabled"})


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One hash with its provenance. `value` is lowercase hex; never log or return it in results."""

    hash_type: HashType
    value: str
    id: str
    category: str
    source: str
    severity: Severity
    enabled: bool = True
    line: int = 0

    def __repr__(self) -> str:  # keeps hash text out of logs and tracebacks
        return f"HashEntry(type={self.hash_type}, id={self.id!r}, category={self.category!r})"


@dataclass(frozen=True, slots=True)
class HashBank:
    """A named list of hashes. Allowlist banks cancel matches; each bank has its own PDQ threshold."""

    name: str
    entries: tuple[HashEntry, ...]
    kind: BankKind = "normal"
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD
    version: str = field(default="")

    def __post_init__(self) -> None:
        if self.kind not in BANK_KINDS:
            raise ValueError(f"bank kind must be one of {BANK_KINDS}, not {self.kind!r}")
        if not 0 <= self.pdq_threshold <= 256:
            raise ValueError(f"pdq_threshold must be within 0..256, not {self.pdq_threshold}")
        if not self.version:
            object.__setattr__(self, "version", bank_version(self.entries))

    def of_type(self, hash_type: HashType) -> list[HashEntry]:
        return [e for e in self.entries if e.hash_type == hash_type]

    def with_enabled(self, entry_id: str, enabled: bool) -> HashBank:
        """A copy with one entry switched on or off (the version follows the content)."""
        if all(e.id != entry_id for e in self.entries):
            raise KeyError(entry_id)
        entries = tuple(
            _replace_enabled(e, enabled) if e.id == entry_id else e for e in self.entries
        )
        return HashBank(self.name, entries, self.kind, self.pdq_threshold)

    def __repr__(self) -> str:
        return f"HashBank(name={self.name!r}, kind={self.kind}, entries={len(self.entries)})"


def _replace_enabled(e: HashEntry, enabled: bool) -> HashEntry:
    return HashEntry(e.hash_type, e.value, e.id, e.category, e.source, e.severity, enabled, e.line)


def bank_version(entries: Iterable[HashEntry]) -> str:
    """sha256 of the canonical content: one sorted tab-separated line per entry."""
    lines = sorted(
        "\t".join(
            (e.hash_type, e.value, e.id, e.category, e.source, e.severity, "1" if e.enabled else "0")
        )
        for e in entries
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def default_severity(hash_type: HashType) -> Severity:
    """Exact hashes identify the very file: block. A perceptual match needs a human: review."""
    return "review" if hash_type == "pdq" else "block"


def normalise_hash(text: str, hash_type: HashType | None) -> tuple[HashType, str]:
    """Validate one hash; returns (type, lowercase hex). Raises ValueError with a reason."""
    value = text.strip().lower()
    if not value:
        raise ValueError("empty hash")
    if any(c not in _HEX for c in value):
        raise ValueError("hash is not hexadecimal")
    if hash_type is None:
        if len(value) == 64:
            raise ValueError("64 hex digits are ambiguous (sha256, pdq, infohash_v2...): give the type")
        inferred = INFERRED_BY_LENGTH.get(len(value))
        if inferred is None:
            raise ValueError(f"cannot infer a hash type from {len(value)} hex digits")
        hash_type = inferred
    want = HEX_LENGTH[hash_type]
    if len(value) != want:
        raise ValueError(f"{hash_type} hash must have {want} hex digits, not {len(value)}")
    if value.count("0") == len(value):
        raise ValueError("all-zero hash")
    if hash_type == "pdq":
        problem = pdq_entropy_problem(bytes.fromhex(value))
        if problem:
            raise ValueError(problem)
    return hash_type, value


def pdq_entropy_problem(raw: bytes) -> str | None:
    """Why a PDQ hash is too degenerate to be a useful list entry, or None."""
    bits = int.from_bytes(raw, "big").bit_count()
    if bits < PDQ_MIN_BITS:
        return f"pdq hash has only {bits} bits set (low entropy)"
    if bits > PDQ_MAX_BITS:
        return f"pdq hash has {bits} of 256 bits set (low entropy)"
    for period in (1, 2, 4, 8, 16):
        if raw == raw[:period] * (32 // period):
            return f"pdq hash repeats a {period * 8}-bit pattern (low entropy)"
    if len(set(raw)) < PDQ_MIN_DISTINCT_BYTES:
        return f"pdq hash has only {len(set(raw))} distinct byte values (low entropy)"
    return None


@dataclass(frozen=True, slots=True)
class ListOptions:
    """How to read a list file: names and defaults for what the file does not say."""

    name: str
    hash_type: HashType | None = None
    kind: BankKind = "normal"
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD
    category: str = "csam"
    severity: Severity | None = None


def load_hash_list(
    path: str | Path,
    *,
    name: str | None = None,
    hash_type: HashType | None = None,
    kind: BankKind = "normal",
    pdq_threshold: int = DEFAULT_PDQ_THRESHOLD,
    category: str = "csam",
    severity: Severity | None = None,
) -> HashBank:
    """Load a plain (one hash a line) or CSV (header starting with a `hash` column) hash list."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ListFormatError(str(p), None, f"file of {size} bytes exceeds {MAX_FILE_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise ListFormatError(str(p), None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListFormatError(str(p), _line_of(raw, exc.start), "not valid UTF-8") from exc
    opts = ListOptions(name or p.stem, hash_type, kind, pdq_threshold, category, severity)
    return parse_hash_list(text, str(p), opts)


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def parse_hash_list(text: str, source: str, opts: ListOptions) -> HashBank:
    """Parse list text; CSV when the first non-comment line is a header with a `hash` column."""
    if opts.severity is not None and opts.severity not in SEVERITIES:
        raise ListFormatError(source, None, f"unknown severity {opts.severity!r}")
    if opts.hash_type is not None and opts.hash_type not in HASH_TYPES:
        raise ListFormatError(source, None, f"unknown hash type {opts.hash_type!r}")
    first = next(_content_lines(text), None)
    is_csv = first is not None and first[1].split(",")[0].strip().lower() == "hash"
    entries = list(_parse_csv(text, source, opts) if is_csv else _parse_plain(text, source, opts))
    _check_unique_ids(entries, source)
    try:
        return HashBank(opts.name, tuple(entries), opts.kind, opts.pdq_threshold)
    except ValueError as exc:
        raise ListFormatError(source, None, str(exc)) from exc


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def _parse_plain(text: str, source: str, opts: ListOptions) -> Iterator[HashEntry]:
    for number, line in _content_lines(text):
        if len(line) > MAX_LINE_CHARS:
            raise ListFormatError(source, number, f"line longer than {MAX_LINE_CHARS} characters")
        value_text = line.split("#", 1)[0].strip()
        try:
            hash_type, value = normalise_hash(value_text, opts.hash_type)
        except ValueError as exc:
            raise ListFormatError(source, number, str(exc)) from None
        yield HashEntry(
            hash_type=hash_type,
            value=value,
            id=f"{opts.name}:{number}",
            category=opts.category,
            source=opts.name,
            severity=opts.severity or default_severity(hash_type),
            enabled=True,
            line=number,
        )


def _parse_csv(text: str, source: str, opts: ListOptions) -> Iterator[HashEntry]:
    lines = text.splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if not line.strip().startswith("#")]
    numbered = [(n, line) for n, line in numbered if line.strip()]
    header_line, header_text = numbered[0]
    header = [h.strip().lower() for h in next(csv.reader([header_text]))]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ListFormatError(source, header_line, f"unknown CSV column(s): {', '.join(unknown)}")
    if len(set(header)) != len(header):
        raise ListFormatError(source, header_line, "duplicate CSV column")
    for number, line in numbered[1:]:
        if len(line) > MAX_LINE_CHARS:
            raise ListFormatError(source, number, f"line longer than {MAX_LINE_CHARS} characters")
        try:
            cells = next(csv.reader(io.StringIO(line)))
        except csv.Error as exc:
            raise ListFormatError(source, number, f"bad CSV: {exc}") from None
        if len(cells) != len(header):
            raise ListFormatError(source, number, f"expected {len(header)} fields, found {len(cells)}")
        row = dict(zip(header, (c.strip() for c in cells), strict=True))
        yield _csv_entry(row, number, source, opts)


def _csv_entry(row: dict[str, str], number: int, source: str, opts: ListOptions) -> HashEntry:
    type_text = row.get("type", "").lower() or None
    if type_text is not None and type_text not in HASH_TYPES:
        raise ListFormatError(source, number, f"unknown hash type {type_text!r}")
    wanted = type_text or opts.hash_type
    try:
        hash_type, value = normalise_hash(row.get("hash", ""), wanted)
    except ValueError as exc:
        raise ListFormatError(source, number, str(exc)) from None
    severity_text = row.get("severity", "").lower()
    if severity_text and severity_text not in SEVERITIES:
        raise ListFormatError(source, number, f"unknown severity {severity_text!r}")
    severity = severity_text if severity_text else None
    return HashEntry(
        hash_type=hash_type,
        value=value,
        id=row.get("id") or f"{opts.name}:{number}",
        category=row.get("category") or opts.category,
        source=row.get("source") or opts.name,
        severity=severity or opts.severity or default_severity(hash_type),
        enabled=_parse_enabled(row.get("enabled", ""), source, number),
        line=number,
    )


def _parse_enabled(text: str, source: str, number: int) -> bool:
    low = text.lower()
    if not low or low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ListFormatError(source, number, f"enabled must be true or false, not {text!r}")


def _check_unique_ids(entries: list[HashEntry], source: str) -> None:
    seen: dict[str, int] = {}
    for e in entries:
        if e.id in seen:
            raise ListFormatError(source, e.line, f"duplicate entry id {e.id!r} (first on line {seen[e.id]})")
        seen[e.id] = e.line
