"""Stage one of term matching: candidate finders behind one interface.

Both backends scan the compact view (letters only, leet collapsed, separators dropped), where every
evasion of the family leaves a term's letters contiguous, and return candidates as runs of letter
units; stage two (term_verify) alone decides, so the two give identical decisions. Hyperscan adds a
fast exit: for ASCII text it first scans the compact view built in C without offsets, and builds the
offset-carrying view only when something may match.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import ahocorasick_rs

from indexguard.match.line_spans import line_end, line_numbers, line_start
from indexguard.text.canonicalize import Folded
from indexguard.text.leet import LEET_SYMBOLS, LOWER_COLLAPSE_BYTES, MULTI, SEPARATOR_BYTES
from indexguard.text.markup import BBCODE_LITERALS, MARKUP_LITERALS
from indexguard.text.repeats import REPEAT_LITERALS
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
        self._lengths = [len(p.collapsed.encode("utf-8")) for p in patterns]
        self._local = threading.local()
        # One literal database serves both views: each pattern's letters joined (what the compact view
        # holds) and its whole tokens one space apart plus the routing literals (the spaced view only:
        # they hold a space, which the compact view never does).
        self._spaced = _SpacedLiterals.build(patterns)
        self._db_k: Any = _literal_db(hyperscan, self._spaced.literals) if patterns else None
        self._db_multi: Any = _raw_db(hyperscan)

    def __getstate__(self) -> dict[str, Any]:
        # Compiled databases travel serialized: a sweep worker loads them instead of compiling.
        dump = self._hs.dumpb
        return {"lengths": self._lengths, "spaced": self._spaced,
                "db_k": None if self._db_k is None else dump(self._db_k), "db_multi": dump(self._db_multi)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._lengths = state["lengths"]
        self._spaced = state["spaced"]
        self._local = threading.local()
        load = hyperscan.loadb
        self._db_k = None if state["db_k"] is None else load(state["db_k"], hyperscan.HS_MODE_BLOCK)
        self._db_multi = load(state["db_multi"], hyperscan.HS_MODE_BLOCK)

    def _scratch(self, which: str) -> Any:
        scratch = getattr(self._local, which, None)
        if scratch is None:
            # Hyperscan scratch space is per thread; a service scans from many threads at once.
            scratch = self._hs.Scratch(self._db_k if which == "k" else self._db_multi)
            setattr(self._local, which, scratch)
        return scratch

    def _scan_ids(self, data: bytes, which: str = "k") -> list[tuple[int, int]]:
        """(id, end) of every match: literal ids of the term database, or ids of the raw one."""
        db = self._db_k if which == "k" else self._db_multi
        hits: list[tuple[int, int]] = []
        add: Callable[[tuple[int, int]], None] = hits.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            add((pid, end))

        db.scan(data, match_event_handler=on_match, scratch=self._scratch(which))
        return hits

    def _scan_spaced(self, buf: bytes, routed: set[int]) -> list[tuple[int, int, int]]:
        """Scan the spaced view of `buf`: the start of the line of each routing hit goes into `routed`,
        every hit of a literal standing for patterns comes back as (literal, end, line start). Most hits
        route, so each is placed in the callback itself (one rfind) rather than kept and placed later."""
        sp = self._spaced
        routes, pids, follow, rfind = sp.routes, sp.pids, sp.follow, buf.rfind
        route = routed.add
        hits: list[tuple[int, int, int]] = []
        add = hits.append
        view = buf.translate(SPACED_BYTES)
        size = len(view)

        def on_match(lid: int, start: int, end: int, flags: int, ctx: object) -> None:
            after = follow[lid]
            if after is not None:
                # A token and two or more separators: only where the next token of some pattern may
                # start after the separators (its first letter) can a term span the gap.
                j = end
                while j < size and view[j] == 0x20:
                    j += 1
                if j == size or view[j] not in after:
                    return
            line = rfind(b"\n", 0, end - 1) + 1  # every hit has end >= 1
            if routes[lid]:
                route(line)
            if pids[lid]:
                add((lid, end, line))

        self._db_k.scan(view, match_event_handler=on_match, scratch=self._scratch("k"))
        return hits

    def _scan(self, data: bytes) -> list[tuple[int, int]]:
        """(pattern, end) of every pattern in a compact view."""
        pids = self._spaced.pids
        return [(pid, end) for lid, end in self._scan_ids(data) for pid in pids[lid]]

    def candidates(self, folded: Folded) -> list[Candidate]:
        text = folded.text
        if self._db_k is None:
            return []
        if text.isascii() and not _MULTI_RE.search(text):
            data = text.encode("ascii")
            if not _has_symbols(data):
                # One compact view, every unit one byte: scan the translated bytes once, locate units
                # only when something may match (the same candidates, in the same order, as below).
                hits = self._scan(data.translate(LOWER_COLLAPSE_BYTES, SEPARATOR_BYTES))
                if not hits:
                    return []
                at = _kept_offsets(data, SEPARATOR_BYTES)
                lengths = self._lengths
                return [(pid, at[end - lengths[pid] : end], [i + 1 for i in at[end - lengths[pid] : end]])
                        for pid, end in hits]
            if not self._flag_ascii(data):
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
        found = self.line_candidates(buf)
        return line_numbers(buf, sorted(found.certain | {h.start for h in found.hits}))

    def line_candidates(self, buf: bytes) -> LineCandidates:
        """Stage one over an ASCII, newline-separated buffer, with every candidate located in its line
        (lines are known by the offset where they start) so stage two can verify it without building
        the per-text compact view.

        One byte-for-byte translation of the whole buffer (the spaced view: lower case, leet collapsed,
        every separator a space, newlines kept, so offsets are those of `buf`) and one scan find each
        term written as whole tokens joined or one separator apart, with its letter units; lines where
        a term may be written otherwise (a separator run between tokens, letters spelled out one by one,
        leet symbols) are routed to the compact view (_compact_candidates), which finds every candidate
        there. Every line the compact view alone would flag is flagged (tests/sweep/test_bulk_prefilter.py)."""
        sp = self._spaced
        if self._db_k is None or not sp.usable:
            return self._compact_candidates(buf)
        out = LineCandidates(set(), [])
        routed: set[int] = set()
        self._raw_lines(buf, out, routed)
        hits = self._scan_spaced(buf, routed)
        routed -= out.certain
        skip = out.certain | routed
        stops: dict[int, int] = {}
        for lid, end, start in hits:
            if start in skip:
                continue
            stop = stops.get(start) or stops.setdefault(start, line_end(buf, start))
            first = end - sp.lengths[lid] - start
            units = [first + i for i in sp.units[lid]]
            for pid in sp.pids[lid]:
                out.hits.append(LineHit(pid, start, stop, units))
        if routed:
            self._route(buf, sorted(routed), out)
        return out

    def _raw_lines(self, buf: bytes, out: LineCandidates, routed: set[int]) -> None:
        """The raw scan: lines with multi-character leet (`|<`, `()`), markup or held letters go whole
        (`out.certain`), lines with leet symbols take the compact view (`routed`), and the lines that
        begin with whitespace are noted (`out.heads`), so that a caller need not look for blank lines."""
        certain, heads = out.certain, out.heads
        for pid, end in self._scan_ids(buf, "multi"):
            if pid >= _RAW_HEADS:
                heads.add(end - 1)  # the hit is a newline and the whitespace after it
            else:
                (certain if pid < _RAW_CERTAIN else routed).add(line_start(buf, end - 1))
        if buf and buf[0] in _WHITESPACE:
            heads.add(0)

    def _route(self, buf: bytes, starts: list[int], out: LineCandidates) -> None:
        """The compact view over just the lines starting at `starts`, its findings placed back in `buf`."""
        find = buf.find
        ends = [find(b"\n", a) for a in starts]
        if ends[-1] < 0:
            ends[-1] = len(buf)  # only the last line (the highest start) can lack its newline
        lines = [buf[a:b] for a, b in zip(starts, ends, strict=True)]
        # Line start in the joined lines -> line start in `buf`.
        origin = dict(zip(itertools.accumulate((len(x) + 1 for x in lines[:-1]), initial=0), starts, strict=True))
        # Routed lines hold no raw-scan hit that sends a line whole (those lines were taken out), and no
        # raw literal spans a newline: the raw scan of the joined lines would find nothing.
        sub = self._compact_candidates(b"\n".join(lines), raw_scanned=True)
        for h in sub.hits:
            a = origin[h.start]
            out.hits.append(LineHit(h.pid, a, a + h.end - h.start, h.units))

    def _compact_candidates(self, buf: bytes, *, raw_scanned: bool = False) -> LineCandidates:
        """Stage one in the compact view (separators deleted) of the whole buffer: every candidate.
        `raw_scanned`: the caller knows the raw scan finds no line to send whole."""
        out = LineCandidates(set(), [])
        if self._db_k is None:
            return out
        if not raw_scanned:
            self._raw_lines(buf, out, set())
        views = [SEPARATOR_BYTES, SEPARATOR_AND_SYMBOL_BYTES] if _has_symbols(buf) else [SEPARATOR_BYTES]
        for dropped in views:
            data = buf.translate(LOWER_COLLAPSE_BYTES, dropped)
            hits = self._scan(data)
            if hits:
                out.hits.extend(self._locate(buf, data, dropped, hits))
        return out

    def _locate(self, buf: bytes, data: bytes, dropped: bytes, hits: list[tuple[int, int]]) -> list[LineHit]:
        """Each hit (pattern, end in the compact buffer `data`) as a LineHit in `buf`: the compact view
        keeps every newline, so a hit's line is the line of the same number in `buf`."""
        import numpy as np

        newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
        compact_nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        ends = np.fromiter((e for _, e in hits), dtype=np.int64, count=len(hits))
        lines = np.searchsorted(compact_nl, ends - 1).tolist()
        units_at: dict[int, list[int]] = {}
        out = []
        for (pid, end), line in zip(hits, lines, strict=True):
            cstart = int(compact_nl[line - 1]) + 1 if line else 0
            start = int(newlines[line - 1]) + 1 if line else 0
            stop = int(newlines[line]) if line < len(newlines) else len(buf)
            units = units_at.get(line)
            if units is None:
                units = units_at[line] = _kept_offsets(buf[start:stop], dropped)
            length = self._lengths[pid]
            out.append(LineHit(pid, start, stop, units[end - length - cstart : end - cstart]))
        return out


