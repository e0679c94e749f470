"""The integrations' Screener: the core's one assembly (indexguard.screen.assemble) over list files.

Kept for the integrations' callers; it adds nothing to `assemble` but reading hash-list files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from indexguard.lists.hash_list import HashBank, load_hash_list
from indexguard.lists.terms import TermList
from indexguard.screen.assemble import assemble
from indexguard.screen.deny_set import DenySet
from indexguard.screen.hash_matchers import HashIdentities
from indexguard.screen.screener import Screener

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
    return assemble(term_lists, allow_lists, banks=banks, deny=deny, backend=backend)
