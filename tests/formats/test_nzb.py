"""NZB corpus (valid, gzipped, malformed), identity, caps, and fuzzing."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import LimitExceeded, ParseError
from indexguard.formats.errors import FormatError
from indexguard.formats.nzb import NzbLimits, gunzip_capped, parse_nzb

# file -> None (parses cleanly) | set of warning codes (parses, usable) | "error:<code>".
# Decided per fixture: an NZB that still names at least one downloadable segment is usable.
EXPECTED: dict[str, object] = {
    "big_buck_bunny.nzb": set(),
    "big_buck_bunny.nzb.gz": set(),
    "spec_example.nzb": set(),
    "spec_example.nzb.gz": set(),
    "multi_rar.nzb": set(),
    "one_rar_file.nzb": set(),
    "single_meta.nzb": set(),
    "no_meta.nzb": set(),
    "nzb_with_no_head.nzb": set(),
    "non_standard_meta.nzb": set(),
    "bad_subject.nzb": {"no_filename_in_subject"},
    "invalid_gzipped_nzb.nzb.gz": {"not_gzipped"},
    "malformed_files.nzb": "error:no_files",
    "malformed_files2.nzb": {"file_without_segments", "no_groups"},
    "malformed_groups.nzb": {"empty_group", "no_groups"},
    "malformed_segments.nzb": {"file_without_segments"},
    "valid_nzb_with_bad_segments.nzb": {"bad_segment", "empty_message_id"},
    "valid_nzb_with_bad_segments.nzb.gz": {"bad_segment", "empty_message_id"},
    "valid_nzb_with_one_missing_segment.nzb": {"empty_message_id"},
}


@pytest.fixture(scope="module")
def nzb_dir(fixtures_dir: Path) -> Path:
    d = fixtures_dir / "nzb"
    assert d.is_dir(), f"{d} missing from the repository"
    return d


def test_corpus_matches_the_decision_table(nzb_dir: Path) -> None:
    names = sorted(p.name for p in nzb_dir.glob("*.nzb*"))
    assert names == sorted(EXPECTED)
    for name, want in EXPECTED.items():
        data = (nzb_dir / name).read_bytes()
        if isinstance(want, str):
            with pytest.raises(FormatError) as exc:
                parse_nzb(data, name)
            assert exc.value.code == want.removeprefix("error:"), name
            lenient = parse_nzb(data, name, strict=False)
            assert lenient.meta and lenient.errors
            continue
        n = parse_nzb(data, name)
        assert {w.code for w in n.warnings} == want, name
        assert n.files and n.identities()["nzb_id"], name


def test_gzip_and_plain_have_the_same_identity(nzb_dir: Path) -> None:
    plain = parse_nzb((nzb_dir / "big_buck_bunny.nzb").read_bytes())
    gz = parse_nzb((nzb_dir / "big_buck_bunny.nzb.gz").read_bytes())
    assert gz.gzipped and not plain.gzipped
    assert plain.nzb_id == gz.nzb_id
    ids = plain.message_ids()
    assert ids == sorted(set(ids)) and len(ids) > 10
    assert plain.nzb_id == hashlib.sha256("\n".join(ids).encode()).hexdigest()


def test_fields(nzb_dir: Path) -> None:
    n = parse_nzb((nzb_dir / "malformed_files2.nzb").read_bytes(), "x.nzb")
    fs = n.text_fields()
    assert ("filename", "x.nzb") in fs
    assert [k for k, _ in fs if k.startswith("meta.")] == [
        "meta.title", "meta.password", "meta.password#2", "meta.tag", "meta.tag#2", "meta.category"]
    assert ("files[1].groups[1]", "alt.binaries.mojo") in fs
    assert ("files[1].name", "abc-mr2a.r01") in fs
    assert ("files[0].poster", "Joe Bloggs <bloggs@nowhere.example>") in fs
    b = parse_nzb((nzb_dir / "big_buck_bunny.nzb").read_bytes())
    assert b.files[0].name == "Big Buck Bunny - S01E01.mkv.par2"


NZB = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE nzb PUBLIC "-//newzBin//DTD NZB 1.1//EN" "http://www.newzbin.com/DTD/nzb/nzb-1.1.dtd">
<nzb xmlns="http://www.newzbin.com/DTD/2003/nzb"><head><meta type="title">husinjopuk</meta></head>
<file poster="p" date="1" subject="&quot;bizu.rar&quot; yEnc (1/1)"><groups><group>a.b.c</group></groups>
<segments><segment bytes="10" number="1">&lt;b@x&gt;</segment><segment bytes="10" number="2">a@x</segment>
<segment bytes="10" number="3">a@x</segment></segments></file></nzb>"""


def test_message_id_normalisation_and_order() -> None:
    n = parse_nzb(NZB)
    assert n.message_ids() == ["a@x", "b@x"]
    assert ("meta.title", "husinjopuk") in n.text_fields()


def test_entities_are_forbidden_and_dtd_allowed() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE nzb [<!ENTITY a "aaaa">]><nzb>&a;</nzb>'
    with pytest.raises(FormatError) as exc:
        parse_nzb(bomb)
    assert exc.value.code == "forbidden_xml"
    ext = b'<?xml version="1.0"?><!DOCTYPE nzb [<!ENTITY e SYSTEM "file:///etc/passwd">]><nzb>&e;</nzb>'
    with pytest.raises(FormatError):
        parse_nzb(ext)


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"<nzb><file", "bad_xml"), (b"<rss/>", "not_an_nzb"), (b"\x1f\x8bjunk", "bad_gzip"),
     (gzip.compress(NZB)[:-12], "truncated_gzip"), (b"<nzb/>", "no_files")],
)
def test_clear_errors(data: bytes, code: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_nzb(data)
    assert getattr(exc.value, "code", None) == code


def test_gzip_caps_refuse_early() -> None:
    bomb = gzip.compress(b"<" * (50 * 1024 * 1024))
    with pytest.raises(LimitExceeded) as exc:
        gunzip_capped(bomb)
    assert getattr(exc.value, "code", "") == "gzip_ratio"
    with pytest.raises(LimitExceeded) as exc:
        gunzip_capped(gzip.compress(b"x" * 3_000_000), NzbLimits(max_decompressed=2_000_000, max_ratio=10**6))
    assert getattr(exc.value, "code", "") == "too_large_decompressed"
    assert gunzip_capped(gzip.compress(NZB)) == NZB


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_nzb(data, strict=False).to_json()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_nzb_never_crashes(data: st.DataObject) -> None:
    raw = bytearray(NZB)
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos : pos + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=3))
    blob = bytes(raw)
    if data.draw(st.booleans()):
        blob = gzip.compress(blob)
    with contextlib.suppress(ParseError):
        parse_nzb(blob, strict=False).text_fields()
