"""Stage one of term matching: candidate finders behind one interface.

Both backends return candidates as runs of letter units, and stage two (term_verify) alone decides, so
the two give identical decisions. Hyperscan scans the collapsed text, which keeps a one-to-one offset
map with the folded text, and falls back to the compact view only when the text has runs of single
letters, multi-character leet or non-ASCII letters. Aho-Corasick always scans the compact view.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import ahocorasick_rs

from indexguard.text.canonicalize import Folded
from indexguard.text.leet import COLLAPSE_TABLE, LOWER_COLLAPSE_BYTES
from indexguard.text.units import Compact, compact

# Candidate: (pattern index, unit starts, unit ends) in folded-text offsets.
Candidate = tuple[int, list[int], list[int]]

_SEP = "[^a-z0-9\\n]*"
# Triggers for the compact view, written in the collapsed alphabet (| is already i there).
_TRIGGERS = (
    "(?:^|[^a-z0-9\\n])[a-z0-9][^a-z0-9\\n]+[a-z0-9](?:[^a-z0-9\\n]|$)",
    "\\(\\)|\\[\\]|i<|i\\)|/\\\\|\\\\/|i-i|i_i|\\(_\\)",
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A stage-one pattern: the collapsed letters and where its tokens end."""

    collapsed: str
    token_ends: frozenset[int]

    def tokens(self) -> list[str]:
        out, start = [], 0
        for i in sorted(self.token_ends):
            out.append(self.collapsed[start : i + 1])
            start = i + 1
        return out


class Backend(Protocol):
    name: str

    def candidates(self, folded: Folded) -> list[Candidate]: ...

    def needs_full_path(self, texts: Sequence[str]) -> list[int]: ...


def _k_candidates(k: Compact, hits: list[tuple[int, int, int]]) -> list[Candidate]:
    return [(pid, k.starts[s:e], k.ends[s:e]) for pid, s, e in hits]


class AhoCorasickBackend:
    name = "ahocorasick"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self._ac = ahocorasick_rs.AhoCorasick([p.collapsed for p in patterns]) if patterns else None

    def candidates(self, folded: Folded) -> list[Candidate]:
        if self._ac is None:
            return []
        k = compact(folded.text)
        return _k_candidates(k, self._ac.find_matches_as_indexes(k.text, overlapping=True))

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        return list(range(len(texts))) if self._ac is not None else []


class HyperscanBackend:
    name = "hyperscan"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._n = len(patterns)
        self._local = threading.local()
        exprs = [_l_expression(p) for p in patterns] + list(_TRIGGERS)
        flags = [_flags(hyperscan, e) for e in exprs]
        self._db_l = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db_l.compile(expressions=[e.encode() for e in exprs], ids=list(range(len(exprs))), flags=flags)
        self._db_k = None
        if patterns:
            lits = [re.escape(p.collapsed) for p in patterns]
            self._db_k = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._db_k.compile(
                expressions=[e.encode() for e in lits],
                ids=list(range(len(lits))),
                flags=[_flags(hyperscan, e) for e in lits],
            )

    def _scratch(self, which: str) -> object:
        s = getattr(self._local, which, None)
        if s is None:
            db = self._db_l if which == "l" else self._db_k
            s = self._hs.Scratch(db)
            setattr(self._local, which, s)
        return s

    def _scan(self, db: object, data: bytes, which: str) -> list[tuple[int, int, int]]:
        hits: list[tuple[int, int, int]] = []
        add: Callable[[tuple[int, int, int]], None] = hits.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            add((pid, start, end))

        db.scan(data, match_event_handler=on_match, scratch=self._scratch(which))  # type: ignore[attr-defined]
        return hits

    def candidates(self, folded: Folded) -> list[Candidate]:
        text = folded.text
        if self._n == 0:
            return []
        if text.isascii():
            hits = self._scan(self._db_l, text.translate(COLLAPSE_TABLE).encode("ascii"), "l")
            out: list[Candidate] = []
            trigger = False
            for pid, s, e in hits:
                if pid >= self._n:
                    trigger = True
                    continue
                k = compact(text[s:e], base=s)
                out.append((pid, k.starts, k.ends))
            if not trigger:
                return out
        return self._compact_candidates(text)

    def _compact_candidates(self, text: str) -> list[Candidate]:
        k = compact(text)
        data = k.text.encode("utf-8")
        hits = self._scan(self._db_k, data, "k")
        if not k.text.isascii():
            char_at = _byte_to_char(k.text)
            hits = [(pid, char_at[s], char_at[e]) for pid, s, e in hits]
        return _k_candidates(k, hits)

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        """Indexes of texts that may hold a term; the rest are certainly clean. One scan for all."""
        ascii_idx = [i for i, t in enumerate(texts) if t.isascii() and "\n" not in t]
        out = set(range(len(texts))) - set(ascii_idx)
        if ascii_idx and self._n:
            joined = "\n".join(texts[i] for i in ascii_idx).encode("ascii").translate(LOWER_COLLAPSE_BYTES)
            hits = self._scan(self._db_l, joined, "l")
            if hits:
                import numpy as np

                lengths = np.fromiter((len(texts[i]) + 1 for i in ascii_idx), dtype=np.int64, count=len(ascii_idx))
                starts = np.cumsum(lengths) - lengths
                ends = np.fromiter((h[2] for h in hits), dtype=np.int64, count=len(hits))
                for j in np.unique(np.searchsorted(starts, ends - 1, side="right") - 1):
                    out.add(ascii_idx[int(j)])
        return sorted(out)


def _l_expression(p: Pattern) -> str:
    return _SEP.join(re.escape(t) for t in p.tokens())


def _flags(hs: object, expr: str) -> int:
    f: int = hs.HS_FLAG_SOM_LEFTMOST | hs.HS_FLAG_MULTILINE  # type: ignore[attr-defined]
    if not expr.isascii():
        f |= hs.HS_FLAG_UTF8  # type: ignore[attr-defined]
    return f


def _byte_to_char(text: str) -> list[int]:
    out: list[int] = []
    for i, ch in enumerate(text):
        out.extend([i] * len(ch.encode("utf-8")))
    out.append(len(text))
    return out


def make_backend(patterns: Sequence[Pattern], choice: str = "auto") -> Backend:
    """`hyperscan` when it loads (or when asked), else `ahocorasick`."""
    if choice == "ahocorasick":
        return AhoCorasickBackend(patterns)
    try:
        return HyperscanBackend(patterns)
    except ImportError:
        if choice == "hyperscan":
            raise
        return AhoCorasickBackend(patterns)
