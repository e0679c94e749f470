"""What the Torznab proxy already made of a result item, so that an item met again (the next page of
a search, another search returning it, the *arr apps' RSS polls) costs a dictionary lookup instead
of being read, screened and rewritten again.

The key is the item's exact serialized bytes together with the indexer and the link base, so any
change upstream (title, attributes, links) is a new item. An entry lives at most `ttl` seconds (the
proxy uses its page-cache lifetime, far shorter than the half link lifetime a reused download link
is guaranteed), the cache is bounded, and it empties itself when the screener changes (a list
reload), so a decision is never older than the lists in force by more than `ttl`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from indexguard.integrations.torznab_feed import Element
from indexguard.screen.decision import Decision

Key = tuple[str, str, bytes]  # (indexer id, download link base, the item's bytes)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs several times more, per item
class Screened:
    element: Element | None  # the kept item with its links rewritten; None when it was dropped
    pub_date: str
    decision: Decision | None  # a dropped item's, re-reported every time a search meets it; None when kept
    expires: float


class ItemCache:
    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[Key, Screened] = OrderedDict()
        self._screener: object = None

    def __len__(self) -> int:
        return len(self._entries)

    def bind(self, screener: object) -> None:
        """Forget everything when the screener is not the one the entries were made with."""
        if screener is not self._screener:
            self._entries.clear()
            self._screener = screener

    def get(self, key: Key, now: float | None = None) -> Screened | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= (time.monotonic() if now is None else now):
            del self._entries[key]
            return None
        return entry

    def put(self, key: Key, element: Element | None, pub_date: str, decision: Decision | None,
            now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._entries.pop(key, None)  # a new entry goes to the end of the eviction order
        self._entries[key] = Screened(element, pub_date, decision, now + self.ttl)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
