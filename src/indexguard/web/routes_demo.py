"""The demo site: a search page and an upload form wired the way a site integrates indexguard, served by
the service itself so a newcomer (and `indexguard probe`) can see the whole path work end to end.

It stores nothing: a search answers with the deterrence page or an empty result list, an upload with
"refused" or "accepted".
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from indexguard.integrations.guard import GuardConfig, QueryGuard
from indexguard.screen.item import Item
from indexguard.web.deps import live_state

router = APIRouter(prefix="/demo", tags=["demo site"])

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo search</title>
<meta name="robots" content="noindex"></head><body><main>
<h1>Demo index</h1><form action="/demo/search"><input name="q" aria-label="search"><button>Search</button></form>
<p>{body}</p>
<form method="post" action="/demo/upload"><h2>Upload a listing</h2>
<input name="title" aria-label="title"><textarea name="description" aria-label="description"></textarea>
<button>Upload</button></form>
<p><a href="/report">Report abuse</a></p></main></body></html>"""


@router.get("/search", response_class=HTMLResponse, summary="Demo search page, guarded by indexguard")
async def demo_search(request: Request, q: str = "") -> Response:
    state = live_state(request)
    guard = QueryGuard(state.screener, GuardConfig(params=("q",), report_url="/report"))
    blocked = await run_in_threadpool(
        guard.check, "/demo/search", request.url.query, request.headers.get("accept-language", "")
    )
    if blocked is not None:
        return Response(blocked.body, status_code=blocked.status, headers=dict(blocked.headers))
    body = "No results." if q else "Search the demo index."
    return HTMLResponse(_PAGE.format(body=escape(body)))


@router.post("/upload", summary="Demo upload: the listing is screened, nothing is stored")
async def demo_upload(request: Request, title: str = Form(""), description: str = Form("")) -> Response:
    state = live_state(request)
    item = Item(id="demo-upload", title=title[:1000], description=description[:10000])
    d = await run_in_threadpool(state.screener.screen, item)
    if d.action in ("block", "review"):
        return PlainTextResponse("This listing was refused.", status_code=422)
    return PlainTextResponse("Listing accepted (the demo stores nothing).", status_code=201)
