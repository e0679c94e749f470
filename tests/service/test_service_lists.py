"""List management: versions, diff, activate, rollback, shadow mode, encryption at rest, reveal."""

from __future__ import annotations

from ig_service_helpers import Env
from sqlalchemy import select

from indexguard.store import audit
from indexguard.store.models import AuditEntry, ListVersion

V1 = "id,term,category\nt1,bizu,csam\nt2,husinjopuk,csam\nt3,wexal tromp,csam\n"
V2 = "id,term,category\nt1,bizu,csam\nt2,husinjopukk,csam\nt4,kelvorn,csam\n"


def _imp(env: Env, text: str, activate: bool = False) -> dict:
    r = env.client.post(
        "/v1/lists",
        params={"name": "site", "activate": str(activate).lower()},
        content=text,
        headers={**env.auth("lists"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _action(env: Env, q: str) -> tuple[str, str]:
    d = env.client.post("/v1/query", json={"q": q}, headers=env.auth("screen")).json()
    return d["action"], d["lists"].get("site", "")


def test_versions_diff_activate_rollback(env: Env) -> None:
    v1 = _imp(env, V1, activate=True)
    v2 = _imp(env, V2)
    assert (v1["number"], v2["number"]) == (1, 2) and v1["version"] != v2["version"]
    again = _imp(env, V1)
    assert again["created"] is False and again["number"] == 1
    env.wait_live("site", v1["version"])
    assert _action(env, "kelvorn") == ("allow", v1["version"])

    h = env.auth("lists")
    diff = env.client.get("/v1/lists/site/diff", params={"from": "1", "to": "2"}, headers=h).json()
    assert diff["added"] == ["t4"] and diff["removed"] == ["t3"]
    assert diff["changed"] == [{"id": "t2", "fields": ["text"]}]
    assert "husinjopuk" not in str(diff)

    assert env.client.post("/v1/lists/site/versions/2/activate", headers=h).status_code == 200
    env.wait_live("site", v2["version"])
    assert _action(env, "kelvorn") == ("block", v2["version"])
    assert env.client.post("/v1/lists/site/rollback", headers=h).json()["number"] == 1
    env.wait_live("site", v1["version"])
    assert _action(env, "kelvorn") == ("allow", v1["version"])

    listing = env.client.get("/v1/lists", headers=h).json()["lists"]
    site = next(x for x in listing if x["name"] == "site")
    assert site["live"]["number"] == 1 and site["versions"] == 2
    vs = env.client.get("/v1/lists/site/versions", headers=h).json()["versions"]
    assert [v["live"] for v in vs] == [True, False]
    one = env.client.get(f"/v1/lists/site/versions/{v2['version'][:12]}", headers=h).json()
    assert [e["id"] for e in one["entry_list"]] == ["t1", "t2", "t4"] and "kelvorn" not in str(one)


def test_bad_list_is_refused_with_line(env: Env) -> None:
    r = env.client.post(
        "/v1/lists",
        params={"name": "broken"},
        content="id,term,mode\nx1,bizu,token\nx1,other,token\n",
        headers={**env.auth("lists"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and ":3" in r.json()["detail"]
    assert env.client.get("/v1/lists/broken/versions", headers=env.auth("lists")).status_code == 404
    assert env.client.post("/v1/lists/site/rollback", headers=env.auth("lists")).status_code == 409


def test_text_encrypted_at_rest_and_reveal_is_admin_only_and_audited(env: Env) -> None:
    _imp(env, V1, activate=True)
    with env.svc.sessions() as s:
        row = s.scalars(select(ListVersion).where(ListVersion.list_name == "site")).one()
        assert b"husinjopuk" not in row.payload and "husinjopuk" not in str(row.entries)
    lead = env.login("child_safety_lead")
    assert lead.post("/v1/lists/site/versions/1/reveal", params={"reason": "check"}).status_code == 403
    key = env.client.post("/v1/lists/site/versions/1/reveal", params={"reason": "check"}, headers=env.auth("admin"))
    assert key.status_code == 403
    admin = env.login("admin")
    r = admin.post("/v1/lists/site/versions/1/reveal", params={"reason": "false positive review"})
    assert r.status_code == 200
    assert {e["text"] for e in r.json()["entries"]} == {"bizu", "husinjopuk", "wexal tromp"}
    with env.svc.sessions() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None and last.action == "list.reveal" and last.detail["reason"] == "false positive review"
    assert "husinjopuk" not in str(last.detail)
    assert audit.verify(env.svc.sessions).ok


def test_shadow_mode_reports_what_would_change(env: Env) -> None:
    v1 = _imp(env, V1, activate=True)
    _imp(env, V2)
    h = env.auth("lists")
    assert env.client.post("/v1/lists/site/versions/2/shadow", headers=h).status_code == 200
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (env.svc.live.state and env.svc.live.state.shadows):
        time.sleep(0.05)
    for q in ("kelvorn one", "wexal tromp", "nothing here", "bizu"):
        assert _action(env, q)[1] == v1["version"]  # the live version answers
    deadline = time.monotonic() + 10
    report: dict = {}
    while time.monotonic() < deadline:
        report = env.client.get("/v1/lists/site/shadow", headers=h).json()
        if report["compared"] >= 4:
            break
        time.sleep(0.1)
    assert report["compared"] == 4 and report["changed"] == 2
    assert report["transitions"] == {"allow->block": 1, "block->allow": 1}
    stop = env.client.delete("/v1/lists/site/shadow", headers=h)
    assert stop.status_code == 200
    assert env.client.get("/v1/lists/site/shadow", headers=h).status_code == 409


def test_hash_and_url_lists_go_live(env: Env) -> None:
    import hashlib

    md5 = hashlib.md5(b"synthetic-bytes-1").hexdigest()
    h = {**env.auth("lists"), "Content-Type": "text/csv"}
    bank = f"hash,type,id,category,source\n{md5},md5,h1,csam,test\n"
    r = env.client.post(
        "/v1/lists", params={"name": "bank", "kind": "hash", "activate": "true"}, content=bank, headers=h
    )
    assert r.status_code == 201, r.text
    r2 = env.client.post(
        "/v1/lists",
        params={"name": "urls", "kind": "url", "activate": "true"},
        content="bad.example.test\n",
        headers={**h, "Content-Type": "text/plain"},
    )
    assert r2.status_code == 201, r2.text
    env.wait_live("urls", r2.json()["version"])
    env.wait_live("bank", r.json()["version"])
    s = env.auth("screen")
    d = env.client.post("/v1/listings", json={"id": "h", "title": "x", "md5": md5}, headers=s).json()
    assert d["action"] == "block" and d["reasons"][0]["list"] == "bank" and md5 not in str(d["reasons"])
    u = env.client.post("/v1/listings", json={"id": "u", "url": "http://BAD.example.test/a"}, headers=s).json()
    assert u["action"] == "block" and u["reasons"][0]["list"] == "urls"
    bad = env.client.post("/v1/lists", params={"name": "bank2", "kind": "hash"}, content="0" * 32 + "\n", headers=h)
    assert bad.status_code == 422
    mixed = env.client.post("/v1/lists", params={"name": "bank", "kind": "term"}, content="bizu\n", headers=h)
    assert mixed.status_code == 409
