"""WSGI middleware (Flask, Django, any WSGI app): the same in-process search check as the ASGI one.

    Flask:  app.wsgi_app = WsgiQueryGuard(app.wsgi_app, screener, GuardConfig(paths=("/search",)))
    Django: application = WsgiQueryGuard(get_wsgi_application(), screener)   # in wsgi.py
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from indexguard.integrations.guard import GuardConfig, QueryGuard, ScreenerSource

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 403: "Forbidden", 451: "Unavailable For Legal Reasons"}


class WsgiQueryGuard:
    def __init__(self, app: WSGIApplication, screener: ScreenerSource, config: GuardConfig | None = None) -> None:
        self.app = app
        self.guard = QueryGuard(screener, config)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        blocked = self.guard.check(
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            self.guard.session_of(headers),
        )
        if blocked is None:
            return self.app(environ, start_response)
        status = f"{blocked.status} {_REASONS.get(blocked.status, 'Blocked')}"
        start_response(status, [*blocked.headers, ("content-length", str(len(blocked.body)))])
        return [blocked.body]
