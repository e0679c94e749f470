"""Console test fixtures: the real app on SQLite and PostgreSQL, reusing the service test helpers."""

from __future__ import annotations

import base64
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

from ig_service_helpers import Env, settings_for

from indexguard.store import accounts
from indexguard.web.app import build_services, create_app


@pytest.fixture(autouse=True)
def _console_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    for name in ("INDEXGUARD_WEBHOOK_URL", "INDEXGUARD_WEBHOOK_SECRET", "INDEXGUARD_HOTLINE_LINKS"):
        monkeypatch.delenv(name, raising=False)


def make_env(url: str) -> Iterator[Env]:
    svc = build_services(settings_for(url))
    app = create_app(svc.settings, svc)
    with TestClient(app) as client:
        e = Env(client, svc)
        with svc.sessions() as s, s.begin():
            for scope in accounts.SCOPES:
                e.keys[scope] = accounts.create_api_key(s, f"test-{scope}", [scope], "tests")
        yield e


@pytest.fixture
def cenv(db_url: str) -> Iterator[Env]:
    yield from make_env(db_url)


@pytest.fixture
def cenv_sqlite(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(f"sqlite:///{tmp_path / 'indexguard.db'}")
