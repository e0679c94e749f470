"""Matching semantics of DESIGN.md, through the Screener."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.lists.terms import parse_term_list
from indexguard.screen.screener import Screener

TERMS = parse_term_list("bizu\nhusinjopuk\nnarvesin gijusu\n", "t")
ALLOW = parse_term_list("bizu lake\n", "a", allowlist=True)
S = Screener.build([TERMS], [ALLOW])


@pytest.mark.parametrize(
    "text",
    [
        "bizu",
        "BIZU film",
        "the b.i.z.u pack",
        "b i z u",
        "b-i_z.u 2001",
        "h u 5 i n j 0 p u k",
        "narvesingijusu",
        "NarvesinGijusu",
        "narvesin_gijusu",
        "narvesin.gijusu",
        "narvesin-gijusu",
        "xHusinjopukNogar",
        "hu\u200bsinjopuk",
        "һusinjоpuк",
        "ｂｉｚｕ",
        "b!zu",
        "8izu",
        "bízú",
        "[bizu]",
        "husinj()puk",
        "bizu2012",
        "n a r v e s i n gijusu",
        "h|u|s|i|n|j|o|p|u|k",
        "h+u+s+i+n+j+o+p+u+k",
        "husinjopuk™",
        "BIZUpack",
        "ⓗⓤⓢⓘⓝⓙⓞⓟⓤⓚ",
        "h̶u̶s̶i̶n̶j̶o̶p̶u̶k̶",
        "ʙɪᴢᴜ",
        "|-|usinjopuk",
        "[Narvesin][Gijusu]",
        "narvesin\tgijusu",
        "ΒΙΖU",
        "🅑🅘🅩🅤",
        "🇧🇮🇿🇺",
        "һ u ѕ і n ј о р u к",
        "n4rv3s1n g1ju5u",
    ],
)
def test_blocked(text: str) -> None:
    d = S.query(text)
    assert d.action == "block", text
    r = d.reasons[0]
    assert r.list == "t" and r.span is not None and r.span[1] > r.span[0]


@pytest.mark.parametrize(
    "text",
    ["bizul", "abizu", "kabizuz", "bi zu", "narvesin xx gijusu", "bizu lake trip", "blzu", "husinjbpuk", "bizu5"],
)
def test_allowed(text: str) -> None:
    assert S.query(text).action == "allow", text


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("x b i z u y", "allow"), ("b i z u a", "allow"), ("p.b.i.z.u", "allow"), ("b.i.z.u a", "block"),
        ("a  b i z u", "block"), ("d!bizu", "allow"), ("bizu!x", "allow"), ("b!zu", "block"),
        ("bizu|husinjopuk", "block"),
        ("GuBiZu", "allow"), ("xxBizu", "block"),
    ],
)  # fmt: skip
def test_spelled_out_word_is_read_whole(text: str, action: str) -> None:
    assert S.query(text).action == action, text


def test_allowlist_cancels_only_overlapping_spans() -> None:
    d = S.query("bizu lake and bizu")
    assert d.action == "block"
    assert [r.span for r in d.reasons] == [(14, 18)]


def test_reasons_name_entry_not_term() -> None:
    d = S.query("bizu").to_json()
    assert d["reasons"][0]["entry"] == "t:1" and "bizu" not in str(d)
    assert S.query("bizu", reveal=True).reasons[0].detail == "bizu"


def test_modes() -> None:
    tl = parse_term_list(
        "id,term,mode,severity\np,zanor,prefix,review\ns,vekil,substring,warn\nr,qu[0-9]+x,regex,block\n", "m", "csv"
    )
    s = Screener.build([tl])
    assert s.query("zanorbelt").action == "review"
    assert s.query("xzanor").action == "allow"
    assert s.query("avekilb").action == "warn"
    assert s.query("qu42x").action == "block"


EVASIONS = {
    "upper": str.upper,
    "spaced": lambda t: " ".join(t),
    "dotted": lambda t: ".".join(t),
    "zero_width": lambda t: "\u200b".join(t),
    "fullwidth": lambda t: "".join(chr(ord(c) + 0xFEE0) for c in t),
    "leet": lambda t: t.replace("i", "1").replace("o", "0").replace("s", "5"),
    "accents": lambda t: "".join(c + "\u0301" for c in t),
    "camel_joined": lambda t: "Xyz" + t.capitalize() + "Qrs",
}
# Context words of two letters or more: a lone letter beside a spelled-out term continues it
# (`b i z u a` reads `bizua`; see test_spelled_out_word_is_read_whole).
WORDS = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(EVASIONS)),
    st.sampled_from(["bizu", "husinjopuk"]),
    st.lists(WORDS, max_size=5),
    st.lists(WORDS, max_size=5),
)
def test_inserted_term_found_with_covering_span(evasion: str, term: str, left: list[str], right: list[str]) -> None:
    evaded = EVASIONS[evasion](term)
    prefix = " ".join(left) + (" " if left else "")
    text = prefix + evaded + (" " if right else "") + " ".join(right)
    d = S.query(text)
    assert d.action == "block", text
    core = (len(prefix), len(prefix) + len(evaded))
    spans = [r.span for r in d.reasons if r.span]
    assert any(s[0] <= core[0] + 3 and s[1] >= core[1] - 3 for s in spans), (text, spans)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_unicode_never_crashes(text: str) -> None:
    d = S.query(text)
    assert d.action in ("allow", "block")


def test_random_benign_corpus_has_no_false_positive() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        words = ["".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)) for _ in range(6)]
        text = " ".join(words)
        if any(t in words for t in ("bizu", "husinjopuk")):
            continue
        assert S.query(text).action == "allow", text
