"""A change and its audit row commit together (SQLite and PostgreSQL): when the audit append fails,
no moderator action, list change, sign-in, API key, user, flagger change or screening record is left
behind, and the caller gets a 503 to retry, never a change without its audit row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ig_service_helpers import PASSWORD, TERMS, Env
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from indexguard.cases import actions
from indexguard.cases import service as cases
from indexguard.store import accounts, audit
from indexguard.store.models import (
    ApiKey,
    AuditEntry,
    Case,
    DecisionRecord,
    LiveList,
    TrustedFlagger,
    User,
    UserSession,
)


@contextmanager
def audit_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every append fails after the change was made in its transaction (as an outage at that moment)."""
    tried: list[str] = []

    def boom(s: Session, actor: str, action: str, target: str, detail: dict[str, Any]) -> int:
        tried.append(action)
        raise OperationalError("INSERT INTO audit_log", {}, Exception("audit append failed"))

    with monkeypatch.context() as m:
        m.setattr(audit, "append_in", boom)
        yield tried


def _count(env: Env, model: Any) -> int:
    with env.svc.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_list_changes_and_their_audit_rows_commit_together(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _count(env, AuditEntry)
    with audit_fails(monkeypatch) as tried:
        r = env.client.post("/v1/lists", params={"name": "site", "activate": "true"}, content=TERMS.encode(),
                            headers={**env.auth("lists"), "Content-Type": "text/plain"})  # fmt: skip
    assert r.status_code == 503 and tried == ["list.import"]
    with env.svc.sessions() as s:
        assert s.get(LiveList, "site") is None
    info = env.import_list("site", TERMS, activate=False)
    with audit_fails(monkeypatch) as tried:
        r = env.client.post(f"/v1/lists/site/versions/{info['number']}/activate", headers=env.auth("lists"))
    assert r.status_code == 503 and tried == ["list.activate"]
    with env.svc.sessions() as s:
        live = s.get(LiveList, "site")
        assert live is None or live.version_id is None
    assert _count(env, AuditEntry) == before + 1  # the import that went through, with its row


def test_accounts_and_sign_ins_commit_with_their_audit_rows(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, users = _count(env, ApiKey), _count(env, User)
    admin = env.auth("admin")
    with audit_fails(monkeypatch) as tried:
        r1 = env.client.post("/v1/admin/apikeys", json={"name": "k", "scopes": ["screen"]}, headers=admin)
        r2 = env.client.post("/v1/admin/users", json={"username": "zed", "role": "moderator"}, headers=admin)
        r3 = env.client.put("/v1/admin/trusted-flaggers/abcdef", headers=admin)
    assert [r1.status_code, r2.status_code, r3.status_code] == [503, 503, 503]
    assert tried == ["apikey.create", "user.create", "flagger.trust"]
    assert (_count(env, ApiKey), _count(env, User), _count(env, TrustedFlagger)) == (keys, users, 0)

    with env.svc.sessions() as s, s.begin():
        accounts.create_user(s, "mod-a", PASSWORD, "moderator")
    sessions = _count(env, UserSession)
    page = env.client.get("/login")
    token = page.cookies.get("ig_login_csrf") or env.client.cookies.get("ig_login_csrf")
    with audit_fails(monkeypatch) as tried:
        r = env.client.post("/login", data={"username": "mod-a", "password": PASSWORD, "csrf_token": token},
                            follow_redirects=False)  # fmt: skip
    assert r.status_code == 503 and tried == ["session.login"] and _count(env, UserSession) == sessions


def test_moderator_actions_and_screening_commit_with_their_audit_rows(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexguard.cases import recording
    from indexguard.cases.meta import CaseMeta
    from indexguard.screen.decision import Decision

    sc = recording.Screening(Decision("scr-1", "review", [], ""),
                             recording.ItemFacts("scr-1", "listing", "h", case_meta=CaseMeta()))  # fmt: skip
    with audit_fails(monkeypatch) as tried, pytest.raises(OperationalError):
        recording.record(env.svc.sessions, [sc], track_items=True, deny=env.svc.live.deny)
    assert tried == ["case.open"]
    with env.svc.sessions() as s:
        assert s.scalars(select(DecisionRecord).where(DecisionRecord.item_id == "scr-1")).first() is None
        assert s.scalars(select(Case).where(Case.item_id == "scr-1")).first() is None

    with env.svc.sessions() as s, s.begin():
        c, fx = cases.open_or_join(s, cases.Signal("it-1", "listing", "report", "report", "csam", 0.5, "public"))
        cases.audit_in(s, fx)
        case_id = c.id
    with audit_fails(monkeypatch) as tried, pytest.raises(OperationalError):
        actions.run(env.svc.sessions, [case_id], "remove", "mod-b")
    assert tried == ["case.remove"]
    with env.svc.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "open" and case.removed_at is None
    (ok,) = actions.run(env.svc.sessions, [case_id], "remove", "mod-b")
    assert ok.ok
    with env.svc.sessions() as s:
        case = s.get(Case, case_id)
        acts = list(s.scalars(select(AuditEntry.action).where(AuditEntry.target == f"case:{case_id}")))
    assert case is not None and case.status == "confirmed" and "case.remove" in acts
    assert audit.verify(env.svc.sessions).ok
