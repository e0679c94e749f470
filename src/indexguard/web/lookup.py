"""Lookups: "does this hash / this item match, and what" over the live index, recording nothing.

For sites that check at upload and act later. Pure of HTTP and of the database: a lookup reads one
`LiveState` snapshot (so one list-version set answers it) and never writes a decision, a case, an
audit row or a metric. Routes (ours in `routes_lookup`, HMA-shaped ones elsewhere) wrap these.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.lists.hash_list import HASH_TYPES, HEX_LENGTH
from indexguard.match.hit import Hit
from indexguard.screen.decision import Decision, strongest
from indexguard.screen.item import Item
from indexguard.web import screening
from indexguard.web.live import LiveState

# What a caller may name: the list hash types, and the site's bare "infohash" (v1 or v2 by length).
LOOKUP_TYPES: tuple[str, ...] = (*HASH_TYPES, "infohash")
_HEX = frozenset("0123456789abcdef")


class LookupInputError(IndexguardError):
    """A hash type or value that cannot be looked up (the caller's input, answered with 422)."""


@dataclass(frozen=True, slots=True)
class HashMatch:
    """One list entry a hash matched. Names the list, version, entry id and category, never a hash."""

    list: str
    list_version: str
    entry: str
    category: str
    severity: str
    distance: int | None  # PDQ: Hamming distance to the entry; exact types: None

    def to_json(self) -> dict[str, Any]:
        return {
            "list": self.list,
            "list_version": self.list_version,
            "entry": self.entry,
            "category": self.category,
            "severity": self.severity,
            "distance": self.distance,
        }


@dataclass(frozen=True, slots=True)
class HashLookup:
    hash_type: str
    action: str
    matches: tuple[HashMatch, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.hash_type, "action": self.action, "matches": [m.to_json() for m in self.matches]}


def normalise(hash_type: str, value: str) -> tuple[str, str]:
    """(type, lowercase hex) or LookupInputError; a bare "infohash" becomes infohash_v1 or infohash_v2."""
    kind = hash_type.strip().lower()
    text = value.strip().lower()
    if kind == "infohash":
        kind = {40: "infohash_v1", 64: "infohash_v2"}.get(len(text), "infohash_v1")
    if kind not in HEX_LENGTH:
        raise LookupInputError(f"unknown hash type {hash_type!r}: one of {', '.join(LOOKUP_TYPES)}")
    want = HEX_LENGTH[kind]
    if len(text) != want or not _HEX.issuperset(text):
        raise LookupInputError(f"{kind} must be {want} hex digits")
    return kind, text


def lookup_hash(state: LiveState, hash_type: str, value: str) -> HashLookup:
    """Every live entry one hash matches: PDQ within each bank's threshold, other types exactly,
    and the deny set. Raises LookupInputError for an unknown type or a malformed value."""
    kind, text = normalise(hash_type, value)
    hits: list[Hit] = []
    if kind == "pdq":
        for im in state.screener.image_matchers:
            hits += im.match_pdq(text, None)
    else:
        for m in state.screener.identity_matchers:
            hits += m.match_identities({kind: [text]})
    matches = [_match(h) for h in hits]  # deny-set hits come through the identity matchers
    policy = state.screener.policy
    action = strongest([policy.action_for(m.severity, m.category) for m in matches])
    return HashLookup(kind, action, tuple(matches))


def _match(h: Hit) -> HashMatch:
    dist = h.extra.get("distance")
    return HashMatch(h.list, h.list_version, h.entry, h.category, h.severity, int(dist) if dist is not None else None)


def lookup_item(state: LiveState, item: Item) -> Decision:
    """The Decision a listing would get now (lists, deny set, banned uploader), with nothing recorded."""
    # screen_one attaches case metadata only to items with an id; a lookup opens no case, so it
    # screens the item anonymously and puts the id back on the answer.
    d = screening.screen_one(state, dataclasses.replace(item, id="")).decision
    d.id = item.id
    return d
