"""The schema. Confidential list content lives only in `ListVersion.payload`, encrypted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
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
    must_change_password: Mapped[bool] = mapped_column(default=False)  # one-time passwords


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


class RecordQueueEntry(Base):
    """Work a listing's answer does not wait for (its case, the case's audit rows and webhooks),
    committed with the item's state and taken off by the workers' drainers (issue 15)."""

    __tablename__ = "record_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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


# --- cases (issue 6): reports, cases, signals, history, media, reveals, trusted flaggers ---


class Case(Base):
    """One case per item: every report and every review/block Decision about it is a signal.

    `status`: open | confirmed | dismissed. The item's own state (allowed/hidden/removed) stays in
    `items`; the clock columns record when the case first reached each step.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    severity: Mapped[str] = mapped_column(String(8))  # highest of the signals: block | review | report
    category: Mapped[str] = mapped_column(String(64))  # category of the strongest signal
    source: Mapped[str] = mapped_column(String(16))  # what opened it: report | trusted | screen | hotline | deny
    trusted: Mapped[bool] = mapped_column(default=False)
    signal_count: Mapped[int] = mapped_column(Integer, default=0)
    # Metadata the site sent, with every matched span masked: never list text.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_signal_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Escalation: the hotline module picks up cases with hotline_requested and sets reported_at.
    hotline_requested: Mapped[bool] = mapped_column(default=False, index=True)
    hotline_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    hotline_requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    legal_hold_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    legal_hold_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    legal_hold_reason: Mapped[str | None] = mapped_column(String(512), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AbuseReport(Base):
    """A public or trusted-flagger report. The reporter's address is kept only as a keyed hash;
    contact and comment are sealed (AES-GCM); `comment_masked` has list matches masked."""

    __tablename__ = "abuse_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    item_id: Mapped[str] = mapped_column(String(256), index=True)
    category: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    comment_masked: Mapped[str | None] = mapped_column(Text, nullable=True)
    comment_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    reporter: Mapped[str] = mapped_column(String(128))  # "public" or the key's name
    trusted: Mapped[bool] = mapped_column(default=False)
    client_hash: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class CaseSignal(Base):
    __tablename__ = "case_signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # report | trusted | screen | hotline | deny
    severity: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.5)
    reporter: Mapped[str] = mapped_column(String(128))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("abuse_reports.id"), nullable=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # list, version, entry, category
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseEvent(Base):
    """The case history: every state change and action, who and when (the audit log has them too)."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseMedia(Base):
    """Thumbnail bytes a site supplied: sealed at rest, served only through the reveal endpoint."""

    __tablename__ = "case_media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RevealRecord(Base):
    """Every reveal request, granted or refused."""

    __tablename__ = "case_reveals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("case_media.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(String(512))
    granted: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AllowProposal(Base):
    """A dismissal's proposed allowlist entry: the list entries that fired, for a list manager to act on."""

    __tablename__ = "allow_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(256))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(512), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    proposed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrustedFlagger(Base):
    """API keys (by prefix) whose reports take the priority lane and hide the item at once."""

    __tablename__ = "trusted_flaggers"
    key_prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- hotline (issue 7): evidence packages, chain of custody, legal holds, hotline report outbox ---


class EvidencePackage(Base):
    """A sealed snapshot of what the site held about a confirmed item; `payload` is None once purged."""

    __tablename__ = "evidence_packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), index=True)
    item_id: Mapped[str] = mapped_column(String(256), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the snapshot's canonical JSON (plaintext)
    size: Mapped[int] = mapped_column(Integer)
    images_preserved: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # AES-GCM sealed snapshot
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EvidenceCustody(Base):
    """Chain of custody per package, hash-chained like the audit log: who, when, why, what, digests."""

    __tablename__ = "evidence_custody"
    __table_args__ = (UniqueConstraint("package_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("evidence_packages.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC text, stable for the hash
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(512))
    digest: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LegalHold(Base):
    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("evidence_packages.id"), index=True)
    reason: Mapped[str] = mapped_column(String(512))
    placed_by: Mapped[str] = mapped_column(String(128))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HotlineReport(Base):
    """One hotline report walking the outbox: queued -> submitting -> open -> finishing -> finished
    (or retracted / failed). `files` tracks each upload; `history` every step and every abandoned
    NCMEC report id (expired, or retracted after an upload of unknown outcome)."""

    __tablename__ = "hotline_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_packages.id"), nullable=True)
    hotline: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    remote_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    modified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(String(512), default="")
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM sealed report XML
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


def table_of(cls: type[Base]) -> Table:
    """The Core table of a mapped class: a bulk INSERT on it runs as one executemany (on the class,
    the ORM may send one statement per row)."""
    return cast(Table, cls.__table__)
