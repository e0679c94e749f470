"""Decision records and item states (the deny set is indexguard.store.deny_repo).

A query is recorded only as the list entries it hit, with counts: never its text. The caller is
recorded only as a keyed hash computed by the caller of this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from indexguard.store.models import DecisionRecord, ItemState, iso, table_of, utcnow

STATE_OF_ACTION: dict[str, str] = {
    "allow": "allowed",
    "warn": "allowed",
    "review": "hidden",
    "block": "removed",
}
MAX_ID = 256
MAX_VALUE = 512


@dataclass(frozen=True)
class Record:
    """What gets stored of one Decision; built by the caller from the Decision and the Item."""

    item_id: str
    kind: str
    action: str
    reasons: list[dict[str, Any]]
    list_versions: dict[str, str]
    identities: list[tuple[str, str]]
    client_hash: str


def query_reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entry ids with counts: no field, span or offset that could help rebuild the query."""
    counts = Counter(
        (r.get("list", ""), r.get("list_version", ""), r.get("entry", ""), r.get("category", "")) for r in reasons
    )
    return [
        {"list": k[0], "list_version": k[1], "entry": k[2], "category": k[3], "count": n}
        for k, n in sorted(counts.items())
    ]


def save(s: Session, rec: Record, track_item: bool) -> int | None:
    """Store a non-allow Decision (and the item's state when `track_item`); its id, None for allow."""
    decision_id = None
    if rec.action != "allow":
        row = DecisionRecord(
            item_id=rec.item_id[:MAX_ID],
            kind=rec.kind,
            action=rec.action,
            reasons=rec.reasons,
            list_versions=rec.list_versions,
            identities=[list(i) for i in rec.identities],
            client_hash=rec.client_hash,
        )
        s.add(row)
        s.flush()
        decision_id = row.id
    if track_item and rec.item_id:
        _set_state(s, rec, decision_id)
    return decision_id


def save_many(s: Session, recs: Sequence[Record]) -> list[int | None]:
    """`save` with track_item for many Decisions in three statements (bulk insert of the non-allow
    decisions with their ids returned, bulk upsert of the item states): what group commit of
    listings writes. A later Decision on the same item id wins, as with `save` one by one."""
    rows = [
        {"item_id": r.item_id[:MAX_ID], "kind": r.kind, "action": r.action, "reasons": r.reasons,
         "list_versions": r.list_versions, "identities": [list(i) for i in r.identities],
         "client_hash": r.client_hash, "created_at": utcnow()}
        for r in recs if r.action != "allow"
    ]  # fmt: skip
    ids: list[int] = []
    if rows:
        stmt = insert(DecisionRecord).returning(DecisionRecord.id, sort_by_parameter_order=True)
        ids = list(s.scalars(stmt, rows).all())
    it = iter(ids)
    out: list[int | None] = [next(it) if r.action != "allow" else None for r in recs]
    now = utcnow()
    states = {
        r.item_id[:MAX_ID]: {"item_id": r.item_id[:MAX_ID], "kind": r.kind, "state": STATE_OF_ACTION[r.action],
                             "action": r.action, "decision_id": d, "updated_at": now}
        for r, d in zip(recs, out, strict=True) if r.item_id
    }  # fmt: skip
    if states:
        s.execute(_upsert_states(s.get_bind().dialect.name), list(states.values()))
    return out


_UPSERTS: dict[str, Any] = {}


def _upsert_states(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of item states, on the table (not the mapped class), so the
    driver runs it as one executemany rather than a statement per row; built once per dialect."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        table = table_of(ItemState)
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        stmt = ins.on_conflict_do_update(
            index_elements=[table.c.item_id],
            set_={k: ins.excluded[k] for k in ("kind", "state", "action", "decision_id", "updated_at")},
        )
        _UPSERTS[dialect] = stmt
    return stmt


def _set_state(s: Session, rec: Record, decision_id: int | None) -> None:
    item_id = rec.item_id[:MAX_ID]
    cur = s.get(ItemState, item_id)
    state = STATE_OF_ACTION[rec.action]
    if cur is None:
        s.add(ItemState(item_id=item_id, kind=rec.kind, state=state, action=rec.action, decision_id=decision_id))
        return
    cur.kind, cur.state, cur.action, cur.decision_id, cur.updated_at = (
        rec.kind,
        state,
        rec.action,
        decision_id,
        utcnow(),
    )


def item_state(s: Session, item_id: str) -> dict[str, Any] | None:
    cur = s.get(ItemState, item_id)
    if cur is None:
        return None
    out: dict[str, Any] = {
        "id": cur.item_id,
        "kind": cur.kind,
        "state": cur.state,
        "action": cur.action,
        "updated_at": iso(cur.updated_at),
        "decision": None,
    }
    if cur.decision_id is not None and (d := s.get(DecisionRecord, cur.decision_id)) is not None:
        out["decision"] = {
            "id": d.id,
            "action": d.action,
            "reasons": d.reasons,
            "list_versions": d.list_versions,
            "at": iso(d.created_at),
        }
    return out


def set_item_state(s: Session, item_id: str, state: str) -> bool:
    """For moderation workflows: move an item to allowed, hidden or removed."""
    cur = s.get(ItemState, item_id)
    if cur is None or state not in set(STATE_OF_ACTION.values()):
        return False
    cur.state, cur.updated_at = state, utcnow()
    return True


def decisions_for(s: Session, item_id: str, limit: int = 100) -> list[DecisionRecord]:
    q = select(DecisionRecord).where(DecisionRecord.item_id == item_id).order_by(DecisionRecord.id.desc())
    return list(s.scalars(q.limit(limit)).all())
