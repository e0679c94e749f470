"""The national hotline directory: defaults, for_country, operator TOML files and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import IndexguardError
from indexguard.hotline.directory import (
    DEFAULT_HOTLINES,
    HotlineDirectoryError,
    for_country,
    load_directory,
    parse_directory,
)
from indexguard.settings import load


def test_defaults_name_the_big_national_hotlines_and_inhope() -> None:
    by_country = {h.country: h.url for h in DEFAULT_HOTLINES}
    assert by_country["GB"] == "https://report.iwf.org.uk/"
    assert by_country["US"] == "https://report.cybertip.org/"
    assert by_country["CA"] == "https://www.cybertip.ca/"
    assert by_country["AU"] == "https://www.esafety.gov.au/report"
    assert by_country["*"].startswith("https://www.inhope.org/")


def test_for_country_puts_the_national_hotline_first_then_inhope() -> None:
    uk = for_country("uk")
    assert [h.country for h in uk] == ["GB", "*"] and "iwf" in uk[0].url
    assert [h.country for h in for_country("US")] == ["US", "*"]
    assert [h.country for h in for_country("DE")] == ["*"]  # no national default: INHOPE's directory
    assert [h.country for h in for_country(None)] == ["*"]
    assert [h.country for h in for_country("not a country")] == ["*"]


def test_a_file_entry_replaces_the_default_for_its_country_only(tmp_path: Path) -> None:
    f = tmp_path / "hotlines.toml"
    f.write_text(
        '[[hotline]]\nname = "Example hotline GB"\ncountry = "gb"\nurl = "https://gb.example.org/report"\n'
        '[[hotline]]\nname = "Example hotline DE"\ncountry = "DE"\nurl = "https://de.example.org/"\n'
        'description = "Deutsch und Englisch"\n',
        "utf-8",
    )
    d = load_directory(f)
    assert [h.url for h in d.for_country("GB")] == [
        "https://gb.example.org/report",
        "https://www.inhope.org/EN/our-members",
    ]
    assert d.for_country("DE")[0].description == "Deutsch und Englisch"
    assert d.for_country("US")[0].url == "https://report.cybertip.org/"  # other defaults stay
    assert d.countries() == ["AU", "CA", "DE", "GB", "US"]


def test_replace_defaults_keeps_only_the_file(tmp_path: Path) -> None:
    f = tmp_path / "h.toml"
    f.write_text(
        'replace_defaults = true\n[[hotline]]\nname = "Only"\ncountry = "NL"\nurl = "https://nl.example.org/"\n'
    )
    d = load_directory(f)
    assert [h.name for h in d.hotlines] == ["Only"]
    assert d.for_country("US") == []  # no international entry listed either
    assert load_directory("") is load_directory(None)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("hotline = 3", "array of tables"),
        ("colour = 1", "unknown key(s) colour"),
        ('[[hotline]]\nname = "x"\ncountry = "GBR"\nurl = "https://x.example/"', "ISO 3166-1"),
        ('[[hotline]]\nname = "x"\ncountry = "GB"\nurl = "http://x.example/"', "https://"),
        ('[[hotline]]\nname = ""\ncountry = "GB"\nurl = "https://x.example/"', "name must be"),
        ('[[hotline]]\nname = "x"\ncountry = "GB"\nurl = "https://x.example/"\nphone = "1"', "hotline 1: unknown"),
        ("replace_defaults = true", "no hotline is listed"),
        ("replace_defaults = 'yes'", "true or false"),
        ("[[hotline", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, "utf-8")
    with pytest.raises(HotlineDirectoryError, match=r"bad\.toml") as e:
        load_directory(f)
    assert needle in str(e.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HotlineDirectoryError, match="cannot read"):
        load_directory(tmp_path / "absent.toml")


def test_the_setting_points_at_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "h.toml"
    f.write_text('[[hotline]]\nname = "Example"\ncountry = "FR"\nurl = "https://fr.example.org/"\n')
    monkeypatch.setenv("INDEXGUARD_HOTLINES_FILE", str(f))
    assert load_directory(load().hotlines_file).for_country("fr")[0].name == "Example"
    monkeypatch.delenv("INDEXGUARD_HOTLINES_FILE")
    assert load().hotlines_file == ""


_values = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.lists(st.text(max_size=5), max_size=3))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["replace_defaults", "hotline", "x"]), st.one_of(_values,
       st.lists(st.dictionaries(st.sampled_from(["name", "country", "url", "description", "y"]), _values),
                max_size=4)), max_size=3))  # fmt: skip
def test_any_parsed_toml_gives_a_directory_or_a_clear_error(data: dict[str, object]) -> None:
    try:
        d = parse_directory(data)
    except IndexguardError:
        return
    for h in d.hotlines:
        assert h.url.startswith("https://") and h.name and (len(h.country) == 2 or h.country == "*")
