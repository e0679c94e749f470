"""Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt), as ranges.

These render as nothing (zero-width joiners, bidi controls, soft hyphen, variation selectors, tag
characters), so an uploader can sprinkle them inside a word to break naive matching.
"""

from __future__ import annotations

import unicodedata

_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def is_ignorable(ch: str) -> bool:
    """True for Default_Ignorable code points and other invisible format characters (category Cf)."""
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _RANGES):
        return True
    return unicodedata.category(ch) == "Cf"
