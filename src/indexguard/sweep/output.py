"""Flagged-item output: JSONL (one record a line: source, row and the Decision) or Parquet.

Both are written per chunk in chunk order. JSONL appends to the output and reports its length for the
checkpoint. Parquet cannot be appended to after a crash, so each chunk becomes a part file beside the
output (written atomically) and the parts are merged, in order, when the sweep completes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from indexguard.sweep.checkpoint import atomic_write


def encode_jsonl(records: list[dict[str, Any]]) -> bytes:
    """Records as JSONL: what a sweep worker hands back, so the coordinator only writes bytes."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def decode_jsonl(data: bytes) -> list[dict[str, Any]]:
    # JSON escapes every control character inside a string: a newline byte only ever ends a record.
    return [json.loads(line) for line in data.split(b"\n") if line.strip()]


class FlaggedWriter(Protocol):
    def write(self, index: int, jsonl: bytes) -> None: ...
    def position(self) -> int: ...
    def finish(self) -> None: ...


def open_writer(path: Path | None, resume_at: int | None, next_chunk: int, *, durable: bool = True) -> FlaggedWriter:
    """`durable`: fsync after every chunk (needed with checkpoints; without, a crash loses the run anyway)."""
    if path is None:
        return NullWriter()
    if path.suffix.lower() in (".parquet", ".pq"):
        return ParquetParts(path, next_chunk if resume_at is not None else 0)
    return JsonlWriter(path, resume_at, durable=durable)


class NullWriter:
    def write(self, index: int, jsonl: bytes) -> None:
        return None

    def position(self) -> int:
        return 0

    def finish(self) -> None:
        return None


class JsonlWriter:
    def __init__(self, path: Path, resume_at: int | None, *, durable: bool = True) -> None:
        self._durable = durable
        self._fh: BinaryIO
        if resume_at is None:
            self._fh = open(path, "wb")  # noqa: SIM115 - held open for the whole sweep
        else:
            self._fh = open(path, "r+b")  # noqa: SIM115
            # Anything after the last checkpoint belongs to a chunk that will be screened again.
            self._fh.truncate(resume_at)
            self._fh.seek(resume_at)

    def write(self, index: int, jsonl: bytes) -> None:
        if jsonl:
            self._fh.write(jsonl)
        if self._durable:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def position(self) -> int:
        return self._fh.tell()

    def finish(self) -> None:
        self._fh.close()


PARQUET_COLUMNS = ("id", "action", "source", "row", "categories", "entries", "decision")


def parquet_table(records: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    cols: dict[str, list[Any]] = {c: [] for c in PARQUET_COLUMNS}
    for r in records:
        cols["id"].append(r["id"])
        cols["action"].append(r["action"])
        cols["source"].append(r["source"])
        cols["row"].append(int(r["row"]))
        cols["categories"].append(sorted({x["category"] for x in r["reasons"]}))
        cols["entries"].append(sorted({f"{x['list']}:{x['entry']}" for x in r["reasons"]}))
        cols["decision"].append(json.dumps(r, ensure_ascii=False))
    schema = pa.schema([("id", pa.string()), ("action", pa.string()), ("source", pa.string()),
                        ("row", pa.int64()), ("categories", pa.list_(pa.string())),
                        ("entries", pa.list_(pa.string())), ("decision", pa.string())])
    return pa.table(cols, schema=schema)


class ParquetParts:
    def __init__(self, path: Path, next_chunk: int) -> None:
        self.path = path
        self.parts = path.with_name(path.name + ".parts")
        if next_chunk == 0 and self.parts.exists():
            shutil.rmtree(self.parts)
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob("part-*.parquet"):
            if int(stale.stem.removeprefix("part-")) >= next_chunk:
                stale.unlink()

    def write(self, index: int, jsonl: bytes) -> None:
        if not jsonl:
            return
        import pyarrow.parquet as pq

        tmp = self.parts / f"part-{index:09d}.tmp"
        pq.write_table(parquet_table(decode_jsonl(jsonl)), tmp)
        os.replace(tmp, self.parts / f"part-{index:09d}.parquet")

    def position(self) -> int:
        return 0

    def finish(self) -> None:
        import pyarrow.parquet as pq

        tmp = self.path.with_name(self.path.name + ".tmp")
        writer = pq.ParquetWriter(tmp, parquet_table([]).schema)
        try:
            for part in sorted(self.parts.glob("part-*.parquet")):
                writer.write_table(pq.read_table(part))
        finally:
            writer.close()
        os.replace(tmp, self.path)
        shutil.rmtree(self.parts)


def read_flagged(path: Path) -> list[dict[str, Any]]:
    """Records of a flagged output (JSONL or Parquet), for incremental un-hiding and for tests."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return [json.loads(d) for d in pq.read_table(path, columns=["decision"]).column("decision").to_pylist()]
    return decode_jsonl(path.read_bytes())


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
