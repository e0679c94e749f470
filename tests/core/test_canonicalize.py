"""The canonicalizer: the evasions it must undo, idempotence, offsets."""

from __future__ import annotations

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


def test_version_is_named() -> None:
    assert C.version == CANONICALIZER_VERSION


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
