"""Choosing a language from what the visitor asks for, the way Babel's `negotiate_locale` does.

Preferences are tried in order (explicit requests first, then Accept-Language by quality); each one
matches an offered locale exactly (case-insensitive), then by its language alone (`de-AT` takes `de`),
then an offered regional form of that language (`pt` takes `pt-BR`). Nothing matching: the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MAX_HEADER = 1_024
MAX_TAGS = 32


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags by descending quality (ties keep their order); `*`, q=0 and junk are dropped."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_TAGS]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().replace("_", "-")
        if not tag or tag == "*" or len(tag) > 35 or not all(c.isascii() and (c.isalnum() or c == "-") for c in tag):
            continue
        q = 1.0
        for p in params.split(";"):
            key, _, val = p.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if 0.0 < q <= 1.0:
            ranked.append((-q, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(requested: Iterable[str], accept_language: str | None, offered: Sequence[str], default: str) -> str:
    by_lower = {o.lower(): o for o in offered}
    for pref in [*requested, *parse_accept_language(accept_language)]:
        p = pref.strip().replace("_", "-").lower()
        if not p:
            continue
        if p in by_lower:
            return by_lower[p]
        lang = p.split("-")[0]
        if lang in by_lower:
            return by_lower[lang]
        regional = next((o for lo, o in by_lower.items() if lo.split("-")[0] == lang), None)
        if regional:
            return regional
    return default