@dataclass(frozen=True, slots=True)
class LineHit:
    """A stage-one candidate in the line that spans bytes start..end of the buffer (the line is known
    by `start`); `units` are the offsets, within the line, of its one-byte letter units."""

    pid: int
    start: int
    end: int
    units: list[int]


@dataclass(frozen=True, slots=True)
class LineCandidates:
    certain: set[int]  # starts of the lines that take the per-item path whatever stage two says
    hits: list[LineHit]
    heads: set[int] = field(default_factory=set)  # starts of the lines that begin with whitespace


def _kept(dropped: bytes) -> bytes:
    return bytes(c not in dropped for c in range(256))


# For each compact view: a translation table to 1 for the bytes it keeps, 0 for those it drops.
_KEPT = {d: _kept(d) for d in (SEPARATOR_BYTES, SEPARATOR_AND_SYMBOL_BYTES)}


def _kept_offsets(data: bytes, dropped: bytes) -> list[int]:
    """Offsets of the bytes of `data` that the compact view dropping `dropped` keeps (its letter units).
    Translate and compress run in C: a title costs about a microsecond, not one Python step a byte."""
    return list(itertools.compress(range(len(data)), data.translate(_KEPT[dropped])))


_SYMBOL_RE = re.compile(b"|".join(re.escape(s) for s in _SYMBOL_BYTES))


