"""Decode raw metadata bytes to text: UTF-8 first, then the declared `encoding`, then likely legacy
charsets, picked by validity and a plausibility score.

Screening must not depend on guessing right, so `decode_text` returns every valid decoding (best
first); the caller keeps the best as the field's text and screens the others as variants.
"""

from __future__ import annotations

import codecs
import contextlib
import unicodedata
from dataclasses import dataclass

# Ordered by prior: where two candidates score the same, the earlier one wins.
LEGACY_CHARSETS: tuple[str, ...] = ("cp1251", "gbk", "big5", "shift_jis", "latin-1")
UTF8_LENIENT = "utf-8-replace"

# Scripts a charset is meant for: letters from these score, letters from others count against.
_EXPECTED_SCRIPTS: dict[str, frozenset[str]] = {
    "cp1251": frozenset({"CYRILLIC"}),
    "gbk": frozenset({"CJK"}),
    "big5": frozenset({"CJK"}),
    "shift_jis": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    "latin-1": frozenset({"LATIN"}),
}


@dataclass(frozen=True, slots=True)
class Decoding:
    text: str
    charset: str
    score: float


def normalize_charset(name: str) -> str | None:
    """Python codec name for a declared `encoding` value, or None when unknown."""
    try:
        return codecs.lookup(name.strip()).name
    except (LookupError, ValueError):
        return None


def decode_text(raw: bytes, declared: str | None = None) -> list[Decoding]:
    """Every plausible decoding of `raw`, best first; never empty."""
    if raw.isascii():
        return [Decoding(raw.decode("ascii"), "utf-8", 1.0)]
    out: list[Decoding] = []
    with contextlib.suppress(UnicodeDecodeError):
        out.append(Decoding(raw.decode("utf-8"), "utf-8", 1.0))
    candidates = list(LEGACY_CHARSETS)
    decl = normalize_charset(declared) if declared else None
    if decl and decl != "utf-8":
        candidates.insert(0, decl)
    seen = {d.text for d in out}
    legacy: list[Decoding] = []
    for i, cs in enumerate(candidates):
        try:
            text = raw.decode(cs)
        except (UnicodeDecodeError, LookupError):
            continue
        if text in seen:
            continue
        seen.add(text)
        bonus = 0.5 if cs == decl else 0.0
        legacy.append(Decoding(text, _label(cs), plausibility(text, cs) + bonus - i * 0.001))
    legacy.sort(key=lambda d: -d.score)
    if out:  # valid UTF-8 with non-ASCII bytes is almost never an accident: it stays first
        return out + legacy
    replaced = raw.decode("utf-8", errors="replace")
    if replaced not in seen:
        legacy.append(Decoding(replaced, UTF8_LENIENT, -1.0))
    return legacy


def _label(cs: str) -> str:
    return {"iso8859-1": "latin-1", "latin_1": "latin-1"}.get(cs, cs)


def plausibility(text: str, charset: str) -> float:
    """Score in about [-3, 1] from the non-ASCII characters: letters of the scripts the charset is
    meant for score (CJK only fully when in the charset's frequent-character level), and the marks
    of mis-decoded text count against: controls and unassigned code points, a foreign-script
    letter glued to ASCII letters, case flipping inside a word, long runs of accented Latin."""
    cs = _label(charset)
    expected = _EXPECTED_SCRIPTS.get(cs, frozenset())
    non_ascii = 0
    score = 0.0
    run = 0
    prev = " "
    for i, ch in enumerate(text):
        if ch.isascii():
            if ord(ch) < 0x20 and ch not in "\t\r\n":
                score -= 1
            run = 0
            prev = ch
            continue
        non_ascii += 1
        score += _char_score(ch, cs, expected, prev, text[i + 1 : i + 2], run)
        run = run + 1 if ch.isalpha() else 0
        prev = ch
    if not non_ascii:
        return 1.0
    return score / non_ascii


def _char_score(ch: str, cs: str, expected: frozenset[str], prev: str, nxt: str, run: int) -> float:
    cat = unicodedata.category(ch)
    if cat[0] == "C":
        return -3.0
    if cat[0] != "L":
        return -0.5
    script = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
    if expected and script not in expected:
        return -1.0
    value = 1.0
    if script != "LATIN" and ((prev.isascii() and prev.isalpha()) or (nxt.isascii() and nxt.isalpha())):
        value -= 2.0
    if cat == "Lu" and prev.isalpha() and prev.islower():
        value -= 1.5
    if script == "LATIN" and run >= 2:
        value -= 1.0
    if script == "CJK" and not _frequent_cjk(ch, cs):
        value -= 0.8
    return value


def _frequent_cjk(ch: str, cs: str) -> bool:
    """Whether a CJK character is in the charset's first (frequent) level."""
    try:
        if cs == "gbk":
            lead = ch.encode("gb2312")[0]
            return 0xB0 <= lead <= 0xD7
        if cs == "big5":
            code = int.from_bytes(ch.encode("big5"), "big")
            return 0xA440 <= code <= 0xC67E
        if cs == "shift_jis":
            code = int.from_bytes(ch.encode("shift_jis"), "big")
            return 0x889F <= code <= 0x9872
    except UnicodeEncodeError:
        return False
    return True
