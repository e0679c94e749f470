"""The Decision contract of DESIGN.md: what every caller of indexguard receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["allow", "warn", "review", "block"]
ACTION_RANK: dict[str, int] = {"allow": 0, "warn": 1, "review": 2, "block": 3}


@dataclass(frozen=True, slots=True)
class Reason:
    list: str
    list_version: str
    entry: str
    category: str
    field: str
    view: str
    span: tuple[int, int] | None = None
    severity: str = "block"
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "list": self.list,
            "list_version": self.list_version,
            "entry": self.entry,
            "category": self.category,
            "field": self.field,
            "view": self.view,
            "span": list(self.span) if self.span is not None else None,
            "severity": self.severity,
        }
        if self.detail is not None:
            out["detail"] = self.detail
        return out


@dataclass(slots=True)
class Decision:
    id: str
    action: Action
    reasons: list[Reason]
    canonicalizer: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "action": self.action,
            "reasons": [r.to_json() for r in self.reasons],
            "canonicalizer": self.canonicalizer,
        }
        out.update(self.extra)
        return out


def strongest(actions: list[str]) -> Action:
    """The most severe action of several; `allow` when there are none."""
    best = "allow"
    for a in actions:
        if ACTION_RANK[a] > ACTION_RANK[best]:
            best = a
    return best  # type: ignore[return-value]
