"""List versions, the live set, shadow candidates and the generation counter workers poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer

from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.lists.hash_list import HASH_TYPES
from indexguard.lists.packed_bank import PackedBank
from indexguard.lists.severity import SEVERITIES
from indexguard.store.list_kinds import ParsedList, parse_list
from indexguard.store.models import Generation, ListVersion, LiveList, ShadowStat, iso, utcnow

LISTS_COUNTER = "lists"
DENY_COUNTER = "deny"
_DIGEST_PURPOSE = "list-entry-digest"
_COLUMNS = "columns-1"


class ListNotFound(IndexguardError):
    """A list or version that does not exist."""


class ListStateError(IndexguardError):
    """An operation the list's current state does not allow (e.g. rollback with no previous version)."""


@dataclass(frozen=True)
class VersionInfo:
    name: str
    kind: str
    number: int
    version: str
    fmt: str
    entries: int
    created_by: str
    created_at: datetime
    live: bool
    shadow: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "number": self.number,
            "version": self.version,
            "format": self.fmt,
            "entries": self.entries,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "live": self.live,
            "shadow": self.shadow,
        }


@dataclass(frozen=True)
class LoadedList:
    """A stored version decrypted and parsed, ready for Screener.build (off the request path)."""

    name: str
    kind: str
    version: str
    parsed: ParsedList


def _context(name: str, version: str) -> bytes:
    return f"list:{name}:{version}".encode()


def _info(v: ListVersion, live: LiveList | None) -> VersionInfo:
    return VersionInfo(
        v.list_name,
        v.kind,
        v.number,
        v.version,
        v.fmt,
        v.entry_count,
        v.created_by,
        v.created_at,
        live is not None and live.version_id == v.id,
        live is not None and live.shadow_version_id == v.id,
    )


def import_version(
    s: Session,
    cipher: Cipher,
    name: str,
    kind: str,
    fmt: str,
    text: str,
    created_by: str,
    parsed: ParsedList | None = None,
) -> tuple[VersionInfo, bool]:
    """Store a new version (parsed first: a broken list stores nothing). Returns (info, created).
    `parsed`: the text already parsed by the caller (parse_list of the same arguments)."""
    check_kind(s, name, kind)
    parsed = parsed or parse_list(kind, name, text, fmt)
    same = s.scalars(
        select(ListVersion).where(ListVersion.list_name == name, ListVersion.version == parsed.version)
    ).first()
    live = s.get(LiveList, name)
    if same is not None:
        return _info(same, live), False
    number = int(s.scalar(select(func.max(ListVersion.number)).where(ListVersion.list_name == name)) or 0) + 1
    entries: Any = (
        _columns(parsed.obj)
        if isinstance(parsed.obj, PackedBank)
        else [{**e.public(), "digest": cipher.keyed_hash(_DIGEST_PURPOSE, e.text)[:32]} for e in parsed.entries]
    )
    row = ListVersion(
        list_name=name,
        kind=kind,
        number=number,
        version=parsed.version,
        fmt=fmt,
        entry_count=len(parsed.entries),
        entries=entries,
        payload=cipher.seal(text.encode("utf-8"), _context(name, parsed.version)),
        created_by=created_by,
    )
    s.add(row)
    s.flush()
    return _info(row, live), True


def check_kind(s: Session, name: str, kind: str) -> None:
    """A list keeps its kind: ListStateError for a version of another kind."""
    existing_kind = s.scalar(select(ListVersion.kind).where(ListVersion.list_name == name).limit(1))
    if existing_kind is not None and existing_kind != kind:
        raise ListStateError(f"list {name!r} is a {existing_kind} list; it cannot take a {kind} version")


def resolve(s: Session, name: str, ref: str) -> ListVersion:
    """A version by number ("3") or by version hash (full or a prefix of at least 8 hex digits)."""
    q = select(ListVersion).where(ListVersion.list_name == name)
    if ref.isascii() and ref.isdigit() and len(ref) < 9:
        row = s.scalars(q.where(ListVersion.number == int(ref))).first()
    elif len(ref) >= 8 and all(c in "0123456789abcdef" for c in ref):
        rows = s.scalars(q.where(ListVersion.version.startswith(ref, autoescape=True))).all()
        row = rows[0] if len(rows) == 1 else None
    else:
        row = None
    if row is None:
        raise ListNotFound(f"list {name!r} has no version {ref!r}")
    return row


