"""Users (Argon2 passwords), server-side sessions, API keys and login-failure records."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from indexguard.errors import IndexguardError
from indexguard.store.models import ApiKey, LoginFailure, User, UserSession, utcnow

ROLES: tuple[str, ...] = ("moderator", "child_safety_lead", "admin")
SCOPES: tuple[str, ...] = ("screen", "lists", "cases", "admin", "report")
# "report": file reports only - what an outside organisation's trusted-flagger key needs. Such a key
# reads no case; reading and deciding cases is the "cases" scope, granted only on purpose.
# What a signed-in person may do, in API-key scope terms. Moderators work cases only; site back
# ends screen with keys; list management belongs to the child-safety lead and the admin.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "moderator": frozenset({"cases"}),
    "child_safety_lead": frozenset({"cases", "lists"}),
    "admin": frozenset(SCOPES),
}
KEY_PREFIX = "ig_"
_hasher = PasswordHasher()


class AccountError(IndexguardError):
    """A user, role or scope that cannot be accepted."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (scopes) or a signed-in user (role)."""

    kind: str  # "key" | "user"
    name: str
    scopes: frozenset[str]
    role: str | None = None
    csrf_token: str | None = None  # sessions only
    must_change_password: bool = False  # a one-time password: nothing but a password change until then


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(s: Session, username: str, password: str, role: str, one_time: bool = False) -> User:
    """A user; `one_time` passwords (first start, created by an admin or the CLI) must be changed at
    the first sign-in."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not username or len(username) > 64 or not username.isprintable():
        raise AccountError("username must be 1-64 printable characters")
    if len(password) < 12:
        raise AccountError("password must be at least 12 characters")
    if s.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role, must_change_password=one_time)
    s.add(user)
    s.flush()
    return user


def user_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(User)) or 0)


def authenticate(s: Session, username: str, password: str) -> User | None:
    user = s.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    if user is None:
        _hasher.hash(password)  # same work either way, so timing does not reveal which names exist
        return None
    return user if check_password(user.password_hash, password) else None


def change_password(s: Session, username: str, current: str | None, new: str) -> User:
    """Set a new password (checked against the current one unless `current` is None, which only the
    CLI passes) and clear the must-change mark."""
    user = s.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    if user is None or (current is not None and not check_password(user.password_hash, current)):
        raise AccountError("wrong user name or current password")
    if len(new) < 12:
        raise AccountError("password must be at least 12 characters")
    if current is not None and new == current:
        raise AccountError("the new password must differ from the current one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    return user


def reset_password(s: Session, username: str) -> str:
    """A new random one-time password (the CLI's recovery path); it must be changed at sign-in."""
    user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise AccountError(f"no user {username!r}")
    password = new_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    return password


def new_password() -> str:
    return secrets.token_urlsafe(18)


def open_session(s: Session, user: User, ttl: timedelta) -> tuple[str, str]:
    """Returns (cookie token, CSRF token). Only the token's SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = utcnow() + ttl
    s.add(UserSession(token_hash=sha256_hex(token), user_id=user.id, csrf_token=csrf, expires_at=expires))
    return token, csrf


def session_principal(s: Session, token: str) -> Principal | None:
    row = s.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == sha256_hex(token), User.active.is_(True))
    ).first()
    if row is None:
        return None
    sess, user = row
    if _aware(sess.expires_at) < utcnow():
        return None
    return Principal(
        "user", user.username, ROLE_SCOPES[user.role], user.role, sess.csrf_token, user.must_change_password
    )


def close_session(s: Session, token: str) -> None:
    s.execute(delete(UserSession).where(UserSession.token_hash == sha256_hex(token)))


def create_api_key(s: Session, name: str, scopes: list[str], created_by: str) -> str:
    """Returns the full token; it is shown once and only its SHA-256 is kept."""
    bad = [x for x in scopes if x not in SCOPES]
    if bad or not scopes:
        raise AccountError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {scopes!r}")
    prefix = secrets.token_hex(4)
    token = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    s.add(
        ApiKey(
            prefix=prefix,
            token_hash=sha256_hex(token),
            name=name[:128],
            scopes=" ".join(sorted(set(scopes))),
            created_by=created_by,
        )
    )
    return token


def key_principal(s: Session, token: str) -> Principal | None:
    parts = token.split("_")
    if len(parts) < 3 or not token.startswith(KEY_PREFIX):
        return None
    row = s.scalars(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked.is_(False))).first()
    if row is None or not hmac.compare_digest(row.token_hash, sha256_hex(token)):
        return None
    return Principal("key", f"key:{row.prefix}:{row.name}", frozenset(row.scopes.split()))


def revoke_api_key(s: Session, prefix: str) -> bool:
    row = s.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if row is None:
        return False
    row.revoked = True
    return True


def record_login_failure(s: Session, subjects: list[str]) -> None:
    for subj in subjects:
        s.add(LoginFailure(subject=subj))


def recent_failures(s: Session, subject: str, window: timedelta) -> int:
    since = utcnow() - window
    q = select(func.count()).select_from(LoginFailure).where(LoginFailure.subject == subject)
    return int(s.scalar(q.where(LoginFailure.at >= since)) or 0)


def prune_failures(s: Session, older_than: timedelta) -> None:
    s.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - older_than))


def _aware(t: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written as UTC.
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
