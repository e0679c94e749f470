"""The deny set kept in the service's database: the core's DenySet, shared by every worker.

Rows hold the core's canonical identities (`kind` is the identity's namespace, `value` its normal
form: a canonical URL key, lowercase hex), so every spelling of a URL and every form of an infohash
meet the same row. Each worker screens against an in-memory view (a MemoryDenySet):
- the worker that blocks an item adds its identities to its own view as soon as the transaction
  that stored them has committed (`remember`), so its next request already refuses a re-upload;
- the other workers read new rows on their next poll (`refresh`, driven by the "deny" generation
  counter), so they refuse it within one poll interval.
Rows written before identities were canonical (raw URLs, bare "infohash") are normalised on load.

A URL is kept only as its keyed digest (`url_digest`: HMAC of the canonical URL under a subkey of the
service key, indexguard.cases.private_urls), never in clear: the service's set is made with that
key, so a re-upload of the same address is looked up by the same digest. A URL that arrives here
neither keyed nor with a key to key it is dropped rather than stored in clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from indexguard.screen.deny_set import (
    DENY_LIST,
    NAMESPACE,
    DenyRecord,
    MemoryDenySet,
    is_url_digest,
    key_urls,
    normalize_identities,
)
from indexguard.store.lists_repo import DENY_COUNTER, bump, generation
from indexguard.store.models import DecisionRecord, DenyEntry, Generation, iso

REMOVALS_COUNTER = "deny-removals"
MAX_VALUE = 512
# Ids re-read on every refresh: a transaction may commit after a later one that took a higher id.
OVERLAP = 1000
_TYPE_OF_NAMESPACE = {ns: t for t, ns in reversed(NAMESPACE.items())}
_CHUNK = 500


@dataclass(frozen=True)
class Pending:
    """Identities stored in an open transaction, for the worker's own view once it commits."""

    identities: Mapping[str, tuple[str, ...]]
    record: DenyRecord


def record_key(decision_id: int | None, item_id: str) -> str:
    """The DenyRecord id of database rows: the decision that blocked the item, or for a moderator's
    ban without one (an uploader ban) the item it was made on."""
    return str(decision_id) if decision_id is not None else f"ban:{item_id}"


def store(
    s: Session,
    identities: Mapping[str, Iterable[str]],
    item_id: str,
    decision_id: int | None,
    url_key: bytes | None = None,
) -> int:
    """Write normalised identities as rows in the caller's transaction; the number of new rows.
    An identity already denied is skipped (another decision or worker stored it first). URLs are
    stored as keyed digests: keyed here with `url_key`, or already keyed by the caller."""
    added = 0
    for t, values in key_urls(normalize_identities(identities, errors=[]), url_key).items():
        for v in values:
            if len(v) > MAX_VALUE or (t == "url" and not is_url_digest(v)):
                continue  # too long for the column (kept in the writer's view only), or a URL in clear
            ns = NAMESPACE[t]
            if s.scalar(select(DenyEntry.id).where(DenyEntry.kind == ns, DenyEntry.value == v)) is not None:
                continue
            try:
                with s.begin_nested():
                    s.add(DenyEntry(kind=ns, value=v, item_id=item_id[:256], decision_id=decision_id))
                added += 1
            except IntegrityError:
                continue  # another worker denied the same identity a moment ago
    if added:
        bump(s, DENY_COUNTER)
    return added


