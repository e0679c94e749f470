"""List management: import versions, list, diff, activate, roll back, shadow, reveal (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import DataError, InternalError
from sqlalchemy.orm import Session

from indexguard.lists.packed_bank import PackedBank
from indexguard.store import audit, lists_repo
from indexguard.store.accounts import Principal
from indexguard.store.list_kinds import parse_list
from indexguard.web.auth import require, require_admin_user
from indexguard.web.deps import services
from indexguard.web.logging import get as get_logger

router = APIRouter(prefix="/v1/lists", tags=["lists"])
log = get_logger("lists")
# PostgreSQL reports a message over 1 GB only as an internal error: below this many characters of list
# text such an error is something else and is raised as it is. (SQLite's DataError is its size limit.)
_ROW_LIMIT_SUSPECT = 256 << 20
Lists = Annotated[Principal, Depends(require("lists"))]
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="List name")]
Ref = Annotated[str, Path(min_length=1, max_length=64, description="Version number or version hash (prefix)")]
_FMT_BY_TYPE = {"text/csv": "csv", "text/plain": "txt"}
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "description": "The list file: one term a line (txt) or CSV with a header (see DESIGN.md).",
    }
}


def _audit(request: Request, p: Principal, action: str, target: str, detail: dict[str, Any]) -> None:
    """An audit row in a transaction of its own: for reads that must be recorded (a reveal)."""
    audit.append(services(request).sessions, p.name, action, target, detail)


def _audit_in(s: Session, p: Principal, action: str, target: str, detail: dict[str, Any]) -> None:
    """A change's audit row, in the change's transaction: both commit or neither."""
    audit.append_in(s, p.name, action, target, detail)


@router.post("", status_code=201, openapi_extra=_IMPORT_BODY, summary="Import a new version of a list")
async def import_list(
    request: Request,
    p: Lists,
    name: Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")],
    kind: Annotated[str, Query(pattern="^(term|allow|hash|url)$")] = "term",
    fmt: Annotated[str | None, Query(alias="format", pattern="^(txt|csv)$")] = None,
    activate: bool = False,
) -> dict[str, Any]:
    svc = services(request)
    body = await request.body()
    if len(body) > svc.settings.max_body_bytes:
        raise HTTPException(413, f"list larger than {svc.settings.max_body_bytes} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HTTPException(422, f"the list is not UTF-8 (byte {e.start})") from None
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = fmt or _FMT_BY_TYPE.get(ctype) or "txt"
    return await run_in_threadpool(_import, request, p, name, kind, fmt, text, activate)


def _import(
    request: Request, p: Principal, name: str, kind: str, fmt: str, text: str, activate: bool
) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s:
        lists_repo.check_kind(s, name, kind)  # before parsing: the clearer error
    parsed = parse_list(kind, name, text, fmt)
    if activate and isinstance(parsed.obj, PackedBank) and svc.live.snapshots is not None:
        # Written before the version goes live, so every worker finds it mapped and ready.
        try:
            svc.live.snapshots.save(parsed.obj)
        except OSError:  # the workers build it themselves (slower), nothing is lost
            log.exception("could not write the snapshot of list %s", name)
    try:
        with svc.sessions() as s, s.begin():
            info, created = lists_repo.import_version(s, svc.cipher, name, kind, fmt, text, p.name, parsed)
            _audit_in(s, p, "list.import", name, {"number": info.number, "version": info.version, "kind": kind})
            if activate:
                info = lists_repo.activate(s, name, str(info.number))
                _audit_in(s, p, "list.activate", name, {"number": info.number, "version": info.version})
    except (DataError, InternalError) as e:
        # A version is one row: SQLite refuses rows over 1 GB, PostgreSQL messages over 1 GB (a 10M-entry
        # PDQ list in CSV reaches both).
        if isinstance(e, InternalError) and len(text) < _ROW_LIMIT_SUSPECT:
            raise
        log.warning("list %s: the database refused the version as too large (%d characters)", name, len(text))
        raise HTTPException(
            413, f"the database cannot store this list as one version ({type(e.orig).__name__}): "
            "split it into several lists"
        ) from None
    return {**info.to_json(), "created": created}


@router.get("", summary="All lists with their live and shadow versions")
def all_lists(request: Request, _p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s:
        return {"lists": lists_repo.summaries(s)}


@router.get("/{name}/versions", summary="Every stored version of a list")
def versions(name: Name, request: Request, _p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s:
        return {"name": name, "versions": [v.to_json() for v in lists_repo.versions(s, name)]}


@router.get("/{name}/versions/{ref}", summary="One version: entry ids and categories, never text")
def version(name: Name, ref: Ref, request: Request, _p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s:
        row = lists_repo.resolve(s, name, ref)
        info = next(v for v in lists_repo.versions(s, name) if v.number == row.number)
        return {**info.to_json(), "entry_list": lists_repo.entries_public(row)}


@router.get("/{name}/diff", summary="Entry ids added, removed and changed between two versions")
def diff(
    name: Name,
    request: Request,
    _p: Lists,
    from_: Annotated[str, Query(alias="from", min_length=1, max_length=64)],
    to: Annotated[str, Query(min_length=1, max_length=64)],
) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s:
        return lists_repo.diff(lists_repo.resolve(s, name, from_), lists_repo.resolve(s, name, to), svc.cipher)


@router.post("/{name}/versions/{ref}/activate", summary="Make a version live (all workers within seconds)")
def activate(name: Name, ref: Ref, request: Request, p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s, s.begin():
        info = lists_repo.activate(s, name, ref)
        _audit_in(s, p, "list.activate", name, {"number": info.number, "version": info.version})
    return info.to_json()


@router.post("/{name}/rollback", summary="Make the previously live version live again")
def rollback(name: Name, request: Request, p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s, s.begin():
        info = lists_repo.rollback(s, name)
        _audit_in(s, p, "list.rollback", name, {"number": info.number, "version": info.version})
    return info.to_json()


@router.post("/{name}/deactivate", summary="Take a list out of the live set")
def deactivate(name: Name, request: Request, p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s, s.begin():
        lists_repo.deactivate(s, name)
        _audit_in(s, p, "list.deactivate", name, {})
    return {"name": name, "live": None}


@router.post("/{name}/versions/{ref}/shadow", summary="Run a candidate version in shadow beside the live one")
def shadow_start(name: Name, ref: Ref, request: Request, p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s, s.begin():
        info = lists_repo.set_shadow(s, name, ref)
        assert info is not None
        _audit_in(s, p, "list.shadow.start", name, {"number": info.number, "version": info.version})
    return info.to_json()


@router.get("/{name}/shadow", summary="What the shadow candidate would have changed")
def shadow_report(name: Name, request: Request, _p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s:
        return lists_repo.shadow_report(s, name)


@router.delete("/{name}/shadow", summary="Stop the shadow run")
def shadow_stop(name: Name, request: Request, p: Lists) -> dict[str, Any]:
    with services(request).sessions() as s, s.begin():
        report = lists_repo.shadow_report(s, name)
        lists_repo.set_shadow(s, name, None)
        _audit_in(s, p, "list.shadow.stop", name, {"compared": report["compared"], "changed": report["changed"]})
    return report


@router.post("/{name}/versions/{ref}/reveal", summary="Reveal entry text (admin users only; audited)")
def reveal(
    name: Name,
    ref: Ref,
    request: Request,
    p: Annotated[Principal, Depends(require_admin_user)],
    reason: Annotated[str, Query(min_length=3, max_length=500, description="Why the text is needed")],
) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s:
        row = lists_repo.resolve(s, name, ref)
    # The audit row is written before the text leaves: no reveal without its record.
    _audit(request, p, "list.reveal", name, {"number": row.number, "version": row.version, "reason": reason})
    return {"name": name, "number": row.number, "version": row.version, "entries": lists_repo.reveal(svc.cipher, row)}
