"""The takedown dashboard: clocks (median and p90 per day, inline SVG drawn here), counts by
source and category, re-uploads caught by the deny set. Also as JSON at /v1/cases/stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from indexguard.cases import clocks
from indexguard.deterrence import report as det_report
from indexguard.deterrence.stats import ExperimentPlan
from indexguard.hotline import charts
from indexguard.settings import sla_targets
from indexguard.store import cases_repo, deterrence_repo
from indexguard.store.accounts import Principal
from indexguard.store.models import Case, CaseSignal, utcnow
from indexguard.web.auth import require
from indexguard.web.deps import Services, services
from indexguard.web.routes_console import _render, _user

router = APIRouter()
CasesP = Annotated[Principal, Depends(require("cases"))]


@dataclass(frozen=True)
class Stats:
    days: int
    series: dict[str, list[clocks.DayFigures]]
    overall: dict[str, dict[str, float | None]]
    by_source: dict[str, int]
    by_category: dict[str, int]
    by_status: dict[str, int]
    reuploads: int

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "clocks": {k: [vars(d) for d in v] for k, v in self.series.items()},
            "overall": self.overall,
            "by_source": self.by_source,
            "by_category": self.by_category,
            "by_status": self.by_status,
            "reupload_attempts_caught": self.reuploads,
        }


def stats(svc: Services, days: int) -> Stats:
    since = utcnow() - timedelta(days=days)
    with svc.sessions() as s:
        rows = cases_repo.all_case_times(s, since)
        times = [clocks.CaseTimes(c.opened_at, c.hidden_at, c.decided_at, c.removed_at, c.reported_at) for c in rows]
        by_source = cases_repo.counts_by(s, CaseSignal.source, since, CaseSignal, CaseSignal.at)
        by_category = cases_repo.counts_by(s, Case.category, since)
        by_status = cases_repo.counts_by(s, Case.status, since)
    overall = {}
    for name in clocks.CLOCKS:
        vals = [v for t in times if (v := t.clocks()[name]) is not None]
        overall[name] = {
            "n": float(len(vals)),
            "median": clocks.percentile(vals, 50),
            "p90": clocks.percentile(vals, 90),
        }
    series = {name: clocks.by_day(times, name) for name in clocks.CLOCKS}
    return Stats(days, series, overall, by_source, by_category, by_status, by_source.get("deny", 0))


def svg_chart(points: list[clocks.DayFigures], title: str, width: int = 360, height: int = 140) -> Markup:
    """Median (solid) and p90 (dashed) per day as a small line chart; no script, no external file."""
    pad, top = 34, 18
    vals = [v for d in points for v in (d.median, d.p90) if v is not None]
    if not vals:
        return Markup('<svg role="img" aria-label="{t}: no data" width="{w}" height="40"><text x="4" y="24" '
                      'font-size="12">{t}: no data yet</text></svg>').format(t=title, w=width)  # fmt: skip
    vmax = max(vals) or 1.0
    n = len(points)

    def xy(i: int, v: float) -> str:
        x = pad + (width - pad - 8) * (i / (n - 1) if n > 1 else 0.5)
        y = top + (height - top - 20) * (1 - v / vmax)
        return f"{x:.1f},{y:.1f}"

    def line(attr: str, dash: str) -> str:
        pts = " ".join(xy(i, v) for i, d in enumerate(points) if (v := getattr(d, attr)) is not None)
        dots = "".join(
            f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="2.5"/>'
            for i, d in enumerate(points) if (v := getattr(d, attr)) is not None
        )  # fmt: skip
        return f'<polyline fill="none" stroke="currentColor" stroke-width="2"{dash} points="{pts}"/>{dots}'

    label = f"{escape(title)}: median and p90 per day, max {escape(clocks.human(vmax))}"
    parts = [
        f'<svg role="img" aria-label="{label}" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="4" y="12" font-size="11">{escape(title)} (max {escape(clocks.human(vmax))})</text>',
        f'<line x1="{pad}" y1="{height - 20}" x2="{width - 4}" y2="{height - 20}" stroke="#999"/>',
        line("median", ""),
        line("p90", ' stroke-dasharray="4 3" opacity="0.6"'),
        f'<text x="{pad}" y="{height - 6}" font-size="10">{escape(points[0].day)}</text>',
        f'<text x="{width - 70}" y="{height - 6}" font-size="10">{escape(points[-1].day)}</text>',
        f'<text x="{width - 120}" y="12" font-size="10">— median  - - p90</text>',
        "</svg>",
    ]
    return Markup("".join(parts))


@router.get("/console/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(request: Request, days: int = 30) -> HTMLResponse:
    p = await _user(request)
    st = await run_in_threadpool(stats, services(request), max(1, min(days, 365)))
    charts = {name: svg_chart(st.series[name], f"time to {name}") for name in clocks.CLOCKS}
    det = await run_in_threadpool(deterrence_section, services(request), st.days)
    return _render(request, "dashboard.html", p, {"st": st, "charts": charts, "clock_names": clocks.CLOCKS, "det": det})


def deterrence_section(svc: Services, days: int) -> dict[str, Any]:
    """The dashboard's deterrence card: warnings per day, help-click rate per wording (exact counts:
    the console is internal; published figures take noise, see docs/deterrence.md)."""
    today = utcnow().date()
    with svc.sessions() as s:
        rows = deterrence_repo.counts(s, (today - timedelta(days=days)).isoformat(), today.isoformat())
    report = det_report.build(rows, ExperimentPlan())
    return {
        "summary": det_report.summary(rows),
        "per_variant": charts.bar_chart(
            [(f"{a.locale}/{a.variant}", round(100 * a.rates["help_click"]["rate"], 1)) for a in report.arms],
            "Help-click rate per wording (%)",
        ),
        "per_day": charts.column_chart(
            [d["day"][-5:] for d in report.daily], [int(d.get("impression", 0)) for d in report.daily],
            "Warnings shown per day",
        ),
    }


@router.get("/v1/cases-stats", tags=["cases"], summary="Takedown clocks and counts (the dashboard's figures)")
async def stats_json(request: Request, _p: CasesP, days: Annotated[int, Query(ge=1, le=365)] = 30) -> dict[str, Any]:
    svc = services(request)
    st = await run_in_threadpool(stats, svc, max(1, min(days, 365)))
    return {**st.to_json(), "sla_targets": sla_targets(svc.settings)}
