"""URL matcher semantics: exact, segment-aware prefixes, hosts with subdomains, allowlists, text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.formats.url import UrlError
from indexguard.lists.url_list import parse_url_list
from indexguard.match.url_match import UrlMatcher, extract_urls, match_urls

BLOCK = """\
http://bizu.sample.test/a/b
http://bizu.sample.test/gallery/*
http://bizu.sample.test/page?id=7
example.test
http://10.1.2.3/dump/*
"""


@pytest.fixture(scope="module")
def matcher() -> UrlMatcher:
    return UrlMatcher([parse_url_list(BLOCK, "block")])


def _views(m: UrlMatcher, url: str) -> list[tuple[str, str]]:
    return sorted((h.entry, h.view) for h in m.match(url))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://bizu.sample.test/a/b", [("block:1", "url:exact")]),
        ("HTTPS://BIZU.Sample.TEST:444/a/./b#x", [("block:1", "url:exact")]),
        ("http://bizu.sample.test/a/b?utm=1", [("block:1", "url:exact")]),
        ("http://bizu.sample.test/gallery", [("block:2", "url:prefix")]),
        ("http://bizu.sample.test/gallery/", [("block:2", "url:prefix")]),
        ("http://bizu.sample.test/gallery/2/x.jpg?s=1", [("block:2", "url:prefix")]),
        ("http://bizu.sample.test/page?id=7", [("block:3", "url:exact")]),
        ("http://example.test/", [("block:4", "url:host")]),
        ("http://deep.sub.example.test/anything", [("block:4", "url:host")]),
        ("http://0x0a.1.2.3/dump/x", [("block:5", "url:prefix")]),
        ("http://167838211/dump", [("block:5", "url:prefix")]),
    ],
)
def test_listed_urls_match(matcher: UrlMatcher, url: str, expected: list[tuple[str, str]]) -> None:
    assert _views(matcher, url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://evil-example.test/",  # look-alike host
        "http://example.test.evil.test/",  # listed host as a left part
        "http://notexample.test/gallery/",
        "http://bizu.sample.tester/a/b",
        "http://sample.test/a/b",
        "http://10.1.2.30/dump/x",
        "http://10.1.2.3/dumpster",  # sibling path of a prefix
        "http://10.1.2.3/",
    ],
)
def test_look_alikes_and_siblings_do_not_match(matcher: UrlMatcher, url: str) -> None:
    assert matcher.match(url) == []


def test_prefix_and_exact_are_segment_aware() -> None:
    m = UrlMatcher([parse_url_list("http://h.test/a/b/*\nhttp://h.test/x/y\n", "l")])
    assert [h.view for h in m.match("http://h.test/a/b/c")] == ["url:prefix"]
    assert m.match("http://h.test/a/bc") == []
    assert m.match("http://h.test/a/") == []
    assert m.match("http://h.test/x/y/z") == []  # an exact entry is not a prefix
    assert m.match("http://h.test/x/yz") == []
    assert m.match("http://sub.h.test/a/b/c") == []  # a prefix covers its own host only


def test_exact_entry_with_query_needs_that_query(matcher: UrlMatcher) -> None:
    assert matcher.match("http://other.test/page?id=7") == []
    m = UrlMatcher([parse_url_list("http://h.test/page?id=7\n", "q")])
    assert m.match("http://h.test/page?id=8") == []
    assert m.match("http://h.test/page") == []


def test_hits_name_list_version_entry_but_never_the_url() -> None:
    lst = parse_url_list("id,url,category,severity\nk1,http://husinjopuk.test/a,catx,review\n", "hot")
    (hit,) = UrlMatcher([lst]).match("http://husinjopuk.test/a")
    assert (hit.list, hit.list_version, hit.entry, hit.category, hit.severity) == (
        "hot", lst.version, "k1", "catx", "review",
    )
    assert "husinjopuk" not in repr(hit)


def test_allowlist_carves_out_under_a_blocked_host() -> None:
    block = parse_url_list("example.test\nhttp://example.test/safe/bad.html\n", "b")
    allow = parse_url_list("http://example.test/safe/*\n", "a", allowlist=True)
    m = UrlMatcher([block, allow])
    assert m.match("http://example.test/safe/fine.html") == []
    # the allow prefix is broader than the exact block entry: that one still hits
    assert [h.entry for h in m.match("http://example.test/safe/bad.html")] == ["b:2"]
    assert [h.entry for h in m.match("http://example.test/other")] == ["b:1"]


def test_broad_allow_does_not_undo_a_narrow_block() -> None:
    block = parse_url_list("bad.example.test\n", "b")
    allow = parse_url_list("example.test\n", "a", allowlist=True)
    assert [h.entry for h in UrlMatcher([block, allow]).match("http://bad.example.test/")] == ["b:1"]
    same = parse_url_list("bad.example.test\n", "a2", allowlist=True)
    assert UrlMatcher([block, same]).match("http://x.bad.example.test/") == []


def test_duplicate_keys_in_one_list_all_hit() -> None:
    lst = parse_url_list("id,url\nu1,http://d.test/x\nu2,http://D.TEST/x\n", "dup")
    assert sorted(h.entry for h in UrlMatcher([lst]).match("http://d.test/x")) == ["u1", "u2"]


def test_bad_url_raises_url_error(matcher: UrlMatcher) -> None:
    with pytest.raises(UrlError):
        matcher.match("mailto:someone@example.test")


def test_match_urls_reports_unreadable_ones(matcher: UrlMatcher) -> None:
    hits, bad = match_urls(matcher, ["http://example.test/", "http:///nohost", "http://x.test/"])
    assert [(h.entry, h.extra["url_index"]) for h in hits] == [("block:4", 0)]
    assert bad == [1]


def test_text_scan_finds_plain_www_and_defanged_links(matcher: UrlMatcher) -> None:
    text = (
        "bizu mirror: hxxp://bizu[.]sample[.]test/gallery/9 (new) or "
        "www.example.test/x, see https://bizu.sample.test/a/b. Also sub(dot)example(dot)test/z"
    )
    scan = matcher.scan_text(text)
    found = [(text[s:e], f.obfuscated) for f in scan.urls for s, e in [f.span]]
    assert found == [
        ("hxxp://bizu[.]sample[.]test/gallery/9", True),
        ("www.example.test/x", False),
        ("https://bizu.sample.test/a/b", False),
        ("sub(dot)example(dot)test/z", True),
    ]
    by_span = {(text[h.span[0]:h.span[1]], h.entry) for h in scan.hits if h.span}
    assert ("hxxp://bizu[.]sample[.]test/gallery/9", "block:2") in by_span
    assert ("https://bizu.sample.test/a/b", "block:1") in by_span
    assert ("sub(dot)example(dot)test/z", "block:4") in by_span


def test_text_without_links_finds_nothing() -> None:
    assert extract_urls("bizu.avi husinjopuk part1.rar 1.5GB e-mail a@b.test, magnet:?xt=urn:btih:aa") == []


def test_trailing_punctuation_and_brackets_are_not_part_of_the_url() -> None:
    (f,) = extract_urls("(see https://h.test/a_(b)).")
    assert f.url == "https://h.test/a_(b)"


def test_match_url_holds_unreadable_urls_for_review(matcher: UrlMatcher) -> None:
    (hit,) = matcher.match_url("http:///nohost")
    assert (hit.entry, hit.severity, hit.category) == ("unreadable-url", "review", "error")
    assert "no host" in hit.extra["detail"]
    assert [h.entry for h in matcher.match_url("http://example.test/")] == ["block:4"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("hxtp:/.[]()dotw wW-ab?#%\u00fc\n")), max_size=80))
def test_text_scan_never_crashes_and_spans_point_into_the_text(text: str) -> None:
    m = UrlMatcher([parse_url_list("example.test\n", "l")])
    scan = m.scan_text(text)
    for f in scan.urls:
        assert 0 <= f.span[0] < f.span[1] <= len(text)
    assert all(h.span in {f.span for f in scan.urls} for h in scan.hits)
