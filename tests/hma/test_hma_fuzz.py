"""The HMA-compatible routes under arbitrary input: never a 500, always HMA-shaped JSON, never a fetch."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexguard.settings import Settings
from indexguard.store import accounts
from indexguard.web.app import build_services, create_app

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
_paths = st.sampled_from(["/m/raw_lookup", "/m/lookup", "/h/hash", "/c/bank/SEED/content/1", "/c/bank/SEED"])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    mp.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    db = Path(tmp_path_factory.mktemp("hma")) / "ig.db"
    s = Settings(database_url=f"sqlite:///{db}", poll_seconds=0.05, access_log=False)
    svc = build_services(s)
    with TestClient(create_app(s, svc), raise_server_exceptions=False) as c:
        with svc.sessions() as sess, sess.begin():
            key = accounts.create_api_key(sess, "fuzz", ["screen", "lists"], "tests")
        yield c, {"Authorization": f"Bearer {key}"}
    mp.undo()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=_paths, signal_type=_text, signal=_text, banks=_text, extra=st.dictionaries(_text, _text, max_size=3))
def test_any_query_gets_an_hma_shaped_answer(
    client: tuple[TestClient, dict[str, str]], path: str, signal_type: str, signal: str, banks: str,
    extra: dict[str, str],
) -> None:  # fmt: skip
    c, auth = client
    params = {**extra, "signal_type": signal_type, "signal": signal, "banks": banks}
    r = c.get("/hma" + path, params=params, headers=auth)
    assert r.status_code < 500, r.text
    body = r.json()
    if r.status_code >= 400:
        assert isinstance(body, list) or isinstance(body.get("message"), str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=_text.filter(bool), path=st.sampled_from(["/m/lookup", "/h/hash", "/c/bank/SEED/content"]))
def test_a_url_is_never_fetched(client: tuple[TestClient, dict[str, str]], url: str, path: str) -> None:
    c, auth = client
    method = "POST" if path.startswith("/c/") else "GET"
    r = c.request(method, "/hma" + path, params={"url": url}, headers=auth)
    assert r.status_code == 400 and "never fetches URLs" in r.json()["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), st.just(b"--x\r\nContent-Disposition: form-data; name=photo\r\n\r\n")))
def test_any_upload_body_gets_an_answer(client: tuple[TestClient, dict[str, str]], body: bytes) -> None:
    c, auth = client
    for path in ("/hma/h/hash", "/hma/m/lookup"):
        r = c.post(path, content=body, headers={**auth, "Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code in (400, 413, 422), r.text
        assert isinstance(r.json()["message"], str)
