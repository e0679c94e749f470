"""Bencode decoding: a strict C fast path (bencode2) and our own lenient, iterative tokenizer.

The strict path accepts only canonical bencode (sorted, unique keys; no leading zeros). Real
uploads are not always canonical, and an uploader can hide a second `name` behind a duplicate key,
so when the strict path refuses a file the lenient tokenizer decodes it instead: it never
recurses, records the byte span of every dictionary, keeps every value of a duplicated key, and
turns non-canonical forms into warnings. Hashes are always taken from raw byte spans.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import bencode2

from indexguard.formats.errors import FormatError, FormatLimitExceeded

KIND = "bencode"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_MAX_INT_CHARS = 21  # sign plus 20 digits: anything longer is not an int64
_MAX_LEN_DIGITS = 10


class BDict:
    """A dictionary as written in the file: every (key, value) pair in order, duplicates kept.

    `start`/`end` are the byte span of the whole `d...e` in the input."""

    __slots__ = ("end", "has_duplicates", "pairs", "start", "unsorted")

    def __init__(self, start: int) -> None:
        self.pairs: list[tuple[bytes, BValue]] = []
        self.start = start
        self.end = start
        self.unsorted = False
        self.has_duplicates = False

    def get(self, key: bytes) -> BValue | None:
        for k, v in self.pairs:
            if k == key:
                return v
        return None

    def get_all(self, key: bytes) -> list[BValue]:
        return [v for k, v in self.pairs if k == key]

    def items(self) -> list[tuple[bytes, BValue]]:
        return self.pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"BDict({self.pairs!r})"


BValue: TypeAlias = "int | bytes | list[BValue] | dict[bytes, BValue] | BDict"
_Warn = Callable[[str, str, int], None]


def dict_get(d: BValue, key: bytes) -> BValue | None:
    """First value of `key` in a decoded dictionary (plain dict or BDict); None for non-dicts."""
    if isinstance(d, dict):
        return d.get(key)
    if isinstance(d, BDict):
        return d.get(key)
    return None


def dict_get_all(d: BValue, key: bytes) -> list[BValue]:
    """Every value of `key`, in file order."""
    if isinstance(d, dict):
        v = d.get(key)
        return [] if v is None else [v]
    if isinstance(d, BDict):
        return d.get_all(key)
    return []


def dict_items(d: BValue) -> list[tuple[bytes, BValue]]:
    if isinstance(d, dict):
        return list(d.items())
    if isinstance(d, BDict):
        return d.pairs
    return []


def is_dict(v: object) -> bool:
    return isinstance(v, dict | BDict)


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits, modelled on libtorrent's defaults."""

    max_size: int = 10 * 1024 * 1024
    max_depth: int = 100
    max_tokens: int = 3_000_000
    max_pieces: int = 2**21
    time_budget: float = 2.0


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class BencodeWarning:
    code: str
    message: str
    offset: int | None = None


@dataclass(slots=True)
class Decoded:
    """A decoded document. `strict` says which path produced it."""

    root: BValue
    data: bytes
    strict: bool
    warnings: list[BencodeWarning] = field(default_factory=list)

    def value_span(self, key: bytes) -> tuple[int, int] | None:
        """Byte span of the first top-level value under `key` when that value is a dictionary."""
        if isinstance(self.root, BDict):
            v = self.root.get(key)
            return (v.start, v.end) if isinstance(v, BDict) else None
        if isinstance(self.root, dict):
            return _strict_span(self.data, self.root, key)
        return None


def decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Decode one bencoded document; raise FormatError / FormatLimitExceeded with a reason and offset."""
    if len(data) > limits.max_size:
        raise FormatLimitExceeded(KIND, "too_large", f"{len(data)} bytes is over the {limits.max_size} limit")
    if not data:
        raise FormatError(KIND, "empty", "no data", 0)
    try:
        root = bencode2.bdecode(data)
    except (ValueError, TypeError, RecursionError, OverflowError):
        root, warnings = lenient_decode(data, limits)
        return Decoded(root=root, data=data, strict=False, warnings=warnings)
    try:
        _check_tree(root, data, limits)
    except (FormatError, FormatLimitExceeded):
        # The strict tree has no offsets: the tokenizer finds the same fault and says where.
        lenient_decode(data, limits)
        raise
    return Decoded(root=root, data=data, strict=True)


_BIG_INT = re.compile(rb"i-?\d{19,}e")


def _check_tree(root: BValue, data: bytes, limits: Limits) -> None:
    """Depth, token and int64 limits for a tree the strict path produced. Walks containers only,
    iteratively; token counting and the int scan are skipped when the input is too short or has
    no 19-digit integer to break them (each token takes at least two bytes)."""
    if _BIG_INT.search(data):
        _check_ints(root)
    count_tokens = len(data) > 2 * limits.max_tokens
    tokens = 0
    level: list[Any] = [root] if type(root) in _CONTAINERS else []
    depth = 1
    while level:  # breadth first, one level at a time: no recursion, no per-node tuples
        if depth > limits.max_depth:
            raise FormatLimitExceeded(KIND, "too_deep", f"nesting deeper than {limits.max_depth}")
        if count_tokens:
            tokens += sum(2 * len(v) + 1 for v in level)
        # one comprehension per level, not one per container: this walk runs on every strict parse
        nxt: list[Any] = [x for v in level for x in (v.values() if type(v) is dict else v)
                          if type(x) in _CONTAINERS]
        if tokens > limits.max_tokens:
            raise FormatLimitExceeded(KIND, "too_many_tokens", f"more than {limits.max_tokens} tokens")
        level = nxt
        depth += 1


_CONTAINERS = frozenset({list, dict})


def _check_ints(root: BValue) -> None:
    stack: list[BValue] = [root]
    while stack:
        v = stack.pop()
        if isinstance(v, int):
            if not INT64_MIN <= v <= INT64_MAX:
                raise FormatError(KIND, "integer_overflow", "integer does not fit in 64 bits")
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())


def _strict_span(data: bytes, root: dict[bytes, BValue], key: bytes) -> tuple[int, int] | None:
    """Locate a top-level value in canonical input. Every other top-level key and value is
    re-encoded (canonical input re-encodes byte for byte) and verified against the raw bytes before
    and after the value, so the span between them is exactly what the file holds; the value itself,
    usually by far the largest, is never re-encoded."""
    if not isinstance(root.get(key), dict):
        return None
    head: list[bytes] = [b"d"]
    tail: list[bytes] = []
    part = head
    for k, v in root.items():
        part.append(b"%d:%s" % (len(k), k))
        if k == key:
            part = tail
        else:
            part.append(bencode2.bencode(v))
    tail.append(b"e")
    before = b"".join(head)
    after = b"".join(tail)
    start, end = len(before), len(data) - len(after)
    if end - start < 2 or not data.startswith(before) or not data.endswith(after):
        return None
    if data[start] != 0x64 or data[end - 1] != 0x65:  # 'd' ... 'e'
        return None
    return (start, end)


class _Frame:
    __slots__ = ("container", "key", "key_offset", "last_key", "seen")

    def __init__(self, container: list[BValue] | BDict) -> None:
        self.container = container
        self.key: bytes | None = None
        self.key_offset = 0
        self.last_key: bytes | None = None
        self.seen: set[bytes] = set()


def lenient_decode(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[BValue, list[BencodeWarning]]:
    """Our own tokenizer: iterative, offset-recording, keeps duplicate keys, tolerates
    non-canonical forms (as warnings). Refuses truncation, bad syntax and limit breaches."""
    if len(data) > limits.max_size:
        raise FormatLimitExceeded(KIND, "too_large", f"{len(data)} bytes is over the {limits.max_size} limit")
    warnings: list[BencodeWarning] = []
    seen_codes: set[str] = set()

    def warn(code: str, message: str, offset: int) -> None:
        if code not in seen_codes:  # one warning per kind keeps a hostile file from flooding output
            seen_codes.add(code)
            warnings.append(BencodeWarning(code, message, offset))

    n = len(data)
    pos = 0
    tokens = 0
    deadline = time.monotonic() + limits.time_budget
    stack: list[_Frame] = []
    root: BValue | None = None
    while True:
        if pos >= n:
            raise FormatError(KIND, "truncated", "input ends inside a value", pos)
        tokens += 1
        if tokens > limits.max_tokens:
            raise FormatLimitExceeded(KIND, "too_many_tokens", f"more than {limits.max_tokens} tokens", pos)
        if not tokens & 0xFFF and time.monotonic() > deadline:
            raise FormatLimitExceeded(KIND, "time_budget", f"decoding took over {limits.time_budget}s", pos)
        c = data[pos]
        start = pos
        value: BValue
        if c == 0x65:  # 'e'
            if not stack:
                raise FormatError(KIND, "unexpected_end", "'e' outside any list or dictionary", pos)
            frame = stack.pop()
            if frame.key is not None:
                raise FormatError(KIND, "missing_value", "dictionary key without a value", frame.key_offset)
            pos += 1
            value = frame.container
            if isinstance(value, BDict):
                value.end = pos
            if not stack:
                root = value
                break
            _add(stack[-1], value, start, warn)
            continue
        if c == 0x6C or c == 0x64:  # 'l' or 'd'
            if len(stack) >= limits.max_depth:
                raise FormatLimitExceeded(KIND, "too_deep", f"nesting deeper than {limits.max_depth}", pos)
            if stack and isinstance(stack[-1].container, BDict) and stack[-1].key is None:
                raise FormatError(KIND, "bad_key", "dictionary key must be a string", pos)
            stack.append(_Frame([] if c == 0x6C else BDict(pos)))
            pos += 1
            continue
        if c == 0x69:  # 'i'
            end = data.find(b"e", pos + 1, pos + 2 + _MAX_INT_CHARS)
            if end < 0:
                if data.find(b"e", pos + 1) < 0:
                    raise FormatError(KIND, "truncated", "integer without its closing 'e'", pos)
                raise FormatError(KIND, "integer_overflow", "integer does not fit in 64 bits", pos)
            value = _parse_int(data[pos + 1 : end], pos, warn)
            pos = end + 1
        elif 0x30 <= c <= 0x39:
            colon = data.find(b":", pos, pos + _MAX_LEN_DIGITS + 1)
            if colon < 0:
                raise FormatError(KIND, "bad_string_length", "string length is not digits then ':'", pos)
            digits = data[pos:colon]
            if not digits.isdigit():
                raise FormatError(KIND, "bad_string_length", "string length is not digits then ':'", pos)
            if len(digits) > 1 and digits[0] == 0x30:
                warn("noncanonical_length", "string length with a leading zero", pos)
            length = int(digits)
            if colon + 1 + length > n:
                raise FormatError(KIND, "truncated", f"string of {length} bytes runs past the end", pos)
            value = data[colon + 1 : colon + 1 + length]
            pos = colon + 1 + length
        else:
            raise FormatError(KIND, "bad_token", f"unexpected byte 0x{c:02x}", pos)
        if not stack:
            root = value
            break
        _add(stack[-1], value, start, warn)
    if pos != n:
        warn("trailing_data", f"{n - pos} bytes after the end of the document", pos)
    return root, warnings


def _add(frame: _Frame, value: BValue, offset: int, warn: _Warn) -> None:
    container = frame.container
    if isinstance(container, list):
        container.append(value)
        return
    if frame.key is None:
        if not isinstance(value, bytes):
            raise FormatError(KIND, "bad_key", "dictionary key must be a string", offset)
        last = frame.last_key
        if last is not None:
            if value in frame.seen:
                container.has_duplicates = True
                warn("duplicate_key", "a dictionary repeats a key; every value is kept", offset)
            elif value < last:
                container.unsorted = True
                warn("unsorted_keys", "dictionary keys are not in sorted order", offset)
        frame.seen.add(value)
        frame.key = value
        frame.key_offset = offset
        frame.last_key = value
        return
    container.pairs.append((frame.key, value))
    frame.key = None


def _parse_int(body: bytes, offset: int, warn: _Warn) -> int:
    digits = body[1:] if body[:1] == b"-" else body
    if not digits or not digits.isdigit():
        raise FormatError(KIND, "bad_integer", "integer is not an optional '-' then digits", offset)
    if (len(digits) > 1 and digits[0] == 0x30) or body == b"-0":
        warn("noncanonical_integer", "integer with a leading zero or '-0'", offset)
    value = int(body)
    if not INT64_MIN <= value <= INT64_MAX:
        raise FormatError(KIND, "integer_overflow", "integer does not fit in 64 bits", offset)
    return value
