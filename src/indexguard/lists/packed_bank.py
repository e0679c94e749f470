"""A hash bank in columns: millions of hashes without millions of Python objects.

`HashBank` holds one `HashEntry` per hash, which is right for a few thousand entries and far too
heavy for a million (a gigabyte per worker, tens of seconds to parse). `PackedBank` holds the same
content as NumPy columns: raw hash bytes per type, entry ids as one UTF-8 blob with offsets, and
small vocabularies for category, source and severity. It can be saved as a directory of `.npy`
files and opened memory-mapped, so every worker of a service shares one copy through the page
cache (see `indexguard.store.list_snapshots`).

`parse_packed` reads the common shape of a big list (a CSV or plain file with no quotes, comments,
blank-padding or bad rows) with whole-column operations; anything else, and any row it would
reject, goes to the reference parser `parse_hash_list`, so errors name the same line and reason
and the version (sha256 of the canonical content) is the same either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from indexguard.lists.hash_list import (
    BANK_KINDS,
    CSV_COLUMNS,
    HASH_TYPES,
    HEX_LENGTH,
    INFERRED_BY_LENGTH,
    MAX_LINE_CHARS,
    PDQ_MAX_BITS,
    PDQ_MIN_BITS,
    PDQ_MIN_DISTINCT_BYTES,
    BankKind,
    HashBank,
    HashEntry,
    HashType,
    ListOptions,
    default_severity,
    parse_hash_list,
)
from indexguard.lists.severity import SEVERITIES, Severity

FORMAT = "indexguard-packed-bank-1"
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
_TRUE = frozenset({"", "1", "true", "yes", "y", "on", "enabled"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "disabled"})
# Padding, quotes, comments and the line breaks str.splitlines knows beside \n.
_UNSAFE = (" ", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", '"', "#")


@dataclass(frozen=True)
class StrColumn:
    """Strings as one UTF-8 blob and n+1 offsets: a million ids in a few megabytes, shareable."""

    blob: U8
    offsets: I64

    @classmethod
    def of(cls, values: Sequence[str]) -> StrColumn:
        joined = "".join(values)
        if joined.isascii():  # one byte a character: lengths in characters are lengths in bytes
            offsets = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
            return cls(np.frombuffer(joined.encode("ascii"), dtype=np.uint8), offsets)
        encoded = [v.encode("utf-8") for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return int(self.offsets.shape[0]) - 1

    def __getitem__(self, i: int) -> str:
        return bytes(self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])]).decode("utf-8")

    def to_list(self) -> list[str]:
        data = self.blob.tobytes()
        off = self.offsets.tolist()
        return [data[off[i] : off[i + 1]].decode("utf-8") for i in range(len(off) - 1)]


@dataclass(frozen=True)
class TypeGroup:
    """The entries of one hash type: raw hash bytes and the entry row each came from, sorted by
    value for binary search (PDQ, matched by distance instead, stays in entry order)."""

    raw: U8  # (m, bytes), sorted
    rows: I64

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])

    def keys(self) -> npt.NDArray[np.bytes_]:
        # S-dtype comparison pads with NUL; every value of a type has one length, so equality is exact.
        return self.raw.view(f"S{self.raw.shape[1]}").reshape(-1)


@dataclass(frozen=True)
class PackedBank:
    """The content of a HashBank (same name, kind, threshold, entries and version) in columns."""

    name: str
    version: str
    kind: BankKind
    pdq_threshold: int
    ids: StrColumn
    type_codes: U8  # index into HASH_TYPES
    categories: tuple[str, ...]
    category_codes: npt.NDArray[np.uint32]
    sources: tuple[str, ...]
    source_codes: npt.NDArray[np.uint32]
    severity_codes: U8  # index into SEVERITIES
    enabled: npt.NDArray[np.bool_]
    groups: dict[str, TypeGroup] = field(default_factory=dict)
    # The PDQ group's multi-index tables (PdqIndex segment perm, offsets), when built beforehand.
    pdq_mih: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"PackedBank(name={self.name!r}, kind={self.kind}, entries={len(self)})"

    def count(self, hash_type: str) -> int:
        g = self.groups.get(hash_type)
        return g.size if g is not None else 0

    def of_type(self, hash_type: HashType) -> list[HashEntry]:
        """Entries of one type as HashEntry objects (materialised: for small banks and tests)."""
        g = self.groups.get(hash_type)
        if g is None:
            return []
        pairs = zip(g.rows.tolist(), g.raw, strict=True)
        return [dataclasses.replace(self.entry(r, False), value=v.tobytes().hex()) for r, v in pairs]

    def entry(self, row: int, with_value: bool = True) -> HashEntry:
        """Entry `row`; without its value (""), which hits never need, it costs no search."""
        hash_type = HASH_TYPES[int(self.type_codes[row])]
        value = ""
        if with_value:
            g = self.groups[hash_type]
            value = g.raw[int(np.flatnonzero(g.rows == row)[0])].tobytes().hex()
        return HashEntry(
            hash_type,
            value,
            self.ids[row],
            self.categories[int(self.category_codes[row])],
            self.sources[int(self.source_codes[row])],
            SEVERITIES[int(self.severity_codes[row])],
            bool(self.enabled[row]),
        )

    @property
    def entries(self) -> EntryView:
        return EntryView(self)

    def exact_rows(self, hash_type: str, raw: bytes) -> list[int]:
        """Entry rows holding exactly this value (enabled or not: callers decide)."""
        g = self.groups.get(hash_type)
        if g is None or hash_type == "pdq" or len(raw) != g.raw.shape[1] or g.size == 0:
            return []
        keys = g.keys()
        lo = int(np.searchsorted(keys, np.bytes_(raw), side="left"))
        hi = int(np.searchsorted(keys, np.bytes_(raw), side="right"))
        return [int(g.rows[i]) for i in range(lo, hi)]

    def to_bank(self) -> HashBank:
        return HashBank(self.name, tuple(self.entries), self.kind, self.pdq_threshold, self.version)

    # files -----------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the columns as .npy files and meta.json (the directory must exist and be empty)."""
        arrays: dict[str, np.ndarray[Any, Any]] = {
            "ids_blob": self.ids.blob,
            "ids_offsets": self.ids.offsets,
            "type_codes": self.type_codes,
            "category_codes": self.category_codes,
            "source_codes": self.source_codes,
            "severity_codes": self.severity_codes,
            "enabled": self.enabled,
        }
        for t, g in self.groups.items():
            arrays[f"g.{t}.rows"], arrays[f"g.{t}.raw"] = g.rows, g.raw
        if self.pdq_mih is not None:
            arrays["pdq_perm"], arrays["pdq_offsets"] = self.pdq_mih
        for key, arr in arrays.items():
            np.save(directory / f"{key}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        meta = {
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "pdq_threshold": self.pdq_threshold,
            "categories": list(self.categories),
            "sources": list(self.sources),
            "groups": sorted(self.groups),
            "pdq_mih": self.pdq_mih is not None,
        }
        (directory / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def open(cls, directory: Path) -> PackedBank:
        """Open a saved bank memory-mapped (read-only; pages shared with every other reader)."""
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"not a packed bank of format {FORMAT}")

        def arr(key: str) -> Any:
            return np.load(directory / f"{key}.npy", mmap_mode="r", allow_pickle=False)

        groups = {t: TypeGroup(arr(f"g.{t}.raw"), arr(f"g.{t}.rows")) for t in meta["groups"]}
        mih = (arr("pdq_perm"), arr("pdq_offsets")) if meta.get("pdq_mih") else None
        return cls(
            meta["name"], meta["version"], meta["kind"], int(meta["pdq_threshold"]),
            StrColumn(arr("ids_blob"), arr("ids_offsets")), arr("type_codes"), tuple(meta["categories"]),
            arr("category_codes"), tuple(meta["sources"]), arr("source_codes"), arr("severity_codes"),
            arr("enabled"), groups, mih,
        )  # fmt: skip


