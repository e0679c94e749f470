"""Running chunks on one machine: in this process, or on every core through multiprocessing.

Worker processes start from a forkserver (no inherited threads or locks), each builds the compiled
Screener once (the initializer) and keeps it for every chunk it is handed; chunks travel by index and
byte range, so a worker reads its own input."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any, Protocol

from indexguard.sweep.bundle import ListBundle, screener_for
from indexguard.sweep.screening import ChunkResult, screen_chunk
from indexguard.sweep.sources import Chunk


class Pending(Protocol):
    def result(self) -> ChunkResult: ...


class Executor(Protocol):
    workers: int

    def submit(self, chunk: Chunk) -> Pending: ...
    def close(self) -> None: ...


def run_chunk(chunk: Chunk, bundle: ListBundle, with_items: bool) -> ChunkResult:
    return screen_chunk(chunk, screener_for(bundle), with_items=with_items)


def warm(bundle: ListBundle) -> None:
    screener_for(bundle)


class _Done:
    def __init__(self, value: ChunkResult) -> None:
        self._value = value

    def result(self) -> ChunkResult:
        return self._value


class InlineExecutor:
    """One process, no pool: the reference the parallel runs are compared with."""

    workers = 1

    def __init__(self, bundle: ListBundle, with_items: bool) -> None:
        self._bundle = bundle
        self._with_items = with_items
        warm(bundle)

    def submit(self, chunk: Chunk) -> Pending:
        return _Done(run_chunk(chunk, self._bundle, self._with_items))

    def close(self) -> None:
        return None


class _Async:
    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def result(self) -> ChunkResult:
        value: ChunkResult = self._handle.get()
        return value


class PoolExecutor:
    def __init__(self, bundle: ListBundle, with_items: bool, workers: int) -> None:
        self.workers = workers
        self._bundle = bundle
        self._with_items = with_items
        ctx = mp.get_context("forkserver")
        self._pool = ctx.Pool(workers, initializer=warm, initargs=(bundle,))

    def submit(self, chunk: Chunk) -> Pending:
        return _Async(self._pool.apply_async(run_chunk, (chunk, self._bundle, self._with_items)))

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()
