"""The FastAPI application factory.

`create_app(settings)` for tests and embedding; `app_from_env()` is the uvicorn factory the
`serve` command starts in each worker (settings from INDEXGUARD_* and INDEXGUARD_CONFIG).
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

from indexguard import logs as jlog
from indexguard.cases.webhooks import notifier
from indexguard.crypto import Cipher, KeyUnavailable, resolve_key
from indexguard.demo.first_start import start_service
from indexguard.errors import IndexguardError, ListFormatError
from indexguard.hotline.directory import load_directory
from indexguard.settings import Settings, SettingsError, load, policy
from indexguard.store import accounts, audit, db, lists_repo, migrate
from indexguard.store.gate import Lease, WriteGate
from indexguard.store.list_kinds import ListKindUnavailable
from indexguard.store.list_snapshots import Snapshots, default_dir
from indexguard.web import (
    hma_compat,
    routes_auth,
    routes_cases,
    routes_console,
    routes_dashboard,
    routes_demo,
    routes_deterrence,
    routes_exchanges,
    routes_lists,
    routes_lookup,
    routes_ops,
    routes_reports,
    routes_screen,
    routes_transparency,
)
from indexguard.web.auth import KeyCache
from indexguard.web.deps import Services
from indexguard.web.hardening import (
    BodyLimit,
    BodyLimits,
    SecurityHeaders,
    database_refused,
    database_unavailable,
    validation_error,
)
from indexguard.web.listing_writer import ListingWriter, WriteFailed
from indexguard.web.live import LiveLists
from indexguard.web.metrics import Metrics
from indexguard.web.pool import ScreenPool
from indexguard.web.recorder import Recorder

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
_STATUS: list[tuple[type[Exception], int]] = [
    (ListFormatError, 422),
    (lists_repo.ListNotFound, 404),
    (lists_repo.ListStateError, 409),
    (accounts.AccountError, 422),
    (ListKindUnavailable, 501),
    (KeyUnavailable, 500),
    (SettingsError, 409),  # the service is not configured for what was asked (e.g. no NCMEC reporter identity)
    (WriteFailed, 503),
]


def build_services(settings: Settings) -> Services:
    engine = db.open_engine(settings.database_url, create=True)  # unreachable: one line naming the URL
    key = resolve_key(settings.key_file, db.sqlite_path(settings.database_url), create=settings.bootstrap)
    cipher = Cipher(key.key)
    if settings.auto_migrate:
        migrate.upgrade(engine, cipher=cipher)  # the key converts stored values where a migration must
    factory = db.session_factory(engine)
    audit.bind(factory, audit.chain_for(settings, cipher, key.origin))
    metrics = Metrics()
    live = LiveLists(factory, cipher, metrics, policy(settings), settings.poll_seconds, _snapshots(settings))
    keys = KeyCache(factory, settings.key_cache_seconds)
    hotlines = load_directory(settings.hotlines_file)  # a bad file stops start-up with its error
    recorder = Recorder(factory, settings=settings, deny=live.deny)
    pool = ScreenPool(settings.screen_threads, settings.screen_queue)
    listings = ListingWriter(
        factory, live.deny, lambda: notifier(settings), gate=WriteGate.for_engine(engine), lease=Lease(engine, "drain")
    )
    return Services(settings, engine, factory, cipher, live, metrics, keys, recorder, hotlines, pool, listings)


def _snapshots(settings: Settings) -> Snapshots | None:
    if settings.snapshot_dir == "off":
        return None
    return Snapshots(Path(settings.snapshot_dir) if settings.snapshot_dir else default_dir(settings.database_url))


def create_app(settings: Settings, svc: Services | None = None) -> FastAPI:
    svc = svc or build_services(settings)
    log = jlog.get("app")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.bootstrap:
            boot = start_service(svc.sessions, svc.cipher, settings)
            if boot.admin_password:
                print(
                    f"indexguard: created user 'admin' with one-time password: {boot.admin_password}", file=sys.stderr
                )
        svc.live.start()
        svc.recorder.start()
        if svc.listings is not None:
            svc.listings.start()
        exchanges = routes_exchanges.make_scheduler(svc)
        _app.state.exchanges = exchanges
        if exchanges is not None:
            exchanges.start()
        svc.deterrence.start()
        log.info("started", extra={"generation": svc.live.state.generation if svc.live.state else None})
        try:
            yield
        finally:
            svc.live.stop()
            svc.recorder.stop()
            if svc.listings is not None:
                svc.listings.stop()
            if exchanges is not None:
                exchanges.stop()
            svc.pool.close()
            svc.deterrence.stop()
            svc.engine.dispose()
            log.info("stopped")

    app = FastAPI(
        title="indexguard",
        version="0.1.0",
        summary="Keep child sexual abuse material links off search indexes and link-sharing sites.",
        lifespan=lifespan,
    )
    app.state.services = svc
    for router in (routes_screen.router, routes_lists.router, routes_auth.router, routes_ops.router):
        app.include_router(router)
    for router in (routes_reports.router, routes_cases.router, routes_dashboard.router, routes_console.router):
        app.include_router(router)
    app.include_router(routes_transparency.router)
    if settings.demo_routes:  # they let a caller test words against the live lists
        app.include_router(routes_demo.router)
    app.include_router(routes_exchanges.router)
    app.include_router(routes_lookup.router)
    if settings.hma_prefix:
        app.mount(settings.hma_prefix, hma_compat.make_app(svc))
    app.include_router(routes_deterrence.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    app.add_exception_handler(IndexguardError, _indexguard_error)
    _harden(app, settings)
    if settings.access_log:
        app.add_middleware(AccessLog)
    return app


def _harden(app: FastAPI, settings: Settings) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(SQLTimeoutError, database_unavailable)
    app.add_exception_handler(DBAPIError, database_refused)
    app.add_middleware(SecurityHeaders)
    limits = BodyLimits(
        batch=settings.max_batch_bytes,
        lists=settings.max_body_bytes,
        upload=settings.max_upload_bytes,
        report=settings.max_report_bytes,
        default=settings.max_form_bytes,
    )
    app.add_middleware(BodyLimit, limits=limits)


async def _indexguard_error(_request: Request, exc: Exception) -> JSONResponse:
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
    return JSONResponse({"detail": str(exc)}, status_code=status)


class AccessLog:
    """One JSON line per request: method, path (no query string), status, milliseconds. Plain ASGI,
    because BaseHTTPMiddleware costs more than the screening itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = jlog.get("access")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"][:200],
                    "status": status[0],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def app_from_env() -> FastAPI:
    settings = load()
    jlog.setup(settings.log_level)
    return create_app(settings)
