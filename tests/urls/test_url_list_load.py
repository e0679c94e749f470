"""URL list formats: plain text and CSV, ids, versions, and errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import IndexguardError, ListFormatError
from indexguard.lists.url_list import load_url_list, parse_url_list

PLAIN = """\
# synthetic list: placeholder hosts only
http://bizu.example.test/a/b.html      # exact
http://Bizu.Example.TEST:8080/gallery/*
husinjopuk.test
*.wide.example

https://bizu.example.test/q?id=7#frag
"""


def test_plain_text_kinds_ids_and_canonical_keys() -> None:
    lst = parse_url_list(PLAIN, "plain")
    got = [(e.id, e.match, e.key) for e in lst.entries]
    assert got == [
        ("plain:2", "exact", "bizu.example.test/a/b.html"),
        ("plain:3", "prefix", "bizu.example.test/gallery"),
        ("plain:4", "host", "husinjopuk.test"),
        ("plain:5", "host", "wide.example"),
        ("plain:7", "exact", "bizu.example.test/q?id=7"),
    ]
    assert all(e.category == "csam" and e.severity == "block" for e in lst.entries)
    assert len(lst.version) == 64


def test_csv_with_all_columns_and_defaults(tmp_path: Path) -> None:
    f = tmp_path / "hotline.csv"
    f.write_text(
        "id,url,match,category,severity,source,note\n"
        "h-1,http://bizu.example.test/a/,prefix,csam,block,hotline-x,first\n"
        ",bizu.example.test,,,,,\n"
        "h-3,http://x.example.test/p?q=1,exact,other,review,,\"note, with comma\"\n"
    )
    lst = load_url_list(f)
    assert lst.name == "hotline"
    assert [(e.id, e.match, e.category, e.severity) for e in lst.entries] == [
        ("h-1", "prefix", "csam", "block"),
        ("hotline:3", "host", "csam", "block"),
        ("h-3", "exact", "other", "review"),
    ]
    assert lst.entries[2].note == "note, with comma"


def test_header_is_detected_without_csv_suffix() -> None:
    lst = parse_url_list("url,match\nhttp://a.example.test/x,host\n".replace(",host", ",exact"), "n")
    assert [e.match for e in lst.entries] == ["exact"]


def test_version_follows_content_not_layout() -> None:
    a = parse_url_list("http://A.example.test/x\n", "same")
    b = parse_url_list("  http://a.example.test:80/./x   # comment\n", "same")
    c = parse_url_list("http://a.example.test/y\n", "same")
    assert a.version == b.version != c.version


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("http://ok.example.test/\nmailto:x@example.test\n", 2, "not a usable URL"),
        ("ok.example.test\nhttp:///nohost\n", 2, "no host"),
        ("url,match\nhttp://a.example.test/,sideways\n", 2, "match must be one of"),
        ("url,severity\nhttp://a.example.test/,fatal\n", 2, "severity must be one of"),
        ("id,url,colour\n", 1, "unknown column"),
        ("id,url\nx,http://a.example.test/\nx,http://b.example.test/\n", 3, "duplicate entry id"),
        ("url,match\nhttp://a.example.test/p,host\n", 2, "host only"),
        ("url,match\nhttp://a.example.test/p?q/*,prefix\n", 2, "cannot have a query"),
        ("id,url\nz,\n", 2, "empty url"),
        ("id,url\nz,http://a.example.test/,extra\n", 2, "3 fields"),
        ("http://a.example.test/" + "a/" * 40 + "*\n", 1, "deeper than 32"),
    ],
)
def test_broken_line_names_file_and_line_and_loads_nothing(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    f = tmp_path / "broken.txt"
    f.write_text(text)
    with pytest.raises(ListFormatError) as info:
        load_url_list(f)
    assert (info.value.source, info.value.line) == (str(f), line)
    assert reason in info.value.reason
    assert f"{f}:{line}: " in str(info.value)


def test_error_message_never_contains_the_listed_url() -> None:
    with pytest.raises(ListFormatError) as info:
        parse_url_list("husinjopuk:zz//x\n", "secret")
    assert "husinjopuk" not in str(info.value)


def test_undecodable_file_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    f.write_bytes(b"http://a.example.test/\nhttp://b\xff.example.test/\n")
    with pytest.raises(ListFormatError) as info:
        load_url_list(f)
    assert info.value.line == 2


def test_csv_without_a_header_is_refused() -> None:
    with pytest.raises(ListFormatError, match="header"):
        parse_url_list("# nothing but comments\n", "empty", "csv")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_random_list_text_loads_or_fails_cleanly(text: str) -> None:
    try:
        lst = parse_url_list(text, "fuzz")
    except IndexguardError as e:
        assert isinstance(e, ListFormatError)
        return
    assert len(lst.version) == 64
    assert all(e.key and e.id.startswith("fuzz:") for e in lst.entries)
