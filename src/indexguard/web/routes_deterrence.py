"""The help-link redirect that counts a click (GET /go/help), and the deterrence report for admins
and researchers (GET /v1/deterrence, JSON or CSV; GET /deterrence, the console page)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from indexguard.deterrence import report as det_report
from indexguard.settings import deterrence_catalog
from indexguard.store import deterrence_repo
from indexguard.store.accounts import Principal
from indexguard.store.models import utcnow
from indexguard.web.auth import principal_async, require
from indexguard.web.deps import Services, services
from indexguard.web.deterrence_view import HELP_PATH

router = APIRouter()
AdminP = Annotated[Principal, Depends(require("admin"))]
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NO_TRACE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get(HELP_PATH, include_in_schema=False)
async def help_redirect(request: Request, t: Annotated[str, Query(max_length=400)] = "") -> Response:
    """Count the click and forward to the help service. The target comes from the live catalog, never
    from the request, so this is no open redirect; no referrer leaks to the help service."""
    svc = services(request)
    click = await run_in_threadpool(svc.deterrence.clicked, t) if t else None
    link = svc.live.policy.deterrence.link(click.locale, click.variant, click.country, click.link) if click else None
    return RedirectResponse(link.url if link else "/blocked", status_code=303, headers=_NO_TRACE)


def _day(text: str | None, default: str) -> str:
    if not text:
        return default
    if not _DAY.match(text):
        raise HTTPException(422, "dates are YYYY-MM-DD")
    return text


def _build(svc: Services, since: str, until: str, epsilon: float | None) -> det_report.DeterrenceReport:
    catalog = deterrence_catalog(svc.settings)
    order = {loc: [v.id for v in vs] for loc, vs in catalog.deterrence.variants.items()}
    with svc.sessions() as s:
        rows = deterrence_repo.counts(s, since, until)
    return det_report.build(rows, catalog.plan, since, until, order, epsilon)


def _period(since: str | None, until: str | None) -> tuple[str, str]:
    today = utcnow().date()
    return _day(since, (today - timedelta(days=30)).isoformat()), _day(until, today.isoformat())


@router.get("/v1/deterrence", tags=["reports"], summary="Deterrence outcomes per variant (JSON or CSV)")
async def report_api(
    request: Request,
    _p: AdminP,
    since: str | None = None,
    until: str | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    noise: bool = False,
) -> Any:
    """Counts and rates per variant and language, the A/B comparison under the fixed plan, blocked
    searches by category. `noise=true` (or a configured `deterrence_epsilon`) adds geometric noise
    to every count, for figures that leave the organisation."""
    svc = services(request)
    eps = svc.settings.deterrence_epsilon or (1.0 if noise else 0.0)
    lo, hi = _period(since, until)
    report = await run_in_threadpool(_build, svc, lo, hi, eps or None)
    if format == "csv":
        name = f"deterrence-{lo}-{hi}.csv"
        return PlainTextResponse(
            det_report.to_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"', **_NO_TRACE},
        )
    return Response(content=_json(report.to_json()), media_type="application/json", headers=_NO_TRACE)


def _json(data: dict[str, Any]) -> bytes:
    import json

    return json.dumps(data, separators=(",", ":")).encode()


@router.get("/deterrence", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, since: str | None = None, until: str | None = None) -> HTMLResponse:
    p = await principal_async(request)
    if p is None or p.kind != "user":
        raise HTTPException(303, "sign in", {"Location": "/login?next=" + quote(str(request.url.path))})
    if "admin" not in p.scopes:
        raise HTTPException(403, f"role {p.role} may not see the deterrence report")
    svc = services(request)
    lo, hi = _period(since, until)
    report = await run_in_threadpool(_build, svc, lo, hi, None)
    from indexguard.deterrence.render import to_html

    return HTMLResponse(to_html(report), headers={**_NO_TRACE, "X-Frame-Options": "DENY"})
