"""Decision records written behind the response, in batches, by one thread per worker.

A blocked query must not wait on a database commit (with several workers sharing SQLite, commits
queue behind each other and a search would stall for hundreds of milliseconds). Records go into a
bounded queue; when it is full the request writes its record itself, so nothing is dropped. On
shutdown the queue is drained. Listing uploads still write before answering, so GET /v1/items sees
the state at once.
"""

from __future__ import annotations

import queue
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import recording
from indexguard.cases.recording import Screening
from indexguard.cases.webhooks import notifier
from indexguard.logs import get as get_logger
from indexguard.settings import Settings
from indexguard.store.deny_repo import DatabaseDenySet

log = get_logger("recorder")
_BATCH = 1000


class Recorder:
    def __init__(
        self,
        factory: sessionmaker[Session],
        capacity: int = 100_000,
        settings: Settings | None = None,
        deny: DatabaseDenySet | None = None,
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._deny = deny
        self._q: queue.Queue[Screening] = queue.Queue(capacity)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0

    def _persist(self, recs: list[Screening]) -> None:
        recording.record(self._factory, recs, track_items=False, deny=self._deny, notify=notifier(self._settings))

    def submit(self, recs: list[Screening]) -> None:
        for i, rec in enumerate(recs):
            try:
                self._q.put_nowait(rec)
                with self._idle:
                    self._pending += 1
            except queue.Full:
                self._persist(recs[i:])  # back-pressure: never drop a record
                return

    def _drain(self) -> list[Screening]:
        out: list[Screening] = []
        try:
            out.append(self._q.get(timeout=0.2))
            while len(out) < _BATCH:
                out.append(self._q.get_nowait())
        except queue.Empty:
            pass
        return out

    def _write(self, recs: list[Screening]) -> None:
        delay = 0.1
        while True:
            try:
                self._persist(recs)
                break
            except Exception:
                log.exception("writing %d decision records failed; retrying", len(recs))
                if self._stop.is_set() and delay > 2:
                    log.error("gave up on %d decision records at shutdown", len(recs))
                    break
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        with self._idle:
            self._pending -= len(recs)
            self._idle.notify_all()

    def _run(self) -> None:
        while not (self._stop.is_set() and self._q.empty()):
            recs = self._drain()
            if recs:
                self._write(recs)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="indexguard-records", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
