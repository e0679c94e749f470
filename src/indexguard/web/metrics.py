"""Prometheus metrics on a registry of the app's own.

With several uvicorn workers `indexguard serve` sets PROMETHEUS_MULTIPROC_DIR, each worker writes
its samples there and /metrics aggregates them; with one worker the app's registry is served.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "indexguard_decisions",
            "Decisions by action and category (category 'none' for allow).",
            ["action", "category"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "indexguard_screen_seconds",
            "Screening latency inside the service, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter(
            "indexguard_items_screened", "Items screened, by endpoint.", ["endpoint"], registry=self.registry
        )
        self.live_version = Gauge(
            "indexguard_live_list",
            "1 for each list version live in this worker.",
            ["list", "version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.generation = Gauge(
            "indexguard_lists_generation",
            "The list generation this worker serves.",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self._live: dict[str, str] = {}
        self.swaps = Counter("indexguard_list_swaps", "Screener swaps after a list change.", registry=self.registry)
        self._exchange_gauges = {
            name: Gauge(
                f"indexguard_exchange_{name}", text, ["source"], registry=self.registry, multiprocess_mode="max"
            )
            for name, text in (
                ("records", "Upstream records an exchange source holds."),
                ("last_success_timestamp", "Unix time of the source's last complete fetch (0: never)."),
                ("last_attempt_timestamp", "Unix time of the source's last fetch attempt (0: never)."),
                ("consecutive_failures", "Failed fetches since the last success (drives the back-off)."),
                ("bank_version_number", "The bank version number the last fetch made (0: none)."),
            )
        }

    def decision(self, action: str, categories: set[str]) -> None:
        for c in categories or {"none"}:
            self.decisions.labels(action, c).inc()

    def set_live(self, versions: dict[str, str], generation: int) -> None:
        # Zero rather than clear: in multiprocess mode a cleared label would keep its last value.
        for name, v in self._live.items():
            if versions.get(name) != v:
                self.live_version.labels(name, v).set(0)
        self._live = dict(versions)
        for name, v in versions.items():
            self.live_version.labels(name, v).set(1)
        self.generation.set(generation)
        self.swaps.inc()

    def set_exchanges(self, statuses: Sequence[Any]) -> None:
        """Exchange fetch status (from the database, so every worker reports the same)."""
        g = self._exchange_gauges
        for st in statuses:
            g["records"].labels(st.source).set(st.records)
            g["last_success_timestamp"].labels(st.source).set(st.last_success.timestamp() if st.last_success else 0)
            g["last_attempt_timestamp"].labels(st.source).set(st.last_attempt.timestamp() if st.last_attempt else 0)
            g["consecutive_failures"].labels(st.source).set(st.failures)
            g["bank_version_number"].labels(st.source).set(st.list_number or 0)

    def render(self) -> bytes:
        mp = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if mp:
            reg = CollectorRegistry()
            MultiProcessCollector(reg, path=mp)  # type: ignore[no-untyped-call]
            return generate_latest(reg)
        return generate_latest(self.registry)
