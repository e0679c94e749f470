"""Deterrence variants, language negotiation, help links by country, the variants file, and the
statistics (interval coverage, the test's error rates, sample sizes, geometric noise)."""

from __future__ import annotations

import contextlib
import math
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexguard.deterrence.catalog import DeterrenceFileError, load_catalog, parse_catalog
from indexguard.deterrence.stats import (
    ExperimentPlan,
    Proportion,
    geometric_noise,
    noisy,
    required_sessions,
    two_proportion_test,
)
from indexguard.screen.deterrence import DEFAULT_VARIANTS, Deterrence, HelpLink, Variant
from indexguard.screen.locales import negotiate, parse_accept_language

OFFERED = ("en", "de", "fr", "es", "pt-BR")


@pytest.mark.parametrize(
    ("header", "requested", "want"),
    [
        ("de-AT,de;q=0.9,en;q=0.5", None, "de"),
        ("fr-CH, fr;q=0.9, en;q=0.8", None, "fr"),
        ("ja, en;q=0.1", None, "en"),
        ("ja", None, "en"),
        ("en;q=0.2, es;q=0.9", None, "es"),
        ("pt", None, "pt-BR"),
        ("PT-br", None, "pt-BR"),
        ("de;q=0, fr;q=0.5", None, "fr"),
        ("*", None, "en"),
        ("", "es", "es"),
        ("de", "fr", "fr"),
        ("de", "xx", "de"),
        (None, None, "en"),
    ],
)
def test_negotiation_like_babel(header: str | None, requested: str | None, want: str) -> None:
    assert negotiate([requested] if requested else [], header, OFFERED, "en") == want


@given(st.text(max_size=300))
def test_any_accept_language_gives_an_offered_language(header: str) -> None:
    assert negotiate([], header, OFFERED, "en") in OFFERED
    assert all(len(t) <= 35 for t in parse_accept_language(header))


def test_default_set_follows_guidance() -> None:
    d = Deterrence()
    for lang, variants in DEFAULT_VARIANTS.items():
        p = d.payload(lang)
        assert p["locale"] == lang and p["title"] and p["links"]
        text = (variants[0].title + variants[0].message).lower()
        assert "trace" not in text and "track" not in text and "police" not in text  # no untrue threats
    en = d.payload().get("message", "").lower()
    assert "children" in en and "confidential" in en and "illegal" in en


def test_variants_by_weight_and_stable_per_bucket() -> None:
    vs = (Variant("a", "t", "m", weight=1), Variant("b", "t", "m", weight=3), Variant("never", "t", "m", weight=0))
    d = Deterrence(variants={"en": vs})
    rng = random.Random(5)
    seen = [d.choose("en", rng.random()).variant.id for _ in range(20_000)]
    share_b = seen.count("b") / len(seen)
    assert abs(share_b - 0.75) < 0.02 and "never" not in seen
    for b in (0.0, 0.2499, 0.25, 0.9999999, 1.0):
        assert d.choose("en", b).variant.id == d.choose("en", b).variant.id
    assert d.choose("en", None).variant.id == "a"  # no session: the control


def test_help_links_for_a_country_put_national_services_first() -> None:
    links = (HelpLink("Intl", "https://i.example/", "*"), HelpLink("GB", "https://gb.example/", "GB,IE"),
             HelpLink("US", "https://us.example/", "US"))  # fmt: skip
    d = Deterrence(variants={"en": (Variant("a", "t", "m"),)}, links={"default": links})
    assert [h.name for h in d.choose("en", None, "ie").links] == ["GB", "Intl"]
    assert [h.name for h in d.choose("en", None, "FR").links] == ["Intl"]
    assert [h.name for h in d.choose("en", None, None).links] == ["Intl", "GB", "US"]
    shown = d.choose("en", None, "US")
    assert d.link("en", "a", "US", 0) == shown.links[0] and d.link("en", "a", "US", 9) is None
    assert d.link("en", "gone", "US", 0) is None


GOOD = """
default_language = "en"
[experiment]
alpha = 0.05
metric = "repeat_block"
[[link]]
name = "Everyone"
url = "https://help.example/"
[[link]]
name = "German service"
url = "https://de.example/"
region = "DE"
language = "de"
[[variant]]
id = "a"
title = "T"
message = "M"
[[variant]]
id = "b"
weight = 2
title = "T"
message = "M"
[[variant.link]]
name = "Own"
url = "https://own.example/"
[[variant]]
id = "a"
language = "de"
title = "T"
message = "M"
"""


