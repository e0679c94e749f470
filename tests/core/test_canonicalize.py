"""The canonicalizer: the evasions it must undo, idempotence, offsets."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.text.canonicalize import CANONICALIZER_VERSION, Canonicalizer

C = Canonicalizer()


def test_case_and_compatibility_forms() -> None:
    assert C.canonical("BiZu") == "bizu"
    assert C.canonical("ｂｉｚｕ") == "bizu"  # fullwidth
    assert C.canonical("𝐛𝐢𝐳𝐮") == "bizu"  # mathematical bold
    assert C.canonical("ⓑⓘⓩⓤ") == "bizu"  # circled
    assert C.canonical("ﬁzu") == "fizu"  # ligature


def test_marks_ignorables_and_confusables() -> None:
    assert C.canonical("bízú") == "bizu"
    assert C.canonical("bi\u200bz\u00adu\u200d\u2060\ufeff") == "bizu"
    assert C.canonical("bi\u202ezu") == "bizu"  # bidi override
    assert C.canonical("һusіnјорuк") == "husinjopuk"  # Cyrillic look-alikes
    assert C.canonical("ΝΑΡ") == "nap"  # Greek capitals fold by their own look, before casefolding
    assert C.canonical("ϲ") == "c"  # lunate sigma looks like c (its compatibility form does not)
    assert C.canonical("bøzu") == "bozu"


def test_every_confusable_of_an_ascii_letter_folds_to_it() -> None:
    import json
    from importlib import resources

    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    wrong = []
    for letter in "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNOPQRSTUVWXYZ":  # l/I: see below
        for g in data.get(letter, []):
            c = g["c"].strip("\u200e\u200f")
            if len(c) == 1 and not c.isascii() and C.canonical(c) != letter.lower():
                wrong.append((letter, c, C.canonical(c)))
    assert wrong == []
    # Glyphs that look like both l and I fold to `1`, the spelling stage two accepts for either letter.
    assert {C.canonical(c) for c in "ΙӀǀℓ"} == {"1"}


def _reads_as(got: str, letter: str) -> bool:
    # Glyphs that look like l and I at once fold to `1`; look-alikes of digit zero fold to `o` (confusables.txt
    # gives 0 the prototype O). Stage two accepts both spellings for the letter.
    return got == letter or (letter in "il" and got == "1") or (letter == "0" and got == "o")


def _confusables_pairs() -> set[tuple[str, str]]:
    import json
    from importlib import resources

    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    return {(k.strip("\u200e\u200f"), g["c"].strip("\u200e\u200f")) for k, gs in data.items() for g in gs}


def test_every_character_whose_prototype_is_a_latin_letter_or_digit_folds_to_it() -> None:
    """The whole confusables.txt table: a single non-ASCII character whose prototype is an ASCII letter or
    digit, possibly followed by combining marks (Greek eta -> n + vertical line below), reads as that letter."""
    table = {}
    for a, b in _confusables_pairs():
        ascii_led = len(a) == 1 and not a.isascii() and b[:1].isascii() and b[:1].isalnum()
        if ascii_led and all(unicodedata.category(c).startswith("M") for c in b[1:]):
            table[a] = b[0].lower()
    assert len(table) > 1400  # the whole table, not a sample
    wrong = [
        (hex(ord(c)), want, C.canonical(c)) for c, want in sorted(table.items()) if not _reads_as(C.canonical(c), want)
    ]
    assert wrong == []
    assert C.canonical("η") == "n" and C.canonical("Ұ") == "y" and C.canonical("θ") == "o"


# Letter-like symbols, modifier and small-capital letters, enclosed, parenthesised and punctuated forms,
# mathematical alphanumerics, fullwidth forms, number forms.
_BLOCKS = (
    (0x0250, 0x02FF), (0x1D00, 0x1DBF), (0x2070, 0x209F), (0x2100, 0x218F), (0x2460, 0x24FF), (0x2776, 0x2793),
    (0xA720, 0xA7FF), (0xAB30, 0xAB6F), (0xFF00, 0xFFEF), (0x10780, 0x107BF), (0x1D400, 0x1D7FF),
    (0x1DF00, 0x1DFFF), (0x1F100, 0x1F1FF),
)  # fmt: skip
_DIGIT_NAMES = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
_STYLE = {
    *("LATIN", "LETTER", "CAPITAL", "SMALL", "SYMBOL", "DIGIT", "MATHEMATICAL", "BOLD", "ITALIC", "SCRIPT"),
    *("FRAKTUR", "DOUBLE-STRUCK", "SANS-SERIF", "MONOSPACE", "BLACK-LETTER", "MODIFIER", "SUPERSCRIPT"),
    *("SUBSCRIPT", "CIRCLED", "NEGATIVE", "SQUARED", "PARENTHESIZED", "REGIONAL", "INDICATOR", "DOUBLE"),
    *("DINGBAT", "TORTOISE", "SHELL", "BRACKETED", "FULLWIDTH", "HALFWIDTH", "OUTLINED"),
}


def _letter_by_decomposition(ch: str) -> str | None:
    compat = unicodedata.normalize("NFKD", ch)
    letters = [c for c in compat if c.isalnum()]
    return letters[0].lower() if len(letters) == 1 and letters[0].isascii() and compat != ch else None


def _letter_by_name(ch: str) -> str | None:
    words = unicodedata.name(ch, "").split()
    if len(words) < 2 or not _STYLE.issuperset(words[:-1]):
        return None
    if words[-2] == "DIGIT" and words[-1] in _DIGIT_NAMES:
        return str(_DIGIT_NAMES.index(words[-1]))
    if len(words[-1]) == 1 and words[-1].isalpha() and words[-2] in ("CAPITAL", "SMALL", "LETTER"):
        return words[-1].lower()
    return None


def test_every_letter_like_code_point_folds_to_its_letter() -> None:
    expected = {}
    for lo, hi in _BLOCKS:
        for cp in range(lo, hi + 1):
            want = _letter_by_decomposition(chr(cp)) or _letter_by_name(chr(cp))
            if want is not None:
                expected[chr(cp)] = want
    assert len(expected) > 1200
    wrong = [(hex(ord(c)), want, C.canonical(c)) for c, want in expected.items() if not _reads_as(C.canonical(c), want)]
    assert wrong == []
    assert C.canonical("⒝⒤⒵⒰") == "bizu" and C.canonical("℘") == "p" and C.canonical("⓵") == "1"


def test_version_is_named() -> None:
    assert C.version == CANONICALIZER_VERSION
    assert "confusable-homoglyphs" in C.version and "unicodedata" in C.version


def test_offsets_map_back_to_original() -> None:
    text = "xx ｂ\u200bｉｚｕ yy"
    f = C.fold(text)
    start = f.text.index("bizu")
    s, e = f.original_span(start, start + 4)
    assert text[s:e] == "ｂ\u200bｉｚｕ"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_idempotent(text: str) -> None:
    once = C.canonical(text)
    assert C.canonical(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fold_offsets_are_consistent(text: str) -> None:
    f = C.fold(text)
    assert f.text == C.canonical(text)
    if f.offsets is not None:
        assert len(f.offsets) == len(f.text)
        assert f.offsets == sorted(f.offsets)
        assert all(0 <= o < len(text) for o in f.offsets)