def _has_symbols(data: bytes) -> bool:
    if len(data) < 512:
        return _SYMBOL_RE.search(data) is not None  # one C call for a title
    return any(sym in data for sym in _SYMBOL_BYTES)  # memchr per symbol for a buffer


def _literal_db(hs: Any, literals: Sequence[str | bytes]) -> Any:
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[lit if isinstance(lit, bytes) else lit.encode("utf-8") for lit in literals],
        ids=list(range(len(literals))),
        flags=0,
        literal=True,
    )
    return db


def _raw_db(hs: Any) -> Any:
    """What the bulk path looks for in the raw buffer: multi-character leet, markup that a site would
    render (text/markup.py) and letters held for emphasis (text/repeats.py), so that ASCII lines read
    differently from how they are stored take the full path."""
    exact = [m.encode("ascii") for m in MULTI] + list(MARKUP_LITERALS)
    caseless = list(BBCODE_LITERALS) + list(REPEAT_LITERALS)
    # ids from _RAW_CERTAIN on: leet symbols; from _RAW_HEADS on: a newline and whitespace after it.
    plain = list(_SYMBOL_BYTES) + list(_HEAD_LITERALS)
    expressions = exact + caseless + plain
    assert len(exact) + len(caseless) == _RAW_CERTAIN and _RAW_CERTAIN + len(_SYMBOL_BYTES) == _RAW_HEADS
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(
        expressions=expressions,
        ids=list(range(len(expressions))),
        flags=[0] * len(exact) + [hs.HS_FLAG_CASELESS] * len(caseless) + [0] * len(plain),
        literal=True,
    )
    return db