def summaries(s: Session) -> list[dict[str, Any]]:
    out = []
    names = s.scalars(select(ListVersion.list_name).distinct().order_by(ListVersion.list_name)).all()
    for name in names:
        rows = s.scalars(select(ListVersion).where(ListVersion.list_name == name)).all()
        live = s.get(LiveList, name)
        by_id = {r.id: r for r in rows}
        cur = by_id.get(live.version_id) if live and live.version_id else None
        shadow = by_id.get(live.shadow_version_id) if live and live.shadow_version_id else None
        out.append(
            {
                "name": name,
                "kind": rows[0].kind,
                "versions": len(rows),
                "live": _info(cur, live).to_json() if cur else None,
                "shadow": _info(shadow, live).to_json() if shadow else None,
            }
        )
    return out


def versions(s: Session, name: str) -> list[VersionInfo]:
    q = select(ListVersion).where(ListVersion.list_name == name).order_by(ListVersion.number)
    rows = s.scalars(q).all()
    if not rows:
        raise ListNotFound(f"no list named {name!r}")
    live = s.get(LiveList, name)
    return [_info(r, live) for r in rows]


def _columns(bank: PackedBank) -> dict[str, Any]:
    """A hash bank's public entry columns, one newline-joined string each (ids of line-based list
    files hold no newline). A million entries in a few JSON strings, written in a fraction of a
    second; the per-entry keyed digests are left out (diff compares the sealed lists instead)."""
    ids = bank.ids.to_list()
    return {
        "format": _COLUMNS,
        "id": "\n".join(ids),
        "category": "\n".join(bank.categories[c] for c in bank.category_codes.tolist()),
        "severity": "\n".join(SEVERITIES[c] for c in bank.severity_codes.tolist()),
        "mode": "\n".join(HASH_TYPES[c] for c in bank.type_codes.tolist()),
    }


def _entry_rows(row: ListVersion) -> list[dict[str, str]]:
    """The stored entries as dicts, whether kept per entry or as columns."""
    e = row.entries
    if isinstance(e, dict) and e.get("format") == _COLUMNS:
        keys = ("id", "category", "severity", "mode")
        cols = [str(e[k]).split("\n") for k in keys]
        return [dict(zip(keys, vals, strict=True)) for vals in zip(*cols, strict=True)]
    return list(e)


def entries_public(row: ListVersion) -> list[dict[str, str]]:
    return [{k: e[k] for k in ("id", "category", "severity", "mode")} for e in _entry_rows(row)]


def _with_digests(cipher: Cipher | None, row: ListVersion) -> list[dict[str, str]]:
    rows = _entry_rows(row)
    if not rows or "digest" in rows[0]:
        return rows
    if cipher is None:  # without the key only ids, modes, severities and categories compare
        return rows
    values = {e.id: e.text for e in load(cipher, row).parsed.entries}
    return [{**r, "digest": cipher.keyed_hash(_DIGEST_PURPOSE, values[r["id"]])[:32]} for r in rows]


def diff(old: ListVersion, new: ListVersion, cipher: Cipher | None = None) -> dict[str, Any]:
    """Entry ids added, removed and changed (text, mode, severity or category). Never the text.
    Hash lists store no per-entry digests: their text changes are found by opening the sealed lists
    with `cipher` (without it, only the other fields are compared)."""
    a = {e["id"]: e for e in _with_digests(cipher, old)}
    b = {e["id"]: e for e in _with_digests(cipher, new)}
    changed = []
    for eid in sorted(a.keys() & b.keys()):
        fields = [k for k in ("digest", "mode", "severity", "category") if a[eid].get(k) != b[eid].get(k)]
        if fields:
            changed.append({"id": eid, "fields": ["text" if f == "digest" else f for f in fields]})
    return {
        "name": new.list_name,
        "from": {"number": old.number, "version": old.version},
        "to": {"number": new.number, "version": new.version},
        "added": sorted(b.keys() - a.keys()),
        "removed": sorted(a.keys() - b.keys()),
        "changed": changed,
    }


def _live_row(s: Session, name: str) -> LiveList:
    live = s.get(LiveList, name, with_for_update=True)
    if live is None:
        live = LiveList(list_name=name)
        s.add(live)
    return live


