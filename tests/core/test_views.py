"""Derived views: what a reader sees after markup renders, in display order, and read aloud. Each view
must catch its evasions and add no false positive; spans always point into the stored text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.lists.terms import parse_term_list
from indexguard.screen.screener import Screener
from indexguard.text.bidi import display_order
from indexguard.text.markup import render
from indexguard.text.views import ViewBuilder

S = Screener.build([parse_term_list("bizu\nhusinjopuk\nnarvesin gijusu\n", "t")])
RLO, LRO, RLE, PDF, RLI, LRI, FSI, PDI = "\u202e", "\u202d", "\u202b", "\u202c", "\u2067", "\u2066", "\u2068", "\u2069"


def _views(text: str) -> set[str]:
    return {r.view for r in S.query(text).reasons}


@pytest.mark.parametrize(
    "text",
    [
        "bi&#122;u", "bi&#x7A;u", "bi&#X7a;u", "b&iacute;zu", "&#98;&#105;&#122;&#117; pack", "bi[b]z[/b]u",
        "[color=red]bi[/color]zu", "[url=http://x.example]bi[/url]zu", "<b>bi</b>zu", "<span class='x'>bi</span>zu",
        "bi<!-- x -->zu", "h<i>u</i>sinjopuk 2019", "narvesin&nbsp;gijusu", "b[i]i[/i]z[u]u[/u]",
    ],
)  # fmt: skip
def test_markup_view_reads_the_rendered_text(text: str) -> None:
    d = S.query(text)
    assert d.action == "block", text
    assert "markup" in _views(text)
    s, e = d.reasons[0].span or (0, 0)
    assert 0 <= s < e <= len(text)


@pytest.mark.parametrize(
    "text",
    [
        "bi<br>zu", "bi<p>zu", "bi[*]zu", "bi[quote]zu[/quote]", "bi&amp;#122;u", "[GROUP] bi zu", "bi &lt; zu",
        "Tom &amp; Jerry [b]bold[/b]", "x < bizut > y", "bi&zzzz;u", "[bizul]",
    ],
)  # fmt: skip
def test_markup_view_adds_no_false_positive(text: str) -> None:
    assert S.query(text).action == "allow", text


def test_unknown_bracket_words_are_shown_as_typed() -> None:
    assert render("[GIPONODEL] x") is None
    r = render("a&#98;c")
    assert r is not None and r.text == "abc" and r.source_span(1, 2) == (1, 6)


@pytest.mark.parametrize(
    "text",
    [
        RLO + "uzib", "xx " + RLO + "uzib" + PDF + " yy", RLE + "xy " + RLO + "uzib" + PDF + PDF,
        RLO + "kupojnisuh" + PDF + " 2020", "vid " + RLI + RLO + "uzib" + PDF + PDI, RLO + "uzib 1999 kupojnisuh",
        FSI + RLO + "uzib" + PDF + PDI, RLO + "uz" + PDF + RLO + "ib" + PDF, "\u05d0 " + RLO + "uzib" + PDF,
    ],
)  # fmt: skip
def test_display_order_view_reads_what_is_shown(text: str) -> None:
    d = S.query(text)
    assert d.action == "block", text
    assert "display-order" in _views(text)


@pytest.mark.parametrize(
    "text",
    [
        LRI + "uzib" + PDI, RLO + LRO + "uzib" + PDF + PDF, "b" + RLO + "u" + PDF + "z" + RLO + "i" + PDF,
        RLO + "uz" + LRO + "ib" + PDF + PDF, RLO + "uzib" + PDF + "x", "\u05d0\u05d1 uzib",
    ],
)  # fmt: skip
def test_display_order_view_adds_no_false_positive(text: str) -> None:
    assert S.query(text).action == "allow", text


def test_display_order_keeps_ltr_text_and_maps_back() -> None:
    assert display_order("plain ascii") is None
    assert display_order("bízú") is None
    r = display_order(RLO + "abc" + PDF)
    assert r is not None and r.text.replace(RLO, "").replace(PDF, "") == "cba"
    assert sorted(r.offsets) == list(range(5))


@pytest.mark.parametrize("text", ["бизу", "Бизу фильм", "ビズ", "хусинйопук", "нарвесин гиджусу", "Нарвесин Гиджусу"])
def test_transliterated_view_reads_other_scripts_aloud(text: str) -> None:
    d = S.query(text)
    assert d.action == "block", text


@pytest.mark.parametrize(
    "text",
    ["бизун", "абизу", "бизу\u0301к", "Москва 2019", "биз у", "ビズル", "Бизнес", "中文字幕", "Ελληνικά νέα"],
)
def test_transliterated_view_adds_no_false_positive(text: str) -> None:
    assert S.query(text).action == "allow", text


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("biiiizuuu", "block"), ("BIIIZU 2019", "block"), ("husinjopuuuk", "block"),
        ("bizzu", "allow"), ("biiizul", "allow"), ("xbiiizu", "allow"), ("bizu" * 2, "allow"), ("bbb izu", "allow"),
    ],
)  # fmt: skip
def test_repeated_letters_read_once(text: str, action: str) -> None:
    assert S.query(text).action == action, text
    if action == "block":
        assert S.needs_full_path([text]) == [0]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("bi😀zu", "block"), ("bi★zu 2019", "block"), ("bi👍🏽zu", "block"), ("★bizu★", "block"),
        ("bi ★ zu", "allow"), ("bi★zul", "allow"), ("xbi★zu", "allow"), ("bi*zu", "allow"),
    ],
)  # fmt: skip
def test_symbols_inside_a_word_read_through(text: str, action: str) -> None:
    assert S.query(text).action == action, text


@pytest.mark.parametrize("text", ["ביזו", "بيزو", "בִּיזוּ סרט", "биzу"])
def test_other_scripts_read_in_their_own_order(text: str) -> None:
    assert S.query(text).action == "block", text


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("nzᴉq", "block"), ("ʞɔɐd ʞndoɾuᴉsnɥ ǝɥʇ", "block"), ("9102 nsnɾᴉƃ uᴉsǝʌɹɐu", "block"),
        ("nzᴉqɐ", "allow"), ("ʞɔɐd lnzᴉq", "allow"), ("oulɐluol soʇɹnd", "allow"), ("Kadın bizu", "block"),
    ],
)  # fmt: skip
def test_upside_down_text_read_the_right_way_up(text: str, action: str) -> None:
    assert S.query(text).action == action, text


MIXED = st.text(
    alphabet=st.sampled_from(
        [*"bizu husinjopk&#;[]/<>=x01", RLO, LRO, RLE, PDF, RLI, LRI, FSI, PDI, "б", "и", "\u05d0"]
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_views_never_crash_and_spans_stay_in_the_stored_text(text: str) -> None:
    for view in ViewBuilder().derived(text):
        r = view.rendered
        assert len(r.offsets) == len(r.text)
        assert all(0 <= o < len(text) for o in r.offsets)
    for reason in S.query(text).reasons:
        s, e = reason.span or (0, 0)
        assert 0 <= s < e <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_display_order_is_a_permutation(text: str) -> None:
    r = display_order(text)
    if r is not None:
        assert sorted(r.offsets) == list(range(len(text)))
        assert "".join(text[i] for i in r.offsets) == r.text


@pytest.mark.parametrize("backend", ["hyperscan", "ahocorasick"])
def test_bulk_path_sends_markup_to_the_full_path(backend: str) -> None:
    s = Screener.build([parse_term_list("bizu\n", "t")], backend=backend)
    texts = ["plain title", "bi&#122;u", "bi[B]z[/b]u", "<b>bi</b>zu", "Tom & Jerry", "[GROUP] x"]
    flagged = s.needs_full_path(texts)
    assert {1, 2, 3} <= set(flagged)
    assert [s.query(texts[i]).action for i in flagged if i in (1, 2, 3)] == ["block"] * 3
    lines = s.flag_lines("\n".join(texts).encode())
    assert lines is None or {1, 2, 3} <= set(lines)
