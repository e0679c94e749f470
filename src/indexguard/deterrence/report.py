"""The deterrence report: counts per variant and language, rates with intervals, the A/B verdict under
the fixed-horizon plan, blocked searches by list category, a daily series, and a CSV/JSON export.

Published figures may carry geometric (discrete Laplace) noise: `epsilon` is spent once per count
released, so a release of k counts spends k * epsilon in the worst case (basic composition). The
report says what it spent.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from indexguard.deterrence.stats import ExperimentPlan, Proportion, noisy, two_proportion_test
from indexguard.store.deterrence_repo import CountRow

RATE_METRICS = {
    "help_click": "session_clicked",
    "repeat_search": "session_searched_again",
    "repeat_block": "session_blocked_again",
}


@dataclass(frozen=True)
class ArmStats:
    locale: str
    variant: str
    sessions: int
    impressions: int
    clicks: int
    rates: dict[str, dict[str, float]]  # metric -> rate, low, high, successes


@dataclass(frozen=True)
class Verdict:
    locale: str
    variant: str
    control: str
    metric: str
    difference: float
    p_value: float
    threshold: float
    ready: bool  # every arm has reached the planned sessions
    significant: bool


@dataclass(frozen=True)
class DeterrenceReport:
    since: str
    until: str
    arms: list[ArmStats]
    verdicts: list[Verdict]
    categories: dict[str, int]
    daily: list[dict[str, Any]]
    planned_sessions_per_arm: dict[str, int]
    plan: ExperimentPlan
    epsilon: float | None = None
    epsilon_spent: float = 0.0
    rows: list[CountRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "plan": {
                "alpha": self.plan.alpha, "power": self.plan.power, "baseline_rate": self.plan.baseline_rate,
                "minimum_effect": self.plan.minimum_effect, "metric": self.plan.metric,
                "sessions_per_arm": self.planned_sessions_per_arm,
            },
            "variants": [arm.__dict__ for arm in self.arms],
            "comparisons": [v.__dict__ for v in self.verdicts],
            "blocked_searches_by_category": self.categories,
            "daily": self.daily,
            "privacy": {"epsilon_per_count": self.epsilon, "epsilon_spent": self.epsilon_spent,
                        "mechanism": "two-sided geometric" if self.epsilon else "none"},
        }  # fmt: skip


def build(
    rows: Iterable[CountRow],
    plan: ExperimentPlan,
    since: str = "",
    until: str = "",
    order: dict[str, list[str]] | None = None,
    epsilon: float | None = None,
    rng: random.Random | None = None,
) -> DeterrenceReport:
    """`order` lists each language's variants control first (from the live catalog)."""
    rows = list(rows)
    spent = 0.0
    if epsilon:
        rows = [CountRow(r.day, r.variant, r.locale, r.metric, r.category, noisy(r.count, epsilon, rng)) for r in rows]
        spent = epsilon * len(rows)
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    categories: dict[str, int] = defaultdict(int)
    daily: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        if r.metric == "blocked_search":
            categories[r.category or "unknown"] += r.count
        else:
            totals[(r.locale, r.variant)][r.metric] += r.count
            daily[r.day][r.metric] += r.count
    arms = [_arm(loc, var, t) for (loc, var), t in sorted(totals.items()) if var]
    verdicts, planned = _verdicts(arms, plan, order or {})
    return DeterrenceReport(
        since, until, arms, verdicts, dict(sorted(categories.items())),
        [{"day": d, **dict(m)} for d, m in sorted(daily.items())], planned, plan, epsilon, spent, rows,
    )  # fmt: skip


def _arm(locale: str, variant: str, t: dict[str, int]) -> ArmStats:
    sessions = t.get("session", 0)
    rates: dict[str, dict[str, float]] = {}
    for name, metric in RATE_METRICS.items():
        p = Proportion(min(t.get(metric, 0), sessions), sessions)
        low, high = p.wilson()
        rates[name] = {"rate": p.rate, "low": low, "high": high, "successes": p.successes}
    return ArmStats(locale, variant, sessions, t.get("impression", 0), t.get("help_click", 0), rates)


def _verdicts(
    arms: list[ArmStats], plan: ExperimentPlan, order: dict[str, list[str]]
) -> tuple[list[Verdict], dict[str, int]]:
    by_locale: dict[str, list[ArmStats]] = defaultdict(list)
    for a in arms:
        by_locale[a.locale].append(a)
    out: list[Verdict] = []
    planned: dict[str, int] = {}
    for loc, group in by_locale.items():
        ranked = {v: i for i, v in enumerate(order.get(loc, []))}
        group.sort(key=lambda a: (ranked.get(a.variant, len(ranked)), a.variant))
        if len(group) < 2:
            continue
        need = plan.sessions_per_arm(len(group))
        planned[loc] = need
        threshold = plan.alpha / (len(group) - 1)
        ready = all(a.sessions >= need for a in group)
        control = group[0]
        metric = RATE_METRICS[plan.metric]
        for arm in group[1:]:
            c = two_proportion_test(_prop(control, metric), _prop(arm, metric))
            out.append(Verdict(loc, arm.variant, control.variant, plan.metric, c.difference, c.p_value,
                               threshold, ready, ready and c.p_value < threshold))  # fmt: skip
    return out, planned


def _prop(arm: ArmStats, metric: str) -> Proportion:
    name = next(k for k, v in RATE_METRICS.items() if v == metric)
    return Proportion(int(arm.rates[name]["successes"]), arm.sessions)


def to_csv(report: DeterrenceReport) -> str:
    """One row per counter (day, variant, language, metric, category, count): the researchers' export."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["day", "variant", "locale", "metric", "category", "count"])
    for r in report.rows:
        w.writerow([r.day, r.variant, r.locale, r.metric, r.category, r.count])
    return buf.getvalue()


def summary(rows: Iterable[CountRow], epsilon: float | None = None, rng: random.Random | None = None) -> dict[str, Any]:
    """The transparency report's deterrence section: sessions warned, help-click and repeat-block rates,
    overall and per variant (with noise when `epsilon` is set: the report is published)."""
    r = build(rows, ExperimentPlan(), epsilon=epsilon, rng=rng)
    sessions = sum(a.sessions for a in r.arms)

    def rate(metric: str, arms: list[ArmStats]) -> float | None:
        n = sum(a.sessions for a in arms)
        return sum(a.rates[metric]["successes"] for a in arms) / n if n else None

    return {
        "warnings_shown": sum(a.impressions for a in r.arms),
        "sessions_warned": sessions,
        "help_click_rate": rate("help_click", r.arms),
        "repeat_block_rate": rate("repeat_block", r.arms),
        "variants": [
            {"locale": a.locale, "variant": a.variant, "sessions": a.sessions,
             "help_click_rate": rate("help_click", [a]), "repeat_block_rate": rate("repeat_block", [a])}
            for a in r.arms
        ],
        "epsilon_per_count": epsilon,
    }  # fmt: skip
