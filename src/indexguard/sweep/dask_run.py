"""Running chunks as Dask tasks: `--dask tcp://scheduler:8786` or `--dask local` (a LocalCluster).

The lists travel once per worker (client.scatter with broadcast of the list text), and each worker
builds its Screener on first use and keeps it (bundle.WORKER_CACHE). Chunks name files and byte ranges,
so workers need the sources at the same paths (shared storage); SQL rows travel inline."""

from __future__ import annotations

import os
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.optional import require
from indexguard.sweep.bundle import ListBundle
from indexguard.sweep.local import Pending, run_chunk
from indexguard.sweep.sources import Chunk


class DaskExecutor:
    def __init__(self, address: str, bundle: ListBundle, with_items: bool, workers: int | None = None,
                 *, processes: bool = True) -> None:
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
        self._bundle = self._client.scatter(bundle, broadcast=True)
        self._with_items = with_items

    def submit(self, chunk: Chunk) -> Pending:
        future: Pending = self._client.submit(run_chunk, chunk, self._bundle, self._with_items, pure=False)
        return future

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
