"""The term matcher: term lists and allowlists compiled once per list version set.

Immutable once built, so a service swaps a whole matcher atomically when a list changes. Each text is
matched as stored and in every derived view a reader may see (text/views.py: rendered markup, display
order, transliteration); a view's matches carry spans in the stored text.
"""

from __future__ import annotations

import bisect
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import regex

from indexguard.lists.terms import TermEntry, TermList
from indexguard.match.line_spans import line_numbers
from indexguard.match.term_backends import (
    Backend,
    LineCandidates,
    LineHit,
    Pattern,
    make_backend,
    regex_prefilter,
)
from indexguard.match.term_verify import TermMatch, verify
from indexguard.text.canonicalize import Canonicalizer, Folded
from indexguard.text.leet import LEET_SYMBOLS
from indexguard.text.markup import glued
from indexguard.text.views import ViewBuilder

REGEX_TIMEOUT_S = 0.05
# Bytes that may continue a word in some view (letters, digits read as leet, leet symbols): a listed
# term's letters with none of them on either side stand as a word of their own.
_WORD_BYTES = frozenset((string.ascii_letters + string.digits + "".join(LEET_SYMBOLS)).encode())


@dataclass(frozen=True, slots=True)
class EntryRef:
    list: TermList
    entry: TermEntry

    def __reduce__(self) -> tuple[type[EntryRef], tuple[TermList, TermEntry]]:
        return (EntryRef, (self.list, self.entry))  # as TermEntry.__reduce__: one per entry to unpickle


@dataclass(frozen=True, slots=True)
class LineFlags:
    """What the bulk path says of a newline-separated buffer, each line known by its start offset."""

    starts: list[int]  # the lines that may match, ascending
    heads: frozenset[int]  # every line that begins with whitespace (only these can be blank)


@dataclass(frozen=True, slots=True)
class FieldMatches:
    """Matches in one text, allowlisted ones already removed. Spans are in the original text."""

    folded: Folded
    matches: list[tuple[EntryRef, tuple[int, int], str]]
    errors: list[str]


