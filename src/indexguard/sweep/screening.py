"""Screening one chunk: the bulk path first, the per-item path only for what it cannot clear.

The bulk path (TermMatcher.flag_lines: one Hyperscan scan in C over a newline-separated buffer of titles)
returns every line that *may* match; every other text-only row is certainly `allow`. Flagged rows, rows
with torrents/NZBs/URLs/hashes and anything unusual go through exactly the code `indexguard screen`
runs (Item.from_json, Screener.screen_many), so a sweep decides every item as `screen` would.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexguard.match.line_spans import line_end, scan_lines
from indexguard.screen.decision import Decision
from indexguard.screen.item import Item, ItemError
from indexguard.screen.screener import Screener
from indexguard.sweep.fields import FieldMap
from indexguard.sweep.output import encode_jsonl
from indexguard.sweep.sources import Chunk, file_kind

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Entry:
    """One source record: an Item, or the error that stopped one from being read."""

    row: int
    item: Item | None
    error: str = ""
    id: str = ""
    checked: bool = False  # the bulk path already found that it may match: straight to Screener.screen


@dataclass(slots=True)
class ChunkResult:
    index: int
    items: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    entries: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    flagged: int = 0
    flagged_jsonl: bytes = b""  # the flagged records, encoded where they were screened (output.encode_jsonl)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the screening process for this chunk
    worker: str = ""  # host:pid of the process that screened the chunk
    ready_at: float = 0.0  # when that worker's Screener became usable (epoch seconds)
    load_s: float = 0.0  # how long loading (or compiling) it took


def screen_chunk(chunk: Chunk, screener: Screener, *, with_items: bool = False) -> ChunkResult:
    t0, c0 = time.perf_counter(), time.process_time()
    result = ChunkResult(chunk.index)
    reader = _READERS[chunk.kind]
    clean, entries = reader(chunk, screener)
    result.items += clean
    result.actions["allow"] += clean
    _decide(chunk, screener, entries, result, with_items)
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - c0
    return result


def _decide(chunk: Chunk, screener: Screener, entries: list[Entry], result: ChunkResult, with_items: bool) -> None:
    # Entries the bulk path flagged skip screen_many's own prefilter (the same scan again, same answer).
    items = [e.item for e in entries if e.item is not None and not e.checked]
    decided = iter(screener.screen_many(items))
    flagged: list[dict[str, Any]] = []
    for e in entries:
        if e.item is not None:
            d = screener.screen(e.item) if e.checked else next(decided)
        else:
            d = Decision(e.id, screener.policy.error_action, [], screener.canonicalizer)
            d.extra["error"] = e.error
        _count(result, d)
        if d.action != "allow":
            rec: dict[str, Any] = {"source": chunk.source, "row": e.row, **d.to_json()}
            if with_items and e.item is not None and e.item.raw is None:
                rec["item"] = _item_json(e.item)
            flagged.append(rec)
    result.flagged = len(flagged)
    result.flagged_jsonl = encode_jsonl(flagged)


def _count(result: ChunkResult, d: Decision) -> None:
    result.items += 1
    result.actions[d.action] += 1
    if "error" in d.extra or "errors" in d.extra:
        result.errors += 1
    for cat in sorted({r.category for r in d.reasons}):
        result.categories[cat] += 1
    for key in sorted({f"{r.list}:{r.entry}" for r in d.reasons}):
        result.entries[key] += 1


def _item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "kind": item.kind}
    for name in ("title", "text", "description", "magnet"):
        if (v := getattr(item, name)) is not None:
            out[name] = v
    if item.files:
        out["files"] = item.files
    if item.urls:
        out["urls"] = item.urls
    out.update(item.hashes)
    return out


def _entry_from_obj(row: int, obj: Any, fallback: str) -> Entry:
    try:
        return Entry(row, Item.from_json(obj, default_id=fallback))
    except ItemError as e:
        ident = obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else fallback
        return Entry(row, None, f"{fallback}: {e}", str(ident))


def _read_range(chunk: Chunk) -> bytes:
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        return fh.read(chunk.end - chunk.start)


# --- JSONL -------------------------------------------------------------------------------------------

def _jsonl(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    data = _read_range(chunk)
    name = os.path.basename(chunk.source)
    simple = _id_title_lines(data) if chunk.fields == FieldMap() else None
    if simple is not None:
        titles, others, nl, title_nl = simple
        flagged = screener.flag_lines(titles, title_nl)
        if flagged is not None:
            slow = sorted(set(flagged) | set(others))
            starts = [int(nl[i - 1]) + 1 if i else 0 for i in slow]
            entries = [_jsonl_entry(data[a : int(nl[i])], chunk.first_row + i, name, chunk)
                       for a, i in zip(starts, slow, strict=True)]
            hit = set(flagged)
            for e, i in zip(entries, slow, strict=True):
                e.checked = i in hit
            return len(nl) - len(slow), entries
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()

    def entry(i: int) -> Entry:
        return _jsonl_entry(lines[i], chunk.first_row + i, name, chunk)

    table = _arrow_jsonl(data)
    if table is not None and table.num_rows == len(lines):
        from indexguard.sweep.tables import TableRows, flag_table_rows  # Arrow: only where a table is read

        rows = TableRows(table, chunk.fields, null_id_is_error=chunk.fields.pairs is None)
        slow = flag_table_rows(rows, screener) or []
        return len(lines) - len(slow), [entry(i) for i in slow]
    entries = [entry(i) for i, raw in enumerate(lines) if raw.strip()]
    return 0, entries


def _id_title_lines(data: bytes) -> tuple[bytes, list[int], Any, Any] | None:
    """The common export shape, read without a JSON parser: when every line of the chunk is exactly
    `{"id": "...", "title": "..."}` (json.dumps' separators or the compact ones) with no escapes and no
    control characters, the titles as one newline-separated buffer (non-ASCII titles left empty) and
    the indexes of the non-ASCII lines, which take the per-item path, and the newline offsets of `data`
    and of the titles. None for any other chunk (then Arrow reads it)."""
    if not data or b"\\" in data:
        return None
    arr = np.frombuffer(data if data.endswith(b"\n") else data + b"\n", dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    quotes = np.flatnonzero(arr == 34)
    n = len(nl)
    if len(quotes) != 8 * n or np.count_nonzero(arr < 32) != n:
        return None
    rows = quotes.reshape(n, 8)
    starts = np.concatenate(([0], nl[:-1] + 1))
    # Eight quotes a line, the first just after the line's `{`, the last just before its `}`.
    if not ((rows[:, 0] == starts + 1).all() and (rows[:, 7] + 2 == nl).all() and _at(arr, rows[:, 7], b'"}')):
        return None
    q = rows.T
    if not any(_at(arr, starts, head) and _at(arr, q[3], middle) for head, middle in _UNIFORM):
        # Mixed spacing: each separator checked on its own.
        ok = (arr[starts] == 123) & (q[1] == q[0] + 3) & (arr[q[0] + 1] == 105) & (arr[q[0] + 2] == 100)  # "id"
        ok &= q[5] == q[4] + 6
        for i, ch in enumerate(b"title"):
            ok &= arr[np.minimum(q[4] + 1 + i, len(arr) - 1)] == ch
        for a, b, sep in ((1, 2, 58), (3, 4, 44), (5, 6, 58)):  # ':' ',' ':' with or without one space
            gap = q[b] - q[a]
            ok &= (arr[q[a] + 1] == sep) & ((gap == 2) | ((gap == 3) & (arr[np.minimum(q[a] + 2, len(arr) - 1)] == 32)))
        if not ok.all():
            return None
    wide = np.flatnonzero(np.add.reduceat(arr >= 128, starts)) if not data.isascii() else np.zeros(0, np.int64)
    first = q[6] + 1
    first[wide] = q[7][wide]
    # Keep each title and its closing quote (which becomes the newline): runs of kept and dropped bytes.
    edges = np.empty(2 * n, dtype=np.int64)
    edges[0::2] = first
    edges[1::2] = q[7] + 1
    keep = np.zeros(2 * n + 1, dtype=bool)
    keep[1::2] = True
    out = arr[np.repeat(keep, np.diff(edges, prepend=0, append=len(arr)))]
    title_nl = np.cumsum(q[7] - first + 1) - 1
    out[title_nl] = 10
    return out.tobytes(), wide.tolist(), nl, title_nl


# Every line alike, json.dumps' separators or the compact ones: `{"id": "` at the line's start and
# `", "title": "` from the id's closing quote. With the quotes counted and placed (above), these fix
# where every quote of the line is, in two gathers instead of one per byte.
_UNIFORM = tuple((b'{"id":' + sp + b'"', b'",' + sp + b'"title":' + sp + b'"') for sp in (b" ", b""))


def _at(arr: Any, offsets: Any, const: bytes) -> bool:
    """Whether `const` stands at every one of `offsets` in `arr`."""
    if len(arr) < len(const):
        return False
    windows = np.lib.stride_tricks.sliding_window_view(arr, len(const))
    found = windows[np.minimum(offsets, len(windows) - 1)]
    return bool((found == np.frombuffer(const, dtype=np.uint8)).all())


def _jsonl_entry(raw: bytes, lineno: int, name: str, chunk: Chunk) -> Entry:
    fallback = f"{name}:{lineno}"
    try:
        obj = json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        return Entry(lineno, None, f"{fallback}: not valid JSON: {e.msg} (column {e.colno})", fallback)
    if isinstance(obj, dict):
        obj = chunk.fields.apply(obj, fallback)
    return _entry_from_obj(lineno, obj, fallback)


def _arrow_jsonl(data: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.json as pj

    from indexguard.sweep.tables import JSON_STRING_FIELDS

    schema = pa.schema([(n, pa.string()) for n in JSON_STRING_FIELDS])
    try:
        return pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
        )
    except (pa.ArrowException, ValueError, OverflowError):
        # Anything arrow will not read in one go is read line by line, each bad line its own error.
        return None


# --- plain titles ------------------------------------------------------------------------------------

def _txt(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    data = _read_range(chunk)
    name = os.path.basename(chunk.source)
    if data.isascii():
        fast = _txt_ascii(chunk, screener, data, name)
        if fast is not None:
            return fast
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    nonblank = [i for i, raw in enumerate(lines) if raw.strip()]
    flagged = screener.flag_lines(data) if data.isascii() else None
    if flagged is None:
        texts: list[str] = []
        owners: list[int] = []
        bad: list[int] = []
        for i in nonblank:
            try:
                texts.append(lines[i].decode("utf-8").rstrip("\r"))
                owners.append(i)
            except UnicodeDecodeError:
                bad.append(i)
        flagged = sorted({owners[j] for j in screener.needs_full_path(texts)} | set(bad))
    slow = [i for i in flagged if lines[i].strip()]
    entries = [_txt_entry(lines[i], chunk.first_row + i, name) for i in slow]
    return len(nonblank) - len(slow), entries


def _txt_ascii(chunk: Chunk, screener: Screener, data: bytes, name: str) -> tuple[int, list[Entry]] | None:
    """The common case with no Python loop per line: the bulk path places its flagged lines itself and
    notes the lines that begin with whitespace (the only ones that can be blank), one numpy pass counts
    the lines and numbers the flagged ones."""
    flags = screener.bulk_lines(data)
    if flags is None:
        return None
    starts = flags.starts
    lines = scan_lines(data, starts, heads=flags.heads)
    entries = [_txt_entry(data[s : line_end(data, s)], chunk.first_row + i, name, checked=True)
               for i, s in zip(lines.numbers, starts, strict=True) if s not in lines.blank]
    return lines.count - len(lines.blank) - len(entries), entries


def _txt_entry(raw: bytes, lineno: int, name: str, *, checked: bool = False) -> Entry:
    ident = f"{name}:{lineno}"
    try:
        return Entry(lineno, Item(id=ident, title=raw.decode("utf-8").rstrip("\r")), checked=checked)
    except UnicodeDecodeError as e:
        return Entry(lineno, None, f"{ident}: not valid UTF-8 (byte {e.start})", ident)


# --- CSV and Parquet ---------------------------------------------------------------------------------

def _csv(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    from indexguard.sweep.tables import TableRows, csv_row, flag_table_rows, read_csv_chunk

    data = _read_range(chunk)
    name = os.path.basename(chunk.source)
    table, rows = read_csv_chunk(chunk.header, data)
    if table is not None:
        slow = flag_table_rows(TableRows(table, chunk.fields), screener) or []
        return table.num_rows - len(slow), [_csv_entry(csv_row(table, i), chunk, i, name) for i in slow]
    return 0, [_csv_entry(r, chunk, i, name) for i, r in enumerate(rows) if r is not None]


def _csv_entry(row: dict[str, Any] | str, chunk: Chunk, i: int, name: str) -> Entry:
    no = chunk.first_row + i
    fallback = f"{name}:{no}"
    if isinstance(row, str):
        return Entry(no, None, f"{fallback}: {row}", fallback)
    clean = {k: v for k, v in row.items() if v not in (None, "")}
    return _entry_from_obj(no, chunk.fields.apply(clean, fallback), fallback)


def _parquet(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    import pyarrow.parquet as pq

    from indexguard.sweep.tables import TableRows, flag_table_rows

    name = os.path.basename(chunk.source)
    table = pq.ParquetFile(chunk.path).read_row_group(chunk.start, use_threads=False)

    def entry(i: int) -> Entry:
        no = chunk.first_row + i
        fallback = f"{name}:{no}"
        row = {k: v for k, v in table.slice(i, 1).to_pylist()[0].items() if v is not None}
        return _entry_from_obj(no, chunk.fields.apply(row, fallback), fallback)

    slow = flag_table_rows(TableRows(table, chunk.fields), screener) or []
    return table.num_rows - len(slow), [entry(i) for i in slow]


# --- SQL rows and file trees -------------------------------------------------------------------------

def _rows(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    out = []
    for i, row in enumerate(chunk.rows):
        no = chunk.first_row + i
        fallback = f"sql:{no}"
        clean = {k: v for k, v in row.items() if v is not None}
        out.append(_entry_from_obj(no, chunk.fields.apply(clean, fallback), fallback))
    return 0, out


def _files(chunk: Chunk, screener: Screener) -> tuple[int, list[Entry]]:
    out = []
    for i, path in enumerate(chunk.paths):
        rel = os.path.relpath(path, chunk.path)
        kind = file_kind(path) or "listing"
        try:
            if os.path.getsize(path) > MAX_FILE_BYTES:
                out.append(Entry(chunk.first_row + i, None, f"{rel}: file larger than {MAX_FILE_BYTES} bytes", rel))
                continue
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            out.append(Entry(chunk.first_row + i, None, f"{rel}: cannot read: {e.strerror or e}", rel))
            continue
        item = Item(id=rel, kind=kind, raw=data, extra={"filename": os.path.basename(path)})  # type: ignore[arg-type]
        out.append(Entry(chunk.first_row + i, item))
    return 0, out


_READERS: dict[str, Callable[[Chunk, Screener], tuple[int, list[Entry]]]] = {
    "jsonl": _jsonl, "txt": _txt, "csv": _csv, "parquet": _parquet, "rows": _rows, "files": _files,
}
