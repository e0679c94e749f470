"""HMA banks over indexguard hash lists: a bank is a hash list, a bank's content is a list entry.

Every change HMA makes in place (add or remove content, switch a bank off) is a new list version
here, made live at once: so each one is in the list's history with a diff, can be rolled back, and
is audited like any other import. HMA's integer content ids map onto entry ids: an entry id of the
form `hma:<n>` (what content added through this API gets, and what a bank exported from HMA can keep)
is content id n; any other entry gets a stable 52-bit number derived from its list and id.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexguard.crypto import Cipher
from indexguard.lists.hash_list import HashBank, HashEntry, HashType, default_severity
from indexguard.lists.packed_bank import PackedBank
from indexguard.store import lists_repo
from indexguard.store.models import ListVersion, LiveList

BANK_NAME = re.compile(r"^[A-Z0-9_]+$")  # HMA's own rule for bank names
_HMA_ID = re.compile(r"^hma:(\d{1,16})(:[a-z0-9_]+)?$")  # hma:<n>, or hma:<n>:<type> for a second signal
_ID_BITS = 52  # ids stay exact in JavaScript numbers
HMA_TO_HASH_TYPE: dict[str, HashType] = {"pdq": "pdq", "video_md5": "md5"}
HASH_TO_HMA_TYPE = {v: k for k, v in HMA_TO_HASH_TYPE.items()}
_CSV_HEADER = ("hash", "type", "id", "category", "source", "severity", "enabled")
PLACEHOLDER_ID = "hma:empty-bank"


class BankError(Exception):
    """An HMA-shaped error: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def content_id(list_name: str, entry_id: str) -> int:
    m = _HMA_ID.match(entry_id)
    if m:
        return int(m.group(1))
    digest = hashlib.sha256(f"{list_name}\0{entry_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _ID_BITS)


@dataclass(frozen=True)
class Bank:
    name: str
    live: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "matching_enabled_ratio": 1.0 if self.live else 0.0}


def banks(s: Session) -> list[Bank]:
    """Every hash list; live ones match (ratio 1.0), others do not (0.0)."""
    return [Bank(x["name"], x["live"] is not None) for x in lists_repo.summaries(s) if x["kind"] == "hash"]


def bank(s: Session, name: str) -> Bank:
    found = next((b for b in banks(s) if b.name == name), None)
    if found is None:
        raise BankError(404, f"bank '{name}' not found")
    return found


def create(s: Session, cipher: Cipher, name: str, enabled_ratio: float, actor: str) -> Bank:
    if not BANK_NAME.match(name) or len(name) > 64:
        raise BankError(400, "Bank names must be UPPER_SNAKE_CASE")
    if s.scalar(select(ListVersion.id).where(ListVersion.list_name == name).limit(1)) is not None:
        raise BankError(403, "Bank already exists")
    if enabled_ratio not in (0.0, 1.0):
        raise BankError(400, "indexguard banks match fully or not at all: enabled_ratio must be 0 or 1")
    info, _ = lists_repo.import_version(s, cipher, name, "hash", "csv", _csv(name, []), actor)
    if enabled_ratio == 1.0:
        lists_repo.activate(s, name, str(info.number))
    return Bank(name, enabled_ratio == 1.0)


def set_enabled(s: Session, name: str, enabled_ratio: float) -> Bank:
    b = bank(s, name)
    if enabled_ratio not in (0.0, 1.0):
        raise BankError(400, "indexguard banks match fully or not at all: enabled_ratio must be 0 or 1")
    if enabled_ratio == 1.0 and not b.live:
        latest = lists_repo.versions(s, name)[-1]
        lists_repo.activate(s, name, str(latest.number))
    elif enabled_ratio == 0.0 and b.live:
        lists_repo.deactivate(s, name)
    return Bank(name, enabled_ratio == 1.0)


