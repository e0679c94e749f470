"""Service test fixtures: a fresh database per test on SQLite and on PostgreSQL, the real app
(lifespan, poller, migrations) driven through HTTP, and API keys / users for each role."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env, settings_for

from indexguard.store import accounts
from indexguard.web.app import build_services, create_app

PG_HOST = os.environ.get("INDEXGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(PG_HOST.replace("+psycopg", "") + "/postgres", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped afterwards."""
    try:
        conn = _pg_admin()
    except Exception as e:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(e).__name__}); CI runs it")
    name = f"indexguard_test_{os.getpid()}_{secrets.token_hex(3)}"
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_HOST}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def _fresh_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'indexguard.db'}"
    url: str = request.getfixturevalue("pg_database")
    _fresh_pg(url)
    return url


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture
def env(db_url: str) -> Iterator[Env]:
    svc = build_services(settings_for(db_url))
    app = create_app(svc.settings, svc)
    with TestClient(app) as client:
        e = Env(client, svc)
        with svc.sessions() as s, s.begin():
            for scope in accounts.SCOPES:
                e.keys[scope] = accounts.create_api_key(s, f"test-{scope}", [scope], "tests")
        yield e
