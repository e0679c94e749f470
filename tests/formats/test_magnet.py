"""Magnet URIs: every xt form, percent-decoding of any bytes, never a crash."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import ParseError
from indexguard.formats.errors import FormatError, FormatLimitExceeded
from indexguard.formats.magnet import parse_magnet

HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
V2 = "caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"


def test_btih_hex_and_base32_btmh_and_several_xt() -> None:
    b32 = base64.b32encode(bytes.fromhex(HEX)).decode()
    m = parse_magnet(f"magnet:?xt=urn:btih:{HEX.upper()}&xt.1=urn:btih:{b32}&xt.2=urn:btmh:1220{V2}"
                     "&xt.3=urn:sha1:XYZ")
    assert m.btih == [HEX]
    assert m.identities() == {"infohash_v1": [HEX], "infohash_v2": [V2], "infohash_v2_trunc": [V2[:40]],
                              "bep47_sha1": [], "pieces_root": []}
    assert m.other_xt == ["urn:sha1:XYZ"]
    b32_other = base64.b32encode(b"\x01" * 20).decode()
    assert parse_magnet(f"magnet:?xt=urn:btih:{b32_other.lower()}").btih == ["01" * 20]


def test_all_parameters() -> None:
    m = parse_magnet(
        f"magnet:?xt=urn:btih:{HEX}&dn=husinjopuk+release&xl=12345&tr=udp%3A%2F%2Ft.example%3A80"
        "&tr=http://t2.example/a+b&ws=http://ws.example/f&xs=http://xs.example/x.torrent&as=http://as.example/y"
        "&kt=bizu+other&so=0,2,4-6&x.pe=10.0.0.1:6881&x.custom=bizu"
    )
    assert m.name == "husinjopuk release"
    assert m.lengths == [12345]
    assert [t.text for t in m.trackers] == ["udp://t.example:80", "http://t2.example/a+b"]
    assert m.select_only == ["0,2,4-6"] and m.peers == ["10.0.0.1:6881"]
    fs = dict(m.text_fields())
    assert fs["dn"] == "husinjopuk release" and fs["kt"] == "bizu other" and fs["extra:x.custom"] == "bizu"
    assert m.urls() == ["udp://t.example:80", "http://t2.example/a+b", "http://ws.example/f",
                        "http://xs.example/x.torrent", "http://as.example/y"]


def test_dn_percent_encoded_utf8_and_legacy_bytes() -> None:
    m = parse_magnet(f"magnet:?xt=urn:btih:{HEX}&dn=%D0%B1%D0%B8%D0%B7%D1%83")
    assert m.name == "бизу" and not m.warnings
    raw = "хусинджопук".encode("cp1251")
    m = parse_magnet(f"magnet:?xt=urn:btih:{HEX}&dn=" + "".join(f"%{b:02X}" for b in raw))
    assert m.name == "хусинджопук"
    assert [w.code for w in m.warnings] == ["invalid_utf8"]
    assert ("dn", "хусинджопук") in m.text_fields()


def test_several_dn_all_screened() -> None:
    m = parse_magnet(f"magnet:?xt=urn:btih:{HEX}&dn=ordinary&dn=husinjopuk")
    assert [k for k, v in m.text_fields() if v == "husinjopuk"] == ["dn#2"]


def test_bad_values_become_warnings() -> None:
    m = parse_magnet("magnet:?xt=urn:btih:nothex&xt=urn:btmh:1111&xl=abc&dn")
    assert {w.code for w in m.warnings} == {"bad_btih", "bad_btmh", "bad_length", "param_without_value",
                                            "no_infohash"}


@pytest.mark.parametrize("uri", ["http://example/", "", "magnet:", "MAGNET"])
def test_not_a_magnet(uri: str) -> None:
    with pytest.raises(FormatError) as exc:
        parse_magnet(uri)
    assert exc.value.code == "not_a_magnet"


def test_limits() -> None:
    with pytest.raises(FormatLimitExceeded):
        parse_magnet("magnet:?" + "a" * 70_000)
    with pytest.raises(FormatLimitExceeded):
        parse_magnet("magnet:?" + "&".join(["x=1"] * 3000))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_crashes(s: str) -> None:
    try:
        m = parse_magnet("magnet:?" + s)
    except ParseError:
        return
    m.to_json()
    m.text_fields()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_any_percent_encoded_bytes(raw: bytes) -> None:
    m = parse_magnet(f"magnet:?xt=urn:btih:{HEX}&dn=" + "".join(f"%{b:02x}" for b in raw))
    if raw.strip():
        assert m.names and m.names[0].raw == raw
