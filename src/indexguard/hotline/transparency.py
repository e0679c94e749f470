"""The monthly transparency report, computed from the store (rendering as JSON, CSV and an HTML page
with charts is indexguard.hotline.transparency_render).

A month is a calendar month in UTC. Each figure counts what happened in the month:

- searches: blocked and warned search queries (decision records of kind `query`), blocked ones per
  list category (a query that hit two categories counts in both) and per day;
- listings: distinct listings with a block decision, distinct listings held for review, block
  decisions per category and per day; cases moderators confirmed and dismissed;
- reports received: abuse reports by source (public, trusted flagger) and category, and every case
  signal by source (report, trusted, screen, hotline list, deny set);
- time to hide / to remove: seconds from a case's opening to its hiding / removal, for the cases
  hidden / removed in the month (so a month's figures are final once it is over); median and 90th
  percentile, nearest rank;
- hotline reports filed: outbox reports finished in the month, per hotline; cases marked reported;
- re-uploads caught: listing decisions in the month blocked by the deny set.

No figure names a list, an entry or a term: categories only.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexguard.cases.clocks import percentile
from indexguard.deterrence import report as det_report
from indexguard.errors import IndexguardError
from indexguard.screen.deny_set import DENY_LIST
from indexguard.store import deterrence_repo, hotline_repo
from indexguard.store.models import AbuseReport, Case, CaseSignal, DecisionRecord

FORMATS: tuple[str, ...] = ("json", "csv", "html")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YIELD = 2_000


class TransparencyError(IndexguardError):
    """A month that cannot be reported on (malformed, out of range) or an unknown format."""


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @staticmethod
    def parse(text: str) -> Month:
        m = _MONTH.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or not 1970 <= int(m.group(1)) <= 9998:
            raise TransparencyError(f"month must be YYYY-MM (1970-01 to 9998-12), not {text[:20]!r}")
        return Month(int(m.group(1)), int(m.group(2)))

    @staticmethod
    def of(t: datetime) -> Month:
        u = _utc(t)
        return Month(u.year, u.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        y, m = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(y, m, 1, tzinfo=UTC)

    def days(self) -> list[str]:
        n = calendar.monthrange(self.year, self.month)[1]
        return [f"{self.label}-{d:02d}" for d in range(1, n + 1)]


@dataclass(frozen=True)
class Clock:
    """Seconds from a case's opening to one step: how many cases, median, 90th percentile."""

    n: int
    median: float | None
    p90: float | None

    @staticmethod
    def of(values: list[float]) -> Clock:
        return Clock(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class TransparencyReport:
    month: str
    period_start: str
    period_end: str
    complete: bool
    generated_at: str
    searches_blocked: int
    searches_warned: int
    searches_blocked_by_category: dict[str, int]
    listings_blocked: int
    listings_reviewed: int
    listing_blocks_by_category: dict[str, int]
    cases_confirmed: int
    cases_dismissed: int
    reports_received: int
    reports_by_source: dict[str, int]
    reports_by_category: dict[str, int]
    signals_by_source: dict[str, int]
    time_to_hide: Clock
    time_to_remove: Clock
    hotline_reports_filed: int
    hotline_reports_by_hotline: dict[str, int]
    cases_reported: int
    reuploads_caught: int
    daily: dict[str, list[Any]] = field(default_factory=dict)
    deterrence: dict[str, Any] = field(default_factory=dict)  # indexguard.deterrence.report.summary

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "period": {"start": self.period_start, "end": self.period_end, "complete": self.complete},
            "generated_at": self.generated_at,
            "searches": {
                "blocked": self.searches_blocked,
                "warned": self.searches_warned,
                "blocked_by_category": self.searches_blocked_by_category,
            },
            "listings": {
                "blocked": self.listings_blocked,
                "reviewed": self.listings_reviewed,
                "block_decisions_by_category": self.listing_blocks_by_category,
                "cases_confirmed": self.cases_confirmed,
                "cases_dismissed": self.cases_dismissed,
            },
            "reports": {
                "received": self.reports_received,
                "by_source": self.reports_by_source,
                "by_category": self.reports_by_category,
                "signals_by_source": self.signals_by_source,
            },
            "time_to_hide_seconds": vars(self.time_to_hide),
            "time_to_remove_seconds": vars(self.time_to_remove),
            "hotline_reports": {
                "filed": self.hotline_reports_filed,
                "by_hotline": self.hotline_reports_by_hotline,
                "cases_reported": self.cases_reported,
            },
            "reuploads_caught": self.reuploads_caught,
            "daily": self.daily,
            "deterrence": self.deterrence,
        }


# --- computing ----------------------------------------------------------------------------------


