"""The progress bar (stderr, only on a terminal): share of input done, items, rate and ETA."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class SweepProgress:
    def __init__(self, enabled: bool, total_bytes: int | None) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._items = 0
        self._t0 = time.perf_counter()
        if not enabled:
            return
        # Rich only where a bar is drawn (a terminal): 30 ms of imports a sweep in a script does not need.
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("sweeping"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[items]} items, {task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task("sweep", total=total_bytes, items="0", rate="0")
        self._bar.start()

    def advance(self, nbytes: int, items: int) -> None:
        self._items += items
        if self._bar is None or self._task is None:
            return
        rate = self._items / max(time.perf_counter() - self._t0, 1e-9)
        self._bar.update(self._task, advance=nbytes, items=f"{self._items:,}", rate=f"{rate:,.0f}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
