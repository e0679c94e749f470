"""Security headers on HTML, no-store on case and list JSON, one-time passwords that must be
changed, a password-change route and CLI, and Secure cookies whenever the request came over HTTPS."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env, running_server, settings_for
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.store.bootstrap import first_start
from indexguard.web.app import build_services, create_app


def _login(c: TestClient, username: str, password: str) -> httpx.Response:
    c.get("/login")
    token = c.cookies.get("ig_login_csrf")
    data = {"username": username, "password": password, "csrf_token": token}
    return c.post("/login", data=data, follow_redirects=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_html_pages_carry_framing_sniffing_and_referrer_headers(env: Env) -> None:
    for path in ("/login", "/report", "/blocked"):
        r = env.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] in ("same-origin", "no-referrer")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_case_and_list_json_is_never_stored_by_caches(env: Env) -> None:
    env.client.post("/v1/reports", json={"item": "c1", "category": "advert"})
    for path, scope in (("/v1/cases", "cases"), ("/v1/lists", "lists"), ("/v1/cases/1", "cases")):
        r = env.client.get(path, headers=env.auth(scope))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
        assert r.headers["x-content-type-options"] == "nosniff"


def test_first_start_password_must_be_changed_then_works(db_url: str) -> None:
    svc = build_services(settings_for(db_url, bootstrap=False))
    boot = first_start(svc.sessions, svc.cipher)
    assert boot.admin_password
    with TestClient(create_app(svc.settings, svc)) as c:
        r = _login(c, "admin", boot.admin_password)
        assert r.status_code == 303 and r.headers["location"].startswith("/password")
        csrf = c.get("/v1/session").json()["csrf_token"]
        assert c.get("/v1/session").json()["must_change_password"] is True
        assert c.get("/v1/lists").status_code == 403  # nothing else until the password is changed
        assert c.get("/console", follow_redirects=False).headers["location"].startswith("/password")
        assert c.get("/password").status_code == 200
        bad = c.post("/password", data={"current": "wrong-password-x", "new": "n" * 14, "csrf_token": csrf})
        assert bad.status_code == 422
        same = c.post("/password", data={"current": boot.admin_password, "new": boot.admin_password,
                                         "csrf_token": csrf})  # fmt: skip
        assert same.status_code == 422
        nocsrf = c.post("/password", data={"current": boot.admin_password, "new": "a fresh passphrase 1"})
        assert nocsrf.status_code == 403
        ok = c.post(
            "/password",
            data={"current": boot.admin_password, "new": "a fresh passphrase 1", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert ok.status_code == 303
        assert c.get("/v1/lists").status_code == 200
    with TestClient(create_app(svc.settings, svc)) as c2:
        assert _login(c2, "admin", boot.admin_password).status_code == 401  # the one-time password is spent
        r = _login(c2, "admin", "a fresh passphrase 1")
        assert r.status_code == 303 and not r.headers["location"].startswith("/password")


def test_cli_resets_a_password_to_a_one_time_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXGUARD_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    assert runner.invoke(build_app(), ["db", "upgrade", "--database", url]).exit_code == 0  # only it creates a db
    assert runner.invoke(build_app(), ["user", "create", "bob", "--database", url]).exit_code == 0
    r = runner.invoke(build_app(), ["user", "password", "bob", "--database", url])
    assert r.exit_code == 0, r.output
    password = r.output.split(": ")[1].split(" ")[0]
    svc = build_services(settings_for(url, bootstrap=False))
    with TestClient(create_app(svc.settings, svc)) as c:
        resp = _login(c, "bob", password)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/password")
    assert runner.invoke(build_app(), ["user", "password", "nobody", "--database", url]).exit_code == 2
    assert runner.invoke(build_app(), ["audit", "verify", "--database", url]).exit_code == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cookies_are_secure_over_https_directly_or_via_a_trusted_proxy(env: Env) -> None:
    plain = env.client.get("/login").headers["set-cookie"]
    assert "Secure" not in plain
    https = TestClient(env.client.app, base_url="https://testserver")
    assert "Secure" in https.get("/login").headers["set-cookie"]
    assert "Secure" in https.get("/report").headers["set-cookie"]
    with running_server(env.svc) as base:  # uvicorn believes X-Forwarded-Proto from 127.0.0.1 only
        proxied = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
        direct = httpx.get(f"{base}/login")
    assert "Secure" in proxied.headers["set-cookie"] and "Secure" not in direct.headers["set-cookie"]
