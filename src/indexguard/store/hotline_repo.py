"""Persistence for the hotline layer: evidence packages, their custody chain, legal holds, and the
hotline report outbox rows. Callers own the transaction (pass a Session)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexguard.store.models import Case, EvidenceCustody, EvidencePackage, HotlineReport, LegalHold

GENESIS = "0" * 64
TERMINAL = ("finished", "retracted", "failed")


def custody_hash(c: EvidenceCustody) -> str:
    body = {
        "package_id": c.package_id,
        "seq": c.seq,
        "at": c.at,
        "actor": c.actor,
        "action": c.action,
        "reason": c.reason,
        "digest": c.digest,
        "detail": c.detail,
        "prev_hash": c.prev_hash,
    }
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hashlib.sha256(data).hexdigest()


def add_custody(
    s: Session, package_id: int, actor: str, action: str, reason: str, digest: str, detail: dict[str, Any]
) -> EvidenceCustody:
    last = s.scalars(
        select(EvidenceCustody).where(EvidenceCustody.package_id == package_id).order_by(EvidenceCustody.seq.desc())
    ).first()
    c = EvidenceCustody(
        package_id=package_id,
        seq=1 if last is None else last.seq + 1,
        at=datetime.now(UTC).isoformat(timespec="microseconds"),
        actor=actor[:128],
        action=action,
        reason=reason[:512],
        digest=digest,
        detail=json.loads(json.dumps(detail)),
        prev_hash=GENESIS if last is None else last.hash,
    )
    c.hash = custody_hash(c)
    s.add(c)
    s.flush()
    return c


def custody(s: Session, package_id: int) -> list[EvidenceCustody]:
    q = select(EvidenceCustody).where(EvidenceCustody.package_id == package_id).order_by(EvidenceCustody.seq)
    return list(s.scalars(q).all())


def package(s: Session, package_id: int) -> EvidencePackage | None:
    return s.get(EvidencePackage, package_id)


def packages(s: Session, case_ref: str | None = None, limit: int = 1000) -> list[EvidencePackage]:
    q = select(EvidencePackage).order_by(EvidencePackage.id)
    if case_ref is not None:
        q = q.where(EvidencePackage.case_ref == case_ref)
    return list(s.scalars(q.limit(limit)).all())


def latest_package(s: Session, case_ref: str) -> EvidencePackage | None:
    q = select(EvidencePackage).where(EvidencePackage.case_ref == case_ref, EvidencePackage.payload.is_not(None))
    return s.scalars(q.order_by(EvidencePackage.id.desc())).first()


def active_holds(s: Session, package_id: int) -> list[LegalHold]:
    q = select(LegalHold).where(LegalHold.package_id == package_id, LegalHold.released_at.is_(None))
    return list(s.scalars(q).all())


def case_on_hold(s: Session, case_ref: str) -> bool:
    """The case workflow's own legal-hold flag counts too."""
    if not case_ref.isdigit():
        return False
    c = s.get(Case, int(case_ref))
    return bool(c is not None and c.legal_hold)


def expired(s: Session, now: datetime, limit: int = 1000) -> list[EvidencePackage]:
    q = select(EvidencePackage).where(EvidencePackage.expires_at <= now, EvidencePackage.purged_at.is_(None))
    return list(s.scalars(q.order_by(EvidencePackage.id).limit(limit)).all())


def open_report(s: Session, case_ref: str, hotline: str) -> HotlineReport | None:
    """The case's report that is still on its way or done; retracted and failed ones do not count."""
    q = select(HotlineReport).where(
        HotlineReport.case_ref == case_ref,
        HotlineReport.hotline == hotline,
        HotlineReport.state.not_in(("retracted", "failed")),
    )
    return s.scalars(q.order_by(HotlineReport.id)).first()


def due_reports(s: Session, now: datetime, limit: int = 100) -> list[int]:
    q = select(HotlineReport.id).where(HotlineReport.state.not_in(TERMINAL), HotlineReport.next_attempt_at <= now)
    return list(s.scalars(q.order_by(HotlineReport.next_attempt_at, HotlineReport.id).limit(limit)).all())


def reports(s: Session, limit: int = 200) -> list[HotlineReport]:
    return list(s.scalars(select(HotlineReport).order_by(HotlineReport.id.desc()).limit(limit)).all())


def filed_between(s: Session, start: datetime, end: datetime) -> dict[str, int]:
    q = (
        select(HotlineReport.hotline, func.count())
        .where(HotlineReport.state == "finished", HotlineReport.finished_at >= start, HotlineReport.finished_at < end)
        .group_by(HotlineReport.hotline)
    )
    return {str(k): int(n) for k, n in s.execute(q)}