# What bytes.strip() removes: only a line that begins with one of these can be blank. Two-byte literals
# starting with a newline cost the raw scan nothing measurable, where a pass of its own over the buffer
# cost a sweep 4 % of its time.
_WHITESPACE = b"\t\n\x0b\x0c\r "
_HEAD_LITERALS = tuple(b"\n" + bytes([c]) for c in _WHITESPACE)
_RAW_CERTAIN = len(MULTI) + len(MARKUP_LITERALS) + len(BBCODE_LITERALS) + len(REPEAT_LITERALS)
_RAW_HEADS = _RAW_CERTAIN + len(_SYMBOL_BYTES)


# --- the spaced view ----------------------------------------------------------------------------------

def _spaced_bytes() -> bytes:
    table = bytearray(LOWER_COLLAPSE_BYTES)
    for c in SEPARATOR_BYTES:
        table[c] = 0x20
    return bytes(table)


# Lower case and leet collapsed as in the compact view, but every separator becomes a space instead of
# being dropped: one `bytes.translate` with no deletion, the same length as its input.
SPACED_BYTES = _spaced_bytes()
MAX_TOKENS_SPELLED_OUT = 4  # phrases of more tokens are found by their first two (and routed)


@dataclass(frozen=True, slots=True)
class _SpacedLiterals:
    """The literals of the term database. A literal stands for patterns (`pids`), with its letter units
    at `units` (offsets in the literal), and/or (`routes`) sends its line in the spaced view to the
    compact view: a phrase's next token after two or more separators, letters spelled out one by one,
    the first tokens of a phrase of many."""

    literals: list[bytes]
    pids: list[tuple[int, ...]]
    units: list[tuple[int, ...]]
    lengths: list[int]
    routes: list[bool]  # a hit sends its line to the compact view
    # For a token followed by two separators (it only routes; a phrase's token followed by a one-letter
    # token): the letters that may come next after the separators; None for every other literal.
    follow: list[bytes | None]
    usable: bool

    @staticmethod
    def build(patterns: Sequence[Pattern]) -> _SpacedLiterals:
        """`usable` False when the spaced view cannot be used (a token of two letters: any two letters a
        separator apart might spell it, so every line would need the compact view)."""
        found: dict[bytes, list[int]] = {}
        route: set[bytes] = set()
        follow: dict[bytes, set[int]] = {}
        inner: set[str] = set()  # the first two inner letters of each token (the second one, tokens of 4+)
        shortest = 99
        for pid, p in enumerate(patterns):
            tokens, first = [], 0
            for i in sorted(p.token_ends):
                tokens.append(p.collapsed[first : i + 1])
                first = i + 1
            found.setdefault(p.collapsed.encode("utf-8"), []).append(pid)  # the compact view's literal
            if not p.collapsed.isascii():
                continue  # can never match ASCII text: the compact view of non-ASCII text only
            shortest = min([shortest, *(len(t) for t in tokens if len(t) > 1)])
            inner.update(t[1:3] for t in tokens if len(t) > 2)
            whole = tokens if len(tokens) <= MAX_TOKENS_SPELLED_OUT else tokens[:2]
            for gaps in itertools.product(("", " "), repeat=len(whole) - 1):
                if not any(gaps):
                    continue
                lit = (whole[0] + "".join(g + t for g, t in zip(gaps, whole[1:], strict=True))).encode()
                if whole is tokens:
                    found.setdefault(lit, []).append(pid)
                else:
                    route.add(lit)
            if whole is not tokens:
                route.add("".join(whole).encode())
            for t, nxt in itertools.pairwise(whole):
                if len(nxt) > 1:
                    # Two separators or more before a token: the next token follows whole (spelled out,
                    # its letters route below). Ends in letters: a rare literal, and cheap to scan for.
                    route.add(("  " + nxt).encode())
                else:
                    follow.setdefault((t + "  ").encode(), set()).add(ord(nxt))
        route.update(follow)
        usable = shortest > 2
        if not usable:
            route.clear()
        elif shortest == 3:
            # A token spelled out: its second letter stands alone between separators.
            route.update(f" {t[0]} ".encode() for t in inner)
        else:
            # A token of four letters or more spelled out: its second and third letters one separator
            # apart, or one of the two followed by more.
            route.update(f" {t[0]} {t[1]} ".encode() for t in inner)
            route.update(f" {a}  ".encode() for t in inner for a in t)
        # A literal may both stand for patterns and route (the first tokens of a long phrase may be
        # another pattern): its line is routed, and the compact view finds that pattern there.
        literals = list(found) + sorted(route - set(found))
        pids = [tuple(found.get(lit, ())) for lit in literals]
        routes = [lit in route for lit in literals]
        # Most literals hold no space (every compact-view literal): their units are every byte.
        units = [tuple(range(len(lit))) if 0x20 not in lit else tuple(i for i, c in enumerate(lit) if c != 0x20)
                 for lit in literals]
        after = [bytes(sorted(follow[lit])) if lit in follow and not found.get(lit) else None for lit in literals]
        return _SpacedLiterals(literals, pids, units, [len(lit) for lit in literals], routes, after, usable)


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