def current(s: Session, cipher: Cipher, name: str) -> HashBank:
    """The bank's live version (or its latest, when switched off), parsed."""
    bank(s, name)
    live = s.get(LiveList, name, with_for_update=True)
    vid = live.version_id if live is not None and live.version_id is not None else None
    row = s.get(ListVersion, vid) if vid is not None else lists_repo.resolve(s, name, str(_latest(s, name)))
    assert row is not None
    obj = lists_repo.load(cipher, row).parsed.obj
    hb = obj.to_bank() if isinstance(obj, PackedBank) else obj  # big banks are parsed into columns
    assert isinstance(hb, HashBank)
    return hb


def _latest(s: Session, name: str) -> int:
    return lists_repo.versions(s, name)[-1].number


def find(hb: HashBank, cid: int) -> HashEntry | None:
    return next((e for e in hb.entries if e.id != PLACEHOLDER_ID and content_id(hb.name, e.id) == cid), None)


def add(s: Session, cipher: Cipher, name: str, signals: dict[str, str], note: str | None, actor: str) -> int:
    """New content: one entry per signal, under one new `hma:<n>` id; a new live version."""
    hb = current(s, cipher, name)
    cid = secrets.randbits(_ID_BITS - 1) + 1
    entries = list(hb.entries)
    for i, (hma_type, value) in enumerate(sorted(signals.items())):
        ht = HMA_TO_HASH_TYPE[hma_type]
        entry_id = f"hma:{cid}" if i == 0 else f"hma:{cid}:{hma_type}"
        source = f"hma-api {note}"[:200] if note else "hma-api"
        entries.append(HashEntry(ht, value, entry_id, "csam", source, default_severity(ht)))
    _store(s, cipher, hb, entries, actor)
    return cid


def remove(s: Session, cipher: Cipher, name: str, cid: int, actor: str) -> int:
    hb = current(s, cipher, name)
    keep = [e for e in hb.entries if content_id(name, e.id) != cid and not e.id.startswith(f"hma:{cid}:")]
    gone = len(hb.entries) - len(keep)
    if gone:
        _store(s, cipher, hb, keep, actor)
    return 1 if gone else 0


def set_content_enabled(s: Session, cipher: Cipher, name: str, cid: int, enabled: bool, actor: str) -> HashEntry:
    hb = current(s, cipher, name)
    e = find(hb, cid)
    if e is None:
        raise BankError(404, f"content '{cid}' not found")
    entries = [_switched(x, enabled) if content_id(name, x.id) == cid else x for x in hb.entries]
    _store(s, cipher, hb, entries, actor)
    return _switched(e, enabled)


def _switched(e: HashEntry, enabled: bool) -> HashEntry:
    return HashEntry(e.hash_type, e.value, e.id, e.category, e.source, e.severity, enabled, e.line)


def _placeholder(name: str) -> HashEntry:
    # indexguard refuses empty lists (an empty list going live is usually a mistake), while HMA banks
    # start empty: an empty bank holds this one switched-off entry, which never matches anything.
    value = hashlib.sha256(f"hma-placeholder\0{name}".encode()).hexdigest()[:32]
    return HashEntry("md5", value, PLACEHOLDER_ID, "none", "hma-api placeholder", "block", False)


def _csv(name: str, entries: list[HashEntry]) -> str:
    real = [e for e in entries if e.id != PLACEHOLDER_ID]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_CSV_HEADER)
    for e in real or [_placeholder(name)]:
        w.writerow((e.value, e.hash_type, e.id, e.category, e.source, e.severity, "true" if e.enabled else "false"))
    return out.getvalue()


def _store(s: Session, cipher: Cipher, hb: HashBank, entries: list[HashEntry], actor: str) -> None:
    info, _ = lists_repo.import_version(s, cipher, hb.name, "hash", "csv", _csv(hb.name, entries), actor)
    live = s.get(LiveList, hb.name)
    if live is not None and live.version_id is not None:  # a switched-off bank stays off
        lists_repo.activate(s, hb.name, str(info.number))
