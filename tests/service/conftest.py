"""Service test fixtures: a fresh database per test on SQLite and on PostgreSQL, the real app
(lifespan, poller, migrations) driven through HTTP, and API keys / users for each role."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env, settings_for

from indexguard.store import accounts
from indexguard.web.app import build_services, create_app


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
