"""Reports and cases through HTTP, on SQLite and PostgreSQL: a report opens a case, screening
joins it, trusted flaggers delist at once, moderator actions change item state and clocks."""

from __future__ import annotations

import time

from ig_service_helpers import TERMS, Env
from sqlalchemy import select

from indexguard.store import cases_repo
from indexguard.store.models import AbuseReport, AllowProposal, AuditEntry, DenyEntry

INFOHASH = "0123456789abcdef0123456789abcdef01234567"


def _report(e: Env, item: str, **kw: object) -> dict[str, object]:
    r = e.client.post("/v1/reports", json={"item": item, "category": "csam", **kw}, headers=kw.pop("headers", {}))  # type: ignore[arg-type]
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _case(e: Env, item: str) -> dict[str, object]:
    if e.svc.listings is not None:  # a listing's case is opened behind its answer, from the queue
        assert e.svc.listings.drain()
    with e.svc.sessions() as s:
        c = cases_repo.case_by_item(s, item)
        assert c is not None, f"no case for {item}"
        d = cases_repo.get_case(s, c.id)
        assert d is not None
        return cases_repo.case_json(d)


def test_report_and_screening_join_one_case_then_remove(cenv: Env) -> None:
    e = cenv
    info = e.import_list("t", TERMS, activate=True)
    e.wait_live("t", str(info["version"]))
    out = _report(e, "item-1", comment="odd upload", contact="me@example.org")
    assert str(out["reference"]).startswith("R-") and out["trusted"] is False
    assert any("iwf" in str(h["url"]) for h in out["hotlines"])  # type: ignore[union-attr]
    r = e.client.post("/v1/listings", json={"id": "item-1", "title": "bizu", "infohash": INFOHASH},
                      headers=e.auth("screen"))  # fmt: skip
    assert r.json()["action"] == "block"
    c = _case(e, "item-1")
    assert len(c["signals"]) == 2  # type: ignore[arg-type]
    assert [s["source"] for s in c["signals"]] == ["report", "screen"]  # type: ignore[index, union-attr]
    assert c["severity"] == "block" and c["hidden_at"] is not None
    with e.svc.sessions() as s:
        rep = s.scalars(select(AbuseReport)).one()
        assert rep.contact_sealed and b"me@example.org" not in rep.contact_sealed  # sealed, not plain
        assert len(rep.client_hash) == 64 and "testclient" not in rep.client_hash
    mod = e.login("moderator")
    queue = mod.get("/v1/cases").json()["cases"]
    assert queue[0]["item"] == "item-1"  # block outranks the bootstrap's closed demo cases
    cid = c["id"]
    r = mod.post(f"/v1/cases/{cid}/actions", json={"action": "remove"})
    assert r.status_code == 200, r.text
    assert e.client.get("/v1/items/item-1", headers=e.auth("screen")).json()["state"] == "removed"
    mod.post(f"/v1/cases/{cid}/actions", json={"action": "ban_identities"})
    with e.svc.sessions() as s:
        assert s.scalar(select(DenyEntry.id).where(DenyEntry.value == INFOHASH)) is not None
    c = _case(e, "item-1")
    assert c["status"] == "confirmed" and c["removed_at"] and c["decided_by"]
    deadline = time.monotonic() + 10  # the deny set reaches the screener on its next poll
    while time.monotonic() < deadline:
        again = e.client.post("/v1/listings", json={"id": "item-1b", "title": "new", "infohash": INFOHASH},
                              headers=e.auth("screen")).json()  # fmt: skip
        if again["action"] == "block":
            break
        time.sleep(0.1)
    assert any(x["list"] == "deny-set" for x in again["reasons"])
    assert _case(e, "item-1b")["source"] == "deny"
    assert mod.get("/v1/cases-stats").json()["reupload_attempts_caught"] >= 1
    assert [h["action"] for h in c["history"]][-2:] == ["remove", "ban_identities"]  # type: ignore[index]


def test_trusted_flagger_hides_at_once_and_public_is_rate_limited(cenv: Env) -> None:
    e = cenv
    e.client.post("/v1/listings", json={"id": "item-2", "title": "plain words"}, headers=e.auth("screen"))
    prefix = e.keys["cases"].split("_")[1]
    assert e.client.put(f"/v1/admin/trusted-flaggers/{prefix}", headers=e.auth("admin")).status_code == 200
    out = _report(e, "item-2", headers=e.auth("cases"))
    assert out["trusted"] is True
    assert e.client.get("/v1/items/item-2", headers=e.auth("screen")).json()["state"] == "hidden"
    c = _case(e, "item-2")
    assert c["source"] == "trusted" and c["hidden_at"] is not None
    public = _case(e, "item-2")["priority"]
    _report(e, "item-3")
    assert _case(e, "item-3")["priority"] < public  # type: ignore[operator]
    assert e.client.post("/v1/reports", json={"item": "x", "category": "nonsense"}).status_code == 422
    codes = [e.client.post("/v1/reports", json={"item": f"x{i}", "category": "advert"}).status_code for i in range(25)]
    # 20 an hour per client (by keyed hash of the address); two reports above came from this client too
    assert codes.index(429) == 18 and set(codes[18:]) == {429}


