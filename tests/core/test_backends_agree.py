"""Hyperscan and Aho-Corasick give identical decisions: stage two alone decides."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.lists.terms import load_term_list, parse_term_list
from indexguard.match.term_matcher import TermMatcher


def _summary(m: TermMatcher, text: str) -> list[tuple[str, tuple[int, int], str]]:
    return [(ref.entry.id, span, view) for ref, span, view in m.match(text).matches]


def test_identical_on_whole_term_suite(fixtures_dir: Path) -> None:
    suite = fixtures_dir / "term-suite"
    tl = load_term_list(suite / "terms.txt")
    hs, ac = TermMatcher([tl], backend="hyperscan"), TermMatcher([tl], backend="ahocorasick")
    assert (hs.backend_name, ac.backend_name) == ("hyperscan", "ahocorasick")
    for name in ("positives.jsonl", "negatives.jsonl"):
        for line in (suite / name).read_text().splitlines():
            text = json.loads(line)["text"]
            assert _summary(hs, text) == _summary(ac, text), text


LIST = parse_term_list("bizu\nhusinjopuk\nnarvesin gijusu\nmono\n", "t")
HS, AC = TermMatcher([LIST], backend="hyperscan"), TermMatcher([LIST], backend="ahocorasick")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("bizumonhsjpkarveg 1!|0.-_()[]<ZBIU\u200bо")), max_size=60))
def test_identical_on_random_near_texts(text: str) -> None:
    assert _summary(HS, text) == _summary(AC, text)
