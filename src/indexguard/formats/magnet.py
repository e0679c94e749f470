"""Magnet URIs (BEP 9, BEP 53 `so`, BEP 52 `btmh`) parsed for screening.

Values are percent-decoded to bytes first, then decoded like torrent strings (formats.charsets),
so a display name written in a legacy charset is still screened, and the charset is recorded.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from indexguard.formats.charsets import decode_text
from indexguard.formats.errors import FormatError, FormatLimitExceeded
from indexguard.formats.fields import FormatWarning, Text, emit, unique

KIND = "magnet"
MAX_LENGTH = 64 * 1024
MAX_PARAMS = 2_000
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")
_B32 = re.compile(r"[A-Za-z2-7]{32}")
_SUFFIX = re.compile(r"^([a-z.]+?)(?:\.\d+)?$")
_KNOWN = frozenset({"xt", "dn", "xl", "tr", "ws", "xs", "as", "kt", "so", "x.pe"})
# Parameters whose values are URLs: '+' stays a plus sign.
_URL_KEYS = frozenset({"tr", "ws", "xs", "as"})


@dataclass(slots=True)
class Magnet:
    uri: str
    btih: list[str] = field(default_factory=list)
    btmh: list[str] = field(default_factory=list)
    other_xt: list[str] = field(default_factory=list)
    names: list[Text] = field(default_factory=list)
    keywords: list[Text] = field(default_factory=list)
    trackers: list[Text] = field(default_factory=list)
    web_seeds: list[Text] = field(default_factory=list)
    exact_sources: list[Text] = field(default_factory=list)
    acceptable_sources: list[Text] = field(default_factory=list)
    peers: list[str] = field(default_factory=list)
    select_only: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    extras: list[tuple[str, Text]] = field(default_factory=list)
    warnings: list[FormatWarning] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.names[0].text if self.names else ""

    def text_fields(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for i, t in enumerate(self.names):
            emit(out, "dn" + (f"#{i + 1}" if i else ""), t)
        for i, t in enumerate(self.keywords):
            emit(out, "kt" + (f"#{i + 1}" if i else ""), t)
        for prefix, urls in (("trackers", self.trackers), ("web_seeds", self.web_seeds),
                             ("xs", self.exact_sources), ("as", self.acceptable_sources)):
            for i, t in enumerate(urls):
                emit(out, f"{prefix}[{i}]", t)
        for label, t in self.extras:
            emit(out, label, t)
        return out

    def identities(self) -> dict[str, list[str]]:
        """`btih` is filed as infohash_v1; a v2-only swarm's btih is the truncated v2 hash, so a deny
        set should compare it with both infohash_v1 and infohash_v2_trunc entries."""
        return {
            "infohash_v1": list(self.btih),
            "infohash_v2": list(self.btmh),
            "infohash_v2_trunc": [h[:40] for h in self.btmh],
            "bep47_sha1": [],
            "pieces_root": [],
        }

    def urls(self) -> list[str]:
        lists = self.trackers + self.web_seeds + self.exact_sources + self.acceptable_sources
        return unique(t.text.strip() for t in lists)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "magnet",
            "infohash_v1": self.btih,
            "infohash_v2": self.btmh,
            "infohash_v2_trunc": [h[:40] for h in self.btmh],
            "other_xt": self.other_xt,
            "name": self.name,
            "names": [t.to_json() for t in self.names],
            "keywords": [t.to_json() for t in self.keywords],
            "length": self.lengths,
            "trackers": [t.text for t in self.trackers],
            "web_seeds": [t.text for t in self.web_seeds],
            "exact_sources": [t.text for t in self.exact_sources],
            "acceptable_sources": [t.text for t in self.acceptable_sources],
            "peers": self.peers,
            "select_only": self.select_only,
            "extras": [{"field": label, **t.to_json()} for label, t in self.extras],
            "identities": self.identities(),
            "warnings": [w.to_json() for w in self.warnings],
        }


def is_magnet(text: str) -> bool:
    return text[:8].lower() == "magnet:?"


def parse_magnet(uri: str) -> Magnet:
    """Parse a magnet URI. Raises FormatError (not a magnet) or FormatLimitExceeded (too long)."""
    if len(uri) > MAX_LENGTH:
        raise FormatLimitExceeded(KIND, "too_long", f"{len(uri)} characters is over the {MAX_LENGTH} limit")
    uri = uri.strip()
    if not is_magnet(uri):
        raise FormatError(KIND, "not_a_magnet", "a magnet URI starts with 'magnet:?'", 0)
    params = [p for p in re.split(r"[&;]", uri[8:]) if p]
    if len(params) > MAX_PARAMS:
        raise FormatLimitExceeded(KIND, "too_many_params", f"more than {MAX_PARAMS} parameters")
    m = Magnet(uri=uri)
    for p in params:
        key, sep, value = p.partition("=")
        key = _percent(key, plus=True).decode("utf-8", "replace").lower()
        if not sep:
            m.warnings.append(FormatWarning("param_without_value", f"parameter {key!r} has no '='", (key,)))
        base = _SUFFIX.match(key)
        name = base.group(1) if base and base.group(1) in _KNOWN else key
        raw = _percent(value, plus=name not in _URL_KEYS)
        _apply(m, name, raw)
    if not m.btih and not m.btmh:
        m.warnings.append(FormatWarning("no_infohash", "no usable xt=urn:btih or urn:btmh", ("xt",)))
    return m


def _percent(s: str, plus: bool) -> bytes:
    if plus:
        s = s.replace("+", " ")
    return unquote_to_bytes(s)


def _text(m: Magnet, raw: bytes, label: str) -> Text:
    decs = decode_text(raw)
    if decs[0].charset != "utf-8":
        m.warnings.append(FormatWarning("invalid_utf8", f"{label} is not UTF-8; decoded as {decs[0].charset}",
                                        (label,)))
    return Text(raw, decs[0].text, decs[0].charset, tuple(decs[1:]))


def _apply(m: Magnet, name: str, raw: bytes) -> None:
    if name == "xt":
        _xt(m, raw.decode("utf-8", "replace").strip())
    elif name == "dn":
        m.names.append(_text(m, raw, "dn" + (f"#{len(m.names) + 1}" if m.names else "")))
    elif name == "kt":
        m.keywords.append(_text(m, raw, "kt"))
    elif name in ("tr", "ws", "xs", "as"):
        target = {"tr": m.trackers, "ws": m.web_seeds, "xs": m.exact_sources, "as": m.acceptable_sources}[name]
        target.append(_text(m, raw, f"{name}[{len(target)}]"))
    elif name == "xl":
        s = raw.decode("ascii", "replace").strip()
        if s.isdigit() and len(s) <= 19:
            m.lengths.append(int(s))
        else:
            m.warnings.append(FormatWarning("bad_length", "xl is not a byte count", ("xl",)))
    elif name == "x.pe":
        m.peers.append(raw.decode("utf-8", "replace"))
    elif name == "so":
        m.select_only.append(raw.decode("ascii", "replace"))
    else:
        label = f"extra:{name}"
        m.extras.append((label, _text(m, raw, label)))


def _xt(m: Magnet, value: str) -> None:
    low = value.lower()
    if low.startswith("urn:btih:"):
        h = _btih(value[9:])
        if h is None:
            m.warnings.append(FormatWarning("bad_btih", "urn:btih is neither 40 hex nor 32 base32 characters",
                                            ("xt",)))
        elif h not in m.btih:
            m.btih.append(h)
    elif low.startswith("urn:btmh:"):
        h = value[9:].lower()
        if len(h) == 68 and h.startswith("1220") and _is_hex(h):
            if h[4:] not in m.btmh:
                m.btmh.append(h[4:])
        else:
            m.warnings.append(FormatWarning("bad_btmh", "urn:btmh is not a SHA-256 multihash (1220 + 64 hex)",
                                            ("xt",)))
    else:
        m.other_xt.append(value)


def _btih(s: str) -> str | None:
    if _HEX40.fullmatch(s):
        return s.lower()
    if _B32.fullmatch(s):
        try:
            return base64.b32decode(s.upper()).hex()
        except (binascii.Error, ValueError):
            return None
    return None


def _is_hex(s: str) -> bool:
    try:
        bytes.fromhex(s)
    except ValueError:
        return False
    return True