class TermMatcher:
    def __init__(
        self,
        term_lists: Sequence[TermList],
        allow_lists: Sequence[TermList] = (),
        *,
        backend: str = "auto",
        canon: Canonicalizer | None = None,
    ) -> None:
        self.canon = canon or Canonicalizer()
        self._views = ViewBuilder()
        self.lists = tuple(term_lists) + tuple(allow_lists)
        refs = [EntryRef(tl, e) for tl in self.lists for e in tl.entries]
        self._refs = [r for r in refs if r.entry.mode != "regex"]
        self._regex = [(r, regex.compile(r.entry.term, regex.IGNORECASE)) for r in refs if r.entry.mode == "regex"]
        patterns: dict[Pattern, list[int]] = {}
        for i, r in enumerate(self._refs):
            patterns.setdefault(Pattern(r.entry.collapsed, r.entry.token_ends), []).append(i)
        self._pattern_refs = list(patterns.values())
        # Per pattern, the letters of its listed (not allowlist) entries, when all are ASCII: a candidate
        # of letters only must read as one of them exactly (no letter stands for another).
        self._pattern_letters: list[frozenset[bytes] | None] = [
            frozenset(self._refs[i].entry.letters.encode() for i in refs if not self._refs[i].list.allowlist)
            if all(self._refs[i].entry.letters.isascii() for i in refs) else None
            for refs in self._pattern_refs
        ]
        self.backend: Backend = make_backend(list(patterns), backend)
        self._regex_filter = regex_prefilter([(r.entry.id, r.entry.term) for r, _ in self._regex])

    @property
    def regex_without_bulk_path(self) -> list[tuple[str, str]]:
        """Regex entries the bulk path cannot take (entry id, why); with any, every text takes the
        per-item path."""
        if not self._regex:
            return []
        if self._regex_filter is None:
            return [(r.entry.id, "hyperscan is not installed") for r, _ in self._regex]
        return list(self._regex_filter.rejected)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def match(self, text: str) -> FieldMatches:
        folded = self.canon.fold(text)
        errors: list[str] = []
        matches = self._match_folded(folded, errors)
        views = self._views.derived(text)
        if matches and views and views[0].name == "markup":
            matches = _not_glued(text, matches)
        if views:
            seen = _Spans(matches)
            read = {folded.text}
            for view in views:
                view_folded = self.canon.fold(view.rendered.text)
                if view_folded.text in read:
                    continue  # reads the same as a text already matched (Cyrillic а read aloud is still a)
                read.add(view_folded.text)
                for ref, span, _ in self._match_folded(view_folded, errors):
                    span = view.rendered.source_span(*span)
                    if seen.add(ref, span):
                        matches.append((ref, span, view.name))
        return FieldMatches(folded, _cancel_allowed(matches), list(dict.fromkeys(errors)))

    def _match_folded(self, folded: Folded, errors: list[str]) -> list[tuple[EntryRef, tuple[int, int], str]]:
        """Matches in one folded view, spans in the text that was folded."""
        found: dict[tuple[int, int, int], TermMatch] = {}
        for pid, starts, ends in self.backend.candidates(folded):
            for idx in self._pattern_refs[pid]:
                m = verify(self._refs[idx].entry, idx, folded, starts, ends)
                if m is not None:
                    found.setdefault((idx, m.start, m.end), m)
        matches = [(self._refs[m.entry], folded.original_span(m.start, m.end), m.view) for m in found.values()]
        if self._regex:
            matches += self._regex_matches(folded, errors)
        return matches

    def _regex_matches(self, folded: Folded, errors: list[str]) -> list[tuple[EntryRef, tuple[int, int], str]]:
        out = []
        for ref, rx in self._regex:
            try:
                for m in rx.finditer(folded.text, timeout=REGEX_TIMEOUT_S):
                    if m.end() > m.start():
                        out.append((ref, folded.original_span(m.start(), m.end()), "regex"))
            except TimeoutError:
                errors.append(f"regex entry {ref.entry.id} of {ref.list.name} timed out")
        return out

    def flag_lines(self, buf: bytes, newlines: Any = None) -> list[int] | None:
        """For an ASCII newline-separated buffer: the numbers of the lines that may match, or None when
        this backend has no bulk path (the caller then screens every line). `newlines`: the offsets of
        b"\n" in `buf` (a numpy array), when the caller has them anyway."""
        flags = self.bulk_lines(buf)
        return None if flags is None else line_numbers(buf, flags.starts, newlines)

    def bulk_lines(self, buf: bytes) -> LineFlags | None:
        """flag_lines, each line given by the offset where it starts (ascending): a caller that counts
        its lines anyway numbers them in the same pass (line_spans.scan_lines). Stage two runs here on
        each located candidate, so only lines with a verified term (or multi-character leet) come out.
        The same scan notes the lines that begin with whitespace (the only ones that can be blank)."""
        find = getattr(self.backend, "line_candidates", None)
        rx = self._regex_filter
        if find is None or not buf.isascii() or (self._regex and (rx is None or not rx.usable)):
            return None
        found: LineCandidates = find(buf)
        lines = set(found.certain)
        if self._regex and rx is not None:
            lines |= rx.lines(buf)
        lines |= self._verified(buf, found.hits, lines)
        return LineFlags(sorted(lines), frozenset(found.heads))

    def _verified(self, buf: bytes, hits: list[LineHit], skip: set[int]) -> set[int]:
        """Starts of the lines (not in `skip`) where stage two confirms some candidate of a listed term."""
        out: set[int] = set()
        folded: dict[int, Folded] = {}
        letters = self._pattern_letters
        for hit in hits:
            if hit.start in skip or hit.start in out:
                continue
            known, units = letters[hit.pid], hit.units
            if known is not None and units[-1] - units[0] + 1 == len(units):
                first, last = hit.start + units[0], hit.start + units[-1] + 1
                raw = buf[first:last]
                if raw.isalpha():
                    if raw.lower() not in known:
                        continue  # no leet, other letters: verify refuses it at its first check (a near miss)
                    if (first == hit.start or buf[first - 1] not in _WORD_BYTES) and (
                            last == hit.end or buf[last] not in _WORD_BYTES):
                        # A listed term's letters as a word of their own: verify would confirm it (the
                        # line is flagged either way; the per-item path decides it).
                        out.add(hit.start)
                        continue
            f = folded.get(hit.start)
            if f is None:
                f = folded[hit.start] = self.canon.fold(buf[hit.start : hit.end].decode())
            ends = [u + 1 for u in hit.units]
            for idx in self._pattern_refs[hit.pid]:
                entry = self._refs[idx]
                if not entry.list.allowlist and verify(entry.entry, idx, f, hit.units, ends) is not None:
                    out.add(hit.start)
                    break
        return out

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        """Indexes of texts that may match anything; the others are certainly clean."""
        if self.regex_without_bulk_path:
            return list(range(len(texts)))
        simple = [i for i, t in enumerate(texts) if t.isascii() and "\n" not in t]
        flagged = self.flag_lines("\n".join(texts[i] for i in simple).encode()) if simple else []
        if flagged is None:
            return self.backend.needs_full_path(texts)
        return sorted(set(range(len(texts))) - set(simple) | {simple[j] for j in flagged})


class _Spans:
    """Spans already matched, per entry: a derived view's match of the same entry over the same text is
    the same finding. Sorted per entry so that a text with thousands of matches stays linear-ish."""

    def __init__(self, matches: list[tuple[EntryRef, tuple[int, int], str]]) -> None:
        self._by_ref: dict[int, list[tuple[int, int]]] = {}
        for ref, span, _ in matches:
            bisect.insort(self._by_ref.setdefault(id(ref), []), span)

    def add(self, ref: EntryRef, span: tuple[int, int]) -> bool:
        """Record `span`; False when it overlaps one already recorded for `ref`."""
        spans = self._by_ref.setdefault(id(ref), [])
        i = bisect.bisect_left(spans, span)
        for j in (i - 1, i):
            if 0 <= j < len(spans) and spans[j][0] < span[1] and span[0] < spans[j][1]:
                return False
        spans.insert(i, span)
        return True


def _not_glued(
    text: str, matches: list[tuple[EntryRef, tuple[int, int], str]]
) -> list[tuple[EntryRef, tuple[int, int], str]]:
    """Stored-text matches that rendering does not glue onto a neighbouring word."""
    ends, starts = glued(text)
    return [m for m in matches if m[1][0] not in ends and m[1][1] not in starts]


def _cancel_allowed(
    matches: list[tuple[EntryRef, tuple[int, int], str]],
) -> list[tuple[EntryRef, tuple[int, int], str]]:
    allows = [span for ref, span, _ in matches if ref.list.allowlist]
    out = []
    for ref, span, view in matches:
        if ref.list.allowlist:
            continue
        if any(a[0] < span[1] and span[0] < a[1] for a in allows):
            continue
        out.append((ref, span, view))
    out.sort(key=lambda m: (m[1][0], m[1][1], m[0].entry.id))
    return out
