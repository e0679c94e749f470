"""Shared field types for parsed formats: decoded text with provenance, structured warnings, and
the helpers that flatten them into (field path, text) pairs for screening."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from indexguard.formats.charsets import Decoding


@dataclass(frozen=True, slots=True)
class FormatWarning:
    """A structured finding: `code` is stable (docs/formats.md), `fields` name text_fields paths."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": list(self.fields)}


@dataclass(slots=True)  # not frozen: its __init__ is on the hot path of every torrent parse
class Text:
    """A string from the file: raw bytes, the chosen decoding and the other plausible ones."""

    raw: bytes
    text: str
    charset: str
    variants: tuple[Decoding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "charset": self.charset}
        if self.charset != "utf-8":
            out["raw_hex"] = self.raw.hex()
        if self.variants:
            out["variants"] = [{"charset": d.charset, "text": d.text} for d in self.variants]
        return out



def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for x in items:
        seen.setdefault(x, None)
    return list(seen)


def emit(out: list[tuple[str, str]], label: str, t: Text) -> None:
    out.append((label, t.text))
    for d in t.variants:
        out.append((f"{label}[{d.charset}]", d.text))


_TEXT = attrgetter("text")
_VARIANTS = attrgetter("variants")


def emit_path(out: list[tuple[str, str]], label: str, parts: list[Text]) -> None:
    out.append((label, "/".join(map(_TEXT, parts))))
    if not any(map(_VARIANTS, parts)):  # the common case: every element is plain UTF-8
        return
    charsets = unique(d.charset for t in parts for d in t.variants)
    for cs in charsets:
        alt = [next((d.text for d in t.variants if d.charset == cs), t.text) for t in parts]
        out.append((f"{label}[{cs}]", "/".join(alt)))
