"""Hash list files: plain and CSV formats, type inference, refusals with file:line:reason."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import ListFormatError
from indexguard.lists.hash_list import ListOptions, load_hash_list, parse_hash_list, pdq_entropy_problem

PDQ_A = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
PDQ_B = "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"
MD5 = "8bbbaa9540800e378beadc8bbef7bb32"
SHA1 = "7fdbc7fe30189f0a16fbaae7162c9c5eb3c7987c"
SHA256 = "05636c50d0c2ffe3a820f964eaba35b404deadd10538fe452ad9fb16fdd823d7"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_plain_list_infers_md5_and_sha1(tmp_path: Path) -> None:
    p = _write(tmp_path, "hotline.txt", f"# comment\n\n{MD5}\n{SHA1.upper()}  # trailing note\n")
    bank = load_hash_list(p)
    assert [(e.hash_type, e.id, e.line) for e in bank.entries] == [
        ("md5", "hotline:3", 3),
        ("sha1", "hotline:4", 4),
    ]
    assert bank.entries[1].value == SHA1
    assert all(e.severity == "block" and e.category == "csam" and e.enabled for e in bank.entries)
    assert bank.pdq_threshold == 31 and bank.kind == "normal" and len(bank.version) == 64


def test_plain_64_hex_needs_a_type(tmp_path: Path) -> None:
    p = _write(tmp_path, "x.txt", f"{SHA256}\n")
    with pytest.raises(ListFormatError) as err:
        load_hash_list(p)
    assert err.value.line == 1 and "ambiguous" in err.value.reason
    assert load_hash_list(p, hash_type="sha256").entries[0].hash_type == "sha256"
    pdq = load_hash_list(_write(tmp_path, "p.txt", f"{PDQ_A}\n"), hash_type="pdq", pdq_threshold=20)
    assert pdq.entries[0].severity == "review" and pdq.pdq_threshold == 20


def test_csv_list_with_every_column(tmp_path: Path) -> None:
    text = (
        "hash,type,id,category,source,severity,enabled\n"
        f"{PDQ_A},pdq,E-1,csam,hotline-a,block,true\n"
        f"{SHA256},sha256,E-2,other,hotline-b,,false\n"
        f"{SHA1},infohash_v1,E-3,csam,,,\n"
    )
    bank = load_hash_list(_write(tmp_path, "bank.csv", text), name="bankname", kind="allowlist")
    e1, e2, e3 = bank.entries
    assert (e1.hash_type, e1.id, e1.source, e1.severity, e1.enabled) == ("pdq", "E-1", "hotline-a", "block", True)
    assert (e2.category, e2.severity, e2.enabled) == ("other", "block", False)
    assert (e3.hash_type, e3.source) == ("infohash_v1", "bankname")
    assert bank.kind == "allowlist" and bank.name == "bankname"


def test_csv_minimal_header(tmp_path: Path) -> None:
    bank = load_hash_list(_write(tmp_path, "m.csv", f"hash,type\n{MD5},\n{PDQ_B},pdq\n"))
    assert [e.hash_type for e in bank.entries] == ["md5", "pdq"]
    assert bank.entries[0].id == "m:2"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0" * 32, "all-zero"),
        ("abc", "cannot infer"),
        ("zz" * 16, "not hexadecimal"),
        ("0" * 63 + "1", "ambiguous"),
    ],
)
def test_plain_refusals_name_file_line_reason(tmp_path: Path, line: str, reason: str) -> None:
    p = _write(tmp_path, "bad.txt", f"{MD5}\n# c\n{line}\n")
    with pytest.raises(ListFormatError) as err:
        load_hash_list(p)
    assert err.value.line == 3 and reason in err.value.reason
    assert str(err.value).startswith(f"{p}:3: ")
    assert line not in str(err.value) or len(line) < 8  # never echo a hash back


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0" * 63 + "7", "bits set"),
        ("f" * 64, "bits set"),
        ("ab" * 32, "repeats"),
        ("0123456789abcdef" * 4, "repeats"),
        ("00ff" * 15 + "0f0f", "distinct byte"),
        (PDQ_A[:60], "64 hex digits"),
    ],
)
def test_low_entropy_and_wrong_length_pdq_refused(tmp_path: Path, value: str, reason: str) -> None:
    p = _write(tmp_path, "pdq.csv", f"hash,type,id\n{PDQ_A},pdq,ok\n{value},pdq,bad\n")
    with pytest.raises(ListFormatError) as err:
        load_hash_list(p)
    assert err.value.line == 3 and reason in err.value.reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f"{MD5},sha9,X", "unknown hash type"),
        (f"{MD5},md5", "expected 3 fields"),
        (f"{MD5},sha1,X", "40 hex digits"),
        (f"{MD5},md5,a", "duplicate entry id"),
    ],
)
def test_csv_refusals(tmp_path: Path, row: str, reason: str) -> None:
    p = _write(tmp_path, "c.csv", f"hash,type,id\n{SHA1},sha1,a\n{row}\n")
    with pytest.raises(ListFormatError) as err:
        load_hash_list(p)
    assert err.value.line == 3 and reason in err.value.reason


def test_csv_bad_header_and_enabled(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="unknown CSV column"):
        load_hash_list(_write(tmp_path, "h.csv", f"hash,colour\n{MD5},red\n"))
    with pytest.raises(ListFormatError, match="enabled must be"):
        load_hash_list(_write(tmp_path, "e.csv", f"hash,enabled\n{MD5},maybe\n"))


def test_version_is_content_hash(tmp_path: Path) -> None:
    a = load_hash_list(_write(tmp_path, "a.txt", f"{MD5}\n{SHA1}\n"), name="l")
    b = load_hash_list(_write(tmp_path, "b.txt", f"{MD5}\n{SHA1}\n"), name="l")
    c = load_hash_list(_write(tmp_path, "c.txt", f"{MD5}\n"), name="l")
    assert a.version == b.version != c.version
    off = a.with_enabled("l:1", False)
    assert off.version != a.version and not off.entries[0].enabled
    assert MD5 not in repr(a) and MD5 not in repr(a.entries[0])


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.txt"
    p.write_bytes(MD5.encode() + b"\n\xff\xfe\n")
    with pytest.raises(ListFormatError, match="UTF-8") as err:
        load_hash_list(p)
    assert err.value.line == 2
    with pytest.raises(ListFormatError, match="cannot read"):
        load_hash_list(tmp_path / "missing.txt")


def test_random_pdq_hashes_pass_entropy_check() -> None:
    for _ in range(200):
        assert pdq_entropy_problem(secrets.token_bytes(32)) is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_crashes(text: str) -> None:
    try:
        bank = parse_hash_list(text, "fuzz.txt", ListOptions("fuzz"))
    except ListFormatError as err:
        assert err.source == "fuzz.txt"
        return
    for e in bank.entries:
        assert len(e.value) in (32, 40)
