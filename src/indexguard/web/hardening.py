"""Request-level protections: a body limit on every route enforced before any parsing, security
headers, and error answers that never echo the input and never turn a database outage into a 500.

Plain ASGI middleware (BaseHTTPMiddleware would buffer and cost more than the screening itself).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from indexguard.web import logging as jlog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RETRY_AFTER = "5"  # seconds: the pool reconnects by itself (pre-ping) once the database is back
_UPLOADS = ("/v1/torrents", "/v1/nzbs", "/v1/images")
_MULTIPART_SLACK = 64 * 1024  # form boundaries and the id field around an upload


@dataclass(frozen=True)
class BodyLimits:
    """Bytes a request body may have, by route: screening batches and uploads get their own caps,
    the public report endpoint room for a thumbnail, everything else (forms, JSON) a small one."""

    batch: int
    lists: int
    upload: int
    report: int
    default: int

    def for_path(self, path: str) -> int:
        if path.startswith(_UPLOADS):
            return self.upload + _MULTIPART_SLACK
        if path == "/v1/batch":
            return self.batch
        if path == "/v1/lists" or path.startswith("/v1/lists/"):
            return self.lists
        if path == "/v1/reports":
            return self.report
        return self.default


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)


class BodyLimit:
    """413 before the app reads a byte more than the route's limit: a declared Content-Length is
    checked up front; a chunked body is buffered up to the limit and refused past it."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _too_large(limit)(scope, receive, send)
                return
            await self.app(scope, _counting(receive, declared), send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            size += len(msg.get("body", b""))
            if size > limit:
                await _too_large(limit)(scope, receive, send)
                return
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            try:
                return max(0, int(v))
            except ValueError:
                return 0
    return None


def _counting(receive: Receive, declared: int) -> Receive:
    """A client that sends more than it declared is cut off at the declared length."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        msg = await receive()
        if msg["type"] == "http.request":
            body = msg.get("body", b"")
            if seen + len(body) > declared:
                msg = {"type": "http.request", "body": body[: max(0, declared - seen)], "more_body": False}
            seen += len(msg.get("body", b""))
        return msg

    return wrapped


_HTML_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"same-origin"),
]
_NO_STORE_PREFIXES = ("/v1/cases", "/v1/lists", "/v1/admin", "/v1/session", "/v1/reports", "/console")


class SecurityHeaders:
    """`nosniff` everywhere; framing protection and a Referrer-Policy on HTML; `no-store` on case,
    list and account answers so no shared cache keeps them. Headers a route set itself stand."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(_NO_STORE_PREFIXES)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                add = [(b"x-content-type-options", b"nosniff")]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    add += _HTML_HEADERS
                if no_store:
                    add.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in add if k not in have]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming the field and the rule; the offending input is never sent back."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": [str(x)[:64] for x in e.get("loc", ())], "msg": str(e.get("msg", ""))[:300], "type": e.get("type")}
        for e in errors[:20]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot be reached is the service's trouble, not the caller's: 503, try again."""
    jlog.get("app").warning("database unavailable", extra={"error": type(exc).__name__})
    return JSONResponse(
        {"detail": "the database is unavailable; nothing was stored, retry shortly"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )


async def database_refused(request: Request, exc: Exception) -> JSONResponse:
    """Input the database refuses (a value it cannot store) is a 422; an outage is a 503."""
    if isinstance(exc, OperationalError | PoolTimeout) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return await database_unavailable(request, exc)
    if isinstance(exc, DataError):
        return JSONResponse({"detail": "a value in the request cannot be stored"}, status_code=422)
    raise exc


def unavailable_types() -> tuple[type[Exception], ...]:
    return (OperationalError, PoolTimeout, DBAPIError)
