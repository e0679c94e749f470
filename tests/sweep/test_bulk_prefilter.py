"""The bulk path (TermMatcher.flag_lines: stage one in Hyperscan, stage two verified in place, regex
entries in their own Hyperscan database) never clears a text that the per-item path would flag:
property test over generated titles full of evasions and near misses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexguard.lists.terms import parse_term_list
from indexguard.match.term_backends import hyperscan_regex
from indexguard.match.term_matcher import TermMatcher
from indexguard.screen.item import Item
from indexguard.sweep.bundle import ListBundle, ListText, screener_for
from indexguard.sweep.output import read_flagged
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

TERMS = [("t1", "bakomi", "token"), ("t2", "vuzo rilke", "phrase"), ("t3", "sepa", "prefix"),
         ("t4", "dilo", "substring"), ("t5", "kato", "token")]
REGEXES = [("r1", r"zq[0-9]{2,3}x+v"), ("r2", r"\bmor(?:ka|ke)\s+tun\b"), ("r3", r"^fel[a-c]?do$"),
           ("r4", r"[^\s]wib\.")]
ALLOW = [("a1", "bakomi land", "phrase")]


def _csv(rows: list[tuple[str, str, str]]) -> str:
    return "id,term,mode\n" + "".join(f"{i},\"{t}\",{m}\n" for i, t, m in rows)


def _matcher(with_regex: bool) -> TermMatcher:
    rows = TERMS + ([(i, t, "regex") for i, t in REGEXES] if with_regex else [])
    return TermMatcher([parse_term_list(_csv(rows), "terms", "csv")],
                       [parse_term_list(_csv(ALLOW), "allow", "csv", allowlist=True)])


MATCHERS = {False: _matcher(False), True: _matcher(True)}
PIECES = ["bakomi", "BaKomi", "b a k o m i", "b.a.k.o.m.i", "b4k0m1", "8@k0mi", "ba|<omi", "b()komi", "bak omi",
          "vuzo rilke", "vuzo.rilke", "VuzoRilke", "vuzorilke", "v u z o rilke", "vuzo r i l k e", "sepatra",
          "xsepa", "odilox", "kato", "kato12", "12kato", "katox", "mykato", "MyKato", "KATOpack", "k|a|t|o",
          "k+a+t+o", "k@to", "zq123xxv", "zq12v", "morka  tun", "MORKE\ttun", "morkatun", "fel", "felbdo",
          "aawib.", " wib.", "land", "the", "of", "1080p", "x264", "-", ".", "_", " ", "|", "!", "$", "@", "(", ")",
          "[", "]", "/", "\\", "\x1c", "\t"]
TITLE = st.lists(st.sampled_from(PIECES), min_size=0, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(TITLE, min_size=1, max_size=12), st.booleans())
def test_bulk_path_never_clears_a_text_the_full_path_flags(titles: list[str], with_regex: bool) -> None:
    m = MATCHERS[with_regex]
    assert m.regex_without_bulk_path == []
    flagged = m.flag_lines("\n".join(titles).encode())
    assert flagged is not None
    for i, t in enumerate(titles):
        fm = m.match(t)
        if fm.matches or fm.errors:
            assert i in flagged, (t, fm.matches)
    needs = set(m.needs_full_path(titles))
    assert needs == set(flagged) and all(i in needs for i, t in enumerate(titles) if m.match(t).matches)
    # The same lines given by where they start (what the sweep's plain-text reader asks for).
    buf = "\n".join(titles).encode()
    starts = [0] + [i + 1 for i, c in enumerate(buf) if c == 10]
    assert _bulk_starts(m, buf) == [starts[i] for i in flagged]
    assert _bulk_heads(m, buf) == {s for s in starts if buf[s : s + 1].isspace()}


def _bulk_starts(m: TermMatcher, buf: bytes) -> list[int]:
    flags = m.bulk_lines(buf)
    assert flags is not None
    return flags.starts


def _bulk_heads(m: TermMatcher, buf: bytes) -> frozenset[int]:
    flags = m.bulk_lines(buf)
    assert flags is not None
    return flags.heads


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x00", " kato", "kato", "x y"]),
                max_size=12).map("\n".join), st.sampled_from(sorted(["default", "two"])))
def test_bulk_lines_note_every_line_that_begins_with_whitespace(buf_text: str, shape: str) -> None:
    # Only these lines can be blank: a sweep looks for blank lines there and nowhere else. "two" has no
    # spaced view (a two-letter token): its compact view's raw scan notes them.
    m = MATCHERS[False] if shape == "default" else SHAPE_MATCHERS["two"]
    buf = buf_text.encode()
    starts = [0] + [i + 1 for i, c in enumerate(buf) if c == 10] if buf else []
    assert _bulk_heads(m, buf) == {s for s in starts if buf[s : s + 1].isspace()}


# Term lists whose shortest token differs: the spaced view routes spelled-out letters to the compact
# view by literal detectors (tokens of 4+ letters), by the lone middle letter (3), or not at all (2:
# the compact view does everything); phrases of more than four tokens are found by their first two.
SHAPES = {
    "long": [*TERMS, ("t6", "mira sola veku", "phrase"), ("t7", "kamo lori misa ravu sute nepo", "phrase"),
             ("t11", "zoka e muvi", "phrase")],
    "three": [*TERMS, ("t8", "zub", "token"), ("t9", "mira sola vek", "phrase")],
    "two": [*TERMS, ("t10", "ox", "token")],
}
SHAPE_MATCHERS = {k: TermMatcher([parse_term_list(_csv(rows), "terms", "csv")],
                                 [parse_term_list(_csv(ALLOW), "allow", "csv", allowlist=True)])
                  for k, rows in SHAPES.items()}
SHAPE_PIECES = [*PIECES, "vuzo - rilke", "vuzo__rilke", "VUZO  RILKE", "b - a - k - o - m - i", "b  a  k  o  m  i",
                "k a t o", "k - a t o", "ka to", "v|u|z|o rilke", "k@t0", "mira sola vek", "mira  sola.vek",
                "MiraSolaVeku", "m i r a sola veku", "mira - sola - veku", "mirasola veku", "veku",
                "kamo lori misa ravu sute nepo", "kamo.lori.misa.ravu.sute.nepo",
                "kamolori  misa ravu sute nepo", "kamo lori", "k a m o lori misa",
                "zub", "z u b", "z.u.b", "xzub", "ox", "o x", "o.x", "a b c d", "q r", "zoka e muvi", "zoka - e - muvi",
                "zoka  e muvi", "zokae  muvi", "zoka  x", "ZokaE Muvi", "z o k a e muvi", "zoka e m u v i", "e"]
SHAPE_TITLE = st.lists(st.sampled_from(SHAPE_PIECES), min_size=0, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(SHAPE_TITLE, min_size=1, max_size=12), st.sampled_from(sorted(SHAPES)))
def test_spaced_view_flags_exactly_the_lines_the_compact_view_flags(titles: list[str], shape: str) -> None:
    m = SHAPE_MATCHERS[shape]
    buf = "\n".join(titles).encode()
    flagged = m.flag_lines(buf)
    assert flagged is not None
    backend: Any = m.backend
    saved = backend.line_candidates
    try:
        backend.line_candidates = backend._compact_candidates
        assert m.flag_lines(buf) == flagged
    finally:
        backend.line_candidates = saved
    for i, t in enumerate(titles):
        if m.match(t).matches:
            assert i in flagged, (shape, t)


def test_each_shape_takes_its_route() -> None:
    spaced: dict[str, Any] = {k: vars(m.backend)["_spaced"] for k, m in SHAPE_MATCHERS.items()}
    assert not spaced["two"].usable and spaced["long"].usable and spaced["three"].usable
    long = spaced["long"]
    for lit in (b"kamoiori", b"kamo iori"):  # a phrase of six tokens: its first two (collapsed) route
        assert long.routes[long.literals.index(lit)]
    # Spelled-out letters route by the second and third letters of a listed token (b-a-k-o-m-i: a, k),
    # the lone second letter where the shortest token has three (z-u-b: u); no other letter routes.
    assert b" a k " in long.literals and b" a  " in long.literals and b" k  " in long.literals
    assert b" q  " not in long.literals and b" q r " not in long.literals and b" a " not in long.literals
    assert b" u " in spaced["three"].literals and b" q " not in spaced["three"].literals
    # Two separators or more route a line only where a phrase's next token (collapsed) follows them whole.
    assert long.routes[long.literals.index(b"  riike")] and b"vuzo  " not in long.literals
    # Before a one-letter token, the token and two separators route where that letter comes next.
    assert long.follow[long.literals.index(b"zoka  ")] == b"e"
    assert SHAPE_MATCHERS["long"].flag_lines(b"zoka - e muvi\nzoka  x\nzoka  e  muvi\n") == [0, 2]
    assert SHAPE_MATCHERS["long"].flag_lines(b"vuzo - rilke\nvuzo - x rilke\nvuzo  r i l k e\n") == [0, 2]


def test_flagged_lines_are_few_for_clean_titles() -> None:
    # Stage two runs in place: a cross-word join like `ba komi` is verified away, not flagged.
    m = MATCHERS[True]
    assert m.flag_lines(b"ba komi\nvu zorilke\nxbakomiy\nkatone\nzq1x\n") == []
    assert m.flag_lines(b"one\nbakomi\nx zq12xv y\n") == [1, 2]


def test_regex_outside_the_accepted_subset_falls_back_by_name() -> None:
    rows = [*TERMS, ("r9", r"(?<=a)bc", "regex"), ("r10", r"(a)b\1", "regex")]
    m = TermMatcher([parse_term_list(_csv(rows), "terms", "csv")])
    assert [e for e, _ in m.regex_without_bulk_path] == ["r9", "r10"]
    assert m.flag_lines(b"a\nb\n") is None
    assert m.needs_full_path(["a", "b"]) == [0, 1]


def test_accepted_regex_subset() -> None:
    assert hyperscan_regex(r"foo\s+bar") == r"foo[\s\x1c-\x1f]+bar"
    for bad in [r"(?i)x", r"(?=a)b", r"a{e<=1}", r"\Aab", r"ab\Z", r"a\1", "caf\u00e9", r"\p{L}", r"x{,3}",
                r"[[:alpha:]]", r"(?P<n>a)"]:
        assert hyperscan_regex(bad) is None, bad


def test_sweep_with_a_regex_entry_decides_like_screen_and_keeps_the_bulk_path(corpus: Any, tmp_path: Path) -> None:
    terms = [ln for ln in corpus.terms.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    csv = tmp_path / "terms.csv"
    csv.write_text(_csv([(f"t{i}", t, "") for i, t in enumerate(terms)] + [("rx", r"\b(?:caf|wib)[a-z]*\b", "regex")]))
    bundle = ListBundle((ListText.read(csv),))
    out = tmp_path / "o.jsonl"
    summary = run_sweep(SweepConfig([str(corpus.jsonl)], bundle, output=out, size=SweepSize(chunk_bytes=64 << 10)))
    assert "regex_without_bulk_path" not in summary["run"]
    screener = screener_for(bundle)
    expected = []
    for i, t in enumerate(corpus.titles):
        d = screener.screen(Item(id=f"t{i}", title=t))
        if d.action != "allow":
            expected.append({"source": str(corpus.jsonl), "row": i + 1, **d.to_json()})
    assert read_flagged(out) == expected
    assert any(r["entry"] == "terms:rx" or r["entry"] == "rx" for e in expected for r in e["reasons"])


def test_id_title_reader_takes_each_spacing_and_refuses_other_shapes() -> None:
    from indexguard.sweep.screening import _id_title_lines

    rows = [("1", "Kato 2019"), ("x-7", ""), ("22", "b.a.k.o.m.i x264")]
    expected = b"".join(t.encode() + b"\n" for _, t in rows)
    for colon, comma in ((": ", ", "), (":", ","), (": ", ","), (":", ", ")):
        for last_newline in (True, False):
            data = "\n".join(f'{{"id"{colon}"{i}"{comma}"title"{colon}"{t}"}}' for i, t in rows).encode()
            got = _id_title_lines(data + b"\n" if last_newline else data)
            assert got is not None and got[0] == expected and got[1] == [], (colon, comma, last_newline)
    mixed = b'{"id": "1", "title": "a"}\n{"id":"2","title":"b"}\n'
    assert _id_title_lines(mixed) is not None and _id_title_lines(mixed)[0] == b"a\nb\n"  # type: ignore[index]
    for bad in (b'{"id": "1", "title": "a"}\n{"title": "b", "id": "2"}\n', b'{"id": "1", "name": "a"}\n',
                b'{"id": "1", "title": "a", "x": ""}\n', b'{"id": "1",  "title": "a"}\n',
                b'{"id": "1", "title": "a"} \n',
                b'{"id": "1", "title": "a\\"b"}\n', b'{"id": "1", "title": "a"}\n\n', b' {"id": "1", "title": "a"}\n'):
        assert _id_title_lines(bad) is None, bad


LINE_PIECES = [*PIECES, "  ", "\t", "\r", "\x0b", "\x0c", ""]
TXT_LINE = st.lists(st.sampled_from(LINE_PIECES), min_size=0, max_size=6).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TXT_LINE, min_size=1, max_size=40), st.booleans(), st.sampled_from([64, 4096]))
def test_plain_text_sweep_decides_every_nonblank_line_like_screen(tmp_path: Path, lines: list[str], last_newline: bool,
                                                                    chunk: int) -> None:
    # Blank and whitespace-only lines, CR before LF, no final newline, lines cut across small chunks:
    # the bulk path numbers and cuts out its flagged lines itself and counts the rest.
    path = tmp_path / "titles.txt"
    path.write_bytes(("\n".join(lines) + ("\n" if last_newline else "")).encode())
    terms = tmp_path / "terms.csv"
    terms.write_text(_csv(TERMS))
    bundle = ListBundle((ListText.read(terms),))
    out = tmp_path / "o.jsonl"
    summary = run_sweep(SweepConfig([str(path)], bundle, output=out, size=SweepSize(chunk_bytes=chunk)))
    screener = screener_for(bundle)
    expected = []
    for i, line in enumerate(lines):
        d = screener.screen(Item(id=f"titles.txt:{i + 1}", title=line.rstrip("\r")))
        if line.encode().strip() and d.action != "allow":
            expected.append({"source": str(path), "row": i + 1, **d.to_json()})
    # Blank as the sweep has always read it: ASCII whitespace only (bytes.strip; \x1c is not blank).
    assert summary["items"] == sum(1 for line in lines if line.encode().strip())
    assert read_flagged(out) == expected


def test_plain_lines_are_flagged_exactly_when_the_full_path_matches_them() -> None:
    # Stage two's shortcut flags a listed term's exact letters standing alone without verifying them;
    # a letter or digit beside them, or a term inside a word, still goes through verify.
    m = MATCHERS[False]
    titles = ["kato", "the kato 1080p", "KATO.pack", "x_kato_y", "(kato)", "mykato", "katox", "kato12", "12kato",
              "akatob", "sepatra", "xsepa", "odilox", "bakomi", "abakomi", "vuzo rilke", "vuzorilkes", "1080p x264"]
    flagged = m.flag_lines("\n".join(titles).encode())
    assert flagged is not None
    expected = [i for i, t in enumerate(titles) if m.match(t).matches]
    assert flagged == expected
    assert {titles[i] for i in expected} >= {"kato", "the kato 1080p", "KATO.pack", "x_kato_y", "(kato)"}
    assert not {"mykato", "katox", "akatob", "xsepa"} & {titles[i] for i in flagged}
