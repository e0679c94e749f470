"""How each list kind is parsed. The one place that knows which core parser reads which kind.

Term lists and allowlists come from `indexguard.lists.terms`; hash and URL lists from
`indexguard.lists.hash_list` / `indexguard.lists.url_list` when that part of the core is present.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from indexguard.errors import IndexguardError, ListFormatError

KINDS: tuple[str, ...] = ("term", "allow", "hash", "url")
FORMATS: tuple[str, ...] = ("txt", "csv")
_TEXT_ATTRS: tuple[str, ...] = ("term", "hash", "value", "url", "pattern")


class ListKindUnavailable(IndexguardError):
    """A list kind whose parser is not part of this build."""


@dataclass(frozen=True)
class EntryMeta:
    id: str
    category: str
    severity: str
    mode: str
    text: str  # confidential: used for the keyed digest and the reveal, never stored in clear

    def public(self) -> dict[str, str]:
        return {"id": self.id, "category": self.category, "severity": self.severity, "mode": self.mode}


@dataclass(frozen=True)
class ParsedList:
    name: str
    kind: str
    fmt: str
    version: str
    entries: Sequence[EntryMeta]  # a packed hash bank's are made on demand
    obj: Any  # what the core parser returned; handed to Screener.build


def _term_parser(allowlist: bool) -> Callable[[str, str, str], Any]:
    def parse(text: str, name: str, fmt: str) -> Any:
        from indexguard.lists.terms import parse_term_list

        return parse_term_list(text, name, "csv" if fmt == "csv" else "txt", allowlist=allowlist)

    return parse


def _optional_parser(module: str, func: str) -> Callable[[str, str, str], Any]:
    def parse(text: str, name: str, fmt: str) -> Any:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise ListKindUnavailable(f"this build has no {module} (needed for this list kind)") from None
        fn = getattr(mod, func, None)
        if fn is None:
            raise ListKindUnavailable(f"{module} has no {func}() (needed for this list kind)")
        return fn(text, name, fmt)

    return parse


def _hash_parser(text: str, name: str, fmt: str) -> Any:
    from indexguard.lists.hash_list import ListOptions
    from indexguard.lists.packed_bank import parse_packed

    # Columns, not a HashEntry per hash: a million-hash bank parses in seconds and stays small.
    return parse_packed(text, name, ListOptions(name))  # the format follows from the header


PARSERS: dict[str, Callable[[str, str, str], Any]] = {
    "term": _term_parser(False),
    "allow": _term_parser(True),
    "hash": _hash_parser,
    "url": _optional_parser("indexguard.lists.url_list", "parse_url_list"),
}


def parse_list(kind: str, name: str, text: str, fmt: str) -> ParsedList:
    """Parse and validate a list; raises ListFormatError (with line) or ListKindUnavailable."""
    if kind not in KINDS:
        raise ListFormatError(name, None, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if fmt not in FORMATS:
        raise ListFormatError(name, None, f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    obj = PARSERS[kind](text, name, fmt)
    entries = _entries(obj)
    if not entries:
        raise ListFormatError(name, None, "the list has no entries")
    return ParsedList(name, kind, fmt, str(obj.version), entries, obj)


def _entries(obj: Any) -> Sequence[EntryMeta]:
    from indexguard.lists.packed_bank import PackedBank

    if isinstance(obj, PackedBank):
        return PackedMeta(obj)
    return [_entry_meta(e) for e in getattr(obj, "entries", [])]


class PackedMeta(Sequence[EntryMeta]):
    """The entries of a packed bank as EntryMeta, made only when someone iterates (a reveal)."""

    def __init__(self, bank: Any) -> None:
        self.bank = bank

    def __len__(self) -> int:
        return len(self.bank)

    @overload
    def __getitem__(self, i: int) -> EntryMeta: ...
    @overload
    def __getitem__(self, i: slice) -> list[EntryMeta]: ...
    def __getitem__(self, i: int | slice) -> EntryMeta | list[EntryMeta]:
        if isinstance(i, slice):
            return [_entry_meta(e) for e in self.bank.entries[i]]
        return _entry_meta(self.bank.entries[i])

    def __iter__(self) -> Iterator[EntryMeta]:
        return (_entry_meta(e) for e in self.bank.entries)


def _entry_meta(e: Any) -> EntryMeta:
    text = next((str(v) for a in _TEXT_ATTRS if (v := getattr(e, a, None)) is not None), "")
    return EntryMeta(
        id=str(e.id),
        category=str(getattr(e, "category", "") or ""),
        severity=str(getattr(e, "severity", "") or ""),
        mode=str(getattr(e, "mode", "") or getattr(e, "hash_type", "") or getattr(e, "type", "") or ""),
        text=text,
    )
