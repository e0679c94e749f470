"""The schema. Confidential list content lives only in `ListVersion.payload`, encrypted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    """ISO-8601 in UTC; SQLite hands datetimes back naive, they were written as UTC."""
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).isoformat()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UserSession(Base):
    """Server-side session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "user_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    scopes: Mapped[str] = mapped_column(String(128))  # space-separated
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(default=False)


class LoginFailure(Base):
    """Failed logins by keyed hash of client and of username, for rate limiting across workers."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ListVersion(Base):
    __tablename__ = "list_versions"
    __table_args__ = (
        UniqueConstraint("list_name", "version"),
        UniqueConstraint("list_name", "number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # term | allow | hash | url
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... per list
    version: Mapped[str] = mapped_column(String(64))  # sha256 of canonical content
    fmt: Mapped[str] = mapped_column(String(8))
    entry_count: Mapped[int] = mapped_column(Integer)
    # Entry ids, modes, severities, categories and keyed digests of the text: never the text.
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM sealed source text
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LiveList(Base):
    """Which version of each list is live, which is the shadow candidate, and what was before."""

    __tablename__ = "live_lists"
    list_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"), nullable=True)
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"), nullable=True)
    shadow_version_id: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Generation(Base):
    """One row per counter ("lists", "deny"); workers poll it and rebuild when it moves."""

    __tablename__ = "generations"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ShadowStat(Base):
    __tablename__ = "shadow_stats"
    version_id: Mapped[int] = mapped_column(ForeignKey("list_versions.id"), primary_key=True)
    compared: Mapped[int] = mapped_column(BigInteger, default=0)
    changed: Mapped[int] = mapped_column(BigInteger, default=0)
    transitions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # "allow->block": n
    samples: Mapped[list[str]] = mapped_column(JSON, default=list)  # decision ids that would change


class DecisionRecord(Base):
    """A non-allow Decision. Queries keep no text: only entry ids with counts."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(256), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    list_versions: Mapped[dict[str, str]] = mapped_column(JSON)
    identities: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    client_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ItemState(Base):
    __tablename__ = "items"
    item_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # allowed | hidden | removed
    action: Mapped[str] = mapped_column(String(8))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DenyEntry(Base):
    __tablename__ = "deny_set"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # infohash | md5 | sha1 | sha256 | pdq | url
    value: Mapped[str] = mapped_column(String(512))
    item_id: Mapped[str] = mapped_column(String(256))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained: `hash` covers this row's canonical form including `prev_hash`."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC text, so the canonical form is stable
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
