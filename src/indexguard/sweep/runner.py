"""One sweep from start to finish: plan chunks, dispatch them (in process, to a process pool or to
Dask) with a bounded number in flight, take results back in chunk order, write output, checkpoint,
summarise. Memory stays bounded: at most `window` chunks are in flight, and results hold only the
flagged items."""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexguard.sweep.bundle import ListBundle, screener_for
from indexguard.sweep.checkpoint import Checkpoint, State
from indexguard.sweep.fields import FieldMap
from indexguard.sweep.list_cache import CacheUse, prime_lists
from indexguard.sweep.local import Executor, InlineExecutor, Pending, PoolExecutor, run_chunk, skip_chunk
from indexguard.sweep.output import decode_jsonl, open_writer, write_json
from indexguard.sweep.progress import SweepProgress
from indexguard.sweep.screening import ChunkResult
from indexguard.sweep.sources import Chunk, SqlSource, SweepSize, expected_chunks, plan, source_kind, total_bytes
from indexguard.sweep.summary import Totals

FlaggedHook = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class SweepConfig:
    sources: list[str]
    bundle: ListBundle
    fields: FieldMap = field(default_factory=FieldMap)
    size: SweepSize = field(default_factory=SweepSize)
    output: Path | None = None
    summary: Path | None = None
    workers: int = 1
    checkpoint: Path | None = None
    resume: bool = False
    dask: str | None = None
    dask_processes: bool = True
    sql: SqlSource | None = None
    with_items: bool = False
    progress: bool = False
    noop: bool = False  # benchmarks only: screening replaced by a no-op, to measure the coordinator
    list_cache: Path | None = None  # directory of compiled lists kept between sweeps (sweep/list_cache.py)


