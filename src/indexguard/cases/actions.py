"""Moderator actions on cases as a service the console, the API and scripts call.

Each case gets its own transaction, so one failure does not undo the others; its audit rows commit
with it, webhook events go out after it commits; an escalation is handed to the hotline queue when one is configured
(`escalate`, built by indexguard.hotline.escalation.escalator), so a moderator's "escalate" queues
the hotline report at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import service as cases
from indexguard.errors import IndexguardError

Escalate = Callable[[int, str], object]  # (case id, actor): queue the case's hotline report


@dataclass(frozen=True)
class ActionResult:
    case_id: int
    error: IndexguardError | None = None
    queued: object = None  # what the hotline queue returned (its outbox row id) for an escalation

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.case_id, "ok": self.ok}
        if self.error is not None:
            out["error"] = str(self.error)
        if self.queued is not None:
            out["hotline_report"] = self.queued
        return out


def run(
    factory: sessionmaker[Session],
    ids: Sequence[int],
    action: str,
    actor: str,
    note: str = "",
    *,
    notify: cases.Notify | None = None,
    escalate: Escalate | None = None,
) -> list[ActionResult]:
    out: list[ActionResult] = []
    for cid in ids:
        try:
            with factory() as s, s.begin():
                fx = cases.act(s, cid, action, actor, note)
                cases.audit_in(s, fx)  # the change and its audit rows: one transaction
            cases.emit(factory, fx, notify)
            queued = escalate(cid, actor) if action == "escalate" and escalate is not None else None
            out.append(ActionResult(cid, None, queued))
        except IndexguardError as e:
            out.append(ActionResult(cid, e))
    return out
