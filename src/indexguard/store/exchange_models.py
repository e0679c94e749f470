"""Exchange fetch state: one row per source (checkpoint, lease, status) and the upstream records it holds.

Records are kept in the upstream's own shape (JSON), keyed as the upstream keys them, so an update or a
deletion replaces or removes exactly one row and a fetch replayed after a crash changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from indexguard.store.models import Base, utcnow


class ExchangeState(Base):
    __tablename__ = "exchange_state"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    api: Mapped[str] = mapped_column(String(32))
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Who fetches now: a lease, so several workers and a cron job never fetch one source at once.
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_attempt: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_success: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive: drives the back-off
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    fetched_total: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_total: Mapped[int] = mapped_column(BigInteger, default=0)
    list_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    list_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExchangeRecord(Base):
    __tablename__ = "exchange_records"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
