"""The moderator console: server-rendered pages that work without JavaScript.

Signed-in users whose role grants `cases` (moderator, child_safety_lead, admin). Every form posts
the session's CSRF token. Images are never on these pages: a neutral placeholder stands in, and
a child-safety lead reveals one image at a time with a reason (every request is logged).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from indexguard.cases import clocks, filing
from indexguard.cases import meta as case_meta
from indexguard.cases import service as cases
from indexguard.cases.reports import CATEGORIES
from indexguard.crypto import KeyUnavailable
from indexguard.settings import sla_targets
from indexguard.store import cases_repo
from indexguard.store.accounts import Principal
from indexguard.store.models import iso, utcnow
from indexguard.web import csrf
from indexguard.web.auth import principal_async
from indexguard.web.deps import services
from indexguard.web.routes_cases import do_reveal, live_screen, run_actions, status_of

router = APIRouter(prefix="/console", include_in_schema=False)
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
templates = Jinja2Templates(directory=str(FsPath(__file__).parent / "templates"))
templates.env.filters["human"] = clocks.human
templates.env.filters["iso"] = lambda t: iso(t) if t is not None else ""


async def _user(request: Request) -> Principal:
    p = await principal_async(request)
    if p is None or p.kind != "user":
        raise HTTPException(303, "sign in", {"Location": "/login?next=" + quote(request.url.path)})
    if p.must_change_password:
        raise HTTPException(303, "change your password", {"Location": "/password?next=" + quote(request.url.path)})
    if "cases" not in p.scopes:
        raise HTTPException(403, f"role {p.role} may not work cases")
    return p


def _render(request: Request, name: str, p: Principal, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    base = {"user": p, "csrf_token": p.csrf_token, "categories": CATEGORIES}
    resp = templates.TemplateResponse(request, f"console/{name}", {**base, **ctx}, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@router.get("", response_class=HTMLResponse)
async def queue(
    request: Request,
    status: str = "open",
    source: str = "",
    category: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HTMLResponse:
    p = await _user(request)
    svc = services(request)
    f = cases_repo.QueueFilter(status or None, source or None, category or None, None, limit)

    def load() -> tuple[list[dict[str, Any]], int]:
        with svc.sessions() as s:
            targets = sla_targets(svc.settings)
            recent = cases_repo.public_reports_since(s, utcnow() - timedelta(minutes=10))
            return [_row(c, targets) for c in cases_repo.queue(s, f)], recent

    rows, recent = await run_in_threadpool(load)
    filters = {"status": status, "source": source, "category": category}
    ctx: dict[str, Any] = {"rows": rows, "filters": filters, "statuses": cases_repo.STATUSES}
    ctx |= {"sources": cases_repo.SOURCES, "flood": recent if recent >= svc.settings.flood_reports else 0}
    return _render(request, "queue.html", p, ctx)


def _report_url(svc: Any, stored: str | None) -> str:
    """A reported URL as the case page shows it: scheme and host; the full address stays sealed."""
    try:
        url = filing.open_url(svc.cipher, stored)
    except KeyUnavailable:
        return "(address withheld)"
    return filing.url_display(url) if url else ""


def _row(c: Any, targets: dict[str, float]) -> dict[str, Any]:
    times = clocks.CaseTimes(c.opened_at, c.hidden_at, c.decided_at, c.removed_at, c.reported_at)
    age = (utcnow() - clocks.aware(c.opened_at)).total_seconds()
    return {"c": c, "clocks": times.clocks(), "age": age, "sla": _sla(c, age, targets)}


def _sla(c: Any, age: float, targets: dict[str, float]) -> str:
    """Against the operator's decide targets by severity (settings sla_*_seconds)."""
    if c.decided_at is not None:
        return "done"
    target = targets.get(c.severity, targets["report"])
    return "breached" if age > target else ("due" if age > target * 0.75 else "ok")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: CaseId, done: str = "") -> HTMLResponse:
    p = await _user(request)
    svc = services(request)

    def load() -> tuple[cases_repo.CaseDetail | None, int | None]:
        with svc.sessions() as s:
            d = cases_repo.get_case(s, case_id)
            nxt = [c.id for c in cases_repo.queue(s, cases_repo.QueueFilter(limit=2)) if c.id != case_id]
            return d, (nxt[0] if nxt else None)

    d, nxt = await run_in_threadpool(load)
    if d is None:
        raise HTTPException(404, "no such case")
    c = d.case
    times = clocks.CaseTimes(c.opened_at, c.hidden_at, c.decided_at, c.removed_at, c.reported_at).clocks()
    may_reveal = p.role == cases.REVEAL_ROLE
    ts = live_screen(svc)
    reports = [
        {"reference": r.reference, "category": r.category, "reporter": r.reporter,
         "url": case_meta.again(_report_url(svc, r.url), ts), "comment": case_meta.again(r.comment_masked or "", ts)}
        for r in d.reports
    ]  # fmt: skip
    ctx = {
        "d": d, "c": c, "meta": case_meta.remask(case_meta.CaseMeta.from_json(c.meta), ts), "reports": reports,
        "clocks": times,
        "next_id": nxt, "done": done[:64], "may_reveal": may_reveal,
    }  # fmt: skip
    return _render(request, "case.html", p, ctx)


@router.post("/cases/{case_id}/action")
async def case_action(
    request: Request,
    case_id: CaseId,
    action: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=512)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    then: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    p = await _user(request)
    csrf.check_session_csrf(request, p, csrf_token)
    (res,) = await run_in_threadpool(run_actions, services(request), [case_id], action, p.name, note)
    if res.error is not None:
        raise HTTPException(status_of(res.error), str(res.error))
    target = "/console" if then == "queue" else f"/console/cases/{case_id}?done={quote(action)}"
    return RedirectResponse(target, status_code=303)


@router.post("/bulk")
async def bulk_action(request: Request) -> Response:
    p = await _user(request)
    form = await request.form()
    csrf.check_session_csrf(request, p, str(form.get("csrf_token", "")))
    ids = [int(x) for x in form.getlist("ids") if isinstance(x, str) and x.isdigit()][:200]
    action, note = str(form.get("action", ""))[:32], str(form.get("note", ""))[:512]
    if not ids:
        raise HTTPException(422, "select at least one case")
    await run_in_threadpool(run_actions, services(request), ids, action, p.name, note)
    return RedirectResponse("/console", status_code=303)


@router.post("/cases/{case_id}/media/{media_id}/reveal", response_class=HTMLResponse)
async def reveal(
    request: Request,
    case_id: CaseId,
    media_id: CaseId,
    reason: Annotated[str, Form(max_length=512)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse:
    p = await _user(request)
    csrf.check_session_csrf(request, p, csrf_token)
    try:
        png = await run_in_threadpool(do_reveal, services(request), case_id, media_id, p, reason)
    except cases.CaseError as e:
        raise HTTPException(status_of(e), str(e)) from None
    if png is None:
        msg = "Only the child-safety lead may reveal images, with a reason. This request was logged."
        return _render(request, "reveal.html", p, {"case_id": case_id, "error": msg, "data": None}, 403)
    data = "data:image/png;base64," + base64.b64encode(png).decode()
    return _render(request, "reveal.html", p, {"case_id": case_id, "error": None, "data": data})
