"""Operations: liveness, readiness, Prometheus metrics, and the deterrence page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from indexguard.web import deterrence_view
from indexguard.web.deps import services

router = APIRouter(tags=["operations"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="Database reachable and a screener loaded", responses={503: {"description": "Not ready"}}
)
def readyz(request: Request) -> JSONResponse:
    svc = services(request)
    checks: dict[str, Any] = {}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = type(e).__name__
    state = svc.live.state
    checks["screener"] = "ok" if state is not None else "not loaded"
    if state is not None:
        checks["generation"] = state.generation
        checks["lists"] = svc.live.published(state.versions)
    if svc.live.last_error:
        checks["last_refresh_error"] = svc.live.last_error
    ready = checks["database"] == "ok" and state is not None
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(services(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/blocked", response_class=HTMLResponse, summary="The deterrence page; echoes nothing of the query")
def blocked(
    request: Request,
    lang: Annotated[str | None, Query(max_length=35)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
) -> HTMLResponse:
    """In the visitor's language (Accept-Language or `lang`), help links for `country` first. No session
    is known here, so clicks are counted but not sessions."""
    shown = deterrence_view.shown_for(request, None, lang, country)
    payload = deterrence_view.payload(request, shown, None)
    resp = templates.TemplateResponse(request, "blocked.html", payload)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
