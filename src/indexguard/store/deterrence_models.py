"""Tables of deterrence counting: aggregates kept, per-session state deleted after hours.

No column holds a session reference, an address or query text: a session is known only by a keyed
hash that changes every day, and only once it has been shown a warning.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from indexguard.store.models import Base


class DeterrenceSession(Base):
    __tablename__ = "deterrence_sessions"
    session_hash: Mapped[str] = mapped_column(String(32), primary_key=True)  # keyed, rotates daily
    day: Mapped[str] = mapped_column(String(10))
    variant: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(35))
    blocks: Mapped[int] = mapped_column(Integer, default=0)
    last_block_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clicked: Mapped[bool] = mapped_column(default=False)
    searched_again: Mapped[bool] = mapped_column(default=False)
    blocked_again: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DeterrenceCount(Base):
    """One counter: (UTC day, variant, language, metric, list category) -> count."""

    __tablename__ = "deterrence_counts"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    locale: Mapped[str] = mapped_column(String(35), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
