"""Service test fixtures: a fresh database per test on SQLite and on PostgreSQL, the real app
(lifespan, poller, migrations) driven through HTTP, and API keys / users for each role."""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexguard.store import accounts
from indexguard.web.app import build_services, create_app
from indexguard.web.deps import Services
from indexguard.web.settings import Settings

PG_HOST = os.environ.get("INDEXGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "correct horse battery staple"
TERMS = "bizu\nhusinjopuk\nwexal tromp\n"  # placeholder pseudo-words only


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


def settings_for(url: str, **kw: object) -> Settings:
    base: dict[str, object] = {"database_url": url, "poll_seconds": 0.1, "access_log": False, "key_cache_seconds": 0.5}
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


@dataclass
class Env:
    client: TestClient
    svc: Services
    keys: dict[str, str] = field(default_factory=dict)  # scope -> token

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def login(self, role: str) -> TestClient:
        """A second client signed in as a user of `role`; its CSRF token in headers for unsafe calls."""
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        with self.svc.sessions() as s, s.begin():
            accounts.create_user(s, name, PASSWORD, role)
        c = TestClient(self.client.app)
        page = c.get("/login")
        token = page.cookies.get("ig_login_csrf") or c.cookies.get("ig_login_csrf")
        r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 200, r.text  # followed the redirect to /v1/session
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def import_list(self, name: str, text: str, kind: str = "term", activate: bool = True) -> dict[str, object]:
        r = self.client.post(
            "/v1/lists",
            params={"name": name, "kind": kind, "activate": str(activate).lower()},
            content=text.encode(),
            headers={**self.auth("lists"), "Content-Type": "text/plain"},
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def wait_live(self, name: str, version: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.svc.live.state
            if state is not None and state.versions.get(name) == version:
                return
            time.sleep(0.05)
        raise AssertionError(f"{name} {version[:12]} not live after {timeout}s")


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
