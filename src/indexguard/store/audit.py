"""Append-only, keyed hash chain: the audit log.

Each row stores the previous row's MAC (`prev_hash`) and its own (`hash`, which covers `prev_hash`
and `seq`), so altering, removing, renumbering or reordering any row breaks the chain at that row.
The MAC is HMAC-SHA256 with a key derived from the service key, which lives outside the database:
someone who can write to the database cannot recompute a valid chain. The head (last seq and MAC)
is anchored outside the database too - a file beside the key by default, optionally syslog - so
deleting rows at the end, or wiping the table, is caught as well.

Rows written before the chain was keyed (plain SHA-256) stay as they are: the first keyed row
links to the last of them, which seals them, and the anchor records where keyed rows begin.

Appends never give up: each one runs inside the caller's transaction and serialises on a lock
(a transaction-scoped advisory lock on PostgreSQL, the write lock on SQLite) taken before the last
row is read, so there is no retry loop and no conflict to lose. Call `append_in` last in the
transaction, so the lock is held only for the moment before commit.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import logging.handlers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from indexguard.errors import IndexguardError
from indexguard.store.models import AuditEntry, table_of

if TYPE_CHECKING:
    from indexguard.crypto import Cipher
    from indexguard.settings import Settings

GENESIS = "0" * 64
INFO_KEY = "indexguard.audit.chain"
_PENDING = "indexguard.audit.pending"
_PG_LOCK = 0x16A0D17  # pg_advisory_xact_lock key that serialises appends
KEYED_ACTION = "audit.keyed"
SYSLOG_ADDRESS = "/dev/log"  # the local syslog socket
_log = logging.getLogger("indexguard.audit")


class AuditUnavailable(IndexguardError):
    """The chain cannot be checked: the key is missing, or the anchor cannot be read."""


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str
    keyed_from: int  # first keyed row (rows before it are the legacy, unkeyed prefix)


@dataclass(frozen=True)
class Anchor:
    """The chain's head kept outside the database: a small JSON file (moved forward only, under a
    file lock, replaced atomically) and optionally a line to the local syslog."""

    path: Path | None
    syslog: bool = False

    def read(self, key: bytes) -> Head | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            doc = json.loads(self.path.read_text("ascii"))
            head = Head(int(doc["seq"]), str(doc["hash"]), int(doc["keyed_from"]))
            mac = str(doc["mac"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AuditUnavailable(f"audit anchor {self.path} cannot be read ({type(e).__name__})") from None
        if not hmac.compare_digest(mac, _head_mac(key, head)):
            raise AuditUnavailable(f"audit anchor {self.path} is not signed with this key (altered or wrong key)")
        return head

    def advance(self, key: bytes, head: Head) -> None:
        if self.syslog:
            _to_syslog(head)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.read(key) if self.path.exists() else None
            if current is not None and current.seq >= head.seq:
                return  # another worker anchored a later head already
            doc = {**head.__dict__, "mac": _head_mac(key, head)}
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", encoding="ascii") as f:
                f.write(json.dumps(doc, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)


def _head_mac(key: bytes, head: Head) -> str:
    return hmac.new(key, f"anchor:{head.seq}:{head.hash}:{head.keyed_from}".encode(), hashlib.sha256).hexdigest()


def _to_syslog(head: Head) -> None:
    try:
        handler = logging.handlers.SysLogHandler(address=SYSLOG_ADDRESS)
    except OSError:
        return  # no local syslog: the file anchor still stands
    try:
        rec = logging.LogRecord("indexguard.audit", logging.INFO, "", 0, "", None, None)
        rec.msg = f"indexguard audit head seq={head.seq} mac={head.hash} keyed_from={head.keyed_from}"
        handler.emit(rec)
    finally:
        handler.close()


@dataclass(frozen=True)
class Chain:
    """What signs the chain (a key outside the database) and where its head is anchored."""

    key: bytes
    anchor: Anchor


def default_anchor(key_origin: str, sqlite_path: Path | None) -> Path | None:
    """Beside the key file; with a key from the environment, beside an SQLite database; else none
    (set `audit_anchor_file`)."""
    kind, _, where = key_origin.partition(":")
    if kind in ("file", "created") and where:
        return Path(where).with_name(Path(where).name + ".audit-head")
    if sqlite_path is not None:
        return sqlite_path.with_name(sqlite_path.name + ".audit-head")
    return None


def chain_for(settings: Settings, cipher: Cipher, key_origin: str) -> Chain:
    """The service's chain: signed with the key's "audit-chain" subkey, anchored where the settings
    say (`audit_anchor_file`, else beside the key file or the SQLite database)."""
    from indexguard.store.db import sqlite_path

    given = settings.audit_anchor_file
    path = Path(given) if given else default_anchor(key_origin, sqlite_path(settings.database_url))
    return Chain(cipher.subkey("audit-chain"), Anchor(path, settings.audit_anchor_syslog))


def bind(factory: sessionmaker[Session], chain: Chain) -> sessionmaker[Session]:
    """Sessions from `factory` append keyed rows and move the anchor."""
    info = dict(factory.kw.get("info") or {})
    info[INFO_KEY] = chain
    factory.configure(info=info)
    return factory


def chain_of(factory: sessionmaker[Session]) -> Chain | None:
    chain = (factory.kw.get("info") or {}).get(INFO_KEY)
    return chain if isinstance(chain, Chain) else None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    checkable: bool = True  # False: the chain could not be checked (exit 2), neither intact nor broken
    anchored: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "checked": self.checked, "broken_seq": self.broken_seq, "reason": self.reason,
            "anchored": self.anchored, "checkable": self.checkable,
        }  # fmt: skip


def canonical(seq: int, at: str, actor: str, action: str, target: str, detail: Any, prev_hash: str) -> bytes:
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _fields(e: AuditEntry) -> bytes:
    return canonical(e.seq, e.at, e.actor, e.action, e.target, e.detail, e.prev_hash)


def row_hash(e: AuditEntry) -> str:
    """The unkeyed SHA-256 of a legacy row."""
    return hashlib.sha256(_fields(e)).hexdigest()


def row_mac(key: bytes, e: AuditEntry) -> str:
    return hmac.new(key, _fields(e), hashlib.sha256).hexdigest()


def _lock(s: Session) -> None:
    """Serialise appenders until the caller's transaction ends."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    else:
        # Any write statement takes SQLite's write lock (the driver opens the transaction before
        # it), so the last row read below cannot change until this transaction ends.
        s.execute(text("DELETE FROM audit_log WHERE 1 = 0"))


