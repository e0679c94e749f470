"""HMA's recorded answers (tests/hma/recorded_hma.json, from a real HMA holding seed_bank.txt) replayed
against indexguard's /hma mount holding the same bank: the same status and the same JSON for every call,
except the URL forms that indexguard refuses by design."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hma_calls import RECORDED, URL_REFUSED_HINT, expected_different, normalise, run, seed_hashes

from indexguard.settings import Settings
from indexguard.store import accounts, lists_repo
from indexguard.web.app import build_services, create_app


@pytest.fixture
def ig(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    monkeypatch.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings = Settings(database_url=db_url, poll_seconds=0.05, access_log=False)
    svc = build_services(settings)
    app = create_app(settings, svc)
    with TestClient(app) as client:
        with svc.sessions() as s, s.begin():
            key = accounts.create_api_key(s, "hma-client", ["screen", "lists"], "tests")
        headers = {"Authorization": f"Bearer {key}"}
        rows = "".join(f"{h},pdq,hma:{n}\n" for n, h in enumerate(seed_hashes(), start=1))
        r = client.post(
            "/v1/lists",
            params={"name": "SEED_BANK_0", "kind": "hash", "activate": "true"},
            content=("hash,type,id\n" + rows).encode(),
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        yield client, headers, svc


def _wait_for(svc: Any, name: str) -> None:
    """Until the bank's newest stored version is the one the worker serves."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with svc.sessions() as s:
            newest = lists_repo.versions(s, name)[-1].version
        st = svc.live.state
        if st is not None and st.versions.get(name) == newest:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name}'s newest version never went live")


def test_hma_client_gets_hmas_answers(ig: tuple[TestClient, dict[str, str], Any]) -> None:
    client, headers, svc = ig
    recorded = json.loads(RECORDED.read_text())["records"]

    def wait() -> None:
        _wait_for(svc, "BANK_B")

    ours = run(client, "/hma", headers, wait)
    assert len(ours) == len(recorded)
    theirs_n, ours_n = normalise(recorded), normalise(ours)
    differences = []
    for want, got in zip(theirs_n, ours_n, strict=True):
        assert (want["method"], want["path"], want["params"]) == (got["method"], got["path"], got["params"])
        if expected_different(want):
            assert got["status"] == 400 and URL_REFUSED_HINT in got["body"]["message"]
            continue
        if (want["status"], want["body"]) != (got["status"], got["body"]):
            differences.append((want["method"], want["path"], want["params"], want["status"], want["body"],
                                got["status"], got["body"]))  # fmt: skip
    for d in differences:
        print(d)
    assert differences == []
    assert sum(1 for r in recorded if not expected_different(r)) >= 150
