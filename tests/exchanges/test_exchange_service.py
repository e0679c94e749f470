"""Exchange sources in the service and the CLI: fetch on demand, status JSON, /metrics, console, cron command."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

pytest.importorskip("threatexchange")

from indexguard.cli.main import build_app
from indexguard.settings import Settings
from indexguard.store import accounts
from indexguard.web.app import build_services, create_app

from .ncmec_server import NcmecState, serve
from .test_ncmec_fetch import PASSWORD, PDQ, USER, _seed


@pytest.fixture
def ncmec() -> Iterator[tuple[NcmecState, str]]:
    state = NcmecState(USER, PASSWORD, page_size=3)
    _seed(state, int(time.time()))
    server, url = serve(state)
    yield state, url
    server.shutdown()


def _source(url: str) -> dict[str, object]:
    return {"name": "ncmec-test", "api": "ncmec", "bank": "NCMEC_TEST", "base_url": url}


def test_service_fetch_status_metrics_and_console(
    ncmec: tuple[NcmecState, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ig.db'}", poll_seconds=0.1, access_log=False,
        exchange_sources=(_source(ncmec[1]),), exchange_fetch_minutes=60,
        ncmec_hash_username=USER, ncmec_hash_password=PASSWORD,
    )  # fmt: skip
    svc = build_services(settings)
    app = create_app(settings, svc)
    with TestClient(app) as client:
        with svc.sessions() as s, s.begin():
            key = accounts.create_api_key(s, "t", ["lists"], "tests")
        auth = {"Authorization": f"Bearer {key}"}
        before = client.get("/v1/exchanges", headers=auth).json()["sources"][0]
        assert before["records"] == 0 and before["last_success"] is None
        assert client.get("/v1/exchanges").status_code == 401
        # the scheduler: due now (never tried), so one tick fetches
        done = app.state.exchanges.tick()
        assert [o.ok for o in done] == [True]
        assert app.state.exchanges.tick(datetime.now(UTC) + timedelta(minutes=5)) == []  # not due again yet
        after = client.get("/v1/exchanges", headers=auth).json()["sources"][0]
        assert after["records"] == 5 and after["list_number"] == 1 and after["last_error"] is None
        metrics = client.get("/metrics").text
        assert 'indexguard_exchange_records{source="ncmec-test"} 5.0' in metrics
        assert 'indexguard_exchange_consecutive_failures{source="ncmec-test"} 0.0' in metrics
        lists = client.get("/v1/lists", headers=auth).json()["lists"]
        assert any(x["name"] == "NCMEC_TEST" and x["live"] and x["live"]["entries"] == 5 for x in lists)
        now = client.post("/v1/exchanges/ncmec-test/fetch", headers=auth)
        assert now.status_code == 200 and now.json()["ok"] and not now.json()["created"]
        assert client.post("/v1/exchanges/nope/fetch", headers=auth).status_code == 404
        page = _console(client, svc).get("/console/exchanges").text
        assert "ncmec-test" in page and "NCMEC_TEST" in page and all(h not in page for h in PDQ)


def _console(client: TestClient, svc: object) -> TestClient:
    with svc.sessions() as s, s.begin():  # type: ignore[attr-defined]
        accounts.create_user(s, "lead1", "correct horse battery staple", "admin")
    c = TestClient(client.app)
    c.get("/login")
    token = c.cookies.get("ig_login_csrf")
    r = c.post("/login", data={"username": "lead1", "password": "correct horse battery staple", "csrf_token": token})
    assert r.status_code == 200, r.text
    return c


def test_cli_banks_fetch_for_cron(ncmec: tuple[NcmecState, str], tmp_path: Path) -> None:
    cfg = tmp_path / "ig.toml"
    cfg.write_text(
        "[indexguard]\nexchange_fetch_minutes = 0\n"
        '[[indexguard.exchange_sources]]\nname = "ncmec-test"\napi = "ncmec"\nbank = "NCMEC_TEST"\n'
        f'base_url = "{ncmec[1]}"\n'
    )
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"INDEXGUARD_NCMEC_HASH_USERNAME": USER, "INDEXGUARD_NCMEC_HASH_PASSWORD": PASSWORD}
    runner = CliRunner()
    made = runner.invoke(build_app(), ["db", "upgrade", "--database", db])  # CLI commands need a database
    assert made.exit_code == 0, made.output
    r = runner.invoke(build_app(), ["banks", "fetch", "--database", db, "--config", str(cfg)], env=env)
    assert r.exit_code == 0, r.output
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["ok"] and line["entries"] == 5 and line["activated"] == "live"
    assert PASSWORD not in r.output and USER not in r.output
    st = runner.invoke(build_app(), ["banks", "status", "--database", db, "--config", str(cfg)], env=env)
    assert json.loads(st.stdout.strip().splitlines()[-1])["records"] == 5
    env_bad = {**env, "INDEXGUARD_NCMEC_HASH_PASSWORD": "nope-wrong"}
    time.sleep(1.1)  # a new second to ask NCMEC about (it is never asked about a range twice)
    bad = runner.invoke(build_app(), ["banks", "fetch", "--database", db, "--config", str(cfg)], env=env_bad)
    assert bad.exit_code == 1 and "authentication failed" in bad.stdout and "nope-wrong" not in bad.output
    unknown = runner.invoke(build_app(), ["banks", "fetch", "--source", "x", "--database", db, "--config", str(cfg)])
    assert unknown.exit_code == 2 and "no exchange source named x" in unknown.output
