"""A bounded pool for CPU-heavy work (screening, parsing uploads, decoding images).

The event loop only awaits it, so /healthz and /readyz answer while screening is busy; at most
`threads` calls run and `queue` wait, and a call beyond that is refused at once (503 with
Retry-After) rather than queued without end.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import HTTPException

P = ParamSpec("P")
T = TypeVar("T")


class ScreenPool:
    def __init__(self, threads: int, queue: int) -> None:
        self.threads = max(1, threads)
        self.capacity = self.threads + max(0, queue)
        self._executor: ThreadPoolExecutor | None = None  # started on first use, again after close()
        self._inflight = 0  # touched only on the event loop thread

    @property
    def inflight(self) -> int:
        return self._inflight

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._inflight >= self.capacity:
            raise HTTPException(503, "screening is at capacity; retry shortly", headers={"Retry-After": "1"})
        self._inflight += 1
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="indexguard-screen")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        finally:
            self._inflight -= 1

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
