"""The in-process query check both web middlewares share: which parameters to screen, and the
deterrence page served instead of results. Nothing of the query is ever echoed back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from jinja2 import Environment

from indexguard.integrations.report_link import report_link
from indexguard.screen.decision import Decision
from indexguard.screen.screener import Screener

log = logging.getLogger(__name__)

DEFAULT_PARAMS = ("q", "query", "search", "s", "keywords", "term")
MAX_FIELDS = 200
MARKER = "indexguard-deterrence"

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
<ul>{% for link in links %}<li><a href="{{ link.url }}" rel="noopener">{{ link.name }}</a></li>{% endfor %}</ul>
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

    def check(self, path: str, query_string: str, accept_language: str = "") -> Blocked | None:
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
            locale = _locale(accept_language)
            d = screener.query(value, id=f"q-{uuid.uuid4().hex}", locale=locale)
            if d.action == "block":
                self._record(path, name, d)
                return self._answer(d, locale)
        return None

    def _answer(self, d: Decision, locale: str) -> Blocked:
        headers = [("cache-control", "no-store"), ("x-robots-tag", "noindex")]
        if self.config.mode == "redirect":
            return Blocked(303, [*headers, ("location", self.config.redirect_to)], b"")
        return Blocked(self.config.status_code, [*headers, ("content-type", "text/html; charset=utf-8")],
                       self.page(d, locale).encode())

    def page(self, d: Decision | None = None, locale: str = "default") -> str:
        payload = (d.extra.get("deterrence") if d else None) or self.screener().policy.deterrence.payload(locale)
        report = report_link(self.config.report_url) if self.config.report_url else None
        return _PAGE.render(lang=locale.split("-")[0] if locale != "default" else "en", title=self.config.title,
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


def _locale(accept_language: str) -> str:
    first = accept_language.split(",")[0].split(";")[0].strip()
    return first if first and first != "*" and len(first) <= 35 else "default"