class DatabaseDenySet(MemoryDenySet):
    """The DenySet protocol over the `deny_set` table, with an in-memory view per worker."""

    def __init__(self, factory: sessionmaker[Session], url_key: bytes | None = None) -> None:
        super().__init__(url_key)
        self._factory = factory
        self._last_id = 0
        self._generation: int | None = None
        self._removals: int | None = None

    # --- writing ---------------------------------------------------------------------------

    def add_in(
        self, s: Session, identities: Mapping[str, Iterable[str]], reason: DenyRecord, decision_id: int | None
    ) -> Pending | None:
        """Store a blocked item's identities in the caller's transaction; hand the result to
        `remember` once it has committed. None when no identity is usable."""
        ids = self.normalized(identities, errors=[])
        if not ids:
            return None
        store(s, ids, reason.item_id, decision_id, self.url_key)
        return Pending(ids, replace(reason, decision_id=record_key(decision_id, reason.item_id)))

    def remember(self, pending: Iterable[Pending]) -> None:
        """Add committed identities to this worker's view: its next request refuses a re-upload."""
        with self._lock:
            for p in pending:
                self._put(p.record, p.identities)

    def add(self, identities: Mapping[str, Iterable[str]], reason: DenyRecord) -> DenyRecord | None:
        decision_id = int(reason.decision_id) if reason.decision_id.isdigit() else None
        with self._factory() as s, s.begin():
            pending = self.add_in(s, identities, reason, decision_id)
        if pending is None:
            return None
        self.remember([pending])
        return self._records.get(pending.record.decision_id)

    def remove(self, decision_id: str) -> bool:
        with self._factory() as s, s.begin():
            if decision_id.startswith("ban:"):
                cond = DenyEntry.item_id == decision_id[4:]
                cond = cond & DenyEntry.decision_id.is_(None)
            elif decision_id.isdigit():
                cond = DenyEntry.decision_id == int(decision_id)
            else:
                return False
            gone = s.execute(delete(DenyEntry).where(cond)).rowcount  # type: ignore[attr-defined]
            if gone:
                _bump_or_create(s, REMOVALS_COUNTER)
                bump(s, DENY_COUNTER)
        return super().remove(decision_id) or bool(gone)

    # --- reading -----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Read what other workers stored since the last call; True when anything may have changed.
        A removal anywhere (rare: an overturned block) makes the next refresh reload everything."""
        with self._factory() as s:
            gen = generation(s, DENY_COUNTER)
            removals = generation(s, REMOVALS_COUNTER)
            if gen == self._generation and removals == self._removals:
                return False
            if removals != self._removals:
                fresh = MemoryDenySet()
                last = _load(s, fresh, 0)
                with self._lock:
                    self._records, self._index = fresh._records, fresh._index
                    self._last_id = last
            else:
                last = _load(s, self, self._last_id - OVERLAP)
                with self._lock:
                    self._last_id = max(self._last_id, last)
            self._generation, self._removals = gen, removals
        return True


def _bump_or_create(s: Session, counter: str) -> None:
    if s.get(Generation, counter) is None:
        try:
            with s.begin_nested():
                s.add(Generation(name=counter, value=1))
            return
        except IntegrityError:
            pass
    bump(s, counter)


def _load(s: Session, into: MemoryDenySet, after_id: int) -> int:
    """Rows with id > after_id into a view, grouped by the decision that stored them; the last id."""
    q = select(DenyEntry).where(DenyEntry.id > after_id).order_by(DenyEntry.id)
    rows = list(s.scalars(q))
    if not rows:
        return after_id
    reasons = _decision_reasons(s, {r.decision_id for r in rows if r.decision_id is not None})
    by_key: dict[str, tuple[DenyRecord, dict[str, list[str]]]] = {}
    for r in rows:
        key = record_key(r.decision_id, r.item_id)
        if key not in by_key:
            category, entries = _cause(reasons.get(r.decision_id) if r.decision_id is not None else None)
            rec = DenyRecord(key, category, entries, iso(r.created_at), r.item_id)
            by_key[key] = (rec, {})
        by_key[key][1].setdefault(_TYPE_OF_NAMESPACE.get(r.kind, r.kind), []).append(r.value)
    with into._lock:
        for rec, raw in by_key.values():
            ids = into.normalized(raw, errors=[])  # old rows: raw URLs, bare infohashes
            if ids:
                into._put(rec, ids)
    return rows[-1].id


def _decision_reasons(s: Session, ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    todo = sorted(ids)
    for i in range(0, len(todo), _CHUNK):
        q = select(DecisionRecord.id, DecisionRecord.reasons).where(DecisionRecord.id.in_(todo[i : i + _CHUNK]))
        out.update({did: list(reasons or []) for did, reasons in s.execute(q)})
    return out


def _cause(reasons: list[dict[str, Any]] | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The category and the (list, entry) pairs of the blocking reasons of the decision."""
    if not reasons:
        return DENY_LIST, ()
    blocking = [r for r in reasons if r.get("severity", "block") == "block" and r.get("list") != DENY_LIST]
    blocking = blocking or [r for r in reasons if r.get("list") != DENY_LIST]
    if not blocking:
        return DENY_LIST, ()
    entries = tuple(dict.fromkeys((str(r.get("list", "")), str(r.get("entry", ""))) for r in blocking))
    return str(blocking[0].get("category") or DENY_LIST), entries


def count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(DenyEntry)) or 0)

