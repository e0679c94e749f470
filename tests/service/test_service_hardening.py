"""Bad input never gets a 500, work per request is bounded, and 4xx answers never echo the input."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ig_service_helpers import Env, settings_for
from PIL import Image

from indexguard.store import accounts
from indexguard.web import screening
from indexguard.web.app import build_services, create_app
from indexguard.web.routes_screen import INLINE_CHARS

JSON = {"Content-Type": "application/json"}
MARK = "zqxmarker"  # a placeholder that must never come back in an error answer


def _csrf_login(c: TestClient, username: str, password: str) -> int:
    c.get("/login")
    token = c.cookies.get("ig_login_csrf")
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


@pytest.fixture
def raw(env: Env) -> TestClient:
    """The env's app, answering 500s instead of raising them into the test."""
    return TestClient(env.client.app, raise_server_exceptions=False)


BAD_BODIES = [
    ("/v1/batch", '{"items": [' + "[" * 50_000 + "]" * 50_000 + "]}"),
    ("/v1/batch", '{"items": [{"id": "a", "title": "x\\ud800y"}]}'),
    ("/v1/listings", '{"id": "a", "title": "x\\udfffy"}'),
    ("/v1/listings", '{"id": "a\\ud800", "title": "x"}'),
    ("/v1/query", '{"q": "x\\ud800"}'),
    ("/v1/reports", '{"item": "a", "category": "csam", "comment": "x\\ud800y"}'),
    ("/v1/reports", '{"item": "a", "category": "csam", "comment": "x\\u0000y"}'),
    ("/v1/reports", '{"item": "a\\u0000", "category": "csam"}'),
    ("/v1/reports", '{"url": "https://example.org/\\u0000", "category": "csam"}'),
    ("/v1/reports", '{"item": "a", "category": "csam", "contact": "\\ud800"}'),
]


@pytest.mark.parametrize(("path", "body"), BAD_BODIES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BAD_BODIES)])
def test_malformed_input_gets_a_clear_4xx(env: Env, raw: TestClient, path: str, body: str) -> None:
    r = raw.post(path, content=body.encode(), headers={**JSON, **env.auth("screen")})
    assert 400 <= r.status_code < 500, r.text[:300]
    assert r.json()["detail"]


def test_nul_in_login_name_is_a_failed_sign_in(env: Env, raw: TestClient) -> None:
    assert _csrf_login(raw, "ad\x00min", "x" * 12) == 401


def test_fdfa_expansion_bomb_is_refused_by_its_normalised_length(env: Env, raw: TestClient) -> None:
    bomb = "\ufdfa" * 60_000  # under the raw 65,536-character field limit, 1.08 M characters after NFKC
    r = raw.post("/v1/listings", json={"id": "b", "title": bomb}, headers=env.auth("screen"))
    assert r.status_code == 413 and "normalised" in r.json()["detail"]
    r = raw.post("/v1/batch", json={"items": [{"title": bomb}]}, headers=env.auth("screen"))
    assert r.status_code == 413
    r = raw.post("/v1/query", json={"q": "\ufdfa" * 2_000}, headers=env.auth("screen"))
    assert r.status_code == 413
    r = raw.post("/v1/reports", json={"item": "a", "category": "csam", "comment": "\ufdfa" * 3_000})
    assert r.status_code == 422  # 3,000 characters, 54,000 once normalised: over the comment limit


