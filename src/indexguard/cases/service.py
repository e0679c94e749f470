"""Opening and joining cases, and what moderators do to them.

Functions here work inside the caller's transaction and return `Effects` (audit rows and webhook
events) for the caller to emit once the transaction has committed: the audit log appends in its
own transaction, and on SQLite a second writer inside the first would wait on itself.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import priority
from indexguard.cases.clocks import aware
from indexguard.cases.meta import CaseMeta
from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.screen.deny_set import DENY_LIST
from indexguard.store import audit, deny_repo
from indexguard.store.models import (
    AllowProposal,
    Case,
    CaseEvent,
    CaseMedia,
    CaseSignal,
    DecisionRecord,
    ItemState,
    RevealRecord,
    table_of,
    utcnow,
)

REVEAL_ROLE = "child_safety_lead"
MAX_MEDIA_BYTES = 2 * 1024 * 1024
ACTIONS: tuple[str, ...] = ("remove", "dismiss", "ban_identities", "ban_uploader", "escalate", "hold", "hide")


class CaseError(IndexguardError):
    """A case action that cannot be done (unknown case, wrong state, bad input)."""


class CaseNotFound(CaseError):
    """No such case, or no such image on it."""


class RevealRefused(CaseError):
    """A reveal by someone without the child-safety-lead role (the refusal is recorded)."""


@dataclass(frozen=True)
class Signal:
    """One reason to look at an item: a report or a Decision."""

    item_id: str
    kind: str
    source: str  # report | trusted | screen | hotline | deny
    severity: str  # block | review | report
    category: str
    confidence: float
    reporter: str
    trusted: bool = False
    decision_id: int | None = None
    report_id: int | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    meta: CaseMeta | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (a queue row carries it): the metadata in its stored form."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["meta"] = self.meta.to_json() if self.meta is not None else None
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Signal:
        meta = obj.get("meta")
        return cls(**{**obj, "meta": CaseMeta.from_json(meta) if meta is not None else None})


@dataclass
class Effects:
    audit: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, other: Effects) -> None:
        self.audit += other.audit
        self.events += other.events


Notify = Callable[[list[tuple[str, dict[str, Any]]]], None]  # (event type, data) pairs; cases.webhooks sends them


def audit_in(s: Session, fx: Effects) -> None:
    """Append the effects' audit rows in the caller's transaction (call it last, just before the
    commit), so a change and its audit rows commit together or not at all; `emit` then only sends
    the events."""
    for actor, action, target, detail in fx.audit:
        audit.append_in(s, actor, action, target, detail)
    fx.audit.clear()


def emit(factory: sessionmaker[Session], fx: Effects, notify: Notify | None = None) -> None:
    """After commit: append audit rows not yet written (`audit_in` writes them with the change),
    then hand the events to the webhook sender if any."""
    for actor, action, target, detail in fx.audit:
        audit.append(factory, actor, action, target, detail)
    if notify is not None and fx.events:
        notify(fx.events)


def _event(s: Session, c: Case, actor: str, action: str, detail: dict[str, Any], fx: Effects) -> None:
    s.add(CaseEvent(case_id=c.id, actor=actor, action=action, detail=detail))
    fx.audit.append((actor, f"case.{action}", f"case:{c.id}", {"item": c.item_id, **detail}))
    c.updated_at = utcnow()


def _age_hours(c: Case) -> float:
    return (utcnow() - aware(c.opened_at)).total_seconds() / 3600


def reprioritize(c: Case, hotline: bool = False) -> None:
    conf = 0.9 if c.severity == "block" else 0.6
    c.priority = priority.score(c.severity, conf, c.trusted, _age_hours(c), hotline or c.source == "hotline")


def _item_state(s: Session, c: Case, state: str, action: str) -> None:
    row = s.get(ItemState, c.item_id)
    if row is None:
        s.add(ItemState(item_id=c.item_id, kind=c.kind, state=state, action=action, decision_id=None))
    else:
        row.state, row.updated_at = state, utcnow()


def open_or_join(s: Session, sig: Signal) -> tuple[Case, Effects]:
    """The item's case, opened if there is none; the signal joins it. Delist first: a hotline-list
    hit, a deny-set hit or a trusted flagger's report hides the item at once."""
    fx = Effects()
    c = s.scalars(select(Case).where(Case.item_id == sig.item_id)).first()
    if c is None:
        c = _new_case(s, sig)
        if c is None:  # another worker opened it a moment ago
            c = s.scalars(select(Case).where(Case.item_id == sig.item_id)).one()
        else:
            _event(s, c, sig.reporter, "open", {"source": sig.source, "category": sig.category}, fx)
            fx.events.append(("case.opened", {"case": c.id, "item": c.item_id, "source": sig.source}))
    _join(s, c, sig, fx)
    return c, fx


