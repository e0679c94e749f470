"""The project's own generated evasion suite (evasion_suite_gen.py): every family blocked, every
negative (the same transform on ordinary words, near misses and cross-word joins) allowed."""

from __future__ import annotations

from collections import Counter

import pytest
from evasion_suite_gen import FAMILIES, Case, generate

from indexguard.lists.terms import parse_term_list
from indexguard.screen.screener import Screener

TERMS, POSITIVES, NEGATIVES = generate()


def _screener(backend: str) -> Screener:
    return Screener.build([parse_term_list("\n".join(TERMS) + "\n", "suite")], backend=backend)


def _blocked(s: Screener, cases: list[Case]) -> list[bool]:
    return [s.query(c.text).action == "block" for c in cases]


def test_suite_is_placeholder_and_covers_every_family() -> None:
    assert all(t.isascii() and t.isalpha() for t in TERMS) and len(TERMS) >= 30
    assert set(Counter(c.family for c in POSITIVES)) == set(FAMILIES)
    assert {c.kind for c in NEGATIVES} == {"decorated", "near_miss", "cross_word"}


@pytest.mark.parametrize("backend", ["hyperscan", "ahocorasick"])
def test_every_family_blocked(backend: str) -> None:
    s = _screener(backend)
    total: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    missed: dict[str, list[str]] = {}
    for case, hit in zip(POSITIVES, _blocked(s, POSITIVES), strict=True):
        total[case.family] += 1
        blocked[case.family] += hit
        if not hit:
            missed.setdefault(case.family, []).append(case.text)
    rates = {f: blocked[f] / total[f] for f in total}
    assert all(r >= 0.99 for r in rates.values()), ({f: r for f, r in rates.items() if r < 0.99}, missed)


@pytest.mark.parametrize("backend", ["hyperscan", "ahocorasick"])
def test_no_false_positive(backend: str) -> None:
    s = _screener(backend)
    flagged = [c for c, hit in zip(NEGATIVES, _blocked(s, NEGATIVES), strict=True) if hit]
    assert flagged == []


def test_bulk_path_agrees_with_the_full_path() -> None:
    s = _screener("hyperscan")
    texts = [c.text for c in POSITIVES + NEGATIVES]
    full = {i for i, t in enumerate(texts) if s.query(t).action != "allow"}
    assert full <= set(s.needs_full_path(texts))
