"""Append-only, hash-chained audit log.

Each row stores the SHA-256 of the previous row's canonical form (`prev_hash`) and of its own
(`hash`, which covers `prev_hash`), so altering, removing or reordering any row breaks the chain
at that row, and `verify()` names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from indexguard.store.models import AuditEntry

GENESIS = "0" * 64
_APPEND_ATTEMPTS = 20


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "broken_seq": self.broken_seq, "reason": self.reason}


def canonical(seq: int, at: str, actor: str, action: str, target: str, detail: Any, prev_hash: str) -> bytes:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def row_hash(e: AuditEntry) -> str:
    data = canonical(e.seq, e.at, e.actor, e.action, e.target, e.detail, e.prev_hash)
    return hashlib.sha256(data).hexdigest()


def append(
    factory: sessionmaker[Session], actor: str, action: str, target: str, detail: dict[str, Any]
) -> int:
    """Add one row in its own transaction; concurrent writers race on the unique `seq` and retry."""
    detail = json.loads(json.dumps(detail))  # what the database will hand back on verify
    for _ in range(_APPEND_ATTEMPTS):
        try:
            with factory() as s, s.begin():
                return _append_once(s, actor, action, target, detail)
        except IntegrityError:
            continue
    raise RuntimeError("audit log: could not append after repeated write conflicts")


def _append_once(s: Session, actor: str, action: str, target: str, detail: dict[str, Any]) -> int:
    last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    e = AuditEntry(seq=seq, at=at, actor=actor, action=action, target=target, detail=detail, prev_hash=prev)
    e.hash = row_hash(e)
    s.add(e)
    s.flush()
    return seq


def verify(factory: sessionmaker[Session], batch: int = 1000) -> VerifyResult:
    """Walk the chain in `seq` order; the first row whose link or own hash is wrong is reported."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    with factory() as s:
        after = 0
        while True:
            rows = s.scalars(
                select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
            ).all()
            if not rows:
                return VerifyResult(True, checked)
            for e in rows:
                if e.seq != expected_seq:
                    return VerifyResult(False, checked, e.seq, f"expected row {expected_seq}, found {e.seq}")
                if e.prev_hash != prev:
                    return VerifyResult(False, checked, e.seq, "link to the previous row does not match")
                if row_hash(e) != e.hash:
                    return VerifyResult(False, checked, e.seq, "row content does not match its hash")
                prev = e.hash
                expected_seq += 1
                checked += 1
            after = rows[-1].seq


def count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
