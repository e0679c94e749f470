"""Engines and sessions for SQLite (default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from indexguard.errors import IndexguardError

DEFAULT_URL = "sqlite:///indexguard.db"


class DatabaseError(IndexguardError):
    """A database URL that cannot be used."""


class DatabaseUnavailable(DatabaseError):
    """A database that cannot be reached or opened, or (where it must exist) is not there; the message names
    the URL without its password."""


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and route them to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
        scheme = url.split(":", 1)[0]
        raise DatabaseError(f"unsupported database URL scheme {scheme!r}: use sqlite or postgresql")
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).resolve()


def safe_url(url: str) -> str:
    """The URL as an operator may see it in a message or log: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: name only its scheme
        return url.split(":", 1)[0] + ":…"


def open_engine(url: str, *, create: bool, pool_size: int = 5) -> Engine:
    """An engine whose database answered one connection. `create=False`: an SQLite file that does not exist
    is an error, not a new empty database (which would get a new key the running service rejects)."""
    path = sqlite_path(url)
    shown = safe_url(url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseUnavailable(f"cannot open database {shown}: directory {path.parent} does not exist")
    if path is not None and not create and not path.exists():
        raise DatabaseUnavailable(
            f"no database at {path} ({shown}): `indexguard serve` or `indexguard db upgrade` creates it; "
            "or point --database at the service's database"
        )
    engine = make_engine(url, pool_size)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as e:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {shown}: {_reason(e, url)}") from None
    return engine


def _reason(e: SQLAlchemyError, url: str) -> str:
    """The driver's first line, without the password should a driver ever echo it."""
    orig = getattr(e, "orig", None) or e
    line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    password = make_url(normalize_url(url)).password
    return line.replace(str(password), "***") if password else line


def make_engine(url: str, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A wrong host fails within seconds instead of the OS's minutes-long TCP timeout.
    args = {} if "connect_timeout" in url else {"connect_timeout": 10}
    return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, connect_args=args)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (the list poller, GET endpoints) run beside the one writer.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with factory() as s, s.begin():
        yield s
