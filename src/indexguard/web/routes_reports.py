"""Public abuse reporting: GET/POST /report (no account, CSRF double-submit) and POST /v1/reports.

A report opens or joins the item's case. A trusted flagger (an API key with the `cases` scope that
an admin marked trusted) takes the priority lane and the item is hidden at once. Clients are rate
limited by a keyed hash of their address; the address itself is never stored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import Field

from indexguard.cases import filing
from indexguard.cases import meta as case_meta
from indexguard.cases import service as cases
from indexguard.cases.reports import CATEGORIES, ReportError, ReportIn
from indexguard.cases.webhooks import notifier
from indexguard.errors import IndexguardError
from indexguard.screen.item import Item
from indexguard.store import cases_repo
from indexguard.web import csrf
from indexguard.web.auth import principal_async
from indexguard.web.deps import Services, client_address, secure_request, services
from indexguard.web.inputs import CheckedModel

router = APIRouter(tags=["reports"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
REPORT_COOKIE = "ig_report_csrf"


class ReportBody(CheckedModel):
    item: str = Field(default="", max_length=256, description="The listing's id on the site")
    url: str | None = Field(default=None, max_length=2048, description="The listing's address")
    category: str = Field(description="csam | non_photographic | advert | grooming_other")
    comment: str | None = Field(default=None, max_length=4000)
    contact: str | None = Field(default=None, max_length=256, description="Optional; sealed at rest")
    thumbnail: str | None = Field(
        default=None, max_length=3_000_000, description="Base64 thumbnail bytes the site holds (sealed)"
    )


def hotline_links(svc: Services) -> list[dict[str, str]]:
    """The report page's hotline links: the `hotline_links` setting when set (INDEXGUARD_HOTLINE_LINKS,
    an override kept for compatibility; validated at start), else the national hotline directory from
    `settings.hotlines_file` (one list of addresses for the whole project)."""
    if svc.settings.hotline_links:
        return [dict(x) for x in svc.settings.hotline_links]
    return [{"name": h.name, "url": h.url} for h in svc.hotlines.hotlines]


def _masked(svc: Services, text: str | None, name: str) -> str | None:
    """Free text from a reporter with every list match masked (withheld if it cannot be screened)."""
    if not text:
        return None
    state = svc.live.state
    if state is None:
        return case_meta.WITHHELD
    try:
        d = state.screener.screen(Item(id="report", kind="listing", text=text))
    except IndexguardError:
        return case_meta.WITHHELD
    reasons = [{**r.to_json(), "field": name} for r in d.reasons if r.field == "text"]
    reasons += [{"field": name} for r in d.reasons if r.field != "text"]
    return case_meta.masked_fields([(name, text)], reasons)[0].text


def _file(svc: Services, r: ReportIn, who: filing.Reporter, thumb: bytes | None) -> str:
    limits = filing.ReportLimits(svc.settings.reports_per_hour, svc.settings.reports_per_item)
    ref, fx = filing.file_report(
        svc.sessions, svc.cipher, r, who, limits, lambda text, name: _masked(svc, text, name), thumb
    )
    cases.emit(svc.sessions, fx, notifier(svc.settings))
    return ref


def _client(svc: Services, request: Request) -> str:
    return svc.cipher.keyed_hash("report-client", filing.rate_subject(client_address(request)))


def _thumb(b64: str | None) -> bytes | None:
    if not b64:
        return None
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ReportError("thumbnail must be base64") from None


async def _who(request: Request) -> tuple[str, bool]:
    """(reporter name, trusted): anonymous visitors are "public"; keys carry their name."""
    p = await principal_async(request)
    if p is None or p.kind != "key":
        return "public", False
    prefix = p.name.split(":")[1] if p.name.count(":") >= 2 else ""
    svc = services(request)

    def lookup() -> bool:
        with svc.sessions() as s:
            return bool({"report", "cases"} & p.scopes) and cases_repo.is_trusted(s, prefix)

    return p.name, await run_in_threadpool(lookup)


@router.post("/v1/reports", status_code=201, summary="Report a listing (no account needed)")
async def report_api(body: ReportBody, request: Request) -> JSONResponse:
    svc = services(request)
    reporter, trusted = await _who(request)
    if body.thumbnail and reporter == "public":
        raise HTTPException(403, "thumbnails are accepted only with an API key (the site, or a trusted flagger)")
    who = filing.Reporter(reporter, trusted, _client(svc, request))
    try:
        r = ReportIn(body.item, body.category, body.url, body.comment, body.contact).checked()
        thumb = _thumb(body.thumbnail)
        ref = await run_in_threadpool(_file, svc, r, who, thumb)
    except filing.RateLimited as e:
        raise HTTPException(429, str(e), {"Retry-After": "3600"}) from None
    except filing.ItemReportCap as e:
        raise HTTPException(429, str(e), {"Retry-After": "3600"}) from None
    except (ReportError, cases.CaseError) as e:
        raise HTTPException(422, str(e)) from None
    return JSONResponse({"reference": ref, "trusted": trusted, "hotlines": hotline_links(svc)}, status_code=201)


def _page(request: Request, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    token = csrf.new_token()
    svc = services(request)
    base = {"categories": CATEGORIES, "hotlines": hotline_links(svc), "csrf_token": token, "error": None}
    resp = templates.TemplateResponse(request, "report.html", {**base, **ctx}, status_code=status)
    resp.set_cookie(REPORT_COOKIE, token, httponly=True, samesite="strict", secure=secure_request(request))
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home(request: Request) -> Response:
    """Signed-in people land on the console; everyone else on the report page, which says what the site is."""
    p = await principal_async(request)
    if p is not None and p.kind == "user":
        return RedirectResponse("/console", status_code=303)
    return _page(request, {"item": "", "url": "", "category": "", "site": str(request.base_url), "about": True})


def _shown(value: str, limit: int) -> str:
    """A form value put back into the page for correction: only valid, bounded text."""
    ok = "\x00" not in value and value.isprintable() and len(value) <= limit
    return value if ok else ""


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report_form(request: Request, item: str = "", url: str = "") -> HTMLResponse:
    return _page(request, {"item": item[:256], "url": url[:2048], "category": "", "site": str(request.base_url)})


@router.post("/report", include_in_schema=False)
async def report_form_post(
    request: Request,
    category: Annotated[str, Form(max_length=32)] = "",
    item: Annotated[str, Form(max_length=256)] = "",
    url: Annotated[str, Form(max_length=2048)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    contact: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    cookie = request.cookies.get(REPORT_COOKIE)
    if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token on the form; reload the page")
    svc = services(request)
    # An error page never echoes what was sent (only a category from the known list is kept).
    ctx = {"item": "", "url": "", "category": category if category in CATEGORIES else "", "site": str(request.base_url)}
    who = filing.Reporter("public", False, _client(svc, request))
    try:
        r = ReportIn(item, category, url or None, comment or None, contact or None).checked()
        ref = await run_in_threadpool(_file, svc, r, who, None)
    except filing.RateLimited:
        return _page(request, {**ctx, "error": "Too many reports from your address. Please try again in an hour."}, 429)
    except filing.ItemReportCap:
        return _page(request, {**ctx, "error": "This listing already has many reports and is being reviewed."}, 429)
    except (ReportError, cases.CaseError) as e:
        return _page(request, {**ctx, "error": str(e)}, 422)
    resp = templates.TemplateResponse(request, "report_done.html", {"reference": ref, "hotlines": hotline_links(svc)})
    resp.delete_cookie(REPORT_COOKIE)
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