def append_in(s: Session, actor: str, action: str, target: str, detail: dict[str, Any]) -> int:
    """Add one row inside the caller's transaction (call it last); returns its seq."""
    detail = json.loads(json.dumps(detail))  # what the database will hand back on verify
    chain: Chain | None = s.info.get(INFO_KEY)
    _lock(s)
    last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    keyed_from = _keyed_from(s, chain, last)
    if chain is not None and last is not None and keyed_from > last.seq:
        # The first keyed row after legacy ones says so; its MAC seals the legacy prefix.
        last = _add(s, chain, last, "system", KEYED_ACTION, "audit", {"legacy_rows": last.seq})
    e = _add(s, chain, last, actor, action, target, detail)
    if chain is not None:
        _pend(s, chain, Head(e.seq, e.hash, keyed_from))
    return e.seq


def append_many_in(s: Session, entries: Sequence[tuple[str, str, str, dict[str, Any]]]) -> list[int]:
    """`append_in` for many rows (actor, action, target, detail) at once: one lock, one read of the
    last row, the chain computed in memory and the rows inserted in one statement; the anchor moves
    to the last of them once the transaction commits. Returns their seqs."""
    if not entries:
        return []
    chain: Chain | None = s.info.get(INFO_KEY)
    _lock(s)
    last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    keyed_from = _keyed_from(s, chain, last)
    seq, prev = (0, GENESIS) if last is None else (last.seq, last.hash)
    todo = [(a[:128], b[:64], c[:256], json.loads(json.dumps(d))) for a, b, c, d in entries]
    if chain is not None and last is not None and keyed_from > last.seq:
        todo.insert(0, ("system", KEYED_ACTION, "audit", {"legacy_rows": last.seq}))
    rows: list[dict[str, Any]] = []
    for actor, action, target, detail in todo:
        seq += 1
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        body = canonical(seq, at, actor, action, target, detail, prev)
        mac = (hmac.new(chain.key, body, hashlib.sha256) if chain is not None else hashlib.sha256(body)).hexdigest()
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "detail": detail,
                     "prev_hash": prev, "hash": mac})  # fmt: skip
        prev = mac
    s.execute(insert(table_of(AuditEntry)), rows)
    if chain is not None:
        _pend(s, chain, Head(seq, prev, keyed_from))
    return [r["seq"] for r in rows[len(rows) - len(entries) :]]


def _keyed_from(s: Session, chain: Chain | None, last: AuditEntry | None) -> int:
    if chain is None:
        return 0
    pending: Head | None = s.info.get(_PENDING)
    if pending is not None:
        return pending.keyed_from
    try:
        head = chain.anchor.read(chain.key)
    except AuditUnavailable:
        head = None  # appends go on; `audit verify` reports the unreadable anchor
    if head is not None:
        return head.keyed_from
    if last is None:
        return 1
    if hmac.compare_digest(row_mac(chain.key, last), last.hash):
        return _first_keyed(s, chain)
    return last.seq + 1  # a legacy chain: keyed rows begin after its marker row


def _first_keyed(s: Session, chain: Chain) -> int:
    marker = s.scalars(
        select(AuditEntry).where(AuditEntry.action == KEYED_ACTION).order_by(AuditEntry.seq).limit(1)
    ).first()
    if marker is not None and hmac.compare_digest(row_mac(chain.key, marker), marker.hash):
        return marker.seq
    return 1


