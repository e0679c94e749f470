"""Takedown clocks: seconds from a case's opening to hide, decide, remove and report, and their
median and 90th percentile per day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

CLOCKS: tuple[str, ...] = ("hide", "decide", "remove", "report")


def aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CaseTimes:
    opened_at: datetime
    hidden_at: datetime | None
    decided_at: datetime | None
    removed_at: datetime | None
    reported_at: datetime | None

    def clocks(self) -> dict[str, float | None]:
        """Seconds from opening to each step (None: not reached yet)."""
        start = aware(self.opened_at)
        ends = (self.hidden_at, self.decided_at, self.removed_at, self.reported_at)
        return {
            name: None if end is None else max(0.0, (aware(end) - start).total_seconds())
            for name, end in zip(CLOCKS, ends, strict=True)
        }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class DayFigures:
    day: str
    count: int
    median: float | None
    p90: float | None


def by_day(times: list[CaseTimes], clock: str) -> list[DayFigures]:
    """Median and p90 of one clock per day the cases opened (days with no finished clock skipped)."""
    buckets: dict[str, list[float]] = defaultdict(list)
    for t in times:
        v = t.clocks()[clock]
        if v is not None:
            buckets[aware(t.opened_at).date().isoformat()].append(v)
    return [
        DayFigures(day, len(vals), percentile(vals, 50), percentile(vals, 90)) for day, vals in sorted(buckets.items())
    ]


def human(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
