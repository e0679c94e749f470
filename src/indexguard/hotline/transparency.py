"""The monthly transparency report, computed from the store: JSON, CSV and an HTML page with charts.

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
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexguard.cases.clocks import human, percentile
from indexguard.deterrence import report as det_report
from indexguard.errors import IndexguardError
from indexguard.hotline import charts
from indexguard.store import deterrence_repo, hotline_repo
from indexguard.store.models import AbuseReport, Case, CaseSignal, DecisionRecord

DENY_LIST = "deny-set"  # the list name the service gives deny-set reasons
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


# --- rendering ----------------------------------------------------------------------------------


def to_csv(r: TransparencyReport) -> str:
    """Long form, one figure a row: `section,key,value` (clocks in seconds, empty when not measured)."""
    rows: list[tuple[str, str, object]] = [
        ("report", "month", r.month),
        ("report", "complete", str(r.complete).lower()),
        ("report", "generated_at", r.generated_at),
        ("searches", "blocked", r.searches_blocked),
        ("searches", "warned", r.searches_warned),
    ]
    rows += _section("searches_blocked_by_category", r.searches_blocked_by_category)
    rows += [("listings", k, v) for k, v in (("blocked", r.listings_blocked), ("reviewed", r.listings_reviewed),
             ("cases_confirmed", r.cases_confirmed), ("cases_dismissed", r.cases_dismissed))]  # fmt: skip
    rows += _section("listing_blocks_by_category", r.listing_blocks_by_category)
    rows.append(("reports", "received", r.reports_received))
    rows += _section("reports_by_source", r.reports_by_source)
    rows += _section("reports_by_category", r.reports_by_category)
    rows += _section("signals_by_source", r.signals_by_source)
    for name, c in (("time_to_hide_seconds", r.time_to_hide), ("time_to_remove_seconds", r.time_to_remove)):
        rows += [(name, "n", c.n), (name, "median", _blank(c.median)), (name, "p90", _blank(c.p90))]
    rows += [
        ("hotline_reports", "filed", r.hotline_reports_filed),
        ("hotline_reports", "cases_reported", r.cases_reported),
    ]
    rows += _section("hotline_reports_by_hotline", r.hotline_reports_by_hotline)
    d = r.deterrence
    rows += [("deterrence", k, _blank(d.get(k))) for k in
             ("warnings_shown", "sessions_warned", "help_click_rate", "repeat_block_rate")]  # fmt: skip
    rows.append(("reuploads", "caught", r.reuploads_caught))
    days = r.daily.get("days", [])
    for series in ("searches_blocked", "listing_blocks", "reports_received"):
        rows += [(f"daily_{series}", d, v) for d, v in zip(days, r.daily.get(series, []), strict=False)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(("section", "key", "value"))
    w.writerows(rows)
    return buf.getvalue()


def _section(name: str, d: dict[str, int]) -> Iterable[tuple[str, str, object]]:
    return [(name, k, v) for k, v in d.items()]


def _blank(v: float | None) -> object:
    return "" if v is None else round(v, 3)


def to_json_text(r: TransparencyReport) -> str:
    return json.dumps(r.to_json(), indent=1) + "\n"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Transparency report {{ r.month }}</title>
<style>
body{font-family:sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
td.n{text-align:right}section{margin-bottom:2rem}figure{margin:.5rem 0}svg{max-width:100%;height:auto}
.note{color:#555;font-size:.9rem}
</style></head><body>
<h1>Transparency report: {{ r.month }}</h1>
<p class="note">{{ r.period_start }} to {{ r.period_end }} (UTC){% if not r.complete %}, month to date: figures
will still change{% endif %}. Generated {{ r.generated_at }}. Figures name categories only, never lists or terms.</p>
<section><h2>Searches</h2>
<table><tr><th>Searches blocked</th><td class="n">{{ r.searches_blocked }}</td></tr>
<tr><th>Searches shown a warning</th><td class="n">{{ r.searches_warned }}</td></tr></table>
<figure>{{ c.search_categories }}</figure><figure>{{ c.day_searches }}</figure></section>
<section><h2>Listings</h2>
<table><tr><th>Listings blocked</th><td class="n">{{ r.listings_blocked }}</td></tr>
<tr><th>Listings held for review</th><td class="n">{{ r.listings_reviewed }}</td></tr>
<tr><th>Cases confirmed by moderators</th><td class="n">{{ r.cases_confirmed }}</td></tr>
<tr><th>Cases dismissed by moderators</th><td class="n">{{ r.cases_dismissed }}</td></tr>
<tr><th>Re-uploads caught by the deny set</th><td class="n">{{ r.reuploads_caught }}</td></tr></table>
<figure>{{ c.listing_categories }}</figure><figure>{{ c.day_listings }}</figure></section>
<section><h2>Reports received</h2>
<table><tr><th>Abuse reports</th><td class="n">{{ r.reports_received }}</td></tr></table>
<figure>{{ c.report_sources }}</figure><figure>{{ c.signal_sources }}</figure><figure>{{ c.day_reports }}</figure>
</section>
<section><h2>Time to act</h2>
<table><tr><th></th><th>Cases</th><th>Median</th><th>90th percentile</th></tr>
{% for name, k in clocks %}<tr><th>{{ name }}</th><td class="n">{{ k.n }}</td><td class="n">{{ k.median|human }}</td>
<td class="n">{{ k.p90|human }}</td></tr>{% endfor %}</table>
<figure>{{ c.clocks }}</figure>
<p class="note">From a case's opening (first report or screening decision) to the step, for cases that reached
it this month.</p></section>
<section><h2>Deterrence</h2>
<table><tr><th>Warnings shown</th><td class="n">{{ r.deterrence.warnings_shown }}</td></tr>
<tr><th>Sessions warned</th><td class="n">{{ r.deterrence.sessions_warned }}</td></tr>
<tr><th>Of those, clicked a help link</th><td class="n">{{ pct(r.deterrence.help_click_rate) }}</td></tr>
<tr><th>Of those, warned again within the window</th><td class="n">{{ pct(r.deterrence.repeat_block_rate) }}</td></tr>
</table>
<figure>{{ c.deterrence }}</figure>
<p class="note">Counted by daily-rotating keyed session hashes: no query text, no address, no session is kept.
{% if r.deterrence.epsilon_per_count %}Counts carry geometric noise (epsilon {{ r.deterrence.epsilon_per_count }}
per count).{% endif %}</p></section>
<section><h2>Hotline reports</h2>
<table><tr><th>Reports filed with hotlines</th><td class="n">{{ r.hotline_reports_filed }}</td></tr>
<tr><th>Cases marked reported</th><td class="n">{{ r.cases_reported }}</td></tr></table>
<figure>{{ c.hotlines }}</figure></section>
</body></html>
"""


