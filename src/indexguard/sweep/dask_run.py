"""Running chunks as Dask tasks: `--dask tcp://scheduler:8786` or `--dask local` (a LocalCluster).

The lists travel once per worker (client.scatter with broadcast of the list text and of the Screener
the client compiled, serialized), and each worker loads it on first use and keeps it
(bundle.WORKER_CACHE). Chunks name files and byte ranges,
so workers need the sources at the same paths (shared storage); SQL rows travel inline."""

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
from indexguard.sweep.bundle import ListBundle, compile_bundle
from indexguard.sweep.local import Pending, Task, run_chunk
from indexguard.sweep.sources import Chunk


class DaskExecutor:
    def __init__(self, address: str, bundle: ListBundle, with_items: bool, workers: int | None = None,
                 *, processes: bool = True, task: Task = run_chunk) -> None:
        dist: Any = require("distributed", "dask", "--dask")  # untyped package: keep its calls out of strict checking
        self._cluster: Any = None
        if address == "local":
            n = workers or os.cpu_count() or 1
            self._cluster = dist.LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                                         dashboard_address=None)
            self._client: Any = dist.Client(self._cluster)
        else:
            try:
                self._client = dist.Client(address, timeout="20s")
            except (OSError, TimeoutError) as e:
                raise IndexguardError(f"--dask {address}: cannot reach the scheduler: {e}") from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        compiled = compile_bundle(bundle)
        self.started = time.time()
        self._bundle = self._client.scatter(bundle, broadcast=True)
        self._compiled = self._client.scatter(compiled, broadcast=True) if compiled is not None else None
        self._with_items = with_items
        self._task = task

    def submit(self, chunk: Chunk) -> Pending:
        future: Pending = self._client.submit(self._task, chunk, self._bundle, self._with_items, self._compiled,
                                              pure=False)
        return future

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


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
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=quiet, stderr=quiet)]
    try:
        procs.append(subprocess.Popen([*dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                                       "--no-dashboard", "--memory-limit", "0", "--host", "127.0.0.1"],
                                      stdout=quiet, stderr=quiet))
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
