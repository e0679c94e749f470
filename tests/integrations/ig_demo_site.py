"""A small demo site built the way a real one would use indexguard: the ASGI middleware on the
search page, uploads screened with the Screener, a report page and report links in templates.
`guarded=False` gives the same site without any of it (a site that blocks nothing)."""

from __future__ import annotations

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from indexguard.integrations.asgi_middleware import QueryGuardMiddleware
from indexguard.integrations.guard import GuardConfig, GuardEvent
from indexguard.integrations.report_link import install_report_link
from indexguard.screen.item import Item
from indexguard.screen.screener import Screener

SEARCH = """<!doctype html><title>Search</title><h1>Results for {{ q }}</h1><ul>
{% for l in results %}<li>{{ l.title }} {{ report_abuse_link(l.id) }}</li>{% endfor %}</ul>"""
REPORT = """<!doctype html><title>Report abuse</title><h1>Report abuse</h1>
<form method="post" action="/report"><input name="item" value="{{ item }}"><textarea name="details"></textarea>
<button>Send report</button></form>"""


class DemoSite:
    def __init__(self, screener: Screener, guarded: bool = True) -> None:
        self.screener = screener
        self.guarded = guarded
        self.listings: list[Item] = []
        self.events: list[GuardEvent] = []
        self.env = Environment(autoescape=True)
        install_report_link(self.env, "/report")

    def app(self) -> Starlette:
        middleware = []
        if self.guarded:
            cfg = GuardConfig(paths=("/search",), report_url="/report", on_block=self.events.append)
            middleware.append(Middleware(QueryGuardMiddleware, screener=self.screener, config=cfg))
        return Starlette(routes=[
            Route("/search", self.search),
            Route("/upload", self.upload, methods=["POST"]),
            Route("/report", self.report, methods=["GET", "POST"]),
        ], middleware=middleware)

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        hits = [li for li in self.listings if q.lower() in (li.title or "").lower()]
        return HTMLResponse(self.env.from_string(SEARCH).render(q=q, results=hits))

    async def upload(self, request: Request) -> Response:
        form = await request.form()
        item = Item(id=f"l{len(self.listings) + 1}", title=str(form.get("title", "")),
                    description=str(form.get("description", "")))
        if self.guarded:
            d = self.screener.screen(item)
            if d.action in ("block", "review"):
                return PlainTextResponse("This listing was refused.", status_code=422)
        self.listings.append(item)
        return PlainTextResponse(f"created {item.id}", status_code=201)

    async def report(self, request: Request) -> Response:
        if request.method == "POST":
            return PlainTextResponse("Thank you, the report was received.", status_code=202)
        return HTMLResponse(self.env.from_string(REPORT).render(item=request.query_params.get("item", "")))
