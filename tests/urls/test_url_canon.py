"""URL canonicalization against the Safe Browsing reference vectors, plus properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexguard.errors import IndexguardError, LimitExceeded
from indexguard.formats.url import (
    MAX_URL_BYTES,
    UrlError,
    canonical_url,
    canonicalize,
    lookup_expressions,
    parse_ipv4,
)

# The table of the Safe Browsing v4 "URLs and Hashing" document, plus the extra vectors of the
# reference client (google/safebrowsing urls_test.go) that the document's rules decide.
SAFE_BROWSING_VECTORS: list[tuple[str | bytes, str]] = [
    ("http://host/%25%32%35", "http://host/%25"),
    ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    ("http://host/%2525252525252525", "http://host/%25"),
    ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    ("http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    ("http://www.google.com/", "http://www.google.com/"),
    (
        "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
        "http://168.188.99.26/.secure/www.ebay.com/",
    ),
    (
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
    ),
    (
        "http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
        "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
    ),
    ("http://3279880203/blah", "http://195.127.0.11/blah"),
    ("http://www.google.com/blah/..", "http://www.google.com/"),
    ("www.google.com/", "http://www.google.com/"),
    ("www.google.com", "http://www.google.com/"),
    ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    ("http://www.GOOgle.com/", "http://www.google.com/"),
    ("http://www.google.com.../", "http://www.google.com/"),
    ("http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2"),
    ("http://www.google.com/q?", "http://www.google.com/q?"),
    ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    ("http://evil.com/foo;", "http://evil.com/foo;"),
    ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    (b"http://\x01\x80.com/", "http://%01%80.com/"),
    ("http://notrailingslash.com", "http://notrailingslash.com/"),
    ("http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
    ("  http://www.google.com/  ", "http://www.google.com/"),
    ("http:// leadingspace.com/", "http://%20leadingspace.com/"),
    ("http://%20leadingspace.com/", "http://%20leadingspace.com/"),
    ("%20leadingspace.com/", "http://%20leadingspace.com/"),
    ("https://www.securesite.com/", "https://www.securesite.com/"),
    ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    ("http://host.com//twoslashes?more//slashes", "http://host.com/twoslashes?more//slashes"),
    # reference client extras
    ("ftp://ftp.myfiles.com/", "ftp://ftp.myfiles.com/"),
    ("http://some%1bhost.com/%1b", "http://some%1bhost.com/%1b"),
    ("http://www.google.com/q?r?s%3F", "http://www.google.com/q?r?s?"),
    ("http://www.\u00fcmlat.com/", "http://www.xn--mlat-zra.com/"),
    (b"http://www.\xc3\xbcmlat.com/", "http://www.xn--mlat-zra.com/"),
    ("http://[2001:470:1:18::114]/", "http://[2001:470:1:18::114]/"),
    ("http%3A%2F%2Fwackyurl.com:80/", "http://wackyurl.com/"),
    ("http://W!eird<>Ho$^.com/", "http://w!eird<>ho$^.com/"),
    ("http://i.have.way.too.many.dots.com/", "http://i.have.way.too.many.dots.com/"),
    ("http://a.com/foo/.././bar/./../foo.html", "http://a.com/foo.html"),
    ("http://a.com//a//b///c////", "http://a.com/a/b/c/"),
    ("http://google.com.:8080/foo.html", "http://google.com/foo.html"),
    ("http://..google.com/foo.html", "http://google.com/foo.html"),
    ("http://0x12.0x43.0x44.0x01", "http://18.67.68.1/"),
    ("http://user:pw@Example.TEST:443/a", "http://example.test/a"),
]

NOT_URLS = [
    "",
    ":",
    "/blah",
    "#ref",
    "/blah#ref",
    "?query#ref",
    "/blah?query#ref",
    "/blah;param",
    "http://#ref",
    "http:///blah#ref",
    "http://?query#ref",
    "http:///blah?query#ref",
    "http:///blah;param",
    "http:///blah;param?query#ref",
    "mailto:someone@example.test",
    "http:www.google.com:8080/foo.html",
    "www.google.com:xxyy/foo.html:80",
    "http://[fe80::1/x",
]


@pytest.mark.parametrize(("raw", "expected"), SAFE_BROWSING_VECTORS)
def test_safe_browsing_vectors(raw: str | bytes, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("raw", NOT_URLS)
def test_inputs_without_a_host_are_refused(raw: str) -> None:
    with pytest.raises(UrlError):
        canonicalize(raw)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("123.123.0.0.1", None),
        ("255.0.0.1", "255.0.0.1"),
        ("12.0x12.01234", "12.18.2.156"),
        ("276.2.3", "20.2.0.3"),
        ("012.034.01.055", "10.28.1.45"),
        ("0x12.0x43.0x44.0x01", "18.67.68.1"),
        ("167838211", "10.1.2.3"),
        ("3279880203", "195.127.0.11"),
        ("4294967295", "255.255.255.255"),
        ("4294967296", None),
        ("10.192.95.89 xy", "10.192.95.89"),
        ("1.2.3.00x0", None),
        ("09.1.1.1", None),
        ("example.test", None),
    ],
)
def test_ipv4_forms(host: str, expected: str | None) -> None:
    assert parse_ipv4(host) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://a.b.c/1/2.html?param=1",
            ["a.b.c/1/2.html?param=1", "a.b.c/1/2.html", "a.b.c/", "a.b.c/1/",
             "b.c/1/2.html?param=1", "b.c/1/2.html", "b.c/", "b.c/1/"],
        ),
        (
            "http://a.b.c.d.e.f.g/1.html",
            ["a.b.c.d.e.f.g/1.html", "a.b.c.d.e.f.g/", "c.d.e.f.g/1.html", "c.d.e.f.g/",
             "d.e.f.g/1.html", "d.e.f.g/", "e.f.g/1.html", "e.f.g/", "f.g/1.html", "f.g/"],
        ),
        ("http://1.2.3.4/1/", ["1.2.3.4/1/", "1.2.3.4/"]),
        ("http://a.b/?", ["a.b/"]),
        ("http://b/", ["b/"]),
        (
            "http://[2001:470:1:18::114]/a/b",
            ["[2001:470:1:18::114]/a/b", "[2001:470:1:18::114]/a/", "[2001:470:1:18::114]/"],
        ),
        (
            "http://a.com/a/b/c/d/e.html?123",
            ["a.com/", "a.com/a/", "a.com/a/b/", "a.com/a/b/c/", "a.com/a/b/c/d/e.html",
             "a.com/a/b/c/d/e.html?123"],
        ),
    ],
)
def test_lookup_expressions(url: str, expected: list[str]) -> None:
    assert sorted(lookup_expressions(url)) == sorted(expected)


def test_bad_idn_label_is_a_clear_error() -> None:
    with pytest.raises(UrlError, match="IDN label 1"):
        canonicalize("http://\u0661\u0031.example.test/")  # mixed-direction digits: invalid bidi


def test_invalid_utf8_in_host_is_refused() -> None:
    with pytest.raises(UrlError, match="neither ASCII nor UTF-8"):
        canonicalize(b"http://\xff\xfe.example.test/")


def test_fullwidth_delimiter_in_host_is_refused() -> None:
    with pytest.raises(UrlError, match="delimiters"):
        canonicalize("http://\u00fc\uff0f.example.test/")


@pytest.mark.parametrize("raw", ["%\u200b22.example.test", "]%\u200b\u200ba0", "\u00fc\uff0541.test"])
def test_idn_mapping_that_would_form_an_escape_is_refused(raw: str) -> None:
    with pytest.raises(UrlError, match="IDNA"):
        canonicalize(raw)


def test_length_is_bounded_and_the_error_is_a_limit() -> None:
    with pytest.raises(UrlError) as info:
        canonicalize("http://example.test/" + "a" * MAX_URL_BYTES)
    assert isinstance(info.value, LimitExceeded)


def test_error_never_repeats_the_url() -> None:
    secret = "husinjopuk"
    with pytest.raises(UrlError) as info:
        canonicalize(f"mailto:{secret}@example.test")
    assert secret not in str(info.value)


def test_port_is_recorded_but_not_part_of_the_url() -> None:
    c = canonicalize("https://Example.TEST:8443/a?b")
    assert (c.url, c.port, c.key) == ("https://example.test/a?b", 8443, "example.test/a?b")
    assert canonicalize("https://example.test:443/").port is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_random_text_never_crashes_and_is_idempotent(raw: str) -> None:
    _check_idempotent(raw)


_URLISH = st.builds(
    lambda scheme, host, path, q: f"{scheme}{host}{path}{q}",
    st.sampled_from(["", "http://", "HTTPS://", "ftp://", "hxxp:", "http:/"]),
    st.text(alphabet="abcXYZ.-%20:@[]0x19\u00fc\u3002\uff0e", max_size=30),
    st.text(alphabet="/.%2eab?#;&=+ \t", max_size=30),
    st.text(alphabet="?=&%25#x", max_size=10),
)


@settings(max_examples=400, deadline=None)
@given(_URLISH)
def test_url_like_text_never_crashes_and_is_idempotent(raw: str) -> None:
    _check_idempotent(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_never_crash(raw: bytes) -> None:
    _check_idempotent(raw)


def _check_idempotent(raw: str | bytes) -> None:
    try:
        first = canonical_url(raw)
    except IndexguardError:
        return
    assert canonical_url(first) == first
    assert lookup_expressions(first) == lookup_expressions(raw)