def fingerprint(cfg: SweepConfig) -> str:
    """What makes two runs the same sweep: sources (with size and mtime), lists, fields, chunking, output."""
    h = hashlib.sha256()
    for spec in cfg.sources:
        kind = source_kind(spec)
        if kind in ("sql", "dir"):
            h.update(f"{kind}\0{spec}\0".encode())
        else:
            st = os.stat(spec)
            h.update(f"{os.path.abspath(spec)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    if cfg.sql:
        h.update(f"{cfg.sql.url}\0{cfg.sql.query}\0".encode())
    h.update(cfg.bundle.fingerprint.encode())
    h.update(repr((cfg.fields, cfg.size, str(cfg.output), cfg.with_items)).encode())
    return h.hexdigest()


def _preload_arrow(cfg: SweepConfig) -> None:
    """Arrow takes 0.15 s to import. Plain-text sweeps never need it; for sources that may be read
    through it, it is imported here, before the pool forks, so that every worker has it already."""
    if any(source_kind(s) in ("jsonl", "csv", "parquet") for s in cfg.sources):
        import indexguard.sweep.tables  # noqa: F401


def make_executor(cfg: SweepConfig) -> Executor:
    _preload_arrow(cfg)
    task = skip_chunk if cfg.noop else run_chunk
    chunks = expected_chunks(cfg.sources, cfg.size)  # sizes the batches of chunks sent as one task
    if cfg.dask:
        from indexguard.sweep.dask_run import DaskExecutor

        return DaskExecutor(cfg.dask, cfg.bundle, cfg.with_items, cfg.workers if cfg.workers > 1 else None,
                            processes=cfg.dask_processes, task=task, chunks=chunks)
    if cfg.workers > 1:
        return PoolExecutor(cfg.bundle, cfg.with_items, cfg.workers, task=task, chunks=chunks)
    return InlineExecutor(cfg.bundle, cfg.with_items, task=task)


def run_sweep(cfg: SweepConfig, on_flagged: FlaggedHook | None = None) -> dict[str, Any]:
    """Run (or resume) a sweep; returns the summary (also written to cfg.summary)."""
    fp = fingerprint(cfg)
    ckpt = Checkpoint(cfg.checkpoint) if cfg.checkpoint else None
    state = ckpt.begin(fp, cfg.resume) if ckpt else State(fp)
    totals = Totals.from_json(state.totals) if state.totals else Totals()
    started = time.perf_counter()
    items_before = totals.items
    busy = busy_cpu = 0.0
    workers = WorkerStats()
    lists: CacheUse | None = None
    if not state.done:
        resume_at = state.output_bytes if state.next_chunk > 0 else None
        writer = open_writer(cfg.output, resume_at, state.next_chunk, durable=ckpt is not None)
        size = total_bytes(cfg.sources)
        workers.started = time.time()  # the workers' start-up includes getting the lists ready here
        lists = prime_lists(cfg.bundle, cfg.list_cache)
        executor = make_executor(cfg)
        workers.start_method = executor.start_method
        workers.batch = executor.batch
        workers.notes = executor.notes
        try:
            with SweepProgress(cfg.progress, size) as bar:
                for chunk, result in _dispatch(cfg, executor, state.next_chunk):
                    writer.write(chunk.index, result.flagged_jsonl)
                    totals.add(result)
                    busy += result.seconds
                    busy_cpu += result.cpu_seconds
                    workers.add(result)
                    if on_flagged and result.flagged:
                        on_flagged(decode_jsonl(result.flagged_jsonl))
                    state.next_chunk = chunk.index + 1
                    if ckpt:  # totals as JSON sort every entry id seen: per chunk only when they are saved
                        state.output_bytes = writer.position()
                        state.totals = totals.to_json()
                        ckpt.save(state)
                    bar.advance(chunk.nbytes, result.items)
            writer.finish()
        finally:
            executor.close()
        state.done = True
        if ckpt:
            ckpt.save(state)
    seconds = time.perf_counter() - started
    summary = build_summary(cfg, totals, seconds, totals.items - items_before)
    summary["run"]["busy_seconds"] = round(busy, 3)
    summary["run"]["items_per_busy_s"] = round((totals.items - items_before) / busy, 1) if busy > 0 else 0.0
    summary["run"]["busy_cpu_seconds"] = round(busy_cpu, 3)
    summary["run"]["items_per_busy_cpu_s"] = (round((totals.items - items_before) / busy_cpu, 1)
                                              if busy_cpu > 0 else 0.0)
    summary["run"]["worker_startup"] = workers.to_json()
    summary["run"]["start_method"] = workers.start_method or "resumed: nothing left to run"
    summary["run"]["chunks_per_task"] = workers.batch
    if lists is not None:
        summary["run"]["list_cache"] = lists.to_json()
    if workers.notes:
        summary["run"]["notes"] = workers.notes
    slow = screener_for(cfg.bundle).terms.regex_without_bulk_path
    if slow:
        summary["run"]["regex_without_bulk_path"] = [f"{entry}: {why}" for entry, why in slow]
    if cfg.summary:
        write_json(cfg.summary, summary)
    return summary


def _dispatch(cfg: SweepConfig, executor: Executor, first: int) -> Any:
    """(chunk, result) in chunk order, keeping at most a few chunks per worker in flight."""
    window = executor.window
    pending: deque[tuple[Chunk, Pending]] = deque()
    for chunk in plan(cfg.sources, cfg.fields, cfg.size, cfg.sql):
        if chunk.index < first:
            continue
        pending.append((chunk, executor.submit(chunk)))
        if len(pending) >= window:
            done, handle = pending.popleft()
            yield done, _result(handle)
    while pending:
        done, handle = pending.popleft()
        yield done, _result(handle)


def _result(handle: Pending) -> ChunkResult:
    return handle.result()


@dataclass
class WorkerStats:
    """Per worker: when its Screener was ready (after the executor started) and how long loading it
    took, and the seconds it spent screening."""

    started: float = 0.0
    start_method: str = ""
    batch: int = 1
    notes: list[str] = field(default_factory=list)
    seen: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, r: ChunkResult) -> None:
        w = self.seen.setdefault(r.worker, {"ready_after_s": round(max(0.0, r.ready_at - self.started), 3),
                                            "load_s": round(r.load_s, 3), "busy_s": 0.0, "chunks": 0})
        w["busy_s"] = round(w["busy_s"] + r.seconds, 3)
        w["chunks"] += 1

    def to_json(self) -> list[dict[str, Any]]:
        return [{"worker": k, **v} for k, v in sorted(self.seen.items())]


def build_summary(cfg: SweepConfig, totals: Totals, seconds: float, items_this_run: int) -> dict[str, Any]:
    only = {lt.name: lt.only_ids is not None for lt in cfg.bundle.lists}
    screener_versions = {tl.name: {"version": tl.version, "entries": len(tl.entries), "allowlist": tl.allowlist,
                                   "subset": only.get(tl.name, False)}
                         for tl in screener_for(cfg.bundle).terms.lists}
    out = totals.to_json()
    out["lists"] = screener_versions
    out["sources"] = cfg.sources
    out["run"] = {
        "seconds": round(seconds, 3),
        "items": items_this_run,
        "items_per_s": round(items_this_run / seconds, 1) if seconds > 0 else 0.0,
        "mode": f"dask {cfg.dask}" if cfg.dask else ("multiprocessing" if cfg.workers > 1 else "in-process"),
        "workers": cfg.workers,
    }
    return out