def test_batch_text_budget_and_list_lengths(env: Env, raw: TestClient) -> None:
    st_ = env.svc.settings
    many = [{"title": "a" * 60_000} for _ in range(st_.max_batch_chars // 60_000 + 1)]
    r = raw.post("/v1/batch", content=json.dumps({"items": many}).encode(), headers={**JSON, **env.auth("screen")})
    assert r.status_code == 413
    files = ["f"] * (st_.max_list_entries + 1)
    r = raw.post("/v1/listings", json={"id": "x", "files": files}, headers=env.auth("screen"))
    assert r.status_code in (413, 422)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_body_limit_before_parsing(env: Env, raw: TestClient) -> None:
    big = b"{" + b" " * (env.svc.settings.max_report_bytes + 10) + b"}"
    r = raw.post("/v1/reports", content=big, headers=JSON)
    assert r.status_code == 413
    r = raw.post("/login", content=b"a=" + b"b" * (env.svc.settings.max_form_bytes + 1))
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(5):
            yield b" " * (env.svc.settings.max_form_bytes // 4)

    r = raw.post("/v1/cases/1/actions", content=chunks(), headers=JSON)
    assert r.status_code == 413


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_errors_never_echo_the_input(env: Env, raw: TestClient) -> None:
    probes = [
        ("/v1/reports", {"item": MARK * 100, "category": "csam"}),
        ("/v1/reports", {"item": "a", "category": MARK}),
        ("/v1/reports", {"item": "a", "category": "csam", "comment": MARK * 1000}),
        ("/v1/listings", {"id": MARK, "kind": MARK}),
        ("/v1/listings", {"id": "a", "title": 7, MARK: MARK}),
        ("/v1/query", {"q": MARK * 1000}),
        ("/v1/batch", {"items": [{"id": MARK, "title": [MARK]}]}),
    ]
    for path, body in probes:
        r = raw.post(path, json=body, headers=env.auth("screen"))
        assert 400 <= r.status_code < 500 and MARK not in r.text, (path, r.status_code, r.text[:200])
    raw.get("/report")
    form = {"item": MARK, "url": f"https://{MARK}.example/", "category": "nonsense", "comment": MARK}
    r = raw.post("/report", data={**form, "csrf_token": raw.cookies.get("ig_report_csrf") or ""})
    assert r.status_code == 422 and MARK not in r.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pixel_cap_refuses_big_images_before_decoding(env: Env, raw: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buf, "PNG")  # 25 M pixels, a few KB compressed
    files = {"file": ("big.png", buf.getvalue(), "image/png")}
    r = raw.post("/v1/images", files=files, data={"id": "img1"}, headers=env.auth("screen"))
    assert r.status_code == 413 and "pixels" in r.json()["detail"]


# Listings of at most INLINE_CHARS characters are screened on the event loop (cheaper than the hop to the
# pool); longer ones, whose screening can cost real CPU, go through the bounded pool tested here.
_POOLED = "wexal " * (INLINE_CHARS // 6 + 1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_health_answers_while_screening_is_busy(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    gate, entered = threading.Event(), threading.Event()
    real = screening.screen_one

    def slow(state: object, item: object) -> screening.Screened:
        entered.set()
        gate.wait(20)
        return real(state, item)  # type: ignore[arg-type]

    monkeypatch.setattr(screening, "screen_one", slow)
    results: list[int] = []
    t = threading.Thread(
        target=lambda: results.append(
            env.client.post("/v1/listings", json={"id": "s", "title": _POOLED}, headers=env.auth("screen")).status_code
        )
    )
    t.start()
    try:
        assert entered.wait(10)
        started = time.monotonic()
        assert env.client.get("/healthz").status_code == 200
        assert env.client.get("/readyz").status_code == 200
        assert time.monotonic() - started < 2.0  # the loop is free while a screening call holds a worker
    finally:
        gate.set()
        t.join(20)
    assert results == [200]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pool_refuses_work_beyond_its_queue(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = build_services(settings_for(db_url, screen_threads=1, screen_queue=0))
    gate, entered = threading.Event(), threading.Event()
    real = screening.screen_one

    def slow(state: object, item: object) -> screening.Screened:
        entered.set()
        gate.wait(20)
        return real(state, item)  # type: ignore[arg-type]

    monkeypatch.setattr(screening, "screen_one", slow)
    with TestClient(create_app(svc.settings, svc)) as c:
        with svc.sessions() as s, s.begin():
            h = {"Authorization": f"Bearer {accounts.create_api_key(s, 't', ['screen'], 't')}"}
        t = threading.Thread(target=lambda: c.post("/v1/listings", json={"id": "1", "title": _POOLED}, headers=h))
        t.start()
        try:
            assert entered.wait(10)
            r = c.post("/v1/listings", json={"id": "2", "title": _POOLED}, headers=h)
            assert r.status_code == 503 and r.headers["Retry-After"]
        finally:
            gate.set()
            t.join(20)


_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\ufdfa" * 50, "a\x00b", "\u202e", "\ufeff"]
)
_value = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_fields = st.dictionaries(
    st.sampled_from(["item", "url", "category", "comment", "contact", "thumbnail", "id", "title", "q", "items"])
    | _text,
    _value,
    max_size=6,
)
def _sendable(v: str) -> str:
    return v.encode("utf-8", "replace").decode("utf-8")


PUBLIC = ["/v1/reports", "/v1/query", "/v1/listings", "/v1/batch"]
_shaped = st.one_of(
    st.fixed_dictionaries(
        {"item": _text, "category": st.sampled_from(["csam", "advert"]) | _text},
        optional={"comment": _text, "url": _text, "contact": _text},
    ),
    st.fixed_dictionaries({"q": _text}),
    st.fixed_dictionaries({"id": _text, "title": _text}, optional={"files": st.lists(_text, max_size=3)}),
    st.fixed_dictionaries({"items": st.lists(st.fixed_dictionaries({"title": _text}) | _value, max_size=3)}),
)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_fuzz_public_routes_never_500(env: Env, raw: TestClient) -> None:
    auth = env.auth("screen")
    seen: list[int] = []

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(path=st.sampled_from(PUBLIC), body=_fields | _shaped, as_form=st.booleans())
    def run(path: str, body: dict[str, object], as_form: bool) -> None:
        data = json.dumps(body, ensure_ascii=True).encode()
        r = raw.post(path, content=data, headers={**JSON, **auth})
        seen.append(r.status_code)
        assert r.status_code < 500, (path, body, r.text[:200])
        if as_form:
            # A form is percent-encoded UTF-8: a lone surrogate cannot even be sent that way.
            form = {_sendable(k): _sendable(v) for k, v in body.items() if isinstance(v, str)}
            raw.get("/report")
            form["csrf_token"] = raw.cookies.get("ig_report_csrf") or ""
            r = raw.post("/report", data=form)
            assert r.status_code < 500, (body, r.text[:200])
            assert _csrf_login(raw, form.get("item", ""), form.get("comment", "x" * 12)) < 500

    run()
    assert any(s < 300 for s in seen) and any(400 <= s < 500 for s in seen)
