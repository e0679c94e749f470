"""Reading cases: the queue, one case with everything about it, dashboard figures.

The hotline module reads cases through `get_case` / `hotline_pending` and records its filing with
`mark_reported`; none of these carries list text (case metadata is masked when stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexguard.store.models import (
    AbuseReport,
    AllowProposal,
    Case,
    CaseEvent,
    CaseMedia,
    CaseSignal,
    ItemState,
    RevealRecord,
    TrustedFlagger,
    iso,
    utcnow,
)

STATUSES: tuple[str, ...] = ("open", "confirmed", "dismissed")
SOURCES: tuple[str, ...] = ("report", "trusted", "screen", "hotline", "deny")
QUEUE_MAX = 500
NEW_LANE_EVERY = 4  # the open queue's "new reports" lane: every 4th place


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = "open"
    source: str | None = None
    category: str | None = None
    hotline: bool | None = None
    limit: int = 100


@dataclass
class CaseDetail:
    case: Case
    item_state: str | None
    signals: list[CaseSignal] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    reveals: list[RevealRecord] = field(default_factory=list)
    media: list[CaseMedia] = field(default_factory=list)
    reports: list[AbuseReport] = field(default_factory=list)
    proposals: list[AllowProposal] = field(default_factory=list)


def queue(s: Session, f: QueueFilter) -> list[Case]:
    q = select(Case)
    if f.status:
        q = q.where(Case.status == f.status)
    if f.source:
        q = q.where(Case.source == f.source)
    if f.category:
        q = q.where(Case.category == f.category)
    if f.hotline is not None:
        q = q.where(Case.hotline_requested.is_(f.hotline))
    q = q.order_by(Case.priority.desc(), Case.opened_at.asc(), Case.id.asc())
    limit = max(1, min(f.limit, QUEUE_MAX))
    main = list(s.scalars(q.limit(limit)).all())
    if f.status != "open" or f.source not in (None, "report") or f.category or f.hotline is not None:
        return main
    newest = (
        select(Case)
        .where(Case.status == "open", Case.source == "report")
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(limit // NEW_LANE_EVERY + 1)
    )
    return _interleave(main, list(s.scalars(newest).all()), limit)


def _interleave(main: list[Case], lane: list[Case], limit: int) -> list[Case]:
    """Every NEW_LANE_EVERY-th place goes to the newest public report not shown yet, so a burst of
    reports (all the same priority, oldest first) cannot push a new one off the first page."""
    out: list[Case] = []
    shown: set[int] = set()
    mi = li = 0
    while len(out) < limit and (mi < len(main) or li < len(lane)):
        from_lane = (len(out) + 1) % NEW_LANE_EVERY == 0 or mi >= len(main)
        src, idx = (lane, li) if from_lane and li < len(lane) else (main, mi)
        if src is lane:
            li += 1
        else:
            mi += 1
        if idx < len(src) and src[idx].id not in shown:
            shown.add(src[idx].id)
            out.append(src[idx])
    return out


def public_reports_since(s: Session, since: datetime) -> int:
    """Public (untrusted) reports filed since `since`: the console's flood indicator."""
    q = select(func.count()).select_from(AbuseReport).where(AbuseReport.trusted.is_(False))
    return int(s.scalar(q.where(AbuseReport.created_at >= since)) or 0)


def case_by_item(s: Session, item_id: str) -> Case | None:
    return s.scalars(select(Case).where(Case.item_id == item_id)).first()


def get_case(s: Session, case_id: int) -> CaseDetail | None:
    c = s.get(Case, case_id)
    if c is None:
        return None
    item = s.get(ItemState, c.item_id)

    def rows(model: Any, order: Any) -> list[Any]:
        return list(s.scalars(select(model).where(model.case_id == c.id).order_by(order)).all())

    return CaseDetail(
        c,
        item.state if item is not None else None,
        rows(CaseSignal, CaseSignal.id),
        rows(CaseEvent, CaseEvent.id),
        rows(RevealRecord, RevealRecord.id),
        rows(CaseMedia, CaseMedia.id),
        rows(AbuseReport, AbuseReport.id),
        rows(AllowProposal, AllowProposal.id),
    )


