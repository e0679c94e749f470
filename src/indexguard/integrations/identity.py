"""Identity matchers for the Screener built by the integrations: the deny set and exact hash lists.

The service keeps its own (database-backed) matchers; these adapters serve the command-line proxy,
the middleware and the exporters, which read a JSONL deny set and hash list files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from indexguard.lists.hash_list import HashBank, load_hash_list
from indexguard.lists.terms import TermList
from indexguard.match.hit import Hit
from indexguard.screen.deny_set import DenySet, deny_hits
from indexguard.screen.hash_matchers import HashIdentities
from indexguard.screen.screener import IdentityMatcher, Screener


class DenySetMatcher:
    """A DenySet as the Screener's IdentityMatcher: an item sharing an identity with an earlier
    blocked item is blocked too."""

    def __init__(self, deny: DenySet) -> None:
        self.deny = deny

    def match_identities(self, identities: dict[str, list[str]]) -> list[Hit]:
        return deny_hits(self.deny.lookup(identities))


# Kept under this name for the integrations' callers; one implementation serves the CLI, service and proxy.
HashBankMatcher = HashIdentities


def load_banks(paths: Sequence[Path] | None) -> list[HashBank]:
    return [load_hash_list(p) for p in paths or []]


def build_screener(
    term_lists: Sequence[TermList],
    allow_lists: Sequence[TermList] = (),
    *,
    deny: DenySet | None = None,
    banks: Sequence[HashBank] = (),
    backend: str = "auto",
) -> Screener:
    matchers: list[IdentityMatcher] = []
    if deny is not None:
        matchers.append(DenySetMatcher(deny))
    if banks:
        matchers.append(HashBankMatcher(banks))
    versions = {b.name: b.version for b in banks}
    return Screener.build(term_lists, allow_lists, backend=backend, identity_matchers=matchers,
                          extra_versions=versions)