@dataclass
class _Tally:
    searches_blocked: int = 0
    searches_warned: int = 0
    search_categories: Counter[str] = field(default_factory=Counter)
    listing_categories: Counter[str] = field(default_factory=Counter)
    reuploads: int = 0
    day_searches: Counter[str] = field(default_factory=Counter)
    day_listings: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, action: str, at: datetime, reasons: Any) -> None:
        day = _utc(at).date().isoformat()
        rs = [r for r in reasons if isinstance(r, dict)] if isinstance(reasons, list) else []
        categories = {str(r.get("category") or "unknown") for r in rs} or {"unknown"}
        if kind == "query":
            if action == "block":
                self.searches_blocked += 1
                self.day_searches[day] += 1
                self.search_categories.update(categories)
            elif action == "warn":
                self.searches_warned += 1
            return
        if action == "block":
            self.listing_categories.update(categories)
            self.day_listings[day] += 1
            if any(r.get("list") == DENY_LIST for r in rs):
                self.reuploads += 1


def _in(col: Any, month: Month) -> Any:
    return (col >= month.start) & (col < month.end)


def _grouped(s: Session, key: Any, col: Any, month: Month) -> dict[str, int]:
    q = select(key, func.count()).where(_in(col, month)).group_by(key)
    return {str(k): int(n) for k, n in s.execute(q)}


def _seconds(s: Session, end_col: Any, month: Month) -> list[float]:
    q = select(Case.opened_at, end_col).where(_in(end_col, month))
    return [max(0.0, (_utc(b) - _utc(a)).total_seconds()) for a, b in s.execute(q)]


def compute(
    s: Session, month: Month, now: datetime | None = None, deterrence_epsilon: float | None = None
) -> TransparencyReport:
    """All figures for one month, from the decision records, cases, reports, the hotline outbox and the
    deterrence counters (those with geometric noise when `deterrence_epsilon` is set)."""
    now = _utc(now or datetime.now(UTC))
    tally = _Tally()
    q = select(DecisionRecord.kind, DecisionRecord.action, DecisionRecord.created_at, DecisionRecord.reasons)
    for kind, action, at, reasons in s.execute(
        q.where(_in(DecisionRecord.created_at, month)).execution_options(yield_per=_YIELD)
    ):
        tally.add(kind, action, at, reasons)
    listing = DecisionRecord.kind != "query"
    distinct = (
        select(DecisionRecord.action, func.count(func.distinct(DecisionRecord.item_id)))
        .where(listing, _in(DecisionRecord.created_at, month))
        .group_by(DecisionRecord.action)
    )
    listings = {str(a): int(n) for a, n in s.execute(distinct)}
    report_days: Counter[str] = Counter(
        _utc(t).date().isoformat()
        for t in s.scalars(select(AbuseReport.created_at).where(_in(AbuseReport.created_at, month)))
    )
    by_trust = _grouped(s, AbuseReport.trusted, AbuseReport.created_at, month)
    statuses = _grouped(s, Case.status, Case.decided_at, month)
    filed = hotline_repo.filed_between(s, month.start, month.end)
    reported = int(s.scalar(select(func.count()).select_from(Case).where(_in(Case.reported_at, month))) or 0)
    days = month.days()
    return TransparencyReport(
        month=month.label,
        period_start=month.start.isoformat(),
        period_end=month.end.isoformat(),
        complete=now >= month.end,
        generated_at=now.isoformat(),
        searches_blocked=tally.searches_blocked,
        searches_warned=tally.searches_warned,
        searches_blocked_by_category=dict(sorted(tally.search_categories.items())),
        listings_blocked=listings.get("block", 0),
        listings_reviewed=listings.get("review", 0),
        listing_blocks_by_category=dict(sorted(tally.listing_categories.items())),
        cases_confirmed=statuses.get("confirmed", 0),
        cases_dismissed=statuses.get("dismissed", 0),
        reports_received=sum(report_days.values()),
        reports_by_source={
            "public": sum(n for k, n in by_trust.items() if k in ("False", "0")),
            "trusted": sum(n for k, n in by_trust.items() if k in ("True", "1")),
        },
        reports_by_category=dict(sorted(_grouped(s, AbuseReport.category, AbuseReport.created_at, month).items())),
        signals_by_source=dict(sorted(_grouped(s, CaseSignal.source, CaseSignal.at, month).items())),
        time_to_hide=Clock.of(_seconds(s, Case.hidden_at, month)),
        time_to_remove=Clock.of(_seconds(s, Case.removed_at, month)),
        hotline_reports_filed=sum(filed.values()),
        hotline_reports_by_hotline=dict(sorted(filed.items())),
        cases_reported=reported,
        reuploads_caught=tally.reuploads,
        daily={
            "days": days,
            "searches_blocked": [tally.day_searches[d] for d in days],
            "listing_blocks": [tally.day_listings[d] for d in days],
            "reports_received": [report_days[d] for d in days],
        },
        deterrence=det_report.summary(deterrence_repo.counts(s, days[0], days[-1]), deterrence_epsilon or None),
    )
