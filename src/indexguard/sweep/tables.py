"""The bulk path over Arrow tables (JSONL read by Arrow, CSV, Parquet): which rows need the per-item
path. Text columns are joined into one newline-separated ASCII buffer with numpy (no Python loop per
row) and scanned once; rows with non-ASCII or multi-line text go through needs_full_path."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from indexguard.screen.item import TEXT_FIELDS
from indexguard.screen.screener import Screener
from indexguard.sweep.fields import COMPLEX_KEYS, FieldMap

# JSONL keys Arrow must read as strings: inferring them could turn "2020-01-01" into a timestamp.
JSON_STRING_FIELDS: tuple[str, ...] = (*TEXT_FIELDS, "kind", "magnet", "url")
FULL_PATH_KINDS = ("query", "torrent", "nzb", "image")
CsvRow = dict[str, Any] | str | None


@dataclass(frozen=True, slots=True)
class TableRows:
    table: pa.Table
    fields: FieldMap
    # In JSONL `"id": null` is an error for `screen`, while Arrow cannot tell it from a missing id.
    null_id_is_error: bool = False


def flag_table_rows(rows: TableRows, screener: Screener) -> list[int]:
    """Sorted indexes of the rows that need the per-item path; every other row is certainly `allow`."""
    t = rows.table
    names = t.column_names
    slow = np.zeros(t.num_rows, dtype=bool)
    idf = rows.fields.id_field
    if idf in names:
        col = _array(t[idf])
        valid = _valid(col)
        if not (_is_text(col.type) or pa.types.is_integer(col.type) or _is_binary(col.type)):
            slow |= valid
        if rows.null_id_is_error:
            slow |= ~valid
    for src, dest in rows.fields.columns(names):
        col = _array(t[src])
        if dest in COMPLEX_KEYS:
            slow |= _valid(col)
        elif dest == "kind":
            slow |= _kind_needs_path(col)
        elif dest in TEXT_FIELDS:
            slow |= _flag_text(col, screener) if _is_text(col.type) else _valid(col)
    return np.flatnonzero(slow).tolist()


def _array(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def _valid(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_binary(t: pa.DataType) -> bool:
    return bool(pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t))


def _kind_needs_path(arr: pa.Array) -> np.ndarray:
    if not _is_text(arr.type):
        return _valid(arr)
    hit = pc.is_in(arr, value_set=pa.array(FULL_PATH_KINDS)).fill_null(False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _flag_text(arr: pa.Array, screener: Screener) -> np.ndarray:
    out = np.zeros(len(arr), dtype=bool)
    simple = pc.and_(pc.string_is_ascii(arr), pc.invert(pc.match_substring(arr, "\n"))).fill_null(False)
    simple_np = np.asarray(simple.to_numpy(zero_copy_only=False), dtype=bool)
    fast_idx = np.flatnonzero(simple_np)
    other_idx = np.flatnonzero(_valid(arr) & ~simple_np)
    if len(fast_idx):
        lines = screener.flag_lines(joined_lines(arr.filter(simple)))
        if lines is None:
            other_idx = np.flatnonzero(_valid(arr))
        elif lines:
            out[fast_idx[np.asarray(lines, dtype=np.int64)]] = True
    if len(other_idx):
        texts = arr.take(pa.array(other_idx)).to_pylist()
        hits = screener.needs_full_path(texts)
        if hits:
            out[other_idx[np.asarray(hits, dtype=np.int64)]] = True
    return out


def joined_lines(arr: pa.Array) -> bytes:
    """A null-free string array as one buffer, each value followed by a newline."""
    n = len(arr)
    if n == 0:
        return b""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    out = np.empty(len(data) + n, dtype=np.uint8)
    newline_at = (offsets[1:] - offsets[0]) + np.arange(n)
    keep = np.ones(len(out), dtype=bool)
    keep[newline_at] = False
    out[keep] = data
    out[newline_at] = 10
    return out.tobytes()


def read_csv_chunk(header: bytes, data: bytes) -> tuple[pa.Table | None, list[CsvRow]]:
    """Arrow's reader for the common case; on any error, Python's csv module row by row (a row with the
    wrong number of fields becomes an error string, a blank line None)."""
    import pyarrow.csv as pacsv

    cols = next(csv.reader([header.decode("utf-8", errors="replace")]), [])
    try:
        table = pacsv.read_csv(
            io.BytesIO(header + data),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=max(len(header) + len(data) + 1, 1 << 16)),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in cols},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
        return table, []
    except (pa.ArrowException, ValueError):
        return None, _python_csv(cols, data)


def _python_csv(cols: list[str], data: bytes) -> list[CsvRow]:
    out: list[CsvRow] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return out
        except csv.Error as e:
            out.append(f"not valid CSV: {e}")
            continue
        if not rec:
            out.append(None)
        elif len(rec) != len(cols):
            out.append(f"expected {len(cols)} fields, found {len(rec)}")
        else:
            out.append(dict(zip(cols, rec, strict=True)))


def csv_row(table: pa.Table, i: int) -> dict[str, Any]:
    row: dict[str, Any] = table.slice(i, 1).to_pylist()[0]
    return row
