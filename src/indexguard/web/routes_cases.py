"""The cases API: the queue, one case, actions (single and bulk), image reveal, trusted flaggers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from indexguard.cases import actions
from indexguard.cases import meta as case_meta
from indexguard.cases import service as cases
from indexguard.cases.actions import ActionResult
from indexguard.cases.webhooks import notifier
from indexguard.hotline.escalation import escalator
from indexguard.store import audit, cases_repo
from indexguard.store.accounts import Principal
from indexguard.web.auth import require
from indexguard.web.deps import Services, services
from indexguard.web.screening import text_screen

router = APIRouter(tags=["cases"])
CasesP = Annotated[Principal, Depends(require("cases"))]
Admin = Annotated[Principal, Depends(require("admin"))]
MAX_BULK = 200
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
MediaId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class ActionIn(BaseModel):
    action: str = Field(description="remove | dismiss | ban_identities | ban_uploader | escalate | hold | hide")
    note: str = Field(default="", max_length=512, description="Reason (required for hold)")


class BulkIn(ActionIn):
    ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(min_length=1, max_length=MAX_BULK)


class RevealIn(BaseModel):
    reason: str = Field(min_length=1, max_length=512)


def live_screen(svc: Services) -> case_meta.TextScreen:
    """Screens text against the lists live now; with none loaded, everything is withheld."""
    state = svc.live.state
    if state is None:
        return lambda _text: None
    return text_screen(state)


def shown(svc: Services, case: dict[str, Any]) -> dict[str, Any]:
    """A case_json payload with its metadata masked again against the live lists."""
    case["meta"] = case_meta.remask(case_meta.CaseMeta.from_json(case.get("meta")), live_screen(svc)).to_json()
    return case


def run_actions(svc: Services, ids: list[int], action: str, actor: str, note: str) -> list[ActionResult]:
    """The cases service's actions with this service's webhooks and hotline queue."""
    escalate = escalator(svc.sessions, svc.cipher, svc.settings) if action == "escalate" else None
    return actions.run(svc.sessions, ids, action, actor, note, notify=notifier(svc.settings), escalate=escalate)


def status_of(error: Exception | None) -> int:
    """The HTTP status an action's error calls for, by its type."""
    if error is None:
        return 200
    return 404 if isinstance(error, cases.CaseNotFound) else 422


@router.get("/v1/cases", summary="The review queue, highest priority first")
def list_cases(
    request: Request, _p: CasesP, status: str | None = "open", source: str | None = None,
    category: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:  # fmt: skip
    f = cases_repo.QueueFilter(status or None, source or None, category or None, None, limit)
    svc = services(request)
    with svc.sessions() as s:
        rows = cases_repo.queue(s, f)
        return {"cases": [shown(svc, cases_repo.case_json(cases_repo.CaseDetail(c, None))) for c in rows]}


@router.get("/v1/cases/{case_id}", summary="One case: metadata (masked), signals, history, reveals")
def get_case(case_id: CaseId, request: Request, _p: CasesP) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s:
        d = cases_repo.get_case(s, case_id)
        if d is None:
            raise HTTPException(404, "no such case")
        return shown(svc, cases_repo.case_json(d))


@router.post("/v1/cases/{case_id}/actions", summary="Act on one case")
async def act(case_id: CaseId, body: ActionIn, request: Request, p: CasesP) -> dict[str, Any]:
    (res,) = await run_in_threadpool(run_actions, services(request), [case_id], body.action, p.name, body.note)
    if res.error is not None:
        raise HTTPException(status_of(res.error), str(res.error))
    return res.to_json()


@router.post("/v1/cases/bulk", summary="The same action on many cases")
async def bulk(body: BulkIn, request: Request, p: CasesP) -> dict[str, Any]:
    res = await run_in_threadpool(run_actions, services(request), body.ids, body.action, p.name, body.note)
    return {"results": [r.to_json() | ({"status": status_of(r.error)} if r.error else {}) for r in res]}


def do_reveal(svc: Services, case_id: int, media_id: int, p: Principal, reason: str) -> bytes | None:
    with svc.sessions() as s, s.begin():
        shown, fx = cases.reveal(s, svc.cipher, case_id, media_id, p.name, p.role if p.kind == "user" else None, reason)
        cases.audit_in(s, fx)
    cases.emit(svc.sessions, fx)
    return shown.png if shown is not None else None


@router.post(
    "/v1/cases/{case_id}/media/{media_id}/reveal",
    summary="Reveal one image (child-safety lead only, with a reason; logged either way)",
    response_class=Response,
)
async def reveal(case_id: CaseId, media_id: MediaId, body: RevealIn, request: Request, p: CasesP) -> Response:
    try:
        png = await run_in_threadpool(do_reveal, services(request), case_id, media_id, p, body.reason)
    except cases.CaseError as e:
        raise HTTPException(status_of(e), str(e)) from None
    if png is None:
        raise HTTPException(403, "revealing images requires a signed-in child-safety lead; the refusal is logged")
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.put("/v1/admin/trusted-flaggers/{prefix}", tags=["admin"], summary="Mark an API key as a trusted flagger")
def trust(prefix: str, request: Request, p: Admin, name: str = "") -> dict[str, Any]:
    return _set_trust(request, p, prefix[:16], name or prefix, True)


@router.delete("/v1/admin/trusted-flaggers/{prefix}", tags=["admin"], summary="Withdraw trusted-flagger status")
def distrust(prefix: str, request: Request, p: Admin) -> dict[str, Any]:
    return _set_trust(request, p, prefix[:16], prefix, False)


def _set_trust(request: Request, p: Principal, prefix: str, name: str, trusted: bool) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s, s.begin():
        cases_repo.set_trusted(s, prefix, name, p.name, trusted)
        audit.append_in(s, p.name, "flagger.trust" if trusted else "flagger.untrust", prefix, {})
    return {"prefix": prefix, "trusted": trusted}