AnyBank = HashBank | PackedBank


class EntryView(Sequence[HashEntry]):
    """The entries of a PackedBank as HashEntry objects made on demand (values left out, as "",
    when `values` is False: what hit reporting needs)."""

    def __init__(self, bank: PackedBank, values: bool = True) -> None:
        self._bank = bank
        self._values = values

    def __len__(self) -> int:
        return len(self._bank)

    @overload
    def __getitem__(self, i: int) -> HashEntry: ...
    @overload
    def __getitem__(self, i: slice) -> list[HashEntry]: ...
    def __getitem__(self, i: int | slice) -> HashEntry | list[HashEntry]:
        if isinstance(i, slice):
            return [self._bank.entry(r, self._values) for r in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self._bank.entry(i % len(self), self._values)

    def __iter__(self) -> Iterator[HashEntry]:
        if not self._values:
            return (self._bank.entry(r, False) for r in range(len(self)))
        values: dict[int, str] = {}
        for g in self._bank.groups.values():
            values.update(zip(g.rows.tolist(), (r.tobytes().hex() for r in g.raw), strict=True))
        return (dataclasses.replace(self._bank.entry(r, False), value=values[r]) for r in range(len(self)))


# building ------------------------------------------------------------------------------------
def _codes(values: Sequence[str]) -> tuple[tuple[str, ...], npt.NDArray[np.uint32]]:
    vocab = tuple(dict.fromkeys(values))
    if len(vocab) == 1:
        return vocab, np.zeros(len(values), dtype=np.uint32)
    index = {v: i for i, v in enumerate(vocab)}
    return vocab, np.fromiter((index[v] for v in values), dtype=np.uint32, count=len(values))


def _groups(raw_by_type: dict[str, tuple[I64, U8]]) -> dict[str, TypeGroup]:
    out = {}
    for t, (rows, raw) in raw_by_type.items():
        if t == "pdq":  # matched by distance through a PdqIndex, never by binary search
            out[t] = TypeGroup(raw, rows)
            continue
        order = np.argsort(raw.view(f"S{raw.shape[1]}").reshape(-1), kind="stable")
        out[t] = TypeGroup(np.ascontiguousarray(raw[order]), rows[order])
    return out


def _assemble(
    opts: ListOptions,
    version: str,
    types: list[str],
    raw_by_type: dict[str, tuple[I64, U8]],
    ids: list[str],
    categories: list[str],
    sources: list[str],
    severities: list[str],
    enabled: list[bool],
) -> PackedBank:
    n = len(types)
    type_index: dict[str, int] = {t: i for i, t in enumerate(HASH_TYPES)}
    type_codes = np.zeros(n, dtype=np.uint8)
    for t, (rows, _raw) in raw_by_type.items():
        type_codes[rows] = type_index[t]
    cat_vocab, cat_codes = _codes(categories)
    src_vocab, src_codes = _codes(sources)
    sev_vocab, sev_local = _codes(severities)
    sev_codes = np.array([SEVERITIES.index(v) for v in sev_vocab], dtype=np.uint8)[sev_local]
    return PackedBank(
        opts.name, version, opts.kind, opts.pdq_threshold, StrColumn.of(ids), type_codes, cat_vocab, cat_codes,
        src_vocab, src_codes, sev_codes, np.array(enabled, dtype=bool), _groups(raw_by_type),
    )  # fmt: skip


def _raw_by_type(types: list[str], hexes: list[str]) -> dict[str, tuple[I64, U8]] | None:
    """Each type's entry rows and raw bytes; None when a hash is not what the reference parser
    accepts (hex of the type's length, not all zero, PDQ with enough entropy)."""
    kinds = set(types)
    out: dict[str, tuple[I64, U8]] = {}
    for t in kinds:
        if len(kinds) == 1:
            rows, vals = np.arange(len(types), dtype=np.int64), hexes
        else:
            rows = np.array([i for i, ty in enumerate(types) if ty == t], dtype=np.int64)
            vals = [hexes[i] for i in rows.tolist()]
        want = HEX_LENGTH[t]  # type: ignore[index]
        if set(map(len, vals)) != {want}:
            return None
        try:
            raw = np.frombuffer(bytes.fromhex("".join(vals)), dtype=np.uint8).reshape(len(vals), want // 2)
        except ValueError:
            return None
        if not raw.any(axis=1).all() or (t == "pdq" and not _pdq_entropy_ok(raw)):
            return None
        out[t] = (rows, raw)
    return out


def pack(bank: HashBank) -> PackedBank:
    """The same bank in columns (same version)."""
    es = bank.entries
    opts = ListOptions(bank.name, kind=bank.kind, pdq_threshold=bank.pdq_threshold)
    types: list[str] = [e.hash_type for e in es]
    raw_by_type: dict[str, tuple[I64, U8]] = {}
    for t in dict.fromkeys(types):
        rows = np.array([i for i, ty in enumerate(types) if ty == t], dtype=np.int64)
        joined = bytes.fromhex("".join(es[i].value for i in rows.tolist()))
        raw_by_type[t] = (rows, np.frombuffer(joined, dtype=np.uint8).reshape(len(rows), -1))
    return _assemble(
        opts, bank.version, types, raw_by_type, [e.id for e in es], [e.category for e in es],
        [e.source for e in es], [e.severity for e in es], [e.enabled for e in es],
    )  # fmt: skip


def parse_packed(text: str, source: str, opts: ListOptions) -> PackedBank:
    """Parse hash-list text into a PackedBank: column-wise when the file allows, else through the
    reference parser (which also produces every error message)."""
    fast = _parse_fast(text, opts)
    return fast if fast is not None else pack(parse_hash_list(text, source, opts))


def _parse_fast(text: str, opts: ListOptions) -> PackedBank | None:
    if opts.severity is not None and opts.severity not in SEVERITIES:
        return None
    if opts.hash_type is not None and opts.hash_type not in HASH_TYPES:
        return None
    if opts.kind not in BANK_KINDS or not 0 <= opts.pdq_threshold <= 256:
        return None
    if not text.isascii() or any(c in text for c in _UNSAFE):
        return None  # quotes, comments, padding: the reference parser's business
    text = text.rstrip("\n")
    if not text or "\n\n" in text:
        return None
    first = text.split("\n", 1)[0]
    if first.split(",")[0].lower() == "hash":
        return _fast_csv(first, text[len(first) + 1 :], opts)
    if "," in text or _longest_line(text, 0) > MAX_LINE_CHARS:
        return None
    return _fast_plain(text.split("\n"), opts)


def _longest_line(text: str, commas: int) -> int:
    """The longest line's length, or MAX_LINE_CHARS + 1 when a line has other than `commas` commas."""
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    bounds = np.concatenate(([-1], np.flatnonzero(b == 10), [len(b)]))
    per_line = np.diff(np.searchsorted(np.flatnonzero(b == 44), bounds))
    if (per_line != commas).any():
        return MAX_LINE_CHARS + 1
    return int((np.diff(bounds) - 1).max())


def _fast_plain(lines: list[str], opts: ListOptions) -> PackedBank | None:
    n = len(lines)
    hash_type = opts.hash_type
    if hash_type is None:
        lengths = set(map(len, lines))
        if len(lengths) != 1:
            return None
        hash_type = INFERRED_BY_LENGTH.get(lengths.pop())
        if hash_type is None:
            return None
    hexes = [v.lower() for v in lines]
    types: list[str] = [hash_type] * n
    ids = [f"{opts.name}:{i}" for i in range(1, n + 1)]
    sev = opts.severity or default_severity(hash_type)
    return _finish(opts, types, hexes, ids, [opts.category] * n, [opts.name] * n, [sev] * n, [True] * n)


def _fast_csv(first: str, body: str, opts: ListOptions) -> PackedBank | None:
    header = [h.lower() for h in first.split(",")]
    if any(h not in CSV_COLUMNS for h in header) or len(set(header)) != len(header) or not body:
        return None
    k = len(header)
    if _longest_line(body, k - 1) > MAX_LINE_CHARS or len(first) > MAX_LINE_CHARS:
        return None  # a row with a different number of fields, or too long
    flat = body.replace("\n", ",").split(",")
    n = len(flat) // k
    cols = {h: flat[i::k] for i, h in enumerate(header)}
    types = _csv_types(cols.get("type"), opts, n)
    if types is None:
        return None
    hexes = cols["hash"]
    joined = "".join(hexes)
    if joined != joined.lower():
        hexes = [h.lower() for h in hexes]
    ids = cols.get("id") or [""] * n
    if "" in ids:
        ids = [v or f"{opts.name}:{i + 2}" for i, v in enumerate(ids)]
    cats = [v or opts.category for v in cols["category"]] if "category" in cols else [opts.category] * n
    srcs = [v or opts.name for v in cols["source"]] if "source" in cols else [opts.name] * n
    sevs = _csv_severities(cols.get("severity"), types, opts)
    if sevs is None:
        return None
    enabled = _csv_enabled(cols.get("enabled"), n)
    if enabled is None:
        return None
    return _finish(opts, types, hexes, ids, cats, srcs, sevs, enabled)


def _csv_types(col: list[str] | None, opts: ListOptions, n: int) -> list[str] | None:
    if col is None or all(col):
        if col is None:
            if opts.hash_type is None:
                return None
            return [opts.hash_type] * n
        types = [t.lower() for t in col]
        return types if set(types) <= set(HASH_TYPES) else None
    return None  # some rows leave the type to inference: rare, the reference parser handles it


def _csv_severities(col: list[str] | None, types: list[str], opts: ListOptions) -> list[str] | None:
    defaults: dict[str, Severity] = {t: opts.severity or default_severity(t) for t in set(types)}  # type: ignore[arg-type]
    if col is None:
        return [defaults[t] for t in types]
    low = [s.lower() for s in col]
    if not set(low) <= {"", *SEVERITIES}:
        return None
    return [s or defaults[t] for s, t in zip(low, types, strict=True)]


def _csv_enabled(col: list[str] | None, n: int) -> list[bool] | None:
    if col is None:
        return [True] * n
    low = [s.lower() for s in col]
    if not set(low) <= _TRUE | _FALSE:
        return None
    return [s in _TRUE for s in low]


def _finish(
    opts: ListOptions,
    types: list[str],
    hexes: list[str],
    ids: list[str],
    cats: list[str],
    srcs: list[str],
    sevs: list[str],
    enabled: list[bool],
) -> PackedBank | None:
    if len(set(ids)) != len(ids):
        return None
    raw_by_type = _raw_by_type(types, hexes)
    if raw_by_type is None:
        return None
    flags = ["1" if e else "0" for e in enabled]
    # Built in entry order (memory order), then reordered: far faster than random access per field.
    lines = [
        f"{t}\t{v}\t{i}\t{c}\t{s}\t{sv}\t{e}"
        for t, v, i, c, s, sv, e in zip(types, hexes, ids, cats, srcs, sevs, flags, strict=True)
    ]
    order = _canonical_order(raw_by_type)
    ordered = sorted(lines) if order is None else (lines[i] for i in order)  # None: a value twice in a type
    version = _digest_lines(ordered)
    return _assemble(opts, version, types, raw_by_type, ids, cats, srcs, sevs, enabled)


def _digest_lines(lines: Iterable[str], batch: int = 1 << 16) -> str:
    """sha256 of the lines joined by newlines, fed a batch at a time: the same digest as one join,
    without a multi-gigabyte string for a 10M-entry bank or one C call holding the GIL for seconds
    (long enough for the server's supervisor to take the worker for dead)."""
    h = hashlib.sha256()
    it = iter(lines)
    sep = ""
    while chunk := list(islice(it, batch)):
        h.update((sep + "\n".join(chunk)).encode("utf-8"))
        sep = "\n"
    return h.hexdigest()


def _canonical_order(raw_by_type: dict[str, tuple[I64, U8]]) -> list[int] | None:
    """Entry rows in the order of bank_version's sorted lines, without building and sorting them:
    lines of different types differ within "type\\t", and within a type lowercase hex sorts as the
    bytes do. None when a type holds a value twice (then the rest of the line decides)."""
    out: list[int] = []
    for t in sorted(raw_by_type, key=lambda t: t + "\t"):
        rows, raw = raw_by_type[t]
        keys = raw.view(f"S{raw.shape[1]}").reshape(-1)
        order = np.argsort(keys, kind="stable")
        srt = keys[order]
        if (srt[1:] == srt[:-1]).any():
            return None
        out += rows[order].tolist()
    return out


def _pdq_entropy_ok(raw: U8) -> bool:
    if hasattr(np, "bitwise_count"):
        bits = np.bitwise_count(np.ascontiguousarray(raw).view(np.uint64)).sum(axis=1)
    else:
        bits = np.unpackbits(raw, axis=1).sum(axis=1)
    if ((bits < PDQ_MIN_BITS) | (bits > PDQ_MAX_BITS)).any():
        return False
    # A row repeating a 1, 2, 4 or 8-byte pattern also repeats its first 16 bytes.
    if (raw[:, :16] == raw[:, 16:]).all(axis=1).any():
        return False
    # Five pairwise-different leading bytes settle most rows; the rest get a byte-presence table.
    head = raw[:, :5]
    clear = np.ones(raw.shape[0], dtype=bool)
    for a in range(5):
        for b in range(a + 1, 5):
            clear &= head[:, a] != head[:, b]
    doubtful = raw[~clear]
    step = 1 << 16  # byte-presence tables of 64k rows at a time (16 MB)
    for start in range(0, doubtful.shape[0], step):
        part = doubtful[start : start + step]
        seen = np.zeros((part.shape[0], 256), dtype=bool)
        seen[np.arange(part.shape[0])[:, None], part] = True
        if (seen.sum(axis=1) < PDQ_MIN_DISTINCT_BYTES).any():
            return False
    return True
