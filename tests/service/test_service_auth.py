"""Every protected endpoint refuses a missing key, a wrong scope and a wrong role; CSRF; login limits."""

from __future__ import annotations

import pytest
from ig_service_helpers import PASSWORD, Env

from indexguard.store import accounts

# (method, path, kwargs, scope needed, a role that lacks it)
ENDPOINTS: list[tuple[str, str, dict, str, str]] = [
    ("POST", "/v1/query", {"json": {"q": "x"}}, "screen", "child_safety_lead"),
    ("POST", "/v1/listings", {"json": {"id": "a", "title": "x"}}, "screen", "moderator"),
    ("POST", "/v1/torrents", {"files": {"file": ("a", b"d")}, "data": {"id": "a"}}, "screen", "moderator"),
    ("POST", "/v1/nzbs", {"files": {"file": ("a", b"d")}, "data": {"id": "a"}}, "screen", "moderator"),
    ("POST", "/v1/images", {"files": {"file": ("a", b"d")}, "data": {"id": "a"}}, "screen", "moderator"),
    ("POST", "/v1/batch", {"json": {"items": []}}, "screen", "child_safety_lead"),
    ("GET", "/v1/items/a", {}, "screen", "moderator"),
    ("POST", "/v1/lists?name=z", {"content": b"bizu\n"}, "lists", "moderator"),
    ("GET", "/v1/lists", {}, "lists", "moderator"),
    ("GET", "/v1/lists/demo/versions", {}, "lists", "moderator"),
    ("GET", "/v1/lists/demo/versions/1", {}, "lists", "moderator"),
    ("GET", "/v1/lists/demo/diff?from=1&to=1", {}, "lists", "moderator"),
    ("POST", "/v1/lists/demo/versions/1/activate", {}, "lists", "moderator"),
    ("POST", "/v1/lists/demo/rollback", {}, "lists", "moderator"),
    ("POST", "/v1/lists/demo/deactivate", {}, "lists", "moderator"),
    ("POST", "/v1/lists/demo/versions/1/shadow", {}, "lists", "moderator"),
    ("GET", "/v1/lists/demo/shadow", {}, "lists", "moderator"),
    ("DELETE", "/v1/lists/demo/shadow", {}, "lists", "moderator"),
    ("POST", "/v1/lists/demo/versions/1/reveal?reason=abc", {}, "admin", "child_safety_lead"),
    ("POST", "/v1/admin/apikeys", {"json": {"name": "k", "scopes": ["screen"]}}, "admin", "child_safety_lead"),
    ("DELETE", "/v1/admin/apikeys/abcd", {}, "admin", "child_safety_lead"),
    ("POST", "/v1/admin/users", {"json": {"username": "u", "role": "moderator"}}, "admin", "moderator"),
    ("GET", "/v1/admin/audit/verify", {}, "admin", "child_safety_lead"),
]
IDS = [f"{m} {p}" for m, p, *_ in ENDPOINTS]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_endpoint_refuses_missing_key_wrong_scope_wrong_role(env: Env) -> None:
    roles = {r: env.login(r) for r in {e[4] for e in ENDPOINTS}}
    for method, path, kw, scope, role in ENDPOINTS:
        r = env.client.request(method, path, **kw)
        assert r.status_code == 401, (method, path, "no key", r.status_code)
        bad = env.client.request(method, path, headers={"Authorization": "Bearer ig_0000_bogus"}, **kw)
        assert bad.status_code == 401, (method, path, "bogus key", bad.status_code)
        other = next(s for s in accounts.SCOPES if s != scope and s != "admin")
        r = env.client.request(method, path, headers=env.auth(other), **kw)
        assert r.status_code == 403, (method, path, "scope", other, r.status_code)
        r = roles[role].request(method, path, **kw)
        assert r.status_code == 403, (method, path, "role", role, r.status_code)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_right_credentials_pass(env: Env) -> None:
    assert env.client.post("/v1/query", json={"q": "x"}, headers=env.auth("screen")).status_code == 200
    lead = env.login("child_safety_lead")
    assert lead.get("/v1/lists").status_code == 200
    admin = env.login("admin")
    r = admin.post("/v1/admin/apikeys", json={"name": "site", "scopes": ["screen"]})
    assert r.status_code == 201
    token = r.json()["key"]
    assert env.client.post("/v1/query", json={"q": "x"}, headers={"X-API-Key": token}).status_code == 200
    assert admin.delete(f"/v1/admin/apikeys/{r.json()['prefix']}").status_code == 200
    env.svc.keys._cache.clear()
    assert env.client.post("/v1/query", json={"q": "x"}, headers={"X-API-Key": token}).status_code == 401


def test_session_requests_need_the_csrf_token(env: Env) -> None:
    lead = env.login("child_safety_lead")
    token = lead.headers.pop("X-CSRF-Token")
    r = lead.post("/v1/lists?name=c", content=b"bizu\n")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = lead.post("/v1/lists?name=c", content=b"bizu\n", headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert lead.get("/v1/lists").status_code == 200  # safe methods need no token


def test_login_form_csrf_and_rate_limit(env: Env) -> None:
    with env.svc.sessions() as s, s.begin():
        accounts.create_user(s, "mod1", PASSWORD, "moderator")
    c = env.client
    assert c.post("/login", data={"username": "mod1", "password": PASSWORD}).status_code == 403
    c.get("/login")
    limit = env.svc.settings.login_max_failures
    for _ in range(limit):
        tok = c.cookies.get("ig_login_csrf")  # each rendered form carries a fresh token
        r = c.post("/login", data={"username": "mod1", "password": "wrong password!", "csrf_token": tok})
        assert r.status_code == 401
    tok = c.cookies.get("ig_login_csrf")
    r = c.post("/login", data={"username": "mod1", "password": PASSWORD, "csrf_token": tok})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_session_cookie_flags_and_logout(env: Env) -> None:
    with env.svc.sessions() as s, s.begin():
        accounts.create_user(s, "mod2", PASSWORD, "moderator")
    from fastapi.testclient import TestClient

    c = TestClient(env.client.app)
    c.get("/login")
    r = c.post(
        "/login",
        data={"username": "mod2", "password": PASSWORD, "csrf_token": c.cookies.get("ig_login_csrf")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    info = c.get("/v1/session").json()
    assert info["role"] == "moderator" and info["scopes"] == ["cases"]
    assert c.post("/logout").status_code == 403  # no CSRF token
    assert c.post("/logout", headers={"X-CSRF-Token": info["csrf_token"]}, follow_redirects=False).status_code == 303
    assert c.get("/v1/session").status_code == 401
