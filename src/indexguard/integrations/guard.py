"""The in-process query check both web middlewares share: which parameters to screen, and the
deterrence page served instead of results. Nothing of the query is ever echoed back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal
from urllib.parse import parse_qsl

from jinja2 import Environment

from indexguard.deterrence.counter import DeterrenceCounter, SessionTag
from indexguard.integrations.report_link import report_link
from indexguard.screen.decision import Decision
from indexguard.screen.deterrence import PAGE_MARKER, Shown
from indexguard.screen.screener import Screener

log = logging.getLogger(__name__)

DEFAULT_PARAMS = ("q", "query", "search", "s", "keywords", "term")
MAX_FIELDS = 200
MARKER = PAGE_MARKER

_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="robots" content="noindex, nofollow"><meta name="{{ marker }}" content="1">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
main{border-left:4px solid #b00;padding-left:1rem}</style></head>
<body><main data-indexguard="deterrence" role="alert">
<h1>{{ title }}</h1>
<p>{{ message }}</p>
<ul>{% for link in links %}<li><a href="{{ link.url }}" rel="noopener noreferrer">{{ link.name }}</a></li>
{% endfor %}</ul>
{% if report %}<p>{{ report }}</p>{% endif %}
</main></body></html>
""")

Mode = Literal["page", "redirect"]
ScreenerSource = Screener | Callable[[], Screener]


@dataclass(frozen=True, slots=True)
class GuardEvent:
    """A blocked search: the path, the parameter name and the decision (list entries, no text)."""

    path: str
    param: str
    decision: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class GuardConfig:
    params: tuple[str, ...] = DEFAULT_PARAMS  # query-string parameters holding search text
    paths: tuple[str, ...] = ()  # path prefixes to check; empty: every path
    mode: Mode = "page"  # serve the deterrence page, or redirect to `redirect_to`
    redirect_to: str = "/deterrence"
    status_code: int = 200
    title: str = "This search is blocked"
    report_url: str | None = None  # shown as a "Report abuse" link on the page
    on_block: Callable[[GuardEvent], None] | None = None
    # Counting without watching (docs/deterrence.md): the cookie or header holding the site's own
    # session reference, a counter that keeps only its daily keyed hash, and the service's address
    # for the counting help-link redirect ("": help links go straight to the services).
    session_cookie: str | None = None
    session_header: str | None = None
    counter: DeterrenceCounter | None = None
    help_base: str = ""


@dataclass(frozen=True, slots=True)
class Blocked:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class QueryGuard:
    def __init__(self, screener: ScreenerSource, config: GuardConfig | None = None) -> None:
        self._screener = screener
        self.config = config or GuardConfig()
        self._params = frozenset(p.lower() for p in self.config.params)

    def screener(self) -> Screener:
        return self._screener if isinstance(self._screener, Screener) else self._screener()

    def session_of(self, headers: Mapping[str, str]) -> str | None:
        """The site's session reference from the configured header or cookie (lower-case header names)."""
        if self.config.session_header and (v := headers.get(self.config.session_header.lower())):
            return v
        if self.config.session_cookie and (raw := headers.get("cookie")):
            jar = SimpleCookie()
            try:
                jar.load(raw)
            except CookieError:
                return None
            morsel = jar.get(self.config.session_cookie)
            return morsel.value if morsel is not None else None
        return None

    def check(
        self, path: str, query_string: str, accept_language: str = "", session: str | None = None
    ) -> Blocked | None:
        """None when the request may proceed; otherwise what to answer instead."""
        if self.config.paths and not any(path.startswith(p) for p in self.config.paths):
            return None
        try:
            fields = parse_qsl(query_string, keep_blank_values=False, max_num_fields=MAX_FIELDS)
        except ValueError:
            return Blocked(400, [("content-type", "text/plain; charset=utf-8")], b"Too many query parameters.\n")
        screener = None
        for name, value in fields:
            if name.lower() not in self._params or not value.strip():
                continue
            screener = screener or self.screener()
            d = screener.query(value, id=f"q-{uuid.uuid4().hex}")
            if d.action == "block":
                self._record(path, name, d)
                return self._answer(d, accept_language, session)
            self._count(session, None, d)
        return None

    def _count(self, session: str | None, shown: Shown | None, d: Decision) -> SessionTag | None:
        counter = self.config.counter
        if counter is None:
            return None
        tag = counter.tag(session)
        try:
            counter.searched(tag, shown, tuple(r.category for r in d.reasons))
        except Exception:  # counting must never let a search through or break the page
            log.exception("indexguard: counting a search failed")
        return tag

    def _answer(self, d: Decision, accept_language: str, session: str | None) -> Blocked:
        headers = [("cache-control", "no-store"), ("x-robots-tag", "noindex"), ("referrer-policy", "no-referrer")]
        det = self.screener().policy.deterrence
        counter = self.config.counter
        tag = counter.tag(session) if counter is not None else None
        shown = det.choose(det.locale_for(accept_language), tag.bucket if tag else None)
        self._count(session, shown, d)
        if self.config.mode == "redirect":
            return Blocked(303, [*headers, ("location", self.config.redirect_to)], b"")
        return Blocked(self.config.status_code, [*headers, ("content-type", "text/html; charset=utf-8")],
                       self.render(shown, tag).encode())

    def page(self, d: Decision | None = None, locale: str = "default") -> str:
        """The deterrence page in the best language for `locale` (an Accept-Language value)."""
        det = self.screener().policy.deterrence
        return self.render(det.choose(det.locale_for(None if locale == "default" else locale)), None)

    def render(self, shown: Shown, tag: SessionTag | None) -> str:
        payload = shown.payload()
        counter = self.config.counter
        if counter is not None and self.config.help_base:
            base = self.config.help_base.rstrip("/")
            for i, link in enumerate(payload["links"]):
                link["url"] = f"{base}/go/help?t={counter.link_token(tag, shown, i)}"
        report = report_link(self.config.report_url) if self.config.report_url else None
        return _PAGE.render(lang=shown.locale.split("-")[0], title=payload["title"] or self.config.title,
                            marker=MARKER, message=payload["message"], links=payload["links"], report=report)

    def _record(self, path: str, param: str, d: Decision) -> None:
        payload = d.to_json()
        payload.pop("deterrence", None)
        for r in payload.get("reasons", []):
            r.pop("detail", None)
        event = GuardEvent(path, param, payload)
        if self.config.on_block is None:
            entries = ", ".join(f"{r['list']}:{r['entry']}" for r in payload["reasons"])
            log.info("indexguard: blocked search on %s (param=%s, entries=%s)", path, param, entries)
            return
        try:
            self.config.on_block(event)
        except Exception:  # a failing recorder must not let the search through or break the page
            log.exception("indexguard: on_block callback failed")
