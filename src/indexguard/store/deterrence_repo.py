"""Applying deterrence events to the per-session state and the daily counters, and purging state.

A session gets state only when it is shown a warning; searches of sessions never warned change
nothing. From the state come the session-level outcomes an A/B test compares: clicked a help link,
searched again within the window after a warning, hit a warning again within that window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from indexguard.store.deterrence_models import DeterrenceCount, DeterrenceSession
from indexguard.store.models import utcnow

EventKind = Literal["search", "click"]
CountKey = tuple[str, str, str, str, str]  # day, variant, locale, metric, category

# What is counted. Session metrics count each session once; the others count events.
METRICS = (
    "impression", "blocked_search", "help_click",
    "session", "session_clicked", "session_searched_again", "session_blocked_again",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeterrenceEvent:
    kind: EventKind
    session: str  # the keyed daily session hash ("" when the site passed no session)
    at: datetime
    blocked: bool = False
    variant: str = ""
    locale: str = ""
    categories: tuple[str, ...] = ()


@dataclass
class _Batch:
    counts: Counter[CountKey] = field(default_factory=Counter)

    def add(self, at: datetime, variant: str, locale: str, metric: str, category: str = "") -> None:
        self.counts[(at.date().isoformat(), variant[:40], locale[:35], metric, category[:64])] += 1


def _aware(t: datetime) -> datetime:
    from datetime import UTC

    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def apply(s: Session, events: Sequence[DeterrenceEvent], window: timedelta, keep: timedelta) -> None:
    """Apply events in order inside the caller's transaction."""
    batch = _Batch()
    for ev in events:
        if ev.kind == "click":
            _click(s, ev, batch)
        else:
            _search(s, ev, batch, window, keep)
    _add_counts(s, batch.counts)


def _state(s: Session, session_hash: str) -> DeterrenceSession | None:
    if not session_hash:
        return None
    q = select(DeterrenceSession).where(DeterrenceSession.session_hash == session_hash)
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        q = q.with_for_update()
    return s.scalars(q).one_or_none()


def _search(s: Session, ev: DeterrenceEvent, b: _Batch, window: timedelta, keep: timedelta) -> None:
    st = _state(s, ev.session)
    if st is not None and ev.at - _aware(st.last_block_at) <= window:
        if not st.searched_again:
            st.searched_again = True
            b.add(ev.at, st.variant, st.locale, "session_searched_again")
        if ev.blocked and not st.blocked_again:
            st.blocked_again = True
            b.add(ev.at, st.variant, st.locale, "session_blocked_again")
    if not ev.blocked:
        return
    b.add(ev.at, ev.variant, ev.locale, "impression")
    for cat in ev.categories or ("",):
        b.add(ev.at, ev.variant, ev.locale, "blocked_search", cat)
    if not ev.session:
        return
    if st is None:
        if not _create(s, ev, keep):
            st = _state(s, ev.session)  # another worker made it first
        else:
            b.add(ev.at, ev.variant, ev.locale, "session")
            return
    if st is not None:
        st.blocks += 1
        st.last_block_at = max(_aware(st.last_block_at), ev.at)
        st.expires_at = max(_aware(st.expires_at), ev.at + keep)


def _create(s: Session, ev: DeterrenceEvent, keep: timedelta) -> bool:
    row: dict[str, Any] = {
        "session_hash": ev.session, "day": ev.at.date().isoformat(), "variant": ev.variant[:40],
        "locale": ev.locale[:35], "blocks": 1, "last_block_at": ev.at, "clicked": False,
        "searched_again": False, "blocked_again": False, "expires_at": ev.at + keep,
    }  # fmt: skip
    stmt = (
        _insert(s, DeterrenceSession)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["session_hash"])
        .returning(DeterrenceSession.session_hash)
    )
    s.flush()
    return s.connection().execute(stmt).first() is not None


def _click(s: Session, ev: DeterrenceEvent, b: _Batch) -> None:
    st = _state(s, ev.session)
    variant, locale = (st.variant, st.locale) if st is not None else (ev.variant, ev.locale)
    b.add(ev.at, variant, locale, "help_click")
    if st is not None and not st.clicked:
        st.clicked = True
        b.add(ev.at, variant, locale, "session_clicked")


def _insert(s: Session, table: Any) -> Any:
    dialect = s.bind.dialect.name if s.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _add_counts(s: Session, counts: Counter[CountKey]) -> None:
    s.flush()
    for (day, variant, locale, metric, category), n in sorted(counts.items()):
        stmt = _insert(s, DeterrenceCount).values(
            day=day, variant=variant, locale=locale, metric=metric, category=category, count=n
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "variant", "locale", "metric", "category"],
            set_={"count": DeterrenceCount.count + stmt.excluded.count},
        )
        s.execute(stmt)


def purge(s: Session, now: datetime | None = None) -> int:
    """Delete session state whose time is up; aggregates stay. Returns how many sessions went."""
    result = s.execute(delete(DeterrenceSession).where(DeterrenceSession.expires_at < (now or utcnow())))
    gone: int = result.rowcount  # type: ignore[attr-defined]
    return gone


def session_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(DeterrenceSession)) or 0)


@dataclass(frozen=True, slots=True)
class CountRow:
    day: str
    variant: str
    locale: str
    metric: str
    category: str
    count: int


def counts(s: Session, since: str = "", until: str = "9999-12-31") -> list[CountRow]:
    """Counters with `since <= day <= until` (ISO dates)."""
    q = (
        select(DeterrenceCount)
        .where(DeterrenceCount.day >= since, DeterrenceCount.day <= until)
        .order_by(DeterrenceCount.day, DeterrenceCount.variant, DeterrenceCount.metric, DeterrenceCount.category)
    )
    return [CountRow(r.day, r.variant, r.locale, r.metric, r.category, r.count) for r in s.scalars(q)]


def all_rows(rows: Iterable[CountRow]) -> list[dict[str, Any]]:
    return [
        {"day": r.day, "variant": r.variant, "locale": r.locale, "metric": r.metric,
         "category": r.category, "count": r.count}
        for r in rows
    ]  # fmt: skip
