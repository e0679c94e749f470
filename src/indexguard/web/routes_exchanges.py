"""Exchange sources in the service: status as JSON and in the console, a fetch on demand, the scheduler."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from indexguard.exchanges import schedule, sources
from indexguard.store.accounts import Principal
from indexguard.web.auth import require
from indexguard.web.deps import Services, services
from indexguard.web.logging import get as get_logger
from indexguard.web.routes_console import _render, _user

router = APIRouter(tags=["exchanges"])
log = get_logger("exchanges")
Lists = Annotated[Principal, Depends(require("lists"))]
SourceName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def make_scheduler(svc: Services) -> schedule.ExchangeScheduler | None:
    """The scheduled fetch when sources are configured (status only when the interval is 0)."""
    configs = sources.configured(svc.settings)
    if not configs:
        return None
    try:
        sources.library()
    except sources.ExtraMissing as e:  # say it once at start; every scheduled fetch would fail the same way
        log.warning("exchange sources configured but not fetchable: %s", e)
    return schedule.ExchangeScheduler(
        svc.sessions,
        svc.cipher,
        configs,
        sources.credentials(svc.settings),
        svc.settings.exchange_fetch_minutes,
        on_status=svc.metrics.set_exchanges,
    )


def _statuses(svc: Services) -> list[dict[str, Any]]:
    configs = sources.configured(svc.settings)
    return [
        {**st.to_json(), "interval_minutes": svc.settings.exchange_fetch_minutes}
        for st in schedule.status(svc.sessions, configs)
    ]


@router.get("/v1/exchanges", summary="Exchange sources: records, last fetch, errors, the bank version made")
def exchanges_status(request: Request, _p: Lists) -> dict[str, Any]:
    return {"sources": _statuses(services(request))}


@router.post("/v1/exchanges/{source}/fetch", summary="Fetch one source now (incremental) and report the outcome")
async def fetch_now(source: SourceName, request: Request, _p: Lists) -> dict[str, Any]:
    svc = services(request)
    cfg = next((c for c in sources.configured(svc.settings) if c.name == source), None)
    if cfg is None:
        raise HTTPException(404, f"no exchange source named {source!r}")
    try:
        sources.library()
    except sources.ExtraMissing as e:
        raise HTTPException(501, str(e)) from None
    creds = sources.credentials(svc.settings)
    out = await run_in_threadpool(schedule.run_source, svc.sessions, svc.cipher, cfg, creds, schedule.owner_name("api"))
    if out.busy:
        raise HTTPException(409, out.error or "busy")
    return out.to_json()


@router.get("/console/exchanges", response_class=HTMLResponse, include_in_schema=False)
async def console_exchanges(request: Request) -> HTMLResponse:
    p = await _user(request)
    rows = await run_in_threadpool(_statuses, services(request))
    return _render(request, "exchanges.html", p, {"sources": rows})
