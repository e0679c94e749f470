"""Building a Screener from the list files named on the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from indexguard.lists.terms import TermList, load_term_list
from indexguard.screen.demo import demo_term_list
from indexguard.screen.screener import Screener
from indexguard.text.canonicalize import Canonicalizer


def load_screener(
    terms: list[Path] | None,
    allow: list[Path] | None,
    *,
    backend: str = "auto",
    quiet: bool = False,
) -> Screener:
    """Raises ListFormatError (file:line: reason) when a list is broken."""
    canon = Canonicalizer()
    term_lists: list[TermList]
    if terms:
        term_lists = [load_term_list(p, canon=canon) for p in terms]
    else:
        if not quiet:
            print("indexguard: no --terms given, using the bundled demo list of placeholder terms", file=sys.stderr)
        term_lists = [demo_term_list()]
    allow_lists = [load_term_list(p, allowlist=True, canon=canon) for p in allow or []]
    return Screener.build(term_lists, allow_lists, backend=backend)