def open_or_join_many(s: Session, sigs: Sequence[Signal]) -> Effects:
    """`open_or_join` for many signals in a few statements (the listing queue's drainer): the same
    rows, audit entries and events as one call per signal. An item whose case exists already, or
    that has more than one signal here, takes `open_or_join`; the rest (new items, the common case
    at volume) are opened in bulk. If another writer opened one of them meanwhile, the whole bulk
    part falls back to `open_or_join` one by one."""
    fx = Effects()
    if not sigs:
        return fx
    names = list({sig.item_id for sig in sigs})
    existing: set[str] = set()
    for i in range(0, len(names), 500):
        existing.update(s.scalars(select(Case.item_id).where(Case.item_id.in_(names[i : i + 500]))))
    counts = Counter(sig.item_id for sig in sigs)
    fresh = [sig for sig in sigs if counts[sig.item_id] == 1 and sig.item_id not in existing]
    rest = [sig for sig in sigs if counts[sig.item_id] > 1 or sig.item_id in existing]
    if fresh:
        try:
            with s.begin_nested():
                fx.add(_open_many(s, fresh))
        except IntegrityError:
            rest = list(sigs)  # opened by someone else a moment ago: one by one, in order
            fx = Effects()
    for sig in rest:
        fx.add(open_or_join(s, sig)[1])
    return fx


def _open_many(s: Session, sigs: Sequence[Signal]) -> Effects:
    """New cases for items that have none, each with its one signal: what `open_or_join` writes
    for such an item (open, join, delist first, priority), as bulk statements."""
    fx = Effects()
    now = utcnow()
    rows = []
    for sig in sigs:
        rows.append({
            "item_id": sig.item_id, "kind": sig.kind, "status": "open", "severity": sig.severity,
            "category": sig.category, "source": sig.source, "trusted": sig.trusted, "signal_count": 1,
            "priority": priority.score(sig.severity, 0.9 if sig.severity == "block" else 0.6, sig.trusted, 0.0,
                                       sig.source == "hotline"),
            "meta": sig.meta.to_json() if sig.meta else {}, "opened_at": now, "last_signal_at": now,
            "updated_at": now, "hidden_at": now if _delists(sig) else None,
        })  # fmt: skip
    # One executemany, then the ids by item (unique per case, and once in `sigs`): RETURNING in
    # parameter order would send one INSERT per row.
    s.execute(insert(table_of(Case)), rows)
    ids: dict[str, int] = {}
    names = [sig.item_id for sig in sigs]
    for i in range(0, len(names), 500):
        found = s.execute(select(Case.item_id, Case.id).where(Case.item_id.in_(names[i : i + 500])))
        ids.update((str(k), int(v)) for k, v in found)
    signals, events, hidden = [], [], []
    for sig in sigs:
        case_id = ids[sig.item_id]
        signals.append({
            "case_id": case_id, "source": sig.source, "severity": sig.severity, "category": sig.category,
            "confidence": sig.confidence, "reporter": sig.reporter[:128], "decision_id": sig.decision_id,
            "report_id": sig.report_id, "reasons": sig.reasons, "at": now,
        })  # fmt: skip
        opened = {"source": sig.source, "category": sig.category}
        events.append({"case_id": case_id, "actor": sig.reporter, "action": "open", "detail": opened, "at": now})
        fx.audit.append((sig.reporter, "case.open", f"case:{case_id}", {"item": sig.item_id, **opened}))
        fx.events.append(("case.opened", {"case": case_id, "item": sig.item_id, "source": sig.source}))
        if _delists(sig):
            why = {"why": f"delist first: {sig.source}"}
            events.append({"case_id": case_id, "actor": sig.reporter, "action": "hide", "detail": why, "at": now})
            fx.audit.append((sig.reporter, "case.hide", f"case:{case_id}", {"item": sig.item_id, **why}))
            fx.events.append(("item.hidden", {"case": case_id, "item": sig.item_id, "why": why["why"]}))
            hidden.append(sig)
    s.execute(insert(table_of(CaseSignal)), signals)  # tables: one executemany each
    s.execute(insert(table_of(CaseEvent)), events)
    _hide_items(s, hidden, now)
    return fx


