"""One screening call as the service makes it: screen (the Screener consults the deny set like
any identity matcher), hand the result to recording, compare shadows.

Pure of HTTP: routes call `screen_one`/`screen_batch`, then `indexguard.cases.recording.record`
with `to_screening`'s results, and turn results into JSON.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from indexguard.cases import meta as case_meta
from indexguard.cases.meta import CaseMeta
from indexguard.cases.private_urls import UrlKeys
from indexguard.cases.recording import ItemFacts, Screening
from indexguard.errors import IndexguardError
from indexguard.screen.decision import Decision, Reason
from indexguard.screen.item import Item
from indexguard.screen.screener import Examined
from indexguard.web.live import LiveLists, LiveState
from indexguard.web.metrics import Metrics


@dataclass(frozen=True)
class Screened:
    item: Item
    decision: Decision
    case_meta: CaseMeta | None = None  # review/block items: what the case page may show


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


def _with_meta(state: LiveState, item: Item, examined: Examined) -> Screened:
    """The Decision, and for an item that opens a case its metadata, from what screening extracted
    (a flagged torrent is parsed once)."""
    d = examined.decision
    if item.kind == "query" or not item.id or d.action not in ("review", "block"):
        return Screened(item, d)
    reasons = [x.to_json() for x in d.reasons]
    return Screened(item, d, case_meta.item_meta(item, reasons, text_screen(state), examined.extracted))


def _fail_closed(item: Item, error: IndexguardError) -> Decision:
    reason = Reason("parser", "", "unparseable", "unparseable", "raw", "raw", None, "review", str(error)[:300])
    return Decision(item.id, "review", [reason], "", {"error": str(error)[:300]})


def screen_one(state: LiveState, item: Item) -> Screened:
    try:
        if item.kind == "query":
            examined = Examined(state.screener.query(item.text or "", id=item.id))
        else:
            examined = state.screener.examine(item)
    except IndexguardError as e:
        examined = Examined(_fail_closed(item, e))
    return _with_meta(state, item, examined)


def screen_batch(state: LiveState, items: list[Item]) -> list[Screened]:
    try:
        examined = state.screener.examine_many(items)
    except IndexguardError:
        return [screen_one(state, it) for it in items]  # find the bad one; the rest still screen
    return [_with_meta(state, it, e) for it, e in zip(items, examined, strict=True)]


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


def to_screening(r: Screened, versions: dict[str, str], client_hash: str, url_keys: UrlKeys) -> Screening:
    """The Decision with what recording keeps of its item (see indexguard.cases.recording), its
    URLs keyed, shown by host and sealed (indexguard.cases.private_urls)."""
    ids = r.decision.extra.get("identities") if r.item.kind != "query" else None
    facts = ItemFacts(
        r.item.id, r.item.kind, client_hash, dict(versions), dict(ids) if isinstance(ids, dict) else {}, r.case_meta
    )
    return Screening(r.decision, url_keys.facts(facts, r.item.urls))


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
