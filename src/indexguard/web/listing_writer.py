"""Listings written with group commit, and their cases worked off a durable queue.

A listing's answer waits for exactly what it promises: the item's state, its decision record and
(for a block) its deny-set entries are committed before the caller hears back, so a re-upload is
refused at once and a crash loses nothing that was answered. Everything else (the case, its audit
rows, webhooks) goes into the `record_queue` table in the same transaction and is done by a
drainer thread behind the answer; a crash leaves it queued for the next start.

One writer thread per worker commits whatever listings are waiting as one transaction (group
commit): under load many requests share each commit, so commits no longer queue behind each other
on SQLite, and one conflict costs one retry rather than an error for the caller.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import recording
from indexguard.cases.recording import Screening
from indexguard.cases.service import Notify
from indexguard.errors import IndexguardError
from indexguard.store.deny_repo import DatabaseDenySet, Pending
from indexguard.store.gate import Lease, WriteGate
from indexguard.web.logging import get as get_logger

log = get_logger("listings")
_GROUP = 256  # listings per commit at most
_TRIES = 4
_LEASE_CHECK = 2.0  # seconds between looks at the drainer's lease
_LINGER = 0.1  # seconds the drainer lets queued rows gather once it has caught up (cases open that much later)


class WriteFailed(IndexguardError):
    """The listing could not be stored (the database kept refusing): the caller retries (503)."""


@dataclass
class _Job:
    screenings: list[Screening]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]
    error: BaseException | None = field(default=None)


class ListingWriter:
    def __init__(
        self,
        factory: sessionmaker[Session],
        deny: DatabaseDenySet | None,
        notify: Callable[[], Notify | None] = lambda: None,
        drain_batch: int = 64,
        gate: WriteGate | None = None,
        lease: Lease | None = None,
    ) -> None:
        self._factory = factory
        self._deny = deny
        self._notify = notify  # asked each time: webhook settings can change while running
        self._drain_batch = drain_batch
        self._gate = gate or WriteGate(None)  # SQLite: the writers of all workers take turns without sleeping
        self._lease = lease  # only the worker holding it runs the drainer thread's loop (None: always)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._stop = threading.Event()
        self._queued = threading.Event()  # something was committed to the queue: drain soon
        # Held while a batch is worked off, so `drain` also waits for rows the drainer thread has
        # claimed (on PostgreSQL they are skipped as locked, not seen as pending).
        self._draining = threading.Lock()
        self._threads: list[threading.Thread] = []

    async def write(self, screenings: list[Screening]) -> None:
        """Return once the screenings are durable; WriteFailed if they could not be stored."""
        loop = asyncio.get_running_loop()
        job = _Job(screenings, loop, loop.create_future())
        self._jobs.put(job)
        await job.done

    # the writer --------------------------------------------------------------------------------
    def _take(self) -> list[_Job] | None:
        first = self._jobs.get()
        if first is None:
            return None
        return self._top_up([first])

    def _top_up(self, group: list[_Job]) -> list[_Job]:
        """Add whatever else is waiting now (up to _GROUP listings in all)."""
        n = sum(len(job.screenings) for job in group)
        while n < _GROUP:
            try:
                nxt = self._jobs.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._jobs.put(None)  # stop after this group
                break
            group.append(nxt)
            n += len(nxt.screenings)
        return group

    def _run_writer(self) -> None:
        while (group := self._take()) is not None:
            # The group is topped up once the gate is ours: what arrived while another worker
            # was writing joins this commit rather than waiting for the next one.
            with self._gate():
                self._commit(self._top_up(group))

    def _commit(self, group: list[_Job]) -> None:
        pending = self._try([sc for job in group for sc in job.screenings])
        if pending is None and len(group) > 1:
            for job in group:  # find the one that cannot be stored; the others still are
                self._commit([job])
            return
        if pending is None:
            group[0].error = WriteFailed("the listing could not be stored; retry shortly")
        elif self._deny is not None:
            self._deny.remember(pending)
        self._queued.set()
        loops: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in group:
            loops.setdefault(job.loop, []).append(job)
        for loop, jobs in loops.items():  # one wake-up of each event loop per group, not one per listing
            loop.call_soon_threadsafe(_settle_all, jobs)

    def _try(self, screenings: list[Screening]) -> list[Pending] | None:
        delay = 0.02
        for attempt in range(_TRIES):
            try:
                with self._factory() as s, s.begin():  # the caller holds the write gate
                    return recording.record_durable(s, screenings, self._deny)
            except Exception:  # a write conflict or a lost connection: the whole group is retried
                log.warning("storing %d listings failed (attempt %d)", len(screenings), attempt + 1, exc_info=True)
                time.sleep(delay)
                delay *= 4
        return None

    # the drainer -------------------------------------------------------------------------------
    def _run_drainer(self) -> None:
        try:
            self._drain_loop()
        finally:
            if self._lease is not None:
                self._lease.release()

    def _leased(self) -> bool:
        """One worker drains (its writes do not queue behind another worker's drainer); the others
        try again now and then, and take over when the holder has gone."""
        if self._lease is None:
            return True
        try:
            if self._lease.held and self._lease.check():
                return True
            return self._lease.take()
        except Exception:
            log.warning("could not take the listing queue's lease", exc_info=True)
            return False

    def _drain_loop(self) -> None:
        delay, failures, checked = 0.1, 0, 0.0
        while not self._stop.is_set():
            if time.monotonic() - checked > _LEASE_CHECK:
                if not self._leased():
                    self._stop.wait(_LEASE_CHECK)
                    continue
                checked = time.monotonic()
            batch = 1 if failures else self._drain_batch  # after a failure, one row at a time
            try:
                n = recording.drain_queue(self._factory, batch, self._notify(), self._gate)
                delay, failures = 0.1, 0
            except Exception:  # stays queued; tried again after a pause
                log.exception("working off the listing queue failed; retrying")
                failures += 1
                if failures >= 3:
                    self._set_aside()
                    failures = 0
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            if n < batch:  # caught up: wait for more, and let rows gather so one transaction takes many
                self._queued.wait(0.5)
                self._queued.clear()
                self._stop.wait(_LINGER)

    def _set_aside(self) -> None:
        try:
            recording.requeue_first(self._factory)
            log.error("a queued listing keeps failing; moved to the back of the queue")
        except Exception:
            log.exception("could not move a failing queued listing")

    def drain(self, timeout: float = 10.0) -> bool:
        """Work the queue off now (tests, shutdown); True when it is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if recording.drain_queue(self._factory, self._drain_batch, self._notify(), self._gate):
                continue
            with self._factory() as s:  # rows the drainer thread holds still count until it commits
                if recording.queued(s) == 0:
                    return True
            time.sleep(0.02)
        return False

    def start(self) -> None:
        for target, name in ((self._run_writer, "indexguard-listings"), (self._run_drainer, "indexguard-queue")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._jobs.put(None)
        self._stop.set()
        self._queued.set()
        for t in self._threads:
            t.join(timeout=30)


def _settle_all(jobs: list[_Job]) -> None:
    for job in jobs:
        _settle(job)


def _settle(job: _Job) -> None:
    if job.done.done():
        return
    if job.error is not None:
        job.done.set_exception(job.error)
    else:
        job.done.set_result(None)
