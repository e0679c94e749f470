"""The keyed audit chain: every kind of tampering is caught, appends never give up, exit codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.store import audit, db, migrate
from indexguard.store.models import AuditEntry

Factory = sessionmaker[Session]


def _factory(url: str) -> Factory:
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    return db.session_factory(engine)


def _chain(url: str, tmp_path: Path, n: int = 5) -> tuple[Factory, audit.Chain]:
    chain = audit.Chain(secrets.token_bytes(32), audit.Anchor(tmp_path / "audit-head"))
    f = audit.bind(_factory(url), chain)
    for i in range(n):
        audit.append(f, "tester", "list.activate", f"list{i}", {"number": i})
    return f, chain


def _rows(f: Factory) -> list[AuditEntry]:
    with f() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all())


def _rewrite(f: Factory, rows: list[dict[str, object]], mac: audit.Chain | None) -> None:
    """What an attacker with database access does: replace the table with a recomputed chain."""
    with f() as s, s.begin():
        s.execute(delete(AuditEntry))
        prev = audit.GENESIS
        for i, r in enumerate(rows, start=1):
            e = AuditEntry(seq=i, at=r["at"], actor=r["actor"], action=r["action"], target=r["target"],
                           detail=r["detail"], prev_hash=prev)  # fmt: skip
            e.hash = audit.row_mac(mac.key, e) if mac is not None else audit.row_hash(e)
            s.add(e)
            s.flush()
            prev = e.hash


def _plain(e: AuditEntry) -> dict[str, object]:
    return {k: getattr(e, k) for k in ("at", "actor", "action", "target", "detail")}


def test_intact_chain_verifies_and_is_anchored(db_url: str, tmp_path: Path) -> None:
    f, chain = _chain(db_url, tmp_path)
    r = audit.verify(f)
    assert r.ok and r.anchored and r.checked == 5
    head = chain.anchor.read(chain.key)
    assert head is not None and head.seq == 5 and head.hash == _rows(f)[-1].hash
    assert all(not hmac.compare_digest(e.hash, audit.row_hash(e)) for e in _rows(f))  # keyed, not plain SHA-256


def test_edit_is_detected_at_the_row(db_url: str, tmp_path: Path) -> None:
    f, _ = _chain(db_url, tmp_path)
    with f() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone else"))
    r = audit.verify(f)
    assert not r.ok and r.checkable and r.broken_seq == 3 and r.checked == 2


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_deletion_anywhere_including_the_end_is_detected(db_url: str, tmp_path: Path, seq: int) -> None:
    f, _ = _chain(db_url, tmp_path)
    with f() as s, s.begin():
        s.execute(delete(AuditEntry).where(AuditEntry.seq == seq))
    r = audit.verify(f)
    assert not r.ok and r.checkable and r.broken_seq is not None


def test_wiped_table_is_detected(db_url: str, tmp_path: Path) -> None:
    f, _ = _chain(db_url, tmp_path)
    with f() as s, s.begin():
        s.execute(delete(AuditEntry))
    r = audit.verify(f)
    assert not r.ok and r.checkable and "wiped" in r.reason


def test_recomputed_chains_are_detected(db_url: str, tmp_path: Path) -> None:
    f, chain = _chain(db_url, tmp_path)
    rows = [_plain(e) for e in _rows(f)]
    rows[1]["actor"] = "forger"
    _rewrite(f, rows, None)  # plain SHA-256, recomputed after the edit
    assert not audit.verify(f).ok
    _rewrite(f, rows, audit.Chain(secrets.token_bytes(32), chain.anchor))  # a key of the forger's own
    assert not audit.verify(f).ok
    _rewrite(f, [rows[0], *rows[2:]], None)  # a deletion with renumbering and recomputed links
    r = audit.verify(f)
    assert not r.ok and r.broken_seq == 1


def test_renumbered_deletion_with_the_key_still_fails_at_the_end(db_url: str, tmp_path: Path) -> None:
    """Even someone who also stole the key cannot drop a row without the anchor noticing."""
    f, chain = _chain(db_url, tmp_path)
    rows = [_plain(e) for e in _rows(f)]
    _rewrite(f, rows[:2] + rows[3:], chain)
    r = audit.verify(f)
    assert not r.ok and "deleted" in r.reason


def test_a_legacy_chain_is_sealed_by_the_first_keyed_append(db_url: str, tmp_path: Path) -> None:
    plain = _factory(db_url)
    for i in range(3):
        audit.append(plain, "old", "list.activate", f"l{i}", {"i": i})
    chain = audit.Chain(secrets.token_bytes(32), audit.Anchor(tmp_path / "head"))
    keyed = audit.bind(_factory(db_url), chain)
    assert not audit.verify(keyed).checkable  # legacy rows only, nothing keyed yet
    audit.append(keyed, "new", "user.create", "x", {})
    rows = _rows(keyed)
    assert [e.action for e in rows][-2:] == [audit.KEYED_ACTION, "user.create"]
    assert audit.verify(keyed).ok
    with keyed() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(target="changed"))
    assert audit.verify(keyed).broken_seq == 2


def test_concurrent_appends_never_give_up(db_url: str, tmp_path: Path) -> None:
    f, _ = _chain(db_url, tmp_path, 0)
    errors: list[str] = []

    def work(i: int) -> None:
        for j in range(15):
            try:
                audit.append(f, f"w{i}", "x", f"{i}-{j}", {"j": j})
            except Exception as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and audit.count(f) == 90
    assert audit.verify(f).ok


def test_rolled_back_rows_leave_no_trace_and_do_not_move_the_anchor(db_url: str, tmp_path: Path) -> None:
    f, chain = _chain(db_url, tmp_path, 2)
    with pytest.raises(RuntimeError), f() as s, s.begin():
        audit.append_in(s, "t", "x", "y", {})
        raise RuntimeError("caller failed after the append")
    head = chain.anchor.read(chain.key)
    assert head is not None and head.seq == 2 and audit.count(f) == 2 and audit.verify(f).ok


def test_tampered_anchor_cannot_be_read(tmp_path: Path) -> None:
    f, chain = _chain(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, 2)
    assert chain.anchor.path is not None
    chain.anchor.path.write_text(chain.anchor.path.read_text().replace('"seq": 2', '"seq": 1'))
    with pytest.raises(audit.AuditUnavailable):
        audit.verify(f)
    audit.append(f, "t", "still", "appends", {})  # a bad anchor never stops the log


def test_cli_audit_verify_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXGUARD_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    assert runner.invoke(build_app(), ["db", "upgrade", "--database", url]).exit_code == 0  # only it creates a db
    made = runner.invoke(build_app(), ["user", "create", "alice", "--database", url])  # key file + keyed rows
    assert made.exit_code == 0, made.output
    assert (tmp_path / "a.db.key.audit-head").is_file()  # the anchor sits beside the key file
    ok = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    f = _factory(url)
    with f() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(detail={"role": "admin"}))
    bad = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert bad.exit_code == 1 and "BROKEN at row 1" in bad.output
    (tmp_path / "a.db.key").rename(tmp_path / "elsewhere.key")
    nokey = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert nokey.exit_code == 2, nokey.output
    down = runner.invoke(build_app(), ["audit", "verify", "--database", "postgresql://nobody@127.0.0.1:1/x"])
    assert down.exit_code == 2


def test_row_mac_is_hmac_of_the_canonical_form() -> None:
    key = b"k" * 32
    e = AuditEntry(seq=1, at="t", actor="a", action="b", target="c", detail={}, prev_hash=audit.GENESIS)
    want = hmac.new(key, audit.canonical(1, "t", "a", "b", "c", {}, audit.GENESIS), hashlib.sha256).hexdigest()
    assert audit.row_mac(key, e) == want


def test_syslog_anchor_gets_each_new_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    sock_path = tmp_path / "log.sock"
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(str(sock_path))
    rx.settimeout(5)
    monkeypatch.setattr(audit, "SYSLOG_ADDRESS", str(sock_path))
    chain = audit.Chain(secrets.token_bytes(32), audit.Anchor(tmp_path / "head", syslog=True))
    f = audit.bind(_factory(f"sqlite:///{tmp_path / 'a.db'}"), chain)
    audit.append(f, "t", "x", "y", {})
    line = rx.recv(4096).decode()
    rx.close()
    assert "indexguard audit head seq=1" in line and _rows(f)[0].hash in line
