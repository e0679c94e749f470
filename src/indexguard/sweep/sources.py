"""Sources and their chunks. A source is split into chunks in a fixed order, each small enough to
screen in one call and self-describing enough that any process (or Dask worker, given shared storage)
can read it by itself; the chunk index is what checkpoints record.

Kinds: JSONL (`.jsonl`, `.ndjson`, `.json`), plain titles (`.txt`, one title a line), CSV (`.csv`),
Parquet (`.parquet`, `.pq`), a directory tree of .torrent/.nzb/image files, and `sql:` (rows of a
SQL query over a SQLAlchemy URL, read by the coordinating process and shipped inline).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from indexguard.errors import IndexguardError
from indexguard.sweep.fields import FieldMap

ChunkKind = Literal["jsonl", "txt", "csv", "parquet", "files", "rows"]
FILE_KINDS: dict[str, str] = {
    ".torrent": "torrent", ".nzb": "nzb", ".gz": "nzb", ".png": "image", ".jpg": "image", ".jpeg": "image",
    ".gif": "image", ".webp": "image", ".bmp": "image", ".tif": "image", ".tiff": "image",
}
LINE_SUFFIXES: dict[str, ChunkKind] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".txt": "txt",
                                       ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


AUTO_CHUNKS = 256  # chunks per input when --chunk-bytes is auto: 16 per worker on 16 cores
MIN_CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 8 << 20


@dataclass(frozen=True, slots=True)
class SweepSize:
    """`chunk_bytes` 0 means auto: the input split in about AUTO_CHUNKS chunks of 1 to 8 MiB, so that
    every worker gets many chunks (the tail stays short) and per-chunk overhead stays small."""

    chunk_bytes: int = 0
    chunk_rows: int = 50_000
    chunk_files: int = 64

    def resolved(self, input_bytes: int) -> SweepSize:
        """With auto chunk size, the size for a source of `input_bytes` (a function of the input only,
        so a resumed sweep plans the same chunks whatever its number of workers)."""
        if self.chunk_bytes > 0:
            return self
        target = input_bytes // AUTO_CHUNKS
        return SweepSize(max(MIN_CHUNK_BYTES, min(MAX_CHUNK_BYTES, target)), self.chunk_rows, self.chunk_files)


@dataclass(frozen=True, slots=True)
class SqlSource:
    url: str
    query: str


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    source: str
    kind: ChunkKind
    fields: FieldMap
    path: str = ""
    start: int = 0  # byte offset (line kinds, CSV) or row group (Parquet)
    end: int = 0
    first_row: int = 1  # 1-based line (JSONL, txt) or record/row number of the first record
    nbytes: int = 0
    header: bytes = b""
    paths: tuple[str, ...] = ()
    rows: tuple[dict[str, Any], ...] = field(default=(), repr=False)


def source_kind(spec: str) -> str:
    if spec.startswith("sql:"):
        return "sql"
    p = Path(spec)
    if p.is_dir():
        return "dir"
    kind = LINE_SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise IndexguardError(f"{spec}: unknown source type (expected .jsonl, .txt, .csv, .parquet, a directory "
                              "or sql:)")
    if not p.is_file():
        raise IndexguardError(f"{spec}: no such file")
    return kind


def total_bytes(specs: list[str]) -> int | None:
    """Work to do, for the progress bar; None when a source has no known size (SQL)."""
    total = 0
    for spec in specs:
        kind = source_kind(spec)
        if kind == "sql":
            return None
        if kind == "dir":
            total += sum(os.path.getsize(p) for p in _tree(Path(spec)))
        else:
            total += os.path.getsize(spec)
    return total


def expected_chunks(specs: list[str], size: SweepSize) -> int | None:
    """How many chunks `plan` will make, where the sources' sizes tell (text, JSONL and CSV files: byte
    ranges); None for Parquet, directories and SQL, whose chunks follow row groups, files and rows."""
    total = 0
    for spec in specs:
        kind = source_kind(spec)
        if kind not in ("txt", "jsonl", "csv"):
            return None
        nbytes = os.path.getsize(spec)
        total += max(1, -(-nbytes // size.resolved(nbytes).chunk_bytes))
    return total


def plan(specs: list[str], fields: FieldMap, size: SweepSize, sql: SqlSource | None = None) -> Iterator[Chunk]:
    """Every chunk of every source, in order, numbered from 0."""
    index = 0
    for spec in specs:
        for c in _plan_one(spec, fields, size, sql):
            yield _numbered(c, index)
            index += 1


def _numbered(c: Chunk, index: int) -> Chunk:
    return Chunk(index, c.source, c.kind, c.fields, c.path, c.start, c.end, c.first_row, c.nbytes, c.header,
                 c.paths, c.rows)


def _plan_one(spec: str, fields: FieldMap, size: SweepSize, sql: SqlSource | None) -> Iterator[Chunk]:
    kind = source_kind(spec)
    if kind == "sql":
        yield from _sql_chunks(spec, fields, size, sql)
    elif kind == "dir":
        yield from _dir_chunks(Path(spec), fields, size)
    elif kind == "parquet":
        yield from _parquet_chunks(spec, fields)
    elif kind == "csv":
        yield from _csv_chunks(spec, fields, size.resolved(os.path.getsize(spec)))
    else:
        for start, end, line in _line_chunks(spec, size.resolved(os.path.getsize(spec)).chunk_bytes):
            yield Chunk(-1, spec, kind, fields, spec, start, end, line, end - start)  # type: ignore[arg-type]


def _line_chunks(path: str, target: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line) of each chunk. The coordinator reads the file once into one reused
    buffer and only counts newlines (C speed): it must plan faster than all workers screen."""
    buf = bytearray(max(1, target))
    view = np.frombuffer(buf, dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        start, line = 0, 1
        while start < size:
            n = fh.readinto(buf) or 0
            if n == 0:
                break
            lines = int(np.count_nonzero(view[:n] == 10))
            end = start + n
            if end < size and buf[n - 1] != 10:
                tail = _rest_of_line(fh)
                end += len(tail)
                lines += tail.count(b"\n")
            yield start, end, line
            line += lines
            start = end


def _rest_of_line(fh: Any) -> bytes:
    parts = []
    while True:
        block = fh.read(1 << 16)
        if not block:
            break
        cut = block.find(b"\n")
        if cut >= 0:
            parts.append(block[: cut + 1])
            fh.seek(cut + 1 - len(block), os.SEEK_CUR)
            break
        parts.append(block)
    return b"".join(parts)


def _csv_chunks(path: str, fields: FieldMap, size: SweepSize) -> Iterator[Chunk]:
    # A newline ends a record only outside quotes; quote parity ("" escapes count twice) tells which.
    with open(path, "rb") as fh:
        header = fh.readline()
        file_size = os.fstat(fh.fileno()).st_size
        chunk_start = pos = len(header)
        parity, record = 0, 1
        while pos < file_size:
            block = fh.read(size.chunk_bytes)
            arr = np.frombuffer(block, dtype=np.uint8)
            quotes = np.cumsum(arr == 34) + parity
            nl = np.flatnonzero(arr == 10)
            ends = nl[(quotes[nl] & 1) == 0]
            if len(ends):
                end = pos + int(ends[-1]) + 1
                yield Chunk(-1, path, "csv", fields, path, chunk_start, end, record, end - chunk_start, header)
                record += len(ends)
                chunk_start = end
            parity = int(quotes[-1]) & 1 if len(quotes) else parity
            pos += len(block)
        if chunk_start < file_size:
            yield Chunk(-1, path, "csv", fields, path, chunk_start, file_size, record, file_size - chunk_start, header)


def _parquet_chunks(path: str, fields: FieldMap) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as e:  # pyarrow raises several types for a broken file
        raise IndexguardError(f"{path}: not a readable Parquet file: {e}") from None
    row = 1
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        yield Chunk(-1, path, "parquet", fields, path, g, g + 1, row, rg.total_byte_size)
        row += rg.num_rows


def _tree(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if file_kind(name):
                out.append(os.path.join(dirpath, name))
    return out


def file_kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".gz") and not lower.endswith(".nzb.gz"):
        return None
    return FILE_KINDS.get(os.path.splitext(lower)[1])


def _dir_chunks(root: Path, fields: FieldMap, size: SweepSize) -> Iterator[Chunk]:
    files = _tree(root)
    for i in range(0, len(files), size.chunk_files):
        part = tuple(files[i : i + size.chunk_files])
        nbytes = sum(os.path.getsize(p) for p in part)
        yield Chunk(-1, str(root), "files", fields, str(root), first_row=i + 1, nbytes=nbytes, paths=part)


def _sql_chunks(spec: str, fields: FieldMap, size: SweepSize, sql: SqlSource | None) -> Iterator[Chunk]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    query = spec.removeprefix("sql:") or (sql.query if sql else "")
    if sql is None or not sql.url:
        raise IndexguardError("sql: sources need --sql-url (a SQLAlchemy URL)")
    if not query:
        raise IndexguardError("sql: sources need a query: sql:SELECT ... or --sql")
    try:
        engine = create_engine(sql.url)
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=size.chunk_rows).execute(text(query))
            row = 1
            for part in result.partitions(size.chunk_rows):
                rows = tuple(dict(r._mapping) for r in part)
                yield Chunk(-1, "sql", "rows", fields, first_row=row, rows=rows)
                row += len(rows)
        engine.dispose()
    except SQLAlchemyError as e:
        raise IndexguardError(f"sql: {type(e).__name__}: {e.args[0] if e.args else e}") from None
