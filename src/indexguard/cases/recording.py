"""Recording screening Decisions: the decision record, the item's state, the deny set and the case.

`record` takes Decisions with plain facts about their items (data that can be queued) and writes
everything in one transaction; after it commits, a blocked item's identities join the worker's
in-memory deny set and the case events go out. The web routes call it directly (listings, uploads)
or through the recorder thread (queries, batches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import service as cases
from indexguard.screen.decision import Decision
from indexguard.screen.deny_set import DENY_LIST, record_for
from indexguard.store import deny_repo, records
from indexguard.store.deny_repo import DatabaseDenySet, Pending


@dataclass(frozen=True)
class ItemFacts:
    """What is kept of a screened item besides its Decision. `identities` are those the Screener
    extracted (Decision.extra["identities"]); `case_meta` is set for items that open a case."""

    item_id: str
    kind: str
    client_hash: str
    list_versions: dict[str, str] = field(default_factory=dict)
    identities: dict[str, list[str]] = field(default_factory=dict)
    case_meta: dict[str, Any] | None = None


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
