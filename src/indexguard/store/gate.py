"""Taking turns at the database between worker processes: a write gate and a lease.

`WriteGate`: SQLite has one writer at a time, and a writer that finds the database locked sleeps
in growing steps (1 ms ... 100 ms) before it looks again, so under load the listing writers of two
workers and the queue drainer spend their time asleep rather than writing. The gate is an exclusive
`flock` on a file beside the database, taken around each write transaction of the listing path: a
waiter wakes the moment the holder lets go. Other writers (reports, lists, the console) do not take
it and still meet SQLite's own lock. On PostgreSQL, or an in-memory SQLite database, it does nothing.

`Lease`: work that one process at a time should do (the listing queue's drainer), held until the
process ends; the operating system (SQLite: the `flock` of a file beside the database) or the
server (PostgreSQL: a session advisory lock on a connection kept for it) lets it go when the
holder dies, so another worker takes it over. A lease is an economy, never a guarantee others rely
on: the work it guards is safe to do twice at once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from indexguard.store.db import sqlite_path


class WriteGate:
    def __init__(self, path: Path | None) -> None:
        self._path = path

    @classmethod
    def for_engine(cls, engine: Engine) -> WriteGate:
        db = sqlite_path(engine.url.render_as_string(hide_password=False))
        return cls(db.with_name(db.name + ".write-gate") if db is not None else None)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing lets the lock go


class Lease:
    _PG_KEY = 0x16A0D18  # pg_try_advisory_lock key of the listing-queue drainer

    def __init__(self, engine: Engine, name: str, pg_key: int = _PG_KEY) -> None:
        self._engine = engine
        db = sqlite_path(engine.url.render_as_string(hide_password=False))
        self._sqlite = engine.dialect.name == "sqlite"
        self._path = db.with_name(f"{db.name}.{name}-lease") if db is not None else None
        self._key = pg_key
        self._fd: int | None = None
        self._conn: Any = None
        # release() may run in two threads at once (the full suite once saw the lock file closed twice:
        # EBADF): each handle is taken out under this lock, so it is closed once. A second os.close of
        # the same number could close a file another thread has opened under it since.
        self._releasing = threading.Lock()

    @property
    def held(self) -> bool:
        if self._sqlite:
            return self._path is None or self._fd is not None
        return self._conn is not None

    def take(self) -> bool:
        """Try to take the lease (never waits); True while this process holds it."""
        if self.held:
            return True
        if self._path is not None:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        conn = self._engine.connect()
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar())
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self) -> bool:
        """Still held? (PostgreSQL: the connection that holds it is alive.) Drops it if not."""
        if self._conn is None:
            return self.held
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            self.release()
            return False

    def release(self) -> None:
        with self._releasing:
            fd, self._fd = self._fd, None
            conn, self._conn = self._conn, None
        if fd is not None:
            os.close(fd)
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                conn.commit()
            except Exception:  # the connection is gone: so is the lock
                pass
            finally:
                conn.close()