def _hide_items(s: Session, sigs: Sequence[Signal], now: Any) -> None:
    """What `_hide` does to the item states of new cases: hidden where allowed or unknown."""
    names = [sig.item_id for sig in sigs]
    states: dict[str, str] = {}
    for i in range(0, len(names), 500):
        chunk = names[i : i + 500]
        found = s.execute(select(ItemState.item_id, ItemState.state).where(ItemState.item_id.in_(chunk)))
        states.update((str(k), str(v)) for k, v in found)
    missing = [{"item_id": sig.item_id, "kind": sig.kind, "state": "hidden", "action": "review", "decision_id": None,
                "updated_at": now} for sig in sigs if sig.item_id not in states]  # fmt: skip
    allowed = [n for n in names if states.get(n) == "allowed"]
    if missing:
        s.execute(insert(table_of(ItemState)), missing)
    if allowed:
        s.execute(update(ItemState).where(ItemState.item_id.in_(allowed)).values(state="hidden", updated_at=now))


def _new_case(s: Session, sig: Signal) -> Case | None:
    c = Case(
        item_id=sig.item_id, kind=sig.kind, status="open", severity=sig.severity, category=sig.category,
        source=sig.source, trusted=sig.trusted, signal_count=0, priority=0.0,
        meta=sig.meta.to_json() if sig.meta else {},
        opened_at=utcnow(), last_signal_at=utcnow(), updated_at=utcnow(),
    )  # fmt: skip
    try:
        with s.begin_nested():
            s.add(c)
            s.flush()
    except IntegrityError:
        return None
    return c


def _join(s: Session, c: Case, sig: Signal, fx: Effects) -> None:
    s.add(
        CaseSignal(
            case_id=c.id, source=sig.source, severity=sig.severity, category=sig.category,
            confidence=sig.confidence, reporter=sig.reporter[:128], decision_id=sig.decision_id,
            report_id=sig.report_id, reasons=sig.reasons,
        )
    )  # fmt: skip
    c.signal_count += 1
    c.last_signal_at = utcnow()
    if priority.stronger(sig.severity, c.severity) == sig.severity and sig.severity != c.severity:
        c.severity, c.category = sig.severity, sig.category
    if sig.meta is not None and not CaseMeta.from_json(c.meta).fields:
        c.meta = sig.meta.to_json()
    c.trusted = c.trusted or sig.trusted
    if c.status == "dismissed" and sig.source in ("report", "trusted", "hotline"):
        c.status, c.resolution = "open", None  # a fresh report reopens a dismissed case
        _event(s, c, sig.reporter, "reopen", {"source": sig.source}, fx)
    if c.hidden_at is None and c.status == "open" and _delists(sig):
        _hide(s, c, sig.reporter, f"delist first: {sig.source}", fx)
    reprioritize(c, sig.source == "hotline")


def _delists(sig: Signal) -> bool:
    # A screening Decision of review/block already hid or removed the item in `items`.
    return sig.source in ("trusted", "hotline", "deny", "screen")


