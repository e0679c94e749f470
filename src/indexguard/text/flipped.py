"""The upside-down view: text written turned through 180 degrees (`nzıq`) read the right way up.

"Upside-down text" generators reverse the string and put each letter's turned form in its place; a
reader tilts their head and reads the word. This view undoes both: the order is reversed, every turned
letter that Unicode names as such (`LATIN SMALL LETTER TURNED A` ɐ, `TURNED SANS-SERIF CAPITAL Y` ⅄)
becomes its letter, as do the few look-alikes generators borrow for letters with no turned form
(`ɔ` c, `ɟ` f, `ƃ` g, `ɾ` j, `ı` i, `∀` a, `Ǝ` e), and the letters that turn into one another
(b q, d p, n u) swap back. Built only when the text holds a turned letter (Turkish dotless `ı`, an
ordinary letter there, does not count).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from indexguard.text.rendered import Rendered

_TURNED_NAME = re.compile(
    r"\bTURNED (?:SANS-SERIF )?(?:CAPITAL |SMALL )?(?:LETTER )?([A-Z])$|LETTER (?:SMALL CAPITAL )?TURNED ([A-Z])$"
)
_BORROWED = {
    "ɔ": "c",
    "Ɔ": "c",
    "ɟ": "f",
    "ƃ": "g",
    "ɾ": "j",
    "ı": "i",
    "∀": "a",
    "Ǝ": "e",
    "ᗡ": "d",
    "Ԁ": "p",
    "⊥": "t",
    "∩": "u",
}
_SWAPPED = {"b": "q", "q": "b", "d": "p", "p": "d", "n": "u", "u": "n"}
# Latin letter blocks, IPA, phonetic extensions, letter-like symbols: where turned letters live.
_BLOCKS = ((0x0100, 0x02FF), (0x1D00, 0x1DBF), (0x2100, 0x214F), (0x2C60, 0x2C7F), (0xA720, 0xA7FF))


@cache
def turned_letters() -> dict[str, str]:
    """Every turned letter (from Unicode names, sideways ones aside) and borrowed look-alike, to its letter."""
    out: dict[str, str] = {}
    for lo, hi in _BLOCKS:
        for cp in range(lo, hi + 1):
            name = unicodedata.name(chr(cp), "")
            m = _TURNED_NAME.search(name)
            if m and "SIDEWAYS" not in name:
                out[chr(cp)] = (m.group(1) or m.group(2)).lower()
    out.update(_BORROWED)
    return out


@cache
def _any_turned() -> re.Pattern[str]:
    """One character class of every turned letter (Turkish dotless `ı`, an ordinary letter there, aside)."""
    return re.compile("[" + "".join(re.escape(c) for c in sorted(turned_letters()) if c != "ı") + "]")


def upside_down(text: str) -> Rendered | None:
    """`text` turned the right way up; None unless it holds a turned letter."""
    if text.isascii():
        return None
    turned = turned_letters()
    if not _any_turned().search(text):
        return None
    order = list(range(len(text) - 1, -1, -1))
    shown = "".join(turned.get(c) or _SWAPPED.get(c) or c for c in reversed(text))
    return Rendered.of(shown, order)
