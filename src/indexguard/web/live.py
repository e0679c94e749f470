"""The live Screener of one worker, and the poller that swaps it when lists change.

Every request reads `LiveLists.state` once and uses that snapshot to the end, so a swap is atomic
per request: a Decision is made wholly by the old or wholly by the new list set. Builds happen on
the poller thread, never on the request path.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import private_urls
from indexguard.crypto import Cipher
from indexguard.logs import get as get_logger
from indexguard.screen.assemble import assemble
from indexguard.screen.deny_set import DenySet
from indexguard.screen.policy import Policy
from indexguard.screen.screener import Screener
from indexguard.store import lists_repo
from indexguard.store.deny_repo import DatabaseDenySet
from indexguard.store.list_kinds import KINDS, PackedMeta, ParsedList
from indexguard.store.list_snapshots import Snapshots
from indexguard.store.lists_repo import LoadedList
from indexguard.web.metrics import Metrics

log = get_logger("live")
_SHADOW_SAMPLES = 20


@dataclass(frozen=True)
class Shadow:
    list_name: str
    version_id: int
    version: str
    screener: Screener


@dataclass(frozen=True)
class LiveState:
    generation: int
    screener: Screener
    versions: dict[str, str]
    shadows: tuple[Shadow, ...]


def build_screener(loaded: list[LoadedList], policy: Policy, deny: DenySet | None = None) -> Screener:
    """The core's Screener assembly over the loaded lists, with the deny set."""
    by_kind: dict[str, list[Any]] = {k: [x.parsed.obj for x in loaded if x.kind == k] for k in KINDS}
    return assemble(by_kind["term"], by_kind["allow"], banks=by_kind["hash"], urls=by_kind["url"], policy=policy,
                    deny=deny)  # fmt: skip


@dataclass
class _ShadowTally:
    compared: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)


class LiveLists:
    def __init__(
        self,
        factory: sessionmaker[Session],
        cipher: Cipher,
        metrics: Metrics,
        policy: Policy,
        poll_seconds: float = 1.0,
        snapshots: Snapshots | None = None,
    ) -> None:
        self._factory = factory
        self.snapshots = snapshots
        self._cipher = cipher
        self._metrics = metrics
        self._poll = poll_seconds
        self.policy = policy
        # Shared by every Screener this worker builds; URLs kept and looked up as keyed digests.
        self.deny = DatabaseDenySet(factory, private_urls.url_key(cipher))
        self._parsed: dict[int, LoadedList] = {}  # by list_versions.id: versions never change
        self._state: LiveState | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._tallies: dict[int, _ShadowTally] = {}
        self.last_error: str | None = None

    @property
    def state(self) -> LiveState | None:
        return self._state

    def published(self, versions: dict[str, str]) -> dict[str, str]:
        """List versions as shown without credentials (/readyz, /metrics): a keyed digest, since a
        plain SHA-256 of a short list can be recovered by trying candidate lists."""
        return {name: "k:" + self._cipher.keyed_hash("list-version", v)[:16] for name, v in versions.items()}

    def refresh(self) -> bool:
        """Read new deny-set rows; rebuild the Screener if the lists moved (True then)."""
        self.deny.refresh()
        with self._factory() as s:
            gen = lists_repo.generation(s, lists_repo.LISTS_COUNTER)
            cur = self._state
            if cur is not None and cur.generation == gen:
                return False
            live = lists_repo.live_set(s)
            loaded = [self._load(v) for v in live.live]
            shadows = tuple(self._shadow(loaded, name, v) for name, v in live.shadows.items())
            keep = {v.id for v in live.live} | {v.id for v in live.shadows.values()}
            self._parsed = {k: v for k, v in self._parsed.items() if k in keep}
        self._prune_snapshots(live)
        screener = build_screener(loaded, self.policy, self.deny)
        versions = {x.name: x.version for x in loaded}
        self._state = LiveState(live.generation, screener, versions, shadows)
        self._metrics.set_live(self.published(versions), live.generation)
        # A compiled list set is hundreds of thousands of long-lived objects; left in the collector's
        # oldest generation, every full collection walks them all and stalls requests for tens of
        # milliseconds. Freezing moves them out of its sight (refcounting still frees them on swap).
        gc.collect()
        gc.freeze()
        log.info("lists live", extra={"generation": live.generation, "lists": versions})
        return True

    def _load(self, row: Any) -> LoadedList:
        hit = self._parsed.get(row.id)
        if hit is None:
            hit = self._parsed[row.id] = self._load_new(row)
        return hit

    def _load_new(self, row: Any) -> LoadedList:
        if row.kind != "hash" or self.snapshots is None:
            return lists_repo.load(self._cipher, row)
        try:
            bank = self.snapshots.get_or_build(
                row.list_name, row.version, lambda: lists_repo.load(self._cipher, row).parsed.obj
            )
        except OSError:  # no usable snapshot directory: this worker keeps its own copy
            log.exception("hash list snapshot unavailable; loading %s in this worker alone", row.list_name)
            return lists_repo.load(self._cipher, row)
        parsed = ParsedList(row.list_name, row.kind, row.fmt, row.version, PackedMeta(bank), bank)
        return LoadedList(row.list_name, row.kind, row.version, parsed)

    def _prune_snapshots(self, live: lists_repo.LiveSet) -> None:
        if self.snapshots is None:
            return
        keep = [(v.list_name, v.version) for v in [*live.live, *live.shadows.values()]]
        try:
            self.snapshots.prune(keep)
        except OSError:
            log.exception("could not prune hash list snapshots")

    def _shadow(self, live: list[LoadedList], name: str, row: Any) -> Shadow:
        candidate = self._load(row)
        lists = [x for x in live if x.name != name] + [candidate]
        return Shadow(name, row.id, row.version, build_screener(lists, self.policy, self.deny))

    def note_shadow(self, shadow: Shadow, live_action: str, shadow_action: str, decision_id: str) -> None:
        with self._lock:
            t = self._tallies.setdefault(shadow.version_id, _ShadowTally())
            t.compared += 1
            if live_action != shadow_action:
                t.transitions[f"{live_action}->{shadow_action}"] += 1
                if decision_id and len(t.samples) < _SHADOW_SAMPLES:
                    t.samples.append(decision_id)

    def flush_shadow(self) -> None:
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        if not tallies:
            return
        with self._factory() as s, s.begin():
            for vid, t in tallies.items():
                lists_repo.add_shadow_counts(s, vid, t.compared, dict(t.transitions), t.samples)

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            self.tick()

    def tick(self) -> None:
        try:
            self.refresh()
            self.flush_shadow()
            self.last_error = None
        except Exception as e:  # keep serving the last good lists; readiness reports the error
            self.last_error = type(e).__name__
            log.exception("list refresh failed; still serving generation %s", self._generation())

    def _generation(self) -> int | None:
        return self._state.generation if self._state else None

    def start(self) -> None:
        self.tick()
        self._thread = threading.Thread(target=self._run, name="indexguard-lists", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush_shadow()
        except Exception:
            log.exception("could not flush shadow counts on shutdown")
