"""Term list formats: plain text, CSV, broken lines, versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from indexguard.errors import ListFormatError
from indexguard.lists.terms import load_term_list, parse_term_list


def test_plain_text_defaults() -> None:
    tl = parse_term_list("# comment\n\nbizu\nnarvesin gijusu  # trailing\n", "mylist")
    assert [(e.id, e.mode, e.severity, e.category) for e in tl.entries] == [
        ("mylist:3", "token", "block", "csam"),
        ("mylist:4", "phrase", "block", "csam"),
    ]


def test_csv_with_modes_and_severities() -> None:
    text = "id,term,mode,severity,category,source,note\nx1,bizu,prefix,warn,ads,hotline-a,\nx2,mo.*no,regex,review,,,\n"
    tl = parse_term_list(text, "c", "csv")
    assert [(e.id, e.mode, e.severity, e.category, e.source) for e in tl.entries] == [
        ("x1", "prefix", "warn", "ads", "hotline-a"),
        ("x2", "regex", "review", "csam", "c"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("id,term,mode\na,bizu,fuzzy\n", 2, "mode must be one of"),
        ("id,term,severity\na,bizu,nuke\n", 2, "severity must be one of"),
        ("id,term\na,bizu\na,mono\n", 3, "duplicate entry id"),
        ("id,term,mode\na,(unclosed,regex\n", 2, "invalid regex"),
        ("id,term\na,bizu,extra\n", 2, "expected 2 fields"),
        ("id,term,colour\na,bizu,red\n", 1, "unknown column"),
        ("bizu\n!\n", 2, "fewer than 2 letters"),
    ],
)
def test_broken_line_names_file_line_reason(text: str, line: int, needle: str) -> None:
    fmt = "csv" if text.startswith("id,") else "txt"
    with pytest.raises(ListFormatError) as ei:
        parse_term_list(text, "bad", fmt, source="bad.list")  # type: ignore[arg-type]
    assert ei.value.source == "bad.list" and ei.value.line == line and needle in ei.value.reason
    assert "bizu" not in str(ei.value)


def test_invalid_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_bytes(b"bizu\nmo\xffno\n")
    with pytest.raises(ListFormatError, match=r"l.txt:2: not valid UTF-8"):
        load_term_list(p)


def test_version_is_content_hash() -> None:
    a = parse_term_list("bizu\nmono\n", "l")
    b = parse_term_list("bizu\n\nmono\n# note\n", "l")
    c = parse_term_list("bizu\nmonu\n", "l")
    assert len(a.version) == 64
    assert a.version != c.version
    # ids follow line numbers, so moving a term is a new version; comments alone change nothing
    assert parse_term_list("bizu\nmono\n# x\n", "l").version == a.version
    assert b.version != a.version


_TERM_CHARS = "abcdefghijklmnopqrstuvwxyz 0134578@$!|+()[]<>/\\-_.'ÄéßİıΣσ語\u0301"


@settings(max_examples=300, deadline=None)
@given(term=st.text(alphabet=_TERM_CHARS, min_size=1, max_size=24))
def test_derived_letters_read_every_unit(term: str) -> None:
    """Each entry's letters are its units' letters (multi-character leet read as its letter), and its
    collapsed form is those letters collapsed, on the fast path for plain ASCII as on the general one."""
    from indexguard.text.canonicalize import Canonicalizer
    from indexguard.text.leet import COLLAPSE, MULTI
    from indexguard.text.units import compact

    try:
        entries = parse_term_list(term + "\n", "p", "txt").entries
    except ListFormatError:
        entries = ()
    assume(len(entries) == 1)
    entry = entries[0]
    folded = Canonicalizer().canonical(entry.term)
    units = compact(folded)
    letters = "".join(MULTI.get(folded[s:t], folded[s:t]) for s, t in zip(units.starts, units.ends, strict=True))
    assert entry.letters == letters
    assert entry.collapsed == "".join(COLLAPSE.get(c, c) for c in letters)