# --- regex entries in the bulk path -------------------------------------------------------------------

_RX_ESCAPES = frozenset("dDwWsSbB.\\-[](){}|?*+^$/ ")
_RX_QUANT = re.compile(r"\{\d+(,\d*)?\}")


def hyperscan_regex(pattern: str) -> str | None:
    """The Hyperscan form of a regex entry when it uses only the accepted subset (docs/sweep.md):
    ASCII literals, `.`, classes `[...]` (ranges, negation), `\\d \\w \\s \\b` and their negations,
    `\\xHH`, groups `(...)`/`(?:...)`, alternation, `? * + {n} {n,} {n,m}` (greedy or lazy), `^ $`.
    None for anything else (lookaround, backreferences, inline flags, `\\A \\Z`, Unicode classes,
    fuzzy matching, non-ASCII): such entries keep the per-item path. On ASCII text the result finds a
    match on every line where the `regex` module (IGNORECASE) finds a non-empty one."""
    if not pattern.isascii():
        return None
    out: list[str] = []
    i, depth_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", pattern[i + 2 : i + 4]):
                out.append(pattern[i : i + 4])
                i += 4
                continue
            if not nxt or nxt not in _RX_ESCAPES or (depth_class and nxt in "bB"):
                return None
            # Python's \s also matches \x1c-\x1f: widen it so the prefilter never misses.
            out.append(("\\s\\x1c-\\x1f" if depth_class else "[\\s\\x1c-\\x1f]") if nxt == "s" else "\\" + nxt)
            i += 2
            continue
        if depth_class:
            if ch == "[" and pattern[i + 1 : i + 2] in (":", "=", "."):
                return None  # POSIX classes, collating elements: not in the accepted subset
            depth_class = ch != "]" or (out[-1] in ("[", "[^") if out else False)
        elif ch == "[":
            depth_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif ch == "(" and pattern[i + 1 : i + 2] == "?" and pattern[i + 2 : i + 3] != ":":
            return None
        elif ch == "{":
            m = _RX_QUANT.match(pattern, i)
            if m is None or i == 0:
                return None
            out.append(m.group())
            i = m.end()
            continue
        elif ch == "}":
            return None
        out.append(ch)
        i += 1
    return None if depth_class else "".join(out)


