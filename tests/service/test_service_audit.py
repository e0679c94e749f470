"""The audit chain verifies, and breaks at the first altered, removed or reordered row."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.store import audit, db, migrate
from indexguard.store.models import AuditEntry


def _chain(url: str, n: int = 5):  # type: ignore[no-untyped-def]
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    f = db.session_factory(engine)
    for i in range(n):
        audit.append(f, "tester", "list.activate", f"list{i}", {"number": i})
    return f


def test_verify_passes_then_fails_after_edit(db_url: str) -> None:
    f = _chain(db_url)
    assert audit.verify(f).to_json() == {"ok": True, "checked": 5, "broken_seq": None, "reason": ""}
    with f() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone else"))
    r = audit.verify(f)
    assert not r.ok and r.broken_seq == 3 and r.checked == 2


def test_verify_fails_after_removal_and_reorder(db_url: str) -> None:
    f = _chain(db_url)
    with f() as s, s.begin():
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    assert audit.verify(f).broken_seq == 3
    f2 = _chain(db_url.replace("indexguard.db", "second.db")) if db_url.startswith("sqlite") else None
    if f2 is None:
        return
    with f2() as s, s.begin():
        a, b = s.scalars(select(AuditEntry).where(AuditEntry.seq.in_([2, 4])).order_by(AuditEntry.seq)).all()
        fields = ("at", "actor", "action", "target", "detail", "prev_hash", "hash")
        va, vb = ({k: getattr(x, k) for k in fields} for x in (a, b))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(hash="x" * 64))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(**va))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(**vb))
    assert audit.verify(f2).broken_seq == 2


def test_cli_audit_verify_exit_codes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    f = _chain(url, 3)
    runner = CliRunner()
    ok = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert ok.exit_code == 0 and "intact: 3 rows" in ok.output
    with f() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(detail={"number": 99}))
    bad = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert bad.exit_code == 1 and "BROKEN at row 1" in bad.output