def test_dismiss_proposes_allowlist_and_escalate_and_hold(cenv: Env) -> None:
    e = cenv
    info = e.import_list("t", TERMS, activate=True)
    e.wait_live("t", str(info["version"]))
    e.client.post("/v1/listings", json={"id": "item-4", "title": "bizu"}, headers=e.auth("screen"))
    cid = _case(e, "item-4")["id"]
    mod = e.login("moderator")
    assert mod.post(f"/v1/cases/{cid}/actions", json={"action": "hold"}).status_code == 422  # needs a reason
    assert mod.post(f"/v1/cases/{cid}/actions", json={"action": "hold", "note": "order 17/2"}).status_code == 200
    assert mod.post(f"/v1/cases/{cid}/actions", json={"action": "escalate"}).status_code == 200
    with e.svc.sessions() as s:
        assert cid in [c.id for c in cases_repo.hotline_pending(s)]
    assert mod.post(f"/v1/cases/{cid}/actions", json={"action": "dismiss", "note": "a place name"}).json()["ok"]
    assert e.client.get("/v1/items/item-4", headers=e.auth("screen")).json()["state"] == "allowed"
    with e.svc.sessions() as s:
        prop = s.scalars(select(AllowProposal)).one()
        assert prop.entries[0]["list"] == "t" and prop.entries[0]["entry"]
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.seq))]
    assert {"case.hold", "case.escalate", "case.dismiss"} <= set(actions)
    r = mod.post("/v1/cases/bulk", json={"ids": [cid, 999999], "action": "remove"})
    assert [x["ok"] for x in r.json()["results"]] == [True, False]


def test_form_needs_csrf_and_console_needs_sign_in(cenv: Env) -> None:
    e = cenv
    r = e.client.post("/report", data={"item": "i", "category": "csam", "csrf_token": "x"})
    assert r.status_code == 403
    page = e.client.get("/report?item=abc")
    token = page.cookies.get("ig_report_csrf") or e.client.cookies.get("ig_report_csrf")
    r = e.client.post("/report", data={"item": "abc", "category": "csam", "csrf_token": token})
    assert r.status_code == 200 and "R-" in r.text and "report.iwf.org.uk" in r.text
    assert e.client.get("/console", follow_redirects=False).status_code == 303
    assert e.client.get("/v1/cases").status_code == 401
    assert e.client.get("/v1/cases", headers=e.auth("screen")).status_code == 403
    mod = e.login("moderator")
    token = mod.headers.pop("X-CSRF-Token")
    _report(e, "bulk-1")
    _report(e, "bulk-2")
    ids = [str(_case(e, i)["id"]) for i in ("bulk-1", "bulk-2")]
    r = mod.post("/console/bulk", data={"ids": ids, "action": "remove", "csrf_token": "wrong"})
    assert r.status_code == 403
    r = mod.post("/console/bulk", data={"ids": ids, "action": "remove", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert {_case(e, i)["item_state"] for i in ("bulk-1", "bulk-2")} == {"removed"}
    page = mod.get(f"/console/cases/{ids[0]}")
    assert "removed" in page.text and 'name="csrf_token" value="' + token in page.text


def test_banned_uploader_new_listings_are_refused(cenv_sqlite: Env) -> None:
    e = cenv_sqlite
    info = e.import_list("t", TERMS, activate=True)
    e.wait_live("t", str(info["version"]))
    r = e.client.post("/v1/listings", json={"id": "up-1", "title": "bizu", "uploader_id": "acct-77"},
                      headers=e.auth("screen"))  # fmt: skip
    assert r.json()["action"] == "block"
    # Blocking a listing alone never bans its uploader.
    clean = {"title": "holiday photos", "uploader_id": "acct-77"}
    assert e.client.post("/v1/listings", json={"id": "up-2", **clean}, headers=e.auth("screen")).json()[
        "action"] == "allow"
    mod = e.login("moderator")
    cid = _case(e, "up-1")["id"]
    assert mod.post(f"/v1/cases/{cid}/actions", json={"action": "ban_uploader"}).status_code == 200
    deadline = time.monotonic() + 10  # the deny set reaches the screener on its next poll
    while time.monotonic() < deadline:
        again = e.client.post("/v1/listings", json={"id": "up-3", **clean}, headers=e.auth("screen")).json()
        if again["action"] == "block":
            break
        time.sleep(0.1)
    assert again["action"] == "block"
    assert [(x["list"], x["view"]) for x in again["reasons"]] == [("deny-set", "identity:uploader")]
    other = {"id": "up-4", "title": "holiday photos", "uploader_id": "acct-78"}
    assert e.client.post("/v1/listings", json=other, headers=e.auth("screen")).json()["action"] == "allow"
