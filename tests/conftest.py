"""Shared test fixtures. Test data lives in the repository, under tests/fixtures/ (see its README for sources
and licences): a clone runs the whole suite with nothing beside it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/fixtures: pdq/, nzb/, torrents/, term-suite/ and schemas/ (in the repository, never skipped)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For tests written against the old shared-directory layout (`shared_dir / "fixtures" / ...`, `... / "schemas"`):
    the same paths, pointing into tests/fixtures. New tests use `fixtures_dir`."""
    view = tmp_path_factory.mktemp("shared-layout")
    (view / "fixtures").symlink_to(FIXTURES, target_is_directory=True)
    (view / "schemas").symlink_to(FIXTURES / "schemas", target_is_directory=True)
    return view


PG_HOST = os.environ.get("INDEXGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped afterwards. Skips with a clear
    reason only when PostgreSQL is unreachable (CI and scripts/test start it)."""
    try:
        import psycopg

        conn = psycopg.connect(PG_HOST.replace("+psycopg", "") + "/postgres", autocommit=True, connect_timeout=3)
    except Exception as e:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(e).__name__}); CI runs it")
    name = f"indexguard_test_{os.getpid()}_{secrets.token_hex(3)}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_HOST}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def fresh_pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database with an empty public schema."""
    import psycopg

    with psycopg.connect(pg_database.replace("+psycopg", ""), autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")
    return pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'indexguard.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture(autouse=True)
def _private_snapshots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hash-list snapshots of a test's services go to its own temporary directory, never the
    machine's /dev/shm (settings read INDEXGUARD_SNAPSHOT_DIR when a test does not set it)."""
    if "INDEXGUARD_SNAPSHOT_DIR" not in os.environ:
        monkeypatch.setenv("INDEXGUARD_SNAPSHOT_DIR", str(tmp_path / "snapshots"))
    # `indexguard sweep` keeps compiled lists in the user's cache directory by default: a test's own.
    monkeypatch.setenv("INDEXGUARD_LIST_CACHE", str(tmp_path / "list-cache"))
