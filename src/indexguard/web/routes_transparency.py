"""The monthly transparency report: GET /transparency?month=YYYY-MM (an HTML page with inline SVG
charts, for a signed-in admin) and GET /v1/transparency (JSON; admin scope, key or session).

Without `month`, the current month to date. The page is the same document `indexguard report
transparency --format html` writes, so what an admin sees is what gets published.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from indexguard.hotline import transparency, transparency_render
from indexguard.store.accounts import Principal
from indexguard.store.models import utcnow
from indexguard.web.auth import principal_async, require
from indexguard.web.deps import Services, services

router = APIRouter()
AdminP = Annotated[Principal, Depends(require("admin"))]


def _month(text: str | None) -> transparency.Month:
    if not text:
        return transparency.Month.of(utcnow())
    try:
        return transparency.Month.parse(text)
    except transparency.TransparencyError as e:
        raise HTTPException(422, str(e)) from None


def _report(svc: Services, month: transparency.Month) -> transparency.TransparencyReport:
    with svc.sessions() as s:
        return transparency.compute(s, month, deterrence_epsilon=svc.settings.deterrence_epsilon)


@router.get("/transparency", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request, month: str | None = None) -> HTMLResponse:
    p = await principal_async(request)
    if p is None or p.kind != "user":
        raise HTTPException(303, "sign in", {"Location": "/login?next=" + quote(str(request.url.path))})
    if "admin" not in p.scopes:
        raise HTTPException(403, f"role {p.role} may not see the transparency report")
    report = await run_in_threadpool(_report, services(request), _month(month))
    resp = HTMLResponse(transparency_render.to_html(report))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
    return resp


@router.get("/v1/transparency", tags=["reports"], summary="The monthly transparency report as JSON")
async def report_json(request: Request, _p: AdminP, month: str | None = None) -> dict[str, Any]:
    report = await run_in_threadpool(_report, services(request), _month(month))
    return report.to_json()
