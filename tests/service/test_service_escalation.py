"""A moderator's "escalate" in the console queues the hotline report when a hotline is configured;
without the reporter's identity it is a clear error and nothing changes; without a hotline it only
marks the case (the CLI's outbox queues it later)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import TERMS, Env, settings_for
from sqlalchemy import select
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.store import accounts
from indexguard.store.models import Case, EvidencePackage, HotlineReport
from indexguard.web.app import build_services, create_app

REPORTER = {"reporter_first_name": "Placeholder", "reporter_last_name": "Person",
            "reporter_email": "abuse@example.org", "reporter_platform": "example site"}  # fmt: skip
HOTLINE = {"ncmec_username": "esp-placeholder", "ncmec_password": "pw-placeholder"}


@pytest.fixture
def make_env(tmp_path: object, db_url: str) -> Iterator[object]:
    stack: list[TestClient] = []

    def make(**overrides: object) -> Env:
        svc = build_services(settings_for(db_url, bootstrap=False, **overrides))
        client = TestClient(create_app(svc.settings, svc))
        client.__enter__()
        stack.append(client)
        e = Env(client, svc)
        with svc.sessions() as s, s.begin():
            for scope in ("screen", "lists"):
                e.keys[scope] = accounts.create_api_key(s, f"t-{scope}", [scope], "tests")
        e.wait_live("site", e.import_list("site", TERMS)["version"])
        return e

    yield make
    for c in stack:
        c.__exit__(None, None, None)


def _blocked_case(e: Env, item: str) -> int:
    r = e.client.post("/v1/listings", json={"id": item, "title": "bizu pack"}, headers=e.auth("screen"))
    assert r.json()["action"] == "block"
    if e.svc.listings is not None:  # a listing's case is opened behind its answer, from the queue
        assert e.svc.listings.drain()
    with e.svc.sessions() as s:
        return int(s.scalars(select(Case.id).where(Case.item_id == item)).one())


def test_escalate_queues_the_hotline_report(make_env) -> None:  # type: ignore[no-untyped-def]
    e = make_env(**HOTLINE, **REPORTER)
    cid = _blocked_case(e, "E1")
    r = e.login("moderator").post(f"/v1/cases/{cid}/actions", json={"action": "escalate"})
    assert r.status_code == 200 and r.json()["hotline_report"] > 0, r.text
    with e.svc.sessions() as s:
        row = s.get(HotlineReport, r.json()["hotline_report"])
        assert row is not None and row.state == "queued" and row.case_ref == str(cid)
        assert s.scalars(select(EvidencePackage).where(EvidencePackage.case_ref == str(cid))).first() is not None
    again = e.login("moderator").post(f"/v1/cases/{cid}/actions", json={"action": "escalate"})
    assert again.json()["hotline_report"] == r.json()["hotline_report"]  # queued once


def test_escalate_without_reporter_identity_is_a_clear_error(make_env) -> None:  # type: ignore[no-untyped-def]
    e = make_env(**HOTLINE)
    cid = _blocked_case(e, "E2")
    r = e.login("moderator").post(f"/v1/cases/{cid}/actions", json={"action": "escalate"})
    assert r.status_code == 409 and "INDEXGUARD_REPORTER_FIRST_NAME" in r.text
    with e.svc.sessions() as s:
        assert s.get(Case, cid).hotline_requested is False  # type: ignore[union-attr]
        assert s.scalars(select(HotlineReport)).first() is None
    ok = e.login("moderator").post(f"/v1/cases/{cid}/actions", json={"action": "remove"})
    assert ok.status_code == 200  # other actions do not need a hotline


def test_escalate_without_a_hotline_only_marks_the_case(make_env, db_url: str) -> None:  # type: ignore[no-untyped-def]
    e = make_env()
    cid = _blocked_case(e, "E3")
    r = e.login("moderator").post(f"/v1/cases/{cid}/actions", json={"action": "escalate"})
    assert r.status_code == 200 and "hotline_report" not in r.json()
    with e.svc.sessions() as s:
        assert s.get(Case, cid).hotline_requested is True  # type: ignore[union-attr]
        assert s.scalars(select(HotlineReport)).first() is None
    # the CLI never files under a made-up name: the XML is a preview with the reporter marked as missing
    out = CliRunner().invoke(build_app(), ["hotline", "ncmec-xml", "--case", str(cid), "--database", db_url])
    assert "reporter's identity" in out.output
