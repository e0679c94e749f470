"""The deterrence report as a self-contained HTML page: inline SVG charts, no script, no external file."""

from __future__ import annotations

import jinja2

from indexguard.deterrence.report import DeterrenceReport
from indexguard.hotline import charts

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<title>Deterrence — {{ r.since }} to {{ r.until }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#555}</style></head><body>
<h1>Deterrence, {{ r.since }} to {{ r.until }}</h1>
<p class="note">Counted by rotating keyed session hashes only: no query text, no address, no session reference is
kept. Rates are per session shown a warning, with 95% Wilson intervals.
{% if r.epsilon %}Counts carry geometric noise (epsilon {{ r.epsilon }} per count).{% endif %}</p>
<section><h2>Variants</h2>
<table><tr><th>Language</th><th>Variant</th><th>Sessions</th><th>Warnings shown</th><th>Help-click rate</th>
<th>Searched again ≤ window</th><th>Blocked again ≤ window</th></tr>
{% for a in r.arms %}<tr><td>{{ a.locale }}</td><td>{{ a.variant }}</td><td class="n">{{ a.sessions }}</td>
<td class="n">{{ a.impressions }}</td>
{% for m in ("help_click", "repeat_search", "repeat_block") %}<td class="n">{{ pct(a.rates[m].rate) }}
({{ pct(a.rates[m].low) }}–{{ pct(a.rates[m].high) }})</td>{% endfor %}</tr>
{% else %}<tr><td colspan="7">Nothing counted in this period.</td></tr>{% endfor %}</table>
<figure>{{ c.clicks }}</figure></section>
<section><h2>Comparison with the control ({{ r.plan.metric }})</h2>
{% for lang, n in r.planned_sessions_per_arm.items() %}<p>{{ lang }}: the plan needs {{ n }} sessions per variant
before the comparison is read (alpha {{ r.plan.alpha }}, power {{ r.plan.power }}, smallest effect
{{ pct(r.plan.minimum_effect) }}).</p>{% endfor %}
<table><tr><th>Language</th><th>Variant</th><th>vs</th><th>Difference</th><th>p</th><th>Verdict</th></tr>
{% for v in r.verdicts %}<tr><td>{{ v.locale }}</td><td>{{ v.variant }}</td><td>{{ v.control }}</td>
<td class="n">{{ pct(v.difference) }}</td><td class="n">{{ "%.4f"|format(v.p_value) }}</td>
<td>{% if not v.ready %}not yet: keep collecting{% elif v.significant %}different{% else %}no difference found
{% endif %}</td></tr>
{% else %}<tr><td colspan="6">No language has two variants.</td></tr>{% endfor %}</table></section>
<section><h2>Blocked searches by list category</h2><figure>{{ c.categories }}</figure></section>
<section><h2>Per day</h2><figure>{{ c.days }}</figure><figure>{{ c.day_clicks }}</figure></section>
</body></html>
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def to_html(r: DeterrenceReport) -> str:
    days = [d["day"][-5:] for d in r.daily]
    c = {
        "clicks": charts.bar_chart(
            [(f"{a.locale}/{a.variant}", round(100 * a.rates["help_click"]["rate"], 1)) for a in r.arms],
            "Help-click rate per variant (%)",
        ),
        "categories": charts.bar_chart(list(r.categories.items()), "Blocked searches by category"),
        "days": charts.column_chart(days, [int(d.get("impression", 0)) for d in r.daily], "Warnings shown per day"),
        "day_clicks": charts.column_chart(days, [int(d.get("help_click", 0)) for d in r.daily], "Help clicks per day"),
    }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(r=r, c=c, pct=_pct)