def _hide(s: Session, c: Case, actor: str, why: str, fx: Effects) -> None:
    row = s.get(ItemState, c.item_id)
    if row is None or row.state == "allowed":
        _item_state(s, c, "hidden", "review")
    c.hidden_at = utcnow()
    _event(s, c, actor, "hide", {"why": why}, fx)
    fx.events.append(("item.hidden", {"case": c.id, "item": c.item_id, "why": why}))


def get(s: Session, case_id: int) -> Case:
    c = s.get(Case, case_id)
    if c is None:
        raise CaseNotFound(f"no case {case_id}")
    return c


def act(s: Session, case_id: int, action: str, actor: str, note: str = "") -> Effects:
    """One moderator action on one case (bulk actions call this per case)."""
    c = get(s, case_id)
    fx = Effects()
    note = note.strip()[:512]
    if action == "remove":
        _remove(s, c, actor, fx)
    elif action == "dismiss":
        _dismiss(s, c, actor, note, fx)
    elif action == "ban_identities":
        _ban_identities(s, c, actor, fx)
    elif action == "ban_uploader":
        _ban_uploader(s, c, actor, fx)
    elif action == "escalate":
        _escalate(s, c, actor, fx)
    elif action == "hold":
        _hold(s, c, actor, note, fx)
    elif action == "hide":
        if c.hidden_at is None or (st := s.get(ItemState, c.item_id)) is None or st.state == "allowed":
            _hide(s, c, actor, note or "moderator", fx)
    else:
        raise CaseError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return fx


def _decide(c: Case, actor: str, status: str, resolution: str) -> None:
    now = utcnow()
    c.status, c.resolution, c.decided_by = status, resolution, actor[:64]
    c.decided_at = c.decided_at or now


def _remove(s: Session, c: Case, actor: str, fx: Effects) -> None:
    _decide(c, actor, "confirmed", "removed")
    _item_state(s, c, "removed", "block")
    c.hidden_at = c.hidden_at or utcnow()
    c.removed_at = c.removed_at or utcnow()
    _event(s, c, actor, "remove", {}, fx)
    fx.events.append(("item.removed", {"case": c.id, "item": c.item_id}))


def _dismiss(s: Session, c: Case, actor: str, note: str, fx: Effects) -> None:
    if c.legal_hold and c.status == "confirmed":
        raise CaseError("this case is under legal hold and confirmed; it cannot be dismissed")
    _decide(c, actor, "dismissed", "false_positive")
    c.removed_at = None
    _item_state(s, c, "allowed", "allow")
    entries = _fired_entries(s, c)
    if entries:
        s.add(AllowProposal(case_id=c.id, item_id=c.item_id, entries=entries, note=note or None, proposed_by=actor))
    _event(s, c, actor, "dismiss", {"allowlist_proposal": len(entries), "note": note}, fx)
    fx.events.append(("item.restored", {"case": c.id, "item": c.item_id}))


def _fired_entries(s: Session, c: Case) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for sig in s.scalars(select(CaseSignal).where(CaseSignal.case_id == c.id)):
        for r in sig.reasons:
            key = (str(r.get("list", "")), str(r.get("entry", "")))
            if key[0] and key[0] != DENY_LIST:
                seen[key] = {"list": key[0], "entry": key[1], "category": r.get("category", ""),
                             "field": r.get("field", "")}  # fmt: skip
    return list(seen.values())


def _identities(s: Session, c: Case) -> list[tuple[int, dict[str, list[str]]]]:
    """(decision id, identities) of each decision that joined the case."""
    ids = [x for x in s.scalars(select(CaseSignal.decision_id).where(CaseSignal.case_id == c.id)) if x is not None]
    out: list[tuple[int, dict[str, list[str]]]] = []
    for d in s.scalars(select(DecisionRecord).where(DecisionRecord.id.in_(ids))) if ids else []:
        by_kind: dict[str, list[str]] = {}
        for k, v in d.identities:
            by_kind.setdefault(str(k), []).append(str(v))
        out.append((d.id, by_kind))
    return out


