"""Running chunks in this process or in a pool of worker processes.

The coordinator compiles the Screener once. Where it can, it forks the workers after that: each
inherits the compiled lists and the imported modules and screens its first chunk a few milliseconds
after the pool starts, whatever the size of the lists. Where it cannot fork safely (another Python
thread runs in this process, or the platform is not Linux), workers come from a forkserver that has
imported the sweep modules already, and the coordinator ships the Screener serialized
(bundle.compile_bundle), which each worker loads once. Chunks travel by index and byte range, so a
worker reads its own input; the lists travel once per worker at most, never with a chunk.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from typing import Any, Protocol

from indexguard.sweep.batches import Batcher, Fetch, batch_size
from indexguard.sweep.bundle import WORKER_CACHE, ListBundle, compile_bundle, screener_for
from indexguard.sweep.heap import frozen_for_fork, keep_freed_memory
from indexguard.sweep.screening import ChunkResult, screen_chunk
from indexguard.sweep.sources import Chunk

# Modules the forkserver imports once, so that every worker forked from it has them.
PRELOAD = ["indexguard.sweep.local", "indexguard.sweep.screening", "indexguard.sweep.tables"]


class Pending(Protocol):
    def result(self) -> ChunkResult: ...


class Executor(Protocol):
    workers: int
    started: float  # epoch seconds when its workers began starting
    start_method: str  # how its workers start: inline (no pool), fork, forkserver, dask
    window: int  # chunks to keep in flight so that no worker waits
    batch: int  # chunks handed to a worker at once
    notes: list[str]  # what an operator should know about how this run was set up

    def submit(self, chunk: Chunk) -> Pending: ...
    def close(self) -> None: ...


Task = Callable[[Chunk, ListBundle, bool, bytes | None], ChunkResult]


def run_chunk(chunk: Chunk, bundle: ListBundle, with_items: bool, compiled: bytes | None = None) -> ChunkResult:
    keep_freed_memory()  # whichever process runs the chunk: this one, a pool worker or a Dask worker
    result = screen_chunk(chunk, screener_for(bundle, compiled), with_items=with_items)
    _stamp(result, bundle)
    return result


def skip_chunk(chunk: Chunk, bundle: ListBundle, with_items: bool, compiled: bytes | None = None) -> ChunkResult:
    """Screening replaced by a no-op: what the coordinator alone sustains (bench_sweep)."""
    keep_freed_memory()
    screener_for(bundle, compiled)
    result = ChunkResult(chunk.index)
    _stamp(result, bundle)
    return result


def _stamp(result: ChunkResult, bundle: ListBundle) -> None:
    ready_at, load_s = WORKER_CACHE.ready.get(bundle.fingerprint, (0.0, 0.0))
    result.worker = f"{os.uname().nodename}:{os.getpid()}"
    result.ready_at = ready_at
    result.load_s = load_s


# Set by the pool initializer in each worker process: the lists this worker screens with.
_WORKER_LISTS: dict[str, tuple[ListBundle, bytes | None]] = {}


def _init_worker(bundle: ListBundle, compiled: bytes | None) -> None:
    _WORKER_LISTS["lists"] = (bundle, compiled)
    if compiled is None and WORKER_CACHE.holds(bundle.fingerprint):
        WORKER_CACHE.inherited(bundle)  # forked after the coordinator compiled: usable from now on
    screener_for(bundle, compiled)


def run_batch(task: Task, chunks: list[Chunk], bundle: ListBundle, with_items: bool,
              compiled: bytes | None) -> list[ChunkResult]:
    """One task of a pool or Dask worker: consecutive chunks, each screened as on its own."""
    return [task(chunk, bundle, with_items, compiled) for chunk in chunks]


def _pool_batch(task: Task, chunks: list[Chunk], with_items: bool) -> list[ChunkResult]:
    bundle, compiled = _WORKER_LISTS["lists"]
    return run_batch(task, chunks, bundle, with_items, compiled)


class _Done:
    def __init__(self, value: ChunkResult) -> None:
        self._value = value

    def result(self) -> ChunkResult:
        return self._value


class InlineExecutor:
    """One process, no pool: the reference the parallel runs are compared with."""

    workers = 1
    start_method = "inline"
    window = 2
    batch = 1

    def __init__(self, bundle: ListBundle, with_items: bool, task: Task = run_chunk) -> None:
        self._bundle = bundle
        self._with_items = with_items
        self._task = task
        self.started = time.time()
        self.notes: list[str] = []
        screener_for(bundle)

    def submit(self, chunk: Chunk) -> Pending:
        return _Done(self._task(chunk, self._bundle, self._with_items, None))

    def close(self) -> None:
        return None


class PoolExecutor:
    def __init__(self, bundle: ListBundle, with_items: bool, workers: int, task: Task = run_chunk,
                 chunks: int | None = None) -> None:
        """`chunks`: how many chunks the sweep will submit, when known (it sizes the batches)."""
        self.workers = workers
        self.batch = batch_size(chunks, workers)
        self.window = 3 * workers * self.batch
        self.notes: list[str] = []
        self._with_items = with_items
        self._task = task
        self.started = time.time()
        if can_fork():
            self.start_method = "fork"
            screener_for(bundle)
            self._pool = _forked_pool(workers, bundle)
        else:
            self.start_method = "forkserver"
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            # The forkserver imports the sweep modules in its own process while this one compiles the lists.
            forkserver.ensure_running()
            compiled = compile_bundle(bundle)
            self._pool = ctx.Pool(workers, initializer=_init_worker, initargs=(bundle, compiled))
        self._batches = Batcher(self.batch, self._send, chunks=chunks, workers=self.workers)

    def submit(self, chunk: Chunk) -> Pending:
        return self._batches.submit(chunk)

    def _send(self, chunks: list[Chunk]) -> Fetch:
        fetch: Fetch = self._pool.apply_async(_pool_batch, (self._task, chunks, self._with_items)).get
        return fetch

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def can_fork() -> bool:
    """Forking is safe on Linux when no other Python thread runs here: a thread could hold a lock
    (logging, a console, a connection pool) that the child would then wait on forever. Native threads
    that libraries start on import (OpenBLAS's pool under numpy) re-initialise in the child. (macOS has
    fork, but its system libraries are not safe across it.)"""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _forked_pool(workers: int, bundle: ListBundle) -> Any:
    ctx: BaseContext = mp.get_context("fork")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a child flushes these on exit: nothing of ours may be left in them to repeat
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork whenever the process has more than one OS thread; the only
        # others here are native ones (see can_fork), which are safe across fork.
        warnings.filterwarnings("ignore", message=r".*is multi-threaded, use of fork\(\)", category=DeprecationWarning)
        with frozen_for_fork():
            return ctx.Pool(workers, initializer=_init_worker, initargs=(bundle, None))
