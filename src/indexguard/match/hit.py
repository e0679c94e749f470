"""The one result type every matcher returns; `screen` turns hits into Decision reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from indexguard.lists.severity import SEVERITIES, Severity

__all__ = ["SEVERITIES", "Hit", "Severity"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One list entry matched in one place.

    Never carries the entry's text: lists are confidential, a hit names the list, its version,
    the entry id and the category only.
    """

    list: str
    list_version: str
    entry: str
    category: str
    severity: Severity
    view: str
    span: tuple[int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
