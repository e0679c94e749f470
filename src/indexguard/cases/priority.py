"""Queue priority: severity first, then confidence and reporter trust, rising with age."""

from __future__ import annotations

SEVERITY_WEIGHT: dict[str, float] = {"block": 100.0, "review": 60.0, "report": 40.0, "warn": 20.0}
TRUSTED_BONUS = 70.0  # above a term-list block, below a hotline-list hit
HOTLINE_BONUS = 40.0  # a hit on a hotline list outranks a bare report
AGE_PER_HOUR = 2.0
AGE_CAP = 48.0  # hours: an old case rises, but never above a fresh hotline hit


def score(severity: str, confidence: float, trusted: bool, age_hours: float, hotline: bool = False) -> float:
    """A number to sort by, highest first. `confidence` is clipped to [0, 1]."""
    conf = min(max(confidence, 0.0), 1.0)
    base = SEVERITY_WEIGHT.get(severity, 10.0) * (0.5 + conf / 2)
    bonus = (TRUSTED_BONUS if trusted else 0.0) + (HOTLINE_BONUS if hotline else 0.0)
    return round(base + bonus + AGE_PER_HOUR * min(max(age_hours, 0.0), AGE_CAP), 3)


def stronger(a: str, b: str) -> str:
    """The more severe of two signal severities."""
    return a if SEVERITY_WEIGHT.get(a, 0.0) >= SEVERITY_WEIGHT.get(b, 0.0) else b
