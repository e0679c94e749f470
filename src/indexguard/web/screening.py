"""One screening call as the service makes it: screen (the Screener consults the deny set like
any identity matcher), hand the result to recording, compare shadows.

Pure of HTTP: routes call `screen_one`/`screen_batch`, then `indexguard.cases.recording.record`
with `to_screening`'s results, and turn results into JSON.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from indexguard.cases import meta as case_meta
from indexguard.cases import service as cases
from indexguard.cases.recording import ItemFacts, Screening
from indexguard.errors import IndexguardError
from indexguard.integrations.webhooks import Endpoint, Outbox, WebhookSender, case_event
from indexguard.screen.decision import Decision, Reason
from indexguard.screen.item import Item
from indexguard.settings import Settings
from indexguard.web.live import LiveLists, LiveState
from indexguard.web.metrics import Metrics


@dataclass(frozen=True)
class Screened:
    item: Item
    decision: Decision
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
    meta["uploader_id"] = r.item.uploader
    return Screened(r.item, r.decision, meta)


def _fail_closed(item: Item, error: IndexguardError) -> Decision:
    reason = Reason("parser", "", "unparseable", "unparseable", "raw", "raw", None, "review", str(error)[:300])
    return Decision(item.id, "review", [reason], "", {"error": str(error)[:300]})


def screen_one(state: LiveState, item: Item) -> Screened:
    try:
        d = state.screener.query(item.text or "", id=item.id) if item.kind == "query" else state.screener.screen(item)
    except IndexguardError as e:
        d = _fail_closed(item, e)
    return _with_meta(state, Screened(item, d))


def screen_batch(state: LiveState, items: list[Item]) -> list[Screened]:
    try:
        decisions = state.screener.screen_many(items)
    except IndexguardError:
        return [screen_one(state, it) for it in items]  # find the bad one; the rest still screen
    return [_with_meta(state, Screened(it, d)) for it, d in zip(items, decisions, strict=True)]


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


def to_screening(r: Screened, versions: dict[str, str], client_hash: str) -> Screening:
    """The Decision with what recording keeps of its item (see indexguard.cases.recording)."""
    ids = r.decision.extra.get("identities") if r.item.kind != "query" else None
    facts = ItemFacts(
        r.item.id, r.item.kind, client_hash, dict(versions), dict(ids) if isinstance(ids, dict) else {}, r.case_meta
    )
    return Screening(r.decision, facts)


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
