"""The demo site: a search page and an upload form wired the way a site integrates indexguard, served by
the service itself so a newcomer (and `indexguard probe`) can see the whole path work end to end.

It stores nothing: a search answers with the deterrence page or an empty result list, an upload with
"refused" or "accepted".
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from indexguard.screen.deterrence import PAGE_MARKER
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


_DETERRENCE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="robots" content="noindex, nofollow"><meta name="{marker}" content="1"><title>This search is blocked</title>
</head><body><main data-indexguard="deterrence" role="alert"><h1>This search is blocked</h1><p>{message}</p>
<ul>{links}</ul><p><a class="indexguard-report" href="/report" rel="nofollow">Report abuse</a></p></main>
</body></html>"""


@router.get("/search", response_class=HTMLResponse, summary="Demo search page, guarded by indexguard")
async def demo_search(request: Request, q: str = "") -> Response:
    state = live_state(request)
    if q.strip():
        d = await run_in_threadpool(state.screener.query, q[:2048], "demo-search")
        if d.action == "block":  # the deterrence page, never the query
            return HTMLResponse(_deterrence(d.extra["deterrence"]), headers=_NO_STORE)
    body = "No results." if q else "Search the demo index."
    return HTMLResponse(_PAGE.format(body=escape(body)))


_NO_STORE = {"cache-control": "no-store", "x-robots-tag": "noindex"}


def _deterrence(payload: dict[str, Any]) -> str:
    links = "".join(f'<li><a href="{escape(str(x["url"]))}" rel="noopener">{escape(str(x["name"]))}</a></li>'
                    for x in payload.get("links", []))  # fmt: skip
    return _DETERRENCE.format(marker=PAGE_MARKER, message=escape(str(payload.get("message", ""))), links=links)


@router.post("/upload", summary="Demo upload: the listing is screened, nothing is stored")
async def demo_upload(request: Request, title: str = Form(""), description: str = Form("")) -> Response:
    state = live_state(request)
    item = Item(id="demo-upload", title=title[:1000], description=description[:10000])
    d = await run_in_threadpool(state.screener.screen, item)
    if d.action in ("block", "review"):
        return PlainTextResponse("This listing was refused.", status_code=422)
    return PlainTextResponse("Listing accepted (the demo stores nothing).", status_code=201)
