"""One screening call as the service makes it: screen, apply the deny set, record, compare shadows.

Pure of HTTP: routes call `screen_one`/`screen_batch` and `persist`, and turn results into JSON.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import meta as case_meta
from indexguard.cases import service as cases
from indexguard.errors import IndexguardError
from indexguard.integrations.webhooks import Endpoint, Outbox, WebhookSender, case_event
from indexguard.screen.decision import Decision, Reason
from indexguard.screen.item import Item
from indexguard.settings import Settings
from indexguard.store import records
from indexguard.store.records import Record
from indexguard.web.live import LiveLists, LiveState
from indexguard.web.metrics import Metrics

DENY_LIST = "deny-set"
_BTIH = re.compile(r"xt=urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})")
_IDENTITY_HASHES = ("infohash", "md5", "sha1", "sha256", "pdq")


@dataclass(frozen=True)
class Screened:
    item: Item
    decision: Decision
    identities: list[tuple[str, str]]
    case_meta: dict[str, Any] | None = None  # review/block items: what the case page may show


def text_screen(state: LiveState) -> case_meta.TextScreen:
    def spans(text: str) -> list[tuple[int, int]] | None:
        try:
            d = state.screener.screen(Item(id="", kind="listing", text=text))
        except IndexguardError:
            return None
        if any(r.span is None for r in d.reasons):
            return None
        return [r.span for r in d.reasons if r.span is not None]

    return spans


def _with_meta(state: LiveState, r: Screened) -> Screened:
    if r.item.kind == "query" or not r.item.id or r.decision.action not in ("review", "block"):
        return r
    reasons = [x.to_json() for x in r.decision.reasons]
    meta = case_meta.item_meta(r.item, reasons, text_screen(state))
    meta["uploader_id"] = case_meta.uploader_id(r.item.extra)
    return Screened(r.item, r.decision, r.identities, meta)


def identities(item: Item, decision: Decision | None = None) -> list[tuple[str, str]]:
    """What identifies the item beyond its words: hashes, infohashes, magnet btih, URLs, and any
    identities the core reports in Decision.extra["identities"] ({kind: value or [values]})."""
    extra = decision.extra.get("identities") if decision is not None else None
    if not (item.hashes or item.magnet or item.urls or extra):
        return []  # the common case of a plain-text listing: nothing to look up
    out: list[tuple[str, str]] = []
    for kind in _IDENTITY_HASHES:
        out += [(kind, v.strip().lower()) for v in item.hashes.get(kind, []) if v.strip()]
    if item.magnet and (m := _BTIH.search(item.magnet)):
        out.append(("infohash", _btih_hex(m.group(1))))
    out += [("url", u.strip()) for u in item.urls if u.strip()]
    if isinstance(extra, dict):
        for kind, vals in extra.items():
            for v in vals if isinstance(vals, list) else [vals]:
                if isinstance(v, str) and v:
                    out.append((str(kind), v.lower() if kind != "url" else v))
    return list(dict.fromkeys(_infohash_kind(k, v) for k, v in out))


def _btih_hex(text: str) -> str:
    """A magnet btih in hex, whether written as 40 hex digits or 32 base32 letters."""
    return base64.b32decode(text.upper()).hex() if len(text) == 32 else text.lower()


def _infohash_kind(kind: str, value: str) -> tuple[str, str]:
    # A site's bare "infohash" and the core's typed ones name the same identity in the deny set.
    if kind == "infohash":
        kind = {40: "infohash_v1", 64: "infohash_v2"}.get(len(value), kind)
    return kind, value


def _fail_closed(item: Item, error: IndexguardError) -> Decision:
    reason = Reason("parser", "", "unparseable", "unparseable", "raw", "raw", None, "review", str(error)[:300])
    return Decision(item.id, "review", [reason], "", {"error": str(error)[:300]})


def _apply_deny(d: Decision, ids: list[tuple[str, str]], state: LiveState) -> None:
    if not ids or not state.deny or d.action == "block":
        return
    hits = [k for k in ids if k in state.deny]
    if not hits:
        return
    d.action = "block"
    for kind, _value in hits:
        d.reasons.append(
            Reason(DENY_LIST, str(state.deny_generation), f"deny:{kind}", "deny-set", "identity", "exact",
                   None, "block", "this identity was blocked before")
        )  # fmt: skip


def _apply_banned_uploader(d: Decision, item: Item, state: LiveState) -> None:
    """A moderator's "ban uploader" puts the site's uploader id in the deny set: that account's new
    listings are refused. Kept apart from identities, so blocking one listing never bans its uploader."""
    uploader = case_meta.uploader_id(item.extra)
    if not uploader or not state.deny or d.action == "block" or ("uploader", uploader) not in state.deny:
        return
    d.action = "block"
    d.reasons.append(
        Reason(DENY_LIST, str(state.deny_generation), "deny:uploader", "deny-set", "uploader", "exact", None,
               "block", "this uploader was banned by a moderator")
    )


def screen_one(state: LiveState, item: Item) -> Screened:
    try:
        d = state.screener.query(item.text or "", id=item.id) if item.kind == "query" else state.screener.screen(item)
    except IndexguardError as e:
        d = _fail_closed(item, e)
    ids = identities(item, d) if item.kind != "query" else []
    _apply_deny(d, ids, state)
    _apply_banned_uploader(d, item, state)
    return _with_meta(state, Screened(item, d, ids))


def screen_batch(state: LiveState, items: list[Item]) -> list[Screened]:
    try:
        decisions = state.screener.screen_many(items)
    except IndexguardError:
        return [screen_one(state, it) for it in items]  # find the bad one; the rest still screen
    out = []
    for it, d in zip(items, decisions, strict=True):
        ids = identities(it, d) if it.kind != "query" else []
        _apply_deny(d, ids, state)
        _apply_banned_uploader(d, it, state)
        out.append(_with_meta(state, Screened(it, d, ids)))
    return out


def compare_shadows(live: LiveLists, state: LiveState, results: list[Screened]) -> None:
    for shadow in state.shadows:
        for r in results:
            try:
                if r.item.kind == "query":
                    sd = shadow.screener.query(r.item.text or "", id=r.item.id)
                else:
                    sd = shadow.screener.screen(r.item)
            except IndexguardError:
                continue
            live.note_shadow(shadow, r.decision.action, sd.action, r.item.id)


@dataclass(frozen=True)
class CaseRecord(Record):
    """A review/block record of an item: it opens or joins the item's case, with masked metadata."""

    meta: dict[str, Any] = field(default_factory=dict)


