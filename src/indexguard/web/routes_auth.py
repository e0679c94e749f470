"""Sign-in (form, CSRF, rate-limited), sign-out, the current session, and admin account management."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from indexguard.store import accounts, audit
from indexguard.store.accounts import Principal
from indexguard.web import csrf
from indexguard.web.auth import SESSION_COOKIE, principal, require
from indexguard.web.deps import client_address, secure_request, services
from indexguard.web.ratelimit import LoginLimiter

router = APIRouter(tags=["auth"])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
Admin = Annotated[Principal, Depends(require("admin"))]
HOME = "/console"  # where signing in lands unless the form names a same-site `next`


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after sign-in would be a phishing aid.
    ok = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if ok else HOME


def _login_page(request: Request, error: str | None, next_: str, status: int = 200) -> HTMLResponse:
    token = csrf.new_token()
    resp = templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "error": error, "next": _safe_next(next_)}, status_code=status
    )
    resp.set_cookie(csrf.LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
    return resp


def _secure(request: Request) -> bool:
    return secure_request(request)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str = HOME) -> HTMLResponse:
    return _login_page(request, None, next)


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = HOME,
) -> Response:
    csrf.check_double_submit(request, csrf_token)
    svc = services(request)
    limiter = LoginLimiter(
        svc.sessions, svc.cipher, svc.settings.login_max_failures, timedelta(seconds=svc.settings.login_window_seconds)
    )
    subjects = limiter.subjects(client_address(request), username)
    if await run_in_threadpool(limiter.blocked, subjects):
        resp = _login_page(request, "Too many failed sign-ins. Wait a few minutes and try again.", next, 429)
        resp.headers["Retry-After"] = str(svc.settings.login_window_seconds)
        return resp
    signed = await run_in_threadpool(_sign_in, request, username, password)
    if signed is None:
        await run_in_threadpool(limiter.fail, subjects)
        return _login_page(request, "Wrong user name or password.", next, 401)
    token, must_change = signed
    target = "/password?next=" + quote(_safe_next(next)) if must_change else _safe_next(next)
    ok = RedirectResponse(target, status_code=303)
    ok.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=svc.settings.session_hours * 3600,
    )
    ok.delete_cookie(csrf.LOGIN_COOKIE)
    return ok


def _sign_in(request: Request, username: str, password: str) -> tuple[str, bool] | None:
    svc = services(request)
    if "\x00" in username or "\x00" in password:
        return None  # no account has such a name, and PostgreSQL could not even look it up
    with svc.sessions() as s, s.begin():
        user = accounts.authenticate(s, username, password)
        if user is None:
            return None
        token, _csrf = accounts.open_session(s, user, timedelta(hours=svc.settings.session_hours))
        audit.append_in(s, user.username, "session.login", user.username, {"role": user.role})
    return token, user.must_change_password


def _password_page(request: Request, p: Principal, error: str | None, next_: str, status: int = 200) -> HTMLResponse:
    ctx = {"csrf_token": p.csrf_token, "error": error, "next": _safe_next(next_), "must": p.must_change_password}
    resp = templates.TemplateResponse(request, "password.html", ctx, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _signed_in(request: Request) -> Principal:
    p = principal(request)
    if p is None or p.kind != "user":
        raise HTTPException(303, "sign in", {"Location": "/login?next=/password"})
    return p


@router.get("/password", response_class=HTMLResponse, include_in_schema=False)
def password_form(request: Request, next: str = HOME) -> HTMLResponse:
    return _password_page(request, _signed_in(request), None, next)


@router.post("/password", include_in_schema=False)
def change_password(
    request: Request,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str | None, Form(max_length=128)] = None,
    next: Annotated[str, Form(max_length=512)] = HOME,
) -> Response:
    """Change the signed-in user's password (the session's CSRF token in the form or X-CSRF-Token)."""
    p = _signed_in(request)
    csrf.check_session_csrf(request, p, csrf_token)
    svc = services(request)
    if "\x00" in current or "\x00" in new:
        return _password_page(request, p, "Passwords cannot contain NUL characters.", next, 422)
    try:
        with svc.sessions() as s, s.begin():
            accounts.change_password(s, p.name, current, new)
            audit.append_in(s, p.name, "user.password", p.name, {})
    except accounts.AccountError as e:
        return _password_page(request, p, str(e), next, 422)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf_token: Annotated[str | None, Form(max_length=128)] = None) -> Response:
    p = principal(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if p is None or p.kind != "user" or cookie is None:
        raise HTTPException(401, "not signed in")
    csrf.check_session_csrf(request, p, csrf_token)
    with services(request).sessions() as s, s.begin():
        accounts.close_session(s, cookie)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/v1/session", tags=["auth"], summary="Who is signed in, with the CSRF token for their requests")
def session_info(request: Request) -> dict[str, Any]:
    p = principal(request)
    if p is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return {
        "kind": p.kind, "name": p.name, "role": p.role, "scopes": sorted(p.scopes), "csrf_token": p.csrf_token,
        "must_change_password": p.must_change_password,
    }  # fmt: skip


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    scopes: list[str] = Field(min_length=1, max_length=5)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: str = Field(pattern="^(moderator|child_safety_lead|admin)$")


@router.post("/v1/admin/apikeys", status_code=201, tags=["admin"], summary="Create an API key (shown once)")
def create_key(body: KeyIn, request: Request, p: Admin) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s, s.begin():
        token = accounts.create_api_key(s, body.name, body.scopes, p.name)
        prefix = token.split("_")[1]
        audit.append_in(s, p.name, "apikey.create", prefix, {"name": body.name, "scopes": sorted(body.scopes)})
    return {"key": token, "prefix": prefix, "name": body.name, "scopes": sorted(set(body.scopes))}


@router.delete("/v1/admin/apikeys/{prefix}", tags=["admin"], summary="Revoke an API key")
def revoke_key(prefix: str, request: Request, p: Admin) -> dict[str, Any]:
    svc = services(request)
    with svc.sessions() as s, s.begin():
        found = accounts.revoke_api_key(s, prefix[:16])
        if found:
            audit.append_in(s, p.name, "apikey.revoke", prefix[:16], {})
    if not found:
        raise HTTPException(404, "no such key")
    return {"prefix": prefix, "revoked": True}


@router.post("/v1/admin/users", status_code=201, tags=["admin"], summary="Create a user (password shown once)")
def create_user(body: UserIn, request: Request, p: Admin) -> dict[str, Any]:
    svc = services(request)
    password = accounts.new_password()
    with svc.sessions() as s, s.begin():
        accounts.create_user(s, body.username, password, body.role, one_time=True)
        audit.append_in(s, p.name, "user.create", body.username, {"role": body.role})
    return {"username": body.username, "role": body.role, "password": password}


@router.get("/v1/admin/audit/verify", tags=["admin"], summary="Verify the audit log's hash chain")
def verify_audit(request: Request, _p: Admin) -> dict[str, Any]:
    return audit.verify(services(request).sessions).to_json()
