"""Stage one of term matching: candidate finders behind one interface.

Both backends scan the compact view (letters only, leet collapsed, separators dropped), where every
evasion of the family leaves a term's letters contiguous, and return candidates as runs of letter
units; stage two (term_verify) alone decides, so the two give identical decisions. Hyperscan adds a
fast exit: for ASCII text it first scans the compact view built in C without offsets, and builds the
offset-carrying view only when something may match.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import ahocorasick_rs

from indexguard.text.canonicalize import Folded
from indexguard.text.leet import LEET_SYMBOLS, LOWER_COLLAPSE_BYTES, MULTI, SEPARATOR_BYTES
from indexguard.text.markup import BBCODE_LITERALS, MARKUP_LITERALS
from indexguard.text.units import Compact, compact, compact_without_symbols

# Candidate: (pattern index, unit starts, unit ends) in folded-text offsets.
Candidate = tuple[int, list[int], list[int]]

_MULTI_RE = re.compile("|".join(re.escape(m) for m in MULTI))
_SYMBOL_BYTES = tuple(s.encode() for s in sorted(LEET_SYMBOLS))
SEPARATOR_AND_SYMBOL_BYTES = SEPARATOR_BYTES + b"".join(_SYMBOL_BYTES)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A stage-one pattern: the collapsed letters and where its tokens end."""

    collapsed: str
    token_ends: frozenset[int]


class Backend(Protocol):
    name: str

    def candidates(self, folded: Folded) -> list[Candidate]: ...

    def needs_full_path(self, texts: Sequence[str]) -> list[int]: ...


def _views(text: str) -> list[Compact]:
    """The compact view, and the one reading leet symbols as separators when the text has any."""
    second = compact_without_symbols(text)
    return [compact(text)] if second is None else [compact(text), second]


def _k_candidates(k: Compact, spans: list[tuple[int, int, int]]) -> list[Candidate]:
    return [(pid, k.starts[s:e], k.ends[s:e]) for pid, s, e in spans]


class AhoCorasickBackend:
    name = "ahocorasick"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self._ac = ahocorasick_rs.AhoCorasick([p.collapsed for p in patterns]) if patterns else None

    def candidates(self, folded: Folded) -> list[Candidate]:
        if self._ac is None:
            return []
        out: list[Candidate] = []
        for k in _views(folded.text):
            out += _k_candidates(k, self._ac.find_matches_as_indexes(k.text, overlapping=True))
        return out

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        return list(range(len(texts))) if self._ac is not None else []


class HyperscanBackend:
    name = "hyperscan"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        import hyperscan

        self._hs: Any = hyperscan
        self._literals = [p.collapsed for p in patterns]
        self._lengths = [len(lit.encode("utf-8")) for lit in self._literals]
        self._local = threading.local()
        self._db_k: Any = _literal_db(hyperscan, self._literals) if patterns else None
        self._db_multi: Any = _raw_db(hyperscan)

    def _scan(self, data: bytes, which: str = "k") -> list[tuple[int, int]]:
        db = self._db_k if which == "k" else self._db_multi
        scratch = getattr(self._local, which, None)
        if scratch is None:
            # Hyperscan scratch space is per thread; a service scans from many threads at once.
            scratch = self._hs.Scratch(db)
            setattr(self._local, which, scratch)
        hits: list[tuple[int, int]] = []
        add: Callable[[tuple[int, int]], None] = hits.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            add((pid, end))

        db.scan(data, match_event_handler=on_match, scratch=scratch)
        return hits

    def candidates(self, folded: Folded) -> list[Candidate]:
        text = folded.text
        if self._db_k is None:
            return []
        if text.isascii() and not _MULTI_RE.search(text) and not self._flag_ascii(text.encode("ascii")):
            return []
        out: list[Candidate] = []
        for k in _views(text):
            hits = self._scan(k.text.encode("utf-8"))
            if k.text.isascii():
                spans = [(pid, end - self._lengths[pid], end) for pid, end in hits]
            else:
                char_at = _byte_to_char(k.text)
                spans = [(pid, char_at[end - self._lengths[pid]], char_at[end]) for pid, end in hits]
            out += _k_candidates(k, spans)
        return out

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        """Indexes of texts that may hold a term; the rest are certainly clean. One scan for all."""
        ascii_idx = [i for i, t in enumerate(texts) if t.isascii() and "\n" not in t]
        rest = set(range(len(texts))) - set(ascii_idx)
        if not ascii_idx or self._db_k is None:
            return sorted(rest)
        buf = "\n".join(texts[i] for i in ascii_idx).encode("ascii")
        return sorted(rest | {ascii_idx[j] for j in self.flag_lines(buf)})

    def _flag_ascii(self, data: bytes) -> bool:
        """True when one ASCII text may hold a term in either compact view (no offsets needed)."""
        if self._scan(data.translate(LOWER_COLLAPSE_BYTES, SEPARATOR_BYTES)):
            return True
        return _has_symbols(data) and bool(
            self._scan(data.translate(LOWER_COLLAPSE_BYTES, SEPARATOR_AND_SYMBOL_BYTES))
        )

    def flag_lines(self, buf: bytes) -> list[int]:
        """0-based line numbers of an ASCII, newline-separated buffer whose lines may hold a term."""
        import numpy as np

        if self._db_k is None:
            return []
        lines: set[int] = set()
        views = [(buf.translate(LOWER_COLLAPSE_BYTES, SEPARATOR_BYTES), "k"), (buf, "multi")]
        if _has_symbols(buf):
            views.append((buf.translate(LOWER_COLLAPSE_BYTES, SEPARATOR_AND_SYMBOL_BYTES), "k"))
        for data, which in views:
            ends = [end for _, end in self._scan(data, which)]
            if ends:
                newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
                lines.update(int(x) for x in np.searchsorted(newlines, np.asarray(ends) - 1))
        return sorted(lines)


def _has_symbols(data: bytes) -> bool:
    return any(sym in data for sym in _SYMBOL_BYTES)


def _literal_db(hs: Any, literals: list[str]) -> Any:
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[lit.encode("utf-8") for lit in literals],
        ids=list(range(len(literals))),
        flags=0,
        literal=True,
    )
    return db


def _raw_db(hs: Any) -> Any:
    """What the bulk path looks for in the raw buffer: multi-character leet, and markup that a site would
    render (text/markup.py), so that ASCII lines whose rendered text may differ take the full path."""
    exact = [m.encode("ascii") for m in MULTI] + list(MARKUP_LITERALS)
    expressions = exact + list(BBCODE_LITERALS)
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(
        expressions=expressions,
        ids=list(range(len(expressions))),
        flags=[0] * len(exact) + [hs.HS_FLAG_CASELESS] * len(BBCODE_LITERALS),
        literal=True,
    )
    return db


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
