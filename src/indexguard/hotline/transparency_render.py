"""The monthly transparency report rendered: JSON, CSV and an HTML page with charts (the figures are
computed by indexguard.hotline.transparency)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

import jinja2
from markupsafe import Markup

from indexguard.cases.clocks import human
from indexguard.hotline import charts
from indexguard.hotline.transparency import FORMATS, TransparencyError, TransparencyReport


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