def activate(s: Session, name: str, ref: str) -> VersionInfo:
    row = resolve(s, name, ref)
    live = _live_row(s, name)
    if live.version_id != row.id:
        live.previous_version_id = live.version_id
        live.version_id = row.id
    if live.shadow_version_id == row.id:
        live.shadow_version_id = None
    live.updated_at = utcnow()
    bump(s, LISTS_COUNTER)
    s.flush()
    return _info(row, live)


def deactivate(s: Session, name: str) -> None:
    live = s.get(LiveList, name)
    if live is None or live.version_id is None:
        raise ListStateError(f"list {name!r} is not live")
    live.previous_version_id, live.version_id = live.version_id, None
    bump(s, LISTS_COUNTER)


def rollback(s: Session, name: str) -> VersionInfo:
    """Make the version that was live before the current one live again."""
    live = s.get(LiveList, name)
    if live is None or live.previous_version_id is None:
        raise ListStateError(f"list {name!r} has no previous live version to roll back to")
    prev = s.get(ListVersion, live.previous_version_id)
    assert prev is not None
    return activate(s, name, str(prev.number))


def set_shadow(s: Session, name: str, ref: str | None) -> VersionInfo | None:
    live = _live_row(s, name)
    if ref is None:
        live.shadow_version_id = None
        bump(s, LISTS_COUNTER)
        return None
    row = resolve(s, name, ref)
    if live.version_id == row.id:
        raise ListStateError("that version is already live; a shadow candidate must differ from it")
    live.shadow_version_id = row.id
    if s.get(ShadowStat, row.id) is None:
        s.add(ShadowStat(version_id=row.id, compared=0, changed=0, transitions={}, samples=[]))
    bump(s, LISTS_COUNTER)
    s.flush()
    return _info(row, live)


def shadow_report(s: Session, name: str) -> dict[str, Any]:
    live = s.get(LiveList, name)
    if live is None or live.shadow_version_id is None:
        raise ListStateError(f"list {name!r} has no shadow candidate")
    row = s.get(ListVersion, live.shadow_version_id)
    stat = s.get(ShadowStat, live.shadow_version_id)
    assert row is not None
    return {
        "name": name,
        "candidate": {"number": row.number, "version": row.version},
        "compared": stat.compared if stat else 0,
        "changed": stat.changed if stat else 0,
        "transitions": dict(stat.transitions) if stat else {},
        "samples": list(stat.samples) if stat else [],
    }


def add_shadow_counts(
    s: Session, version_id: int, compared: int, transitions: dict[str, int], samples: list[str]
) -> None:
    keep = 50
    stat = s.get(ShadowStat, version_id, with_for_update=True)
    if stat is None:
        return
    stat.compared += compared
    stat.changed += sum(transitions.values())
    merged = dict(stat.transitions)
    for k, n in transitions.items():
        merged[k] = merged.get(k, 0) + n
    stat.transitions = merged
    stat.samples = (list(stat.samples) + samples)[:keep]


def bump(s: Session, counter: str) -> None:
    s.execute(update(Generation).where(Generation.name == counter).values(value=Generation.value + 1))


def generation(s: Session, counter: str) -> int:
    return int(s.scalar(select(Generation.value).where(Generation.name == counter)) or 0)


def load(cipher: Cipher, row: ListVersion) -> LoadedList:
    text = cipher.open(row.payload, _context(row.list_name, row.version)).decode("utf-8")
    parsed = parse_list(row.kind, row.list_name, text, row.fmt)
    return LoadedList(row.list_name, row.kind, row.version, parsed)


@dataclass(frozen=True)
class LiveSet:
    generation: int
    live: list[ListVersion]
    shadows: dict[str, ListVersion]  # list name -> candidate version


def live_set(s: Session) -> LiveSet:
    """The live and shadow versions, without their entries and sealed text (loaded on first use:
    workers that already hold a version, or its snapshot, never read them)."""
    gen = generation(s, LISTS_COUNTER)
    rows = s.scalars(select(LiveList)).all()
    light = [defer(ListVersion.entries), defer(ListVersion.payload)]
    live = [v for r in rows if r.version_id is not None and (v := s.get(ListVersion, r.version_id, options=light))]
    shadows = {
        r.list_name: v
        for r in rows
        if r.shadow_version_id is not None
        and (v := s.get(ListVersion, r.shadow_version_id, options=light)) is not None
    }
    return LiveSet(gen, live, shadows)


def reveal(cipher: Cipher, row: ListVersion) -> list[dict[str, str]]:
    return [{**e.public(), "text": e.text} for e in load(cipher, row).parsed.entries]
