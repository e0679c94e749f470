"""Running chunks as Dask tasks: `--dask tcp://scheduler:8786` or `--dask local` (a LocalCluster).

The lists travel once per worker (client.scatter with broadcast of the list text and of the Screener
the client compiled, serialized), and each worker loads it on first use and keeps it
(bundle.WORKER_CACHE). Chunks name files and byte ranges,
so workers need the sources at the same paths (shared storage); SQL rows travel inline.
Consecutive chunks travel as one task (sweep/batches.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.optional import require
from indexguard.sweep.batches import Batcher, Fetch, batch_size
from indexguard.sweep.bundle import ListBundle, compile_bundle
from indexguard.sweep.local import Pending, Task, run_batch, run_chunk
from indexguard.sweep.screening import ChunkResult
from indexguard.sweep.sources import Chunk

# Dask workers sample the stack of every running task 100 times a second by default, which costs a
# sweep about 30% of its speed (docs/sweep.md); clusters this module starts run without it.
NO_PROFILER = {"distributed.worker.profile.enabled": False}
PROFILER_ENV = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


class DaskExecutor:
    start_method = "dask"

    def __init__(self, address: str, bundle: ListBundle, with_items: bool, workers: int | None = None,
                 *, processes: bool = True, task: Task = run_chunk, chunks: int | None = None) -> None:
        """`chunks`: how many chunks the sweep will submit, when known (it sizes the batches)."""
        dist: Any = require("distributed", "dask", "--dask")  # untyped package: keep its calls out of strict checking
        self._cluster: Any = None
        if address == "local":
            import dask

            n = workers or os.cpu_count() or 1
            with dask.config.set(NO_PROFILER):  # the workers take the configuration they start with
                self._cluster = dist.LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                                  dashboard_address=None)
            self._client: Any = dist.Client(self._cluster)
        else:
            try:
                self._client = dist.Client(address, timeout="20s")
            except (OSError, TimeoutError) as e:
                raise IndexguardError(f"--dask {address}: cannot reach the scheduler: {e}") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        state: dict[str, tuple[bool, bool]] = self._client.run(_worker_state, bundle.fingerprint)
        self.notes = _profiler_notes({w: profiling for w, (profiling, _) in state.items()})
        # Workers keep the lists of their last sweeps (bundle.WORKER_CACHE): when every one holds these,
        # the 4 MB of compiled lists need not travel to each again. A worker that joins later without
        # them compiles them from the bundle.
        held = bool(state) and all(holds for _, holds in state.values())
        compiled = None if held else compile_bundle(bundle)
        self.lists_sent = compiled is not None
        self.started = time.time()
        # hash=False: a random key, where Dask would otherwise hash the 4 MB of compiled lists (50 ms).
        self._bundle = self._client.scatter(bundle, broadcast=True, hash=False)
        self._compiled = (self._client.scatter(compiled, broadcast=True, hash=False)
                          if compiled is not None else None)
        self._with_items = with_items
        self._task = task
        self.batch = batch_size(chunks, self.workers)
        self.window = max(2, 3 * self.workers * self.batch)
        self._batches = Batcher(self.batch, self._send, chunks=chunks, workers=self.workers)

    def submit(self, chunk: Chunk) -> Pending:
        return self._batches.submit(chunk)

    def _send(self, chunks: list[Chunk]) -> Fetch:
        future = self._client.submit(run_batch, self._task, chunks, self._bundle, self._with_items, self._compiled,
                                     pure=False)

        def fetch() -> list[ChunkResult]:
            results: list[ChunkResult] = future.result()
            future.release()  # the worker may drop them now
            return results

        return fetch

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _worker_state(fingerprint: str) -> tuple[bool, bool]:
    """On a worker: whether Dask's profiler runs there, and whether it holds the lists `fingerprint`."""
    import dask

    from indexguard.sweep.bundle import WORKER_CACHE

    return bool(dask.config.get("distributed.worker.profile.enabled", True)), WORKER_CACHE.holds(fingerprint)


def _profiler_notes(profiling: dict[str, bool]) -> list[str]:
    if not any(profiling.values()):
        return []
    return [f"{sum(profiling.values())} of {len(profiling)} Dask workers run Dask's statistical profiler, which "
            "slows a sweep by about a third: start them with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False "
            "(docs/sweep.md)"]


@contextmanager
def loopback_cluster(workers: int, *, timeout: float = 90.0) -> Iterator[str]:
    """A real Dask cluster on this machine: a `dask scheduler` process and a `dask worker` process
    with `workers` single-threaded worker processes, on 127.0.0.1 (tests and benchmarks; a cluster
    of several machines is started the same way, see docs/sweep.md). Yields the scheduler address."""
    dist: Any = require("distributed", "dask", "--dask")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = subprocess.DEVNULL
    env = {**os.environ, **PROFILER_ENV}
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=quiet, stderr=quiet)]
    try:
        procs.append(subprocess.Popen([*dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                                       "--no-dashboard", "--memory-limit", "0", "--host", "127.0.0.1"],
                                      stdout=quiet, stderr=quiet, env=env))
        with dist.Client(address, timeout=f"{int(timeout)}s") as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