def _ban_identities(s: Session, c: Case, actor: str, fx: Effects) -> None:
    added = sum(deny_repo.store(s, ids, c.item_id, d) for d, ids in _identities(s, c))
    # Values stay out of the log: a banned hash may be a list entry.
    _event(s, c, actor, "ban_identities", {"added": added}, fx)


def _ban_uploader(s: Session, c: Case, actor: str, fx: Effects) -> None:
    uploader = CaseMeta.from_json(c.meta).uploader_id
    if not uploader:
        raise CaseError("the site supplied no uploader id for this item")
    deny_repo.store(s, {"uploader": [str(uploader)]}, c.item_id, None)
    _event(s, c, actor, "ban_uploader", {"uploader": str(uploader)[:200]}, fx)
    fx.events.append(("uploader.banned", {"case": c.id, "item": c.item_id, "uploader": str(uploader)[:200]}))


def _escalate(s: Session, c: Case, actor: str, fx: Effects) -> None:
    if not c.hotline_requested:
        c.hotline_requested, c.hotline_requested_at, c.hotline_requested_by = True, utcnow(), actor[:64]
    _event(s, c, actor, "escalate", {}, fx)
    fx.events.append(("takedown.requested", {"case": c.id, "item": c.item_id, "hotline": True}))
    reprioritize(c, True)


def _hold(s: Session, c: Case, actor: str, note: str, fx: Effects) -> None:
    if not note:
        raise CaseError("a legal hold needs a reason (court order, police request number, ...)")
    c.legal_hold, c.legal_hold_at, c.legal_hold_by, c.legal_hold_reason = True, utcnow(), actor[:64], note
    _event(s, c, actor, "hold", {"reason": note}, fx)


# --- media: sealed thumbnails, reveal one at a time ------------------------------------------


def _context(case_id: int) -> bytes:
    return f"case-media:{case_id}".encode()


def add_media(s: Session, c: Case, cipher: Cipher, data: bytes) -> CaseMedia:
    """Store thumbnail bytes a site supplied, sealed; only images Pillow can read are kept."""
    if len(data) > MAX_MEDIA_BYTES:
        raise CaseError(f"thumbnail larger than {MAX_MEDIA_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").lower()
            im.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise CaseError("thumbnail is not a readable image") from None
    m = CaseMedia(
        case_id=c.id, content_type=f"image/{fmt or 'octet-stream'}", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), sealed=cipher.seal(data, _context(c.id)),
    )  # fmt: skip
    s.add(m)
    s.flush()
    return m


@dataclass(frozen=True)
class Reveal:
    png: bytes
    media_id: int


def reveal(
    s: Session, cipher: Cipher, case_id: int, media_id: int, actor: str, role: str | None, reason: str
) -> tuple[Reveal | None, Effects]:
    """The image, only for the child-safety lead with a reason; every request is recorded.
    A refusal returns (None, effects) so the caller can commit the record before refusing."""
    c = get(s, case_id)
    m = s.get(CaseMedia, media_id)
    if m is None or m.case_id != c.id:
        raise CaseNotFound(f"no image {media_id} on case {case_id}")
    reason = reason.strip()[:512]
    granted = role == REVEAL_ROLE and bool(reason)
    s.add(RevealRecord(case_id=c.id, media_id=m.id, actor=actor, role=role, reason=reason, granted=granted))
    fx = Effects()
    why = "granted" if granted else ("no reason given" if role == REVEAL_ROLE else f"role {role} may not reveal")
    _event(s, c, actor, "reveal" if granted else "reveal_refused", {"media": m.id, "reason": reason, "why": why}, fx)
    if not granted:
        return None, fx
    return Reveal(_greyscale_png(cipher.open(m.sealed, _context(c.id))), m.id), fx


def _greyscale_png(data: bytes) -> bytes:
    # Re-encoded: strips metadata, and greyscale spares the moderator colour detail.
    with Image.open(io.BytesIO(data)) as im:
        im.thumbnail((640, 640))
        out = io.BytesIO()
        im.convert("L").save(out, "PNG")
        return out.getvalue()