class RegexPrefilter:
    """Regex entries compiled into one Hyperscan database (caseless, ^/$ per line), scanned over the
    same ASCII buffer as the literals. `rejected` names the entries it could not take (entry id and
    why): with any, the bulk path is off and every line takes the per-item path, as before."""

    def __init__(self, entries: Sequence[tuple[str, str]]) -> None:
        import hyperscan

        self._hs: Any = hyperscan
        self.rejected: list[tuple[str, str]] = []
        exprs: list[bytes] = []
        for entry_id, pattern in entries:
            form = hyperscan_regex(pattern)
            if form is None:
                self.rejected.append((entry_id, "uses a feature outside the accepted subset"))
                continue
            try:
                _regex_db(hyperscan, [form.encode()])
            except hyperscan.error as e:
                self.rejected.append((entry_id, f"hyperscan: {e}"))
                continue
            exprs.append(form.encode())
        self._db: Any = _regex_db(hyperscan, exprs) if exprs and not self.rejected else None
        self._local = threading.local()

    @property
    def usable(self) -> bool:
        return self._db is not None

    def __getstate__(self) -> dict[str, Any]:
        return {"rejected": self.rejected, "db": None if self._db is None else self._hs.dumpb(self._db)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import hyperscan

        self._hs = hyperscan
        self.rejected = state["rejected"]
        self._db = None if state["db"] is None else hyperscan.loadb(state["db"], hyperscan.HS_MODE_BLOCK)
        self._local = threading.local()

    def lines(self, buf: bytes) -> set[int]:
        """Starts of the lines of an ASCII newline-separated buffer where some regex entry may match."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        ends: list[int] = []

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            ends.append(end)

        self._db.scan(buf, match_event_handler=on_match, scratch=scratch)
        return {line_start(buf, end - 1) for end in ends}


def _regex_db(hs: Any, exprs: list[bytes]) -> Any:
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    flags = hs.HS_FLAG_CASELESS | hs.HS_FLAG_MULTILINE
    db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[flags] * len(exprs))
    return db


def regex_prefilter(entries: Sequence[tuple[str, str]]) -> RegexPrefilter | None:
    """None when Hyperscan is not installed (then regex entries keep the per-item path)."""
    if not entries:
        return None
    try:
        return RegexPrefilter(entries)
    except ImportError:
        return None
