"""CSRF: session-bound tokens for signed-in requests, a double-submit cookie for the login form."""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

from indexguard.store.accounts import Principal

HEADER = "x-csrf-token"
FORM_FIELD = "csrf_token"
LOGIN_COOKIE = "ig_login_csrf"


def check_session_csrf(request: Request, p: Principal, form_value: str | None = None) -> None:
    sent = request.headers.get(HEADER) or form_value
    if not sent or p.csrf_token is None or not hmac.compare_digest(sent, p.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token (send the session's token in X-CSRF-Token)")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def check_double_submit(request: Request, form_value: str | None) -> None:
    cookie = request.cookies.get(LOGIN_COOKIE)
    if not cookie or not form_value or not hmac.compare_digest(cookie, form_value):
        raise HTTPException(403, "missing or wrong CSRF token on the form; reload the page")
