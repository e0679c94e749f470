"""ASGI middleware (Starlette, FastAPI, any ASGI app): screens search parameters in-process and
answers a blocked search with the deterrence page (or a redirect to it) instead of results.

    app.add_middleware(QueryGuardMiddleware, screener=screener, config=GuardConfig(paths=("/search",)))
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from indexguard.integrations.guard import GuardConfig, QueryGuard, ScreenerSource


class QueryGuardMiddleware:
    def __init__(self, app: ASGIApp, screener: ScreenerSource, config: GuardConfig | None = None) -> None:
        self.app = app
        self.guard = QueryGuard(screener, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        blocked = self.guard.check(
            scope.get("path", ""),
            scope.get("query_string", b"").decode("latin-1"),
            headers.get("accept-language", ""),
            self.guard.session_of(headers),
        )
        if blocked is None:
            await self.app(scope, receive, send)
            return
        await send({
            "type": "http.response.start",
            "status": blocked.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in blocked.headers]
            + [(b"content-length", str(len(blocked.body)).encode())],
        })
        await send({"type": "http.response.body", "body": blocked.body})