def test_variants_file(tmp_path: Path) -> None:
    f = tmp_path / "d.toml"
    f.write_text(GOOD)
    c = load_catalog(f)
    assert c.plan.metric == "repeat_block" and c.plan.alpha == 0.05
    assert [v.id for v in c.deterrence.variants["en"]] == ["a", "b"]
    assert [h.name for h in c.deterrence.choose("de", None, "DE").links] == ["German service", "Everyone"]
    assert [h.name for h in c.deterrence.choose("en", 0.99).links] == ["Own"]


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (GOOD.replace('id = "b"', 'id = "B b"'), "id must be"),
        (GOOD.replace("weight = 2", "weight = -1"), "weight"),
        (GOOD.replace('"https://own.example/"', '"http://own.example/"'), "https://"),
        (GOOD.replace('region = "DE"', 'region = "Germany"'), "region"),
        (GOOD.replace('metric = "repeat_block"', 'metric = "clicks"'), "metric"),
        (GOOD.replace("alpha = 0.05", "alpha = 5"), "alpha"),
        (GOOD.replace('default_language = "en"', 'default_language = "fr"'), "no variant"),
        (GOOD + '\n[[variant]]\nid = "a"\ntitle = "T"\nmessage = "M"\n', "twice"),
        (GOOD.replace('title = "T"', 'title = ""', 1), "title"),
        (GOOD + "\nsurprise = 1\n", "unknown"),
    ],
)
def test_variants_file_errors_name_the_entry(tmp_path: Path, broken: str, says: str) -> None:
    f = tmp_path / "d.toml"
    f.write_text(broken)
    with pytest.raises(DeterrenceFileError, match=says):
        load_catalog(f)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                    max_leaves=20))  # fmt: skip
def test_variants_file_fuzz_never_crashes(data: object) -> None:
    with contextlib.suppress(DeterrenceFileError):
        parse_catalog(data if isinstance(data, dict) else {"variant": data})


def test_wilson_interval_covers_at_its_level() -> None:
    rng = random.Random(3)
    p, n, covered = 0.07, 150, 0
    for _ in range(2_000):
        k = sum(rng.random() < p for _ in range(n))
        lo, hi = Proportion(k, n).wilson()
        covered += lo <= p <= hi
    assert 0.93 <= covered / 2_000 <= 0.975


def test_ab_test_error_rates_under_the_plan() -> None:
    """A/A: false wins at about alpha; a planted difference of the planned size: found at about the power."""
    plan = ExperimentPlan(alpha=0.05, power=0.8, baseline_rate=0.10, minimum_effect=0.08)
    n = plan.sessions_per_arm()
    rng = random.Random(17)

    def arm(p: float) -> Proportion:
        return Proportion(sum(rng.random() < p for _ in range(n)), n)

    runs = 600
    false_wins = sum(two_proportion_test(arm(0.10), arm(0.10)).p_value < plan.alpha for _ in range(runs))
    found = sum(two_proportion_test(arm(0.10), arm(0.18)).p_value < plan.alpha for _ in range(runs))
    assert false_wins / runs <= 0.08  # nominal 0.05; binomial slack for 600 runs
    assert found / runs >= 0.72  # nominal 0.80


def test_required_sessions_matches_the_textbook_formula() -> None:
    # Fleiss (without continuity correction): p1 = 0.05, p2 = 0.07, alpha 0.05 two-sided, power 0.8 -> 2,210
    assert abs(required_sessions(0.05, 0.02, 0.05, 0.8) - 2_210) <= 5
    assert required_sessions(0.1, 0.2, 0.05, 0.8) < required_sessions(0.1, 0.05, 0.05, 0.8)
    with pytest.raises(ValueError):
        required_sessions(0.0, 0.1, 0.05, 0.8)


def test_geometric_noise_is_centred_with_the_right_spread() -> None:
    rng = random.Random(9)
    eps = 0.5
    xs = [geometric_noise(eps, rng) for _ in range(40_000)]
    a = math.exp(-eps)
    var = 2 * a / (1 - a) ** 2
    mean = sum(xs) / len(xs)
    assert abs(mean) < 0.1
    assert abs(sum(x * x for x in xs) / len(xs) - var) / var < 0.08
    assert all(noisy(0, eps, rng) >= 0 for _ in range(1_000))
    with pytest.raises(ValueError):
        geometric_noise(0)


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"deterrence_epsilon": -1}, "epsilon"),
        ({"deterrence_keep_hours": 0}, "positive"),
        ({"deterrence_window_minutes": 120, "deterrence_keep_hours": 1}, "cover"),
    ],
)
def test_deterrence_settings_are_validated(overrides: dict[str, object], says: str) -> None:
    from indexguard.settings import SettingsError, load

    with pytest.raises(SettingsError, match=says):
        load(None, overrides)
