"""The queue drainer opens cases in bulk (issue 15): `open_or_join_many` writes what `open_or_join`
one signal at a time writes, and `audit.append_many_in` keeps the keyed chain and its anchor
(placeholder pseudo-words only; SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ig_service_helpers import Env
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from indexguard.cases import service as cases
from indexguard.store import audit
from indexguard.store.models import AuditEntry, Case, CaseEvent, CaseSignal, ItemState, RecordQueueEntry


def _signals(prefix: str) -> list[cases.Signal]:
    def sig(item: str, source: str = "screen", severity: str = "review", **kw: Any) -> cases.Signal:
        reasons = [{"list": "site", "list_version": "v1", "entry": "site:1", "category": "csam", "field": "title"}]
        return cases.Signal(f"{prefix}{item}", "listing", source, severity, "csam", 0.6, "screening",
                            reasons=reasons, **kw)  # fmt: skip

    return [
        sig("new-1"),
        sig("new-2", "hotline", "block"),
        sig("dup", "screen", "review"),
        sig("old", "deny", "block"),  # joins a case opened before
        sig("dup", "hotline", "block"),  # a second signal for the same item in one batch
        sig("allowed", "screen", "review"),  # its item state was "allowed": hidden now
        sig("report-only", "report", "report"),  # does not delist
    ]


def _prepare(s: Session, prefix: str) -> None:
    cases.open_or_join(s, cases.Signal(f"{prefix}old", "listing", "report", "report", "csam", 0.5, "someone"))
    s.add(ItemState(item_id=f"{prefix}allowed", kind="listing", state="allowed", action="allow", decision_id=None))


def _snapshot(s: Session, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in s.scalars(select(Case).where(Case.item_id.like(f"{prefix}%")).order_by(Case.item_id)):
        item = c.item_id.removeprefix(prefix)
        sigs = s.scalars(select(CaseSignal).where(CaseSignal.case_id == c.id).order_by(CaseSignal.id)).all()
        evs = s.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)).all()
        st = s.get(ItemState, c.item_id)
        out[item] = {
            "case": (c.kind, c.status, c.severity, c.category, c.source, c.trusted, c.signal_count, c.priority,
                     c.meta, c.hidden_at is not None),
            "signals": [(x.source, x.severity, x.category, x.confidence, x.reporter, x.reasons) for x in sigs],
            "events": [(e.actor, e.action, e.detail) for e in evs],
            "state": (st.state, st.action) if st is not None else None,
        }  # fmt: skip
    return out


def _norm_fx(fx: cases.Effects, prefix: str, ids: dict[int, str]) -> tuple[list[Any], list[Any]]:
    def name(target: str) -> str:
        return ids[int(target.split(":")[1])] if target.startswith("case:") else target

    aud = sorted((a, b, name(c), d["item"].removeprefix(prefix)) for a, b, c, d in fx.audit)
    evs = sorted((t, d["item"].removeprefix(prefix), ids[d["case"]]) for t, d in fx.events)
    return aud, evs


def test_bulk_opening_writes_what_one_by_one_writes(env: Env) -> None:
    with env.svc.sessions() as s, s.begin():
        _prepare(s, "a-")
        _prepare(s, "b-")
    with env.svc.sessions() as s, s.begin():
        one = cases.Effects()
        for sig in _signals("a-"):
            one.add(cases.open_or_join(s, sig)[1])
        many = cases.open_or_join_many(s, _signals("b-"))
    with env.svc.sessions() as s:
        a, b = _snapshot(s, "a-"), _snapshot(s, "b-")
        ids = {c.id: c.item_id.split("-", 1)[1] for c in s.scalars(select(Case))}
    assert set(a) == {"new-1", "new-2", "dup", "old", "allowed", "report-only"}
    assert a == b
    assert _norm_fx(one, "a-", ids) == _norm_fx(many, "b-", ids)


def test_bulk_opening_falls_back_when_someone_opened_the_case_meanwhile(env: Env) -> None:
    sigs = _signals("c-")
    with env.svc.sessions() as s, s.begin():
        # As drain_queue does (its claim is a DELETE), write first: on SQLite a transaction that reads
        # first cannot write any more once one of the service's background threads has committed
        # ("database is locked" at once, whatever the busy timeout).
        s.execute(delete(RecordQueueEntry).where(RecordQueueEntry.id < 0))
        # another writer opens "new-1" between our look-up and our insert: simulated by the bulk
        # insert meeting the unique constraint, which sends the whole batch one by one
        real = cases._open_many

        def racing(s2: Session, fresh: Any) -> cases.Effects:
            cases.open_or_join(s2, cases.Signal("c-new-1", "listing", "report", "report", "csam", 0.5, "other"))
            s2.flush()
            return real(s2, fresh)

        cases._open_many = racing  # type: ignore[assignment]
        try:
            cases.open_or_join_many(s, sigs)
        finally:
            cases._open_many = real  # type: ignore[assignment]
    with env.svc.sessions() as s:
        got = _snapshot(s, "c-")
    assert set(got) == {"new-1", "new-2", "dup", "old", "allowed", "report-only"}
    assert got["new-1"]["case"][6] == 1  # one signal: the racing case was rolled back with the savepoint


@pytest.mark.parametrize("before", [0, 3])
def test_append_many_keeps_the_chain_and_moves_the_anchor_after_commit(env: Env, before: int, tmp_path: Path) -> None:
    chain = audit.chain_of(env.svc.sessions)
    assert chain is not None
    if chain.anchor.path is None:  # PostgreSQL with the key from the environment: anchor in a file here
        chain = audit.Chain(chain.key, audit.Anchor(tmp_path / "audit-head"))
        audit.bind(env.svc.sessions, chain)
    for i in range(before):
        audit.append(env.svc.sessions, "tester", "test.single", f"t:{i}", {"n": i})
    start = audit.count(env.svc.sessions)
    rows = [("tester", "test.bulk", f"t:{i}", {"n": i, "nested": {"k": [1, 2]}}) for i in range(50)]
    with env.svc.sessions() as s, s.begin():
        seqs = audit.append_many_in(s, rows)
        head = chain.anchor.read(chain.key)
        assert head is None or head.seq <= start  # not moved before the commit
    assert seqs == list(range(start + 1, start + 51))
    head = chain.anchor.read(chain.key)
    assert head is not None and head.seq == start + 50
    audit.append(env.svc.sessions, "tester", "test.single", "t:after", {})  # one by one continues the chain
    res = audit.verify(env.svc.sessions)
    assert res.ok and res.anchored, res
    with env.svc.sessions() as s, s.begin():  # rolled back: nothing written, anchor unmoved
        audit.append_many_in(s, rows[:3])
        s.rollback()
    assert chain.anchor.read(chain.key).seq == start + 51  # type: ignore[union-attr]
    assert audit.verify(env.svc.sessions).ok
    with env.svc.sessions() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.seq == start + 1)) == "test.bulk"


def test_one_worker_holds_the_drain_lease_and_another_takes_over(db_url: str) -> None:
    from indexguard.store import db
    from indexguard.store.gate import Lease

    engines = [db.open_engine(db_url, create=True), db.make_engine(db_url)]
    first, second = Lease(engines[0], "drain"), Lease(engines[1], "drain")
    try:
        assert first.take() and first.held and first.check()
        assert not second.take() and not second.held
        first.release()  # the holder goes (a dead process lets go the same way)
        assert second.take() and second.check()
        assert not first.take()
    finally:
        first.release()
        second.release()
        for e in engines:
            e.dispose()


def test_a_lease_released_by_many_threads_at_once_is_let_go_once(db_url: str) -> None:
    from indexguard.store import db
    from indexguard.store.gate import Lease

    engine = db.open_engine(db_url, create=True)
    try:
        for _ in range(20):
            lease = Lease(engine, "drain")
            assert lease.take()
            assert _release_at_once(lease, 8) == [] and not lease.held
            other = Lease(engine, "drain")
            assert other.take()  # let go: another holder can take it
            other.release()
    finally:
        engine.dispose()


def _release_at_once(lease: Any, threads: int) -> list[BaseException]:
    """`lease.release()` from `threads` threads let go at the same moment; what they raised (a second
    close of the same descriptor raises EBADF)."""
    import threading

    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def release() -> None:
        start.wait()
        try:
            lease.release()
        except BaseException as e:
            errors.append(e)

    running = [threading.Thread(target=release) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join(10)
    return errors


def test_the_write_gate_lets_one_writer_in_at_a_time(tmp_path: Path) -> None:
    import threading
    import time

    from indexguard.store.gate import WriteGate

    gate, inside, most = WriteGate(tmp_path / "db.write-gate"), [0], [0]
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(20):
            with gate():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.001)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    with WriteGate(None)():  # PostgreSQL / in-memory SQLite: no gate
        pass