def hotline_pending(s: Session, limit: int = 100) -> list[Case]:
    """Cases a moderator escalated that no hotline report has been filed for yet."""
    q = select(Case).where(Case.hotline_requested.is_(True), Case.reported_at.is_(None)).order_by(Case.id)
    return list(s.scalars(q.limit(limit)).all())


def mark_reported(s: Session, case_id: int, actor: str, reference: str = "", at: datetime | None = None) -> bool:
    """For the hotline module: the report is filed; stops the report clock (first filing only)."""
    c = s.get(Case, case_id)
    if c is None:
        return False
    when = at or utcnow()
    if c.reported_at is None:
        c.reported_at = when
    c.updated_at = when
    s.add(CaseEvent(case_id=c.id, actor=actor, action="hotline.reported", detail={"reference": reference[:128]}))
    return True


def is_trusted(s: Session, key_prefix: str) -> bool:
    return s.get(TrustedFlagger, key_prefix) is not None


def set_trusted(s: Session, key_prefix: str, name: str, actor: str, trusted: bool) -> None:
    row = s.get(TrustedFlagger, key_prefix)
    if trusted and row is None:
        s.add(TrustedFlagger(key_prefix=key_prefix, name=name[:128], created_by=actor))
    elif not trusted and row is not None:
        s.delete(row)


def reports_from(s: Session, client_hash: str, since: datetime) -> int:
    q = select(func.count()).select_from(AbuseReport).where(AbuseReport.client_hash == client_hash)
    return int(s.scalar(q.where(AbuseReport.created_at >= since)) or 0)


def report_by_reference(s: Session, reference: str) -> AbuseReport | None:
    return s.scalars(select(AbuseReport).where(AbuseReport.reference == reference)).first()


def all_case_times(s: Session, since: datetime) -> list[Case]:
    return list(s.scalars(select(Case).where(Case.opened_at >= since).order_by(Case.opened_at)).all())


def counts_by(s: Session, column: Any, since: datetime, model: Any = Case, at: Any = None) -> dict[str, int]:
    at = at if at is not None else model.opened_at
    q = select(column, func.count()).select_from(model).where(at >= since).group_by(column)
    return {str(k): int(n) for k, n in s.execute(q)}


def case_json(d: CaseDetail) -> dict[str, Any]:
    """The case as the API returns it: metadata masked, signals by list entry id and category."""
    c = d.case

    def t(x: datetime | None) -> str | None:
        return iso(x) if x is not None else None

    return {
        "id": c.id,
        "item": c.item_id,
        "kind": c.kind,
        "status": c.status,
        "resolution": c.resolution,
        "item_state": d.item_state,
        "priority": c.priority,
        "severity": c.severity,
        "category": c.category,
        "source": c.source,
        "trusted": c.trusted,
        "meta": c.meta,
        "opened_at": t(c.opened_at),
        "hidden_at": t(c.hidden_at),
        "decided_at": t(c.decided_at),
        "decided_by": c.decided_by,
        "removed_at": t(c.removed_at),
        "reported_at": t(c.reported_at),
        "hotline_requested": c.hotline_requested,
        "hotline_requested_at": t(c.hotline_requested_at),
        "legal_hold": c.legal_hold,
        "legal_hold_reason": c.legal_hold_reason,
        "signals": [
            {
                "id": x.id,
                "source": x.source,
                "severity": x.severity,
                "category": x.category,
                "confidence": x.confidence,
                "reporter": x.reporter,
                "decision_id": x.decision_id,
                "report_id": x.report_id,
                "reasons": x.reasons,
                "at": iso(x.at),
            }
            for x in d.signals
        ],
        "history": [{"at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in d.events],
        "reveals": [
            {
                "at": iso(r.at),
                "actor": r.actor,
                "role": r.role,
                "reason": r.reason,
                "granted": r.granted,
                "media_id": r.media_id,
            }
            for r in d.reveals
        ],
        "media": [{"id": m.id, "content_type": m.content_type, "size": m.size} for m in d.media],
        "reports": [
            {
                "reference": r.reference,
                "category": r.category,
                "reporter": r.reporter,
                "trusted": r.trusted,
                "at": iso(r.created_at),
            }
            for r in d.reports
        ],
    }