def _env() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["human"] = human
    return env


def to_html(r: TransparencyReport) -> str:
    days = r.daily.get("days", [])
    short = [d[-2:] for d in days]
    c = {
        "search_categories": charts.bar_chart(
            list(r.searches_blocked_by_category.items()), "Searches blocked by category"
        ),
        "day_searches": charts.column_chart(short, r.daily.get("searches_blocked", []), "Searches blocked per day"),
        "listing_categories": charts.bar_chart(
            list(r.listing_blocks_by_category.items()), "Listing blocks by category"
        ),
        "day_listings": charts.column_chart(short, r.daily.get("listing_blocks", []), "Listing blocks per day"),
        "report_sources": charts.bar_chart(list(r.reports_by_source.items()), "Abuse reports by source"),
        "signal_sources": charts.bar_chart(list(r.signals_by_source.items()), "Case signals by source"),
        "day_reports": charts.column_chart(short, r.daily.get("reports_received", []), "Abuse reports per day"),
        "clocks": Markup("").join(
            charts.bar_chart([("median", k.median), ("90th percentile", k.p90)], name, fmt=human)
            for name, k in (("Time to hide", r.time_to_hide), ("Time to remove", r.time_to_remove))
        ),
        "hotlines": charts.bar_chart(list(r.hotline_reports_by_hotline.items()), "Hotline reports filed"),
        "deterrence": charts.bar_chart(
            [(f"{v['locale']}/{v['variant']}", _pct_value(v["help_click_rate"])) for v in
             r.deterrence.get("variants", [])],
            "Help-click rate per wording (%)",
        ),
    }
    clocks = [("Time to hide", r.time_to_hide), ("Time to remove", r.time_to_remove)]
    return _env().from_string(_PAGE).render(r=r, c=c, clocks=clocks, pct=_pct)


def _pct_value(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def _pct(rate: float | None) -> str:
    return "not measured" if rate is None else f"{100 * rate:.1f}%"


def render(r: TransparencyReport, fmt: str) -> str:
    if fmt == "json":
        return to_json_text(r)
    if fmt == "csv":
        return to_csv(r)
    if fmt == "html":
        return to_html(r)
    raise TransparencyError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