def _add(
    s: Session, chain: Chain | None, last: AuditEntry | None, actor: str, action: str, target: str, detail: Any
) -> AuditEntry:
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    e = AuditEntry(
        seq=seq, at=at, actor=actor[:128], action=action[:64], target=target[:256], detail=detail, prev_hash=prev
    )
    e.hash = row_mac(chain.key, e) if chain is not None else row_hash(e)
    s.add(e)
    s.flush()
    return e


def _pend(s: Session, chain: Chain, head: Head) -> None:
    """Move the anchor once the transaction commits (never for rows that were rolled back)."""
    first = _PENDING not in s.info
    s.info[_PENDING] = head
    if not first:
        return

    def committed(session: Session) -> None:
        h = session.info.pop(_PENDING, None)
        if h is None:
            return
        try:
            chain.anchor.advance(chain.key, h)
        except (OSError, AuditUnavailable) as e:
            # The rows are committed; a stale anchor shows up in `audit verify`, a lost report would not.
            _log.warning("audit anchor not moved", extra={"error": str(e)[:200]})

    def rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)

    event.listen(s, "after_commit", committed, once=True)
    event.listen(s, "after_rollback", rolled_back, once=True)


def append(factory: sessionmaker[Session], actor: str, action: str, target: str, detail: dict[str, Any]) -> int:
    """Add one row in a transaction of its own."""
    with factory() as s, s.begin():
        return append_in(s, actor, action, target, detail)


def verify(factory: sessionmaker[Session], batch: int = 1000, chain: Chain | None = None) -> VerifyResult:
    """Walk the chain in `seq` order; the first row whose number, link or MAC is wrong is reported,
    and the end is checked against the anchor (rows deleted at the end, or a wiped table)."""
    chain = chain or chain_of(factory)
    head = chain.anchor.read(chain.key) if chain is not None else None
    keyed_from = head.keyed_from if head is not None else None
    prev, expected, checked = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    with factory() as s:
        if keyed_from is None and chain is not None:
            keyed_from = _detect_keyed_from(s, chain)
        after = 0
        while rows := s.scalars(
            select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch)
        ).all():
            for e in rows:
                bad = _check_row(e, expected, prev, chain, keyed_from)
                if bad is not None:
                    if bad == "key":
                        return VerifyResult(False, checked, e.seq, "rows are keyed: the audit key is needed", False)
                    return VerifyResult(False, checked, e.seq, bad)
                if head is not None and e.seq == head.seq:
                    hashes[e.seq] = e.hash
                prev, expected, checked = e.hash, expected + 1, checked + 1
            after = rows[-1].seq
    if chain is not None and head is None and keyed_from is None and checked:
        why = "the chain is not keyed yet (legacy rows only): the next append, or `indexguard audit seal`, keys it"
        return VerifyResult(False, checked, None, why, False)
    return _check_end(head, checked, hashes, chain)


def _detect_keyed_from(s: Session, chain: Chain) -> int | None:
    """Without an anchor: where keyed rows begin, if any row is keyed."""
    first = s.scalars(select(AuditEntry).order_by(AuditEntry.seq).limit(1)).first()
    if first is None:
        return None
    if hmac.compare_digest(row_mac(chain.key, first), first.hash):
        return 1
    marker = s.scalars(
        select(AuditEntry).where(AuditEntry.action == KEYED_ACTION).order_by(AuditEntry.seq).limit(1)
    ).first()
    return marker.seq if marker is not None else None


def _check_row(e: AuditEntry, expected: int, prev: str, chain: Chain | None, keyed_from: int | None) -> str | None:
    if e.seq != expected:
        return f"expected row {expected}, found {e.seq} (rows deleted or renumbered)"
    if e.prev_hash != prev:
        return "link to the previous row does not match"
    if keyed_from is not None and e.seq >= keyed_from:
        if chain is None:
            return "key"
        if not hmac.compare_digest(row_mac(chain.key, e), e.hash):
            return "row content does not match its MAC (edited, or the chain was recomputed without the key)"
        return None
    if row_hash(e) == e.hash:
        return None
    if chain is None:
        return "key"  # a keyed row where an unkeyed one was expected: cannot tell without the key
    return "row content does not match its hash"


def _check_end(head: Head | None, checked: int, hashes: dict[int, str], chain: Chain | None) -> VerifyResult:
    if chain is None:
        return VerifyResult(True, checked)
    if head is None:
        if chain.anchor.path is None and not chain.anchor.syslog:
            return VerifyResult(True, checked, None, "no anchor configured: the end of the log was not checked")
        if checked:
            return VerifyResult(False, checked, checked, "the anchor file is missing (deleted, or never written)")
        return VerifyResult(True, 0, anchored=True)
    if checked < head.seq:
        what = "the table is empty (wiped)" if checked == 0 else f"the log ends at row {checked}"
        return VerifyResult(False, checked, checked + 1, f"anchor is at row {head.seq} but {what}: rows deleted")
    if not hmac.compare_digest(hashes.get(head.seq, ""), head.hash):
        return VerifyResult(False, checked, head.seq, "row at the anchor differs from the anchored head")
    return VerifyResult(True, checked, anchored=True)


def count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)
