"""What the Torznab proxy already made of result items, so that what it met before costs a dictionary
lookup instead of being parsed, read, screened and written again.

Two memories, both emptied when the screener changes (a list reload), both bounded, every entry
living at most `ttl` seconds (the proxy uses its page-cache lifetime, far shorter than the half link
lifetime a reused download link is guaranteed), so a decision is never older than the lists in force
by more than `ttl` and every link handed out from memory still works:

- items, keyed on a digest (BLAKE2b, 16 bytes) of an item's exact source bytes with the indexer and
  the link base, so
  any change upstream (title, attributes, links) is a new item;
- whole upstream answers, keyed on a digest of their exact bytes (with the indexer and the link
  base): an answer met again (the *arr apps' RSS polls, the same results for another query, a client
  paging back) is not even parsed.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from indexguard.integrations.torznab_feed import KeptItem, Template
from indexguard.screen.decision import Decision

Key = tuple[str, str, bytes]  # (indexer id, download link base, the digest of the item's or the answer's bytes)
Outcome = KeptItem | Decision  # a kept item as written to clients, or a dropped item's decision


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs several times more, per item
class Screened:
    kept: KeptItem | None  # the kept item with its links rewritten; None when it was dropped
    decision: Decision | None  # a dropped item's, re-reported every time a search meets it; None when kept
    expires: float


@dataclass(frozen=True, slots=True)
class Answer:
    """What one upstream answer came to: an outcome per item, in order, and the rest of the feed."""

    outcomes: tuple[Outcome, ...]
    total: int | None  # the upstream's `total`, when it gave one
    template: Template


def answer_key(indexer: str, dl_base: str, body: bytes) -> Key:
    return (indexer, dl_base, hashlib.blake2b(body, digest_size=16).digest())


class ItemCache:
    def __init__(self, ttl: float, size: int, answers: int = 256) -> None:
        self.ttl = ttl
        self.size = size
        self.answers_size = answers
        self._entries: OrderedDict[Key, Screened] = OrderedDict()
        self._answers: OrderedDict[Key, tuple[float, Answer]] = OrderedDict()
        self._screener: object = None

    def __len__(self) -> int:
        return len(self._entries)

    def bind(self, screener: object) -> None:
        """Forget everything when the screener is not the one the entries were made with."""
        if screener is not self._screener:
            self._entries.clear()
            self._answers.clear()
            self._screener = screener

    def get(self, key: Key, now: float | None = None) -> Screened | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= (time.monotonic() if now is None else now):
            del self._entries[key]
            return None
        return entry

    def put(self, key: Key, kept: KeptItem | None, decision: Decision | None, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._entries.pop(key, None)  # a new entry goes to the end of the eviction order
        self._entries[key] = Screened(kept, decision, now + self.ttl)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def answer(self, key: Key, now: float | None = None) -> Answer | None:
        entry = self._answers.get(key)
        if entry is None:
            return None
        if entry[0] <= (time.monotonic() if now is None else now):
            del self._answers[key]
            return None
        return entry[1]

    def put_answer(self, key: Key, answer: Answer, expires: float) -> None:
        """`expires`: no later than the entries of the items it reused (their links' guarantee)."""
        self._answers.pop(key, None)
        self._answers[key] = (expires, answer)
        while len(self._answers) > self.answers_size:
            self._answers.popitem(last=False)