def to_record(r: Screened, versions: dict[str, str], client_hash: str) -> Record:
    reasons = [x.to_json() for x in r.decision.reasons]
    if r.item.kind == "query":
        reasons = records.query_reasons(reasons)
    used = {x["list"]: x["list_version"] for x in reasons}
    args = (r.item.id, r.item.kind, r.decision.action, reasons, {**versions, **used}, r.identities, client_hash)
    if r.case_meta is not None:
        return CaseRecord(*args, meta=r.case_meta)
    return Record(*args)


def _case_signal(rec: CaseRecord, decision_id: int | None) -> cases.Signal:
    fields = {str(x.get("field", "")) for x in rec.reasons}
    lists = {str(x.get("list", "")) for x in rec.reasons}
    if DENY_LIST in lists:
        source = "deny"
    elif rec.action == "block" and (fields & {"identities", "pdq"} or any(f.startswith("urls[") for f in fields)):
        source = "hotline"  # a hash or URL list: what hotlines publish
    else:
        source = "screen"
    category = next((str(x.get("category")) for x in rec.reasons if x.get("category")), "unknown")
    slim = [{k: x.get(k) for k in ("list", "list_version", "entry", "category", "field", "view")} for x in rec.reasons]
    return cases.Signal(
        rec.item_id[: records.MAX_ID], rec.kind, source, rec.action, category,
        0.9 if rec.action == "block" else 0.6, "screening", decision_id=decision_id, reasons=slim, meta=rec.meta,
    )  # fmt: skip


def persist(
    factory: sessionmaker[Session], recs: list[Record], track_items: bool, settings: Settings | None = None
) -> None:
    fx = cases.Effects()
    with factory() as s, s.begin():
        for rec in recs:
            decision_id = records.save(s, rec, track_items)
            if isinstance(rec, CaseRecord):
                fx.add(cases.open_or_join(s, _case_signal(rec, decision_id))[1])
    cases.emit(factory, fx, notifier(settings))


def notifier(settings: Settings | None = None) -> cases.Notify | None:
    """Case events (`case.opened`, `item.hidden`, `item.removed`, ...) as signed webhooks, when the
    settings' webhook_url and webhook_secret are set (else INDEXGUARD_WEBHOOK_URL/_SECRET/_OUTBOX as
    they stand now, for callers without settings); delivered off the caller's thread."""
    env = os.environ.get
    url = (settings.webhook_url if settings else None) or env("INDEXGUARD_WEBHOOK_URL")
    secret = (settings.webhook_secret if settings else None) or env("INDEXGUARD_WEBHOOK_SECRET")
    if not url or not secret:
        return None
    default_box = settings.webhook_outbox if settings else ":memory:"
    box_path = env("INDEXGUARD_WEBHOOK_OUTBOX", default_box) if default_box == ":memory:" else default_box

    def notify(events: list[tuple[str, dict[str, Any]]]) -> None:
        outbox = Outbox(box_path)
        sender = WebhookSender(outbox, [Endpoint.of("site", url, secret)])
        for kind, data in events:
            sender.enqueue(case_event(kind, data))
        threading.Thread(target=_deliver, args=(sender,), name="indexguard-case-webhooks", daemon=True).start()

    return notify


def _deliver(sender: WebhookSender) -> None:
    try:
        sender.run(max_wait=60)
    finally:
        sender.close()


def observe(metrics: Metrics, endpoint: str, started: float, results: list[Screened]) -> None:
    metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
    metrics.items.labels(endpoint).inc(len(results))
    counts: Counter[tuple[str, str]] = Counter()
    for r in results:
        if not r.decision.reasons:
            counts[(r.decision.action, "none")] += 1
        for c in {x.category for x in r.decision.reasons}:
            counts[(r.decision.action, c)] += 1
    for (action, category), n in counts.items():
        metrics.decisions.labels(action, category).inc(n)


def decision_json(r: Screened, versions: dict[str, str] | None) -> dict[str, object]:
    out = r.decision.to_json()
    if versions is not None:
        out["lists"] = versions
    return out
