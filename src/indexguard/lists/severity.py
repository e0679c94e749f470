"""Severity of a list entry: what a match asks the policy to do."""

from __future__ import annotations

from typing import Literal

Severity = Literal["block", "warn", "review"]
SEVERITIES: tuple[Severity, ...] = ("block", "review", "warn")
