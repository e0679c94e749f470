"""Policy: how a matched entry's severity becomes an action, and what a blocked query shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexguard.screen.decision import Action
from indexguard.screen.deterrence import Deterrence

DEFAULT_ACTIONS: dict[str, Action] = {"block": "block", "warn": "warn", "review": "review"}


@dataclass(frozen=True, slots=True)
class Policy:
    """`actions` maps severity to action; `category_actions` overrides it per (category, severity).

    `error_action` is what input that cannot be parsed gets: held for review, never waved through.
    """

    actions: dict[str, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    category_actions: dict[tuple[str, str], Action] = field(default_factory=dict)
    error_action: Action = "review"
    deterrence: Deterrence = field(default_factory=Deterrence)

    def action_for(self, severity: str, category: str) -> Action:
        return self.category_actions.get((category, severity)) or self.actions.get(severity, "review")
