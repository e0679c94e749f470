"""Recording screening Decisions: the decision record, the item's state, the deny set and the case.

`record` takes Decisions with plain facts about their items (data that can be queued) and writes
everything in one transaction; after it commits, a blocked item's identities join the worker's
in-memory deny set and the case events go out. The web routes call it directly (listings, uploads)
or through the recorder thread (queries, batches).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import service as cases
from indexguard.cases.meta import CaseMeta
from indexguard.screen.decision import Decision
from indexguard.screen.deny_set import DENY_LIST, record_for
from indexguard.store import audit, deny_repo, records
from indexguard.store.deny_repo import DatabaseDenySet, Pending
from indexguard.store.models import RecordQueueEntry, table_of, utcnow


@dataclass(frozen=True)
class ItemFacts:
    """What is kept of a screened item besides its Decision. `identities` are those the Screener
    extracted (Decision.extra["identities"]); `case_meta` is set for items that open a case."""

    item_id: str
    kind: str
    client_hash: str
    list_versions: dict[str, str] = field(default_factory=dict)
    identities: dict[str, list[str]] = field(default_factory=dict)
    case_meta: CaseMeta | None = None


@dataclass(frozen=True)
class Screening:
    decision: Decision
    item: ItemFacts


def record(
    factory: sessionmaker[Session],
    screenings: Sequence[Screening],
    *,
    track_items: bool,
    deny: DatabaseDenySet | None = None,
    notify: cases.Notify | None = None,
) -> None:
    """Store the screenings in one transaction (`track_items`: also the items' states, so GET
    /v1/items answers at once); blocks feed the deny set, review and block open or join a case."""
    fx = cases.Effects()
    pending: list[Pending] = []
    with factory() as s, s.begin():
        for sc in screenings:
            decision_id = records.save(s, _row(sc), track_items)
            if sc.decision.action == "block" and sc.item.identities:
                pending += _deny(s, sc, decision_id, deny)
            if sc.item.case_meta is not None:
                fx.add(cases.open_or_join(s, _signal(sc, decision_id))[1])
        cases.audit_in(s, fx)  # the cases' audit rows commit with them
    if deny is not None:
        deny.remember(pending)
    cases.emit(factory, fx, notify)


def _deny(s: Session, sc: Screening, decision_id: int | None, deny: DatabaseDenySet | None) -> list[Pending]:
    if deny is None:
        deny_repo.store(s, sc.item.identities, sc.item.item_id, decision_id)
        return []
    p = deny.add_in(s, sc.item.identities, record_for(sc.decision, sc.item.item_id), decision_id)
    return [p] if p is not None else []


def _row(sc: Screening) -> records.Record:
    reasons = [x.to_json() for x in sc.decision.reasons]
    if sc.item.kind == "query":
        reasons = records.query_reasons(reasons)
    used = {x["list"]: x["list_version"] for x in reasons}
    pairs = [(k, v) for k, vs in sc.item.identities.items() for v in vs]
    return records.Record(
        sc.item.item_id, sc.item.kind, sc.decision.action, reasons, {**sc.item.list_versions, **used}, pairs,
        sc.item.client_hash,
    )  # fmt: skip


def _signal(sc: Screening, decision_id: int | None) -> cases.Signal:
    reasons = sc.decision.reasons
    fields = {r.field for r in reasons}
    if any(r.list == DENY_LIST for r in reasons):
        source = "deny"
    elif sc.decision.action == "block" and (
        fields & {"identities", "pdq"} or any(f.startswith("urls[") for f in fields)
    ):
        source = "hotline"  # a hash or URL list: what hotlines publish
    else:
        source = "screen"
    category = next((r.category for r in reasons if r.category), "unknown")
    slim = [{k: x.get(k) for k in ("list", "list_version", "entry", "category", "field", "view")}
            for x in (r.to_json() for r in reasons)]  # fmt: skip
    action = sc.decision.action
    return cases.Signal(
        sc.item.item_id[: records.MAX_ID], sc.item.kind, source, action, category, 0.9 if action == "block" else 0.6,
        "screening", decision_id=decision_id, reasons=slim, meta=sc.item.case_meta,
    )  # fmt: skip


# Listings at volume (issue 15): what the answer waits for, and what a queue carries behind it. -----
def record_durable(s: Session, screenings: Sequence[Screening], deny: DatabaseDenySet | None) -> list[Pending]:
    """In the caller's transaction: each item's decision record and state, a block's deny-set
    entries, and for review/block items a queue row for the case. The caller commits many of these
    together (group commit), then hands the result to `deny.remember`; `drain_queue` does the rest."""
    pending: list[Pending] = []
    decision_ids = records.save_many(s, [_row(sc) for sc in screenings])
    queue: list[dict[str, Any]] = []
    for sc, decision_id in zip(screenings, decision_ids, strict=True):
        if sc.decision.action == "block" and sc.item.identities:
            pending += _deny(s, sc, decision_id, deny)
        if sc.item.case_meta is not None:
            queue.append({"payload": _signal(sc, decision_id).to_json(), "created_at": utcnow()})
    if queue:
        s.execute(insert(table_of(RecordQueueEntry)), queue)  # one executemany
    return pending


def drain_queue(
    factory: sessionmaker[Session],
    limit: int = 500,
    notify: cases.Notify | None = None,
    turn: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> int:
    """Open or join the cases of up to `limit` queued items (in bulk: `cases.open_or_join_many`) in
    one transaction that also removes their rows (claimed with DELETE ... RETURNING, so two
    drainers never take the same row; on an error everything rolls back and stays queued), with the
    cases' audit rows (one statement, `audit.append_many_in`); webhooks after the commit. Returns
    how many were done. `turn` is taken around the transaction (a `WriteGate`)."""
    with turn(), factory() as s, s.begin():
        claimed = _claim(s, limit)
        fx = cases.open_or_join_many(s, [cases.Signal.from_json(p) for p in claimed])
        # The cases' audit rows commit with them: one transaction, one statement, chained in memory.
        audit.append_many_in(s, fx.audit)
    if claimed and notify is not None and fx.events:
        notify(fx.events)
    return len(claimed)


def _claim(s: Session, limit: int) -> list[dict[str, Any]]:
    lock = " FOR UPDATE SKIP LOCKED" if s.get_bind().dialect.name == "postgresql" else ""
    rows = s.execute(
        text(
            "DELETE FROM record_queue WHERE id IN "
            f"(SELECT id FROM record_queue ORDER BY id LIMIT :n{lock}) RETURNING payload"
        ),
        {"n": limit},
    ).all()
    return [json.loads(p) if isinstance(p, str) else dict(p) for (p,) in rows]


def requeue_first(factory: sessionmaker[Session]) -> None:
    """Move the oldest queued row to the back: one that keeps failing must not hold up the rest."""
    with factory() as s, s.begin():
        for payload in _claim(s, 1):
            s.add(RecordQueueEntry(payload=payload))


def queued(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(RecordQueueEntry)) or 0)
