"""Bencode: strict and lenient paths agree, duplicates and offsets are kept, limits hold."""

from __future__ import annotations

import contextlib
import time

import bencode2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexguard.errors import LimitExceeded, ParseError
from indexguard.formats.bencode import BDict, Limits, decode, dict_get_all, lenient_decode
from indexguard.formats.errors import FormatError, FormatLimitExceeded


def _plain(v: object) -> object:
    """BDict trees as plain dicts, for comparison with bencode2's output."""
    if isinstance(v, BDict):
        return {k: _plain(x) for k, x in v.pairs}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def test_strict_and_lenient_agree_on_canonical_input() -> None:
    doc = {b"a": [1, -2, b"xyz", {b"k": b""}], b"b": {b"c": 0, b"d": [[], {}]}}
    data = bencode2.bencode(doc)
    strict = decode(data)
    assert strict.strict
    assert strict.root == doc
    root, warnings = lenient_decode(data)
    assert _plain(root) == doc
    assert warnings == []


def test_duplicate_keys_keep_every_value_and_warn() -> None:
    d = decode(b"d4:name4:bizu4:name10:husinjopuke")
    assert not d.strict
    assert dict_get_all(d.root, b"name") == [b"bizu", b"husinjopuk"]
    assert [w.code for w in d.warnings] == ["duplicate_key"]


def test_dict_spans_are_raw_byte_offsets() -> None:
    data = b"d1:zi1e4:infod1:ai1eee"  # unsorted, so the lenient path runs
    d = decode(data)
    span = d.value_span(b"info")
    assert span is not None and data[span[0] : span[1]] == b"d1:ai1ee"


def test_strict_span_is_verified_against_raw_bytes() -> None:
    data = bencode2.bencode({b"announce": b"http://t.example/a", b"info": {b"name": b"x"}, b"z": 1})
    d = decode(data)
    assert d.strict
    span = d.value_span(b"info")
    assert span is not None and data[span[0] : span[1]] == b"d4:name1:xe"


@pytest.mark.parametrize(
    ("data", "code", "offset"),
    [
        (b"", "empty", 0),
        (b"d4:name", "truncated", 7),
        (b"5:abc", "truncated", 0),
        (b"i12", "truncated", 0),
        (b"ixe", "bad_integer", 0),
        (b"i99999999999999999999e", "integer_overflow", 0),
        (b"di1ei2ee", "bad_key", 1),
        (b"d1:ae", "missing_value", 1),
        (b"x", "bad_token", 0),
        (b"e", "unexpected_end", 0),
        (b"3x:abc", "bad_string_length", 0),
    ],
)
def test_errors_are_specific_with_offsets(data: bytes, code: str, offset: int) -> None:
    with pytest.raises(FormatError) as exc:
        decode(data)
    assert exc.value.code == code
    assert exc.value.offset == offset
    assert code in str(exc.value)


def test_noncanonical_forms_become_warnings() -> None:
    d = decode(b"li01ei-0e02:abe")
    assert _plain(d.root) == [1, 0, b"ab"]
    assert {w.code for w in d.warnings} == {"noncanonical_integer", "noncanonical_length"}


def test_trailing_data_is_a_warning() -> None:
    d = decode(b"4:bizuXYZ")
    assert d.root == b"bizu"
    assert [w.code for w in d.warnings] == ["trailing_data"]


def test_depth_limit_without_recursion() -> None:
    deep = b"l" * 200_000 + b"e" * 200_000
    with pytest.raises(FormatLimitExceeded) as exc:
        decode(deep)
    assert exc.value.code == "too_deep"
    ok = b"l" * 100 + b"e" * 100
    assert decode(ok).root is not None
    with pytest.raises(LimitExceeded):
        decode(b"l" * 101 + b"e" * 101)


def test_depth_limit_on_strict_path() -> None:
    data = bencode2.bencode(_nest(150))
    with pytest.raises(FormatLimitExceeded) as exc:
        decode(data)
    assert exc.value.code == "too_deep"


def _nest(n: int) -> object:
    v: object = 1
    for _ in range(n):
        v = [v]
    return v


def test_size_and_token_limits() -> None:
    with pytest.raises(FormatLimitExceeded) as exc:
        decode(b"0:" * 10, Limits(max_size=5))
    assert exc.value.code == "too_large"
    with pytest.raises(FormatLimitExceeded) as exc:
        decode(b"l" + b"i1e" * 1000 + b"e", Limits(max_tokens=500))
    assert exc.value.code == "too_many_tokens"
    with pytest.raises(FormatLimitExceeded):
        lenient_decode(b"l" + b"i1e" * 1000 + b"e", Limits(max_tokens=500))


def test_time_budget() -> None:
    with pytest.raises(FormatLimitExceeded) as exc:
        lenient_decode(b"l" + b"i1e" * 100_000 + b"e", Limits(time_budget=0.0))
    assert exc.value.code == "time_budget"


_values = st.recursive(
    st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.binary(max_size=20),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.binary(max_size=8), kids, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_roundtrip_property(value: object) -> None:
    data = bencode2.bencode(value)
    assert decode(data).root == value
    assert _plain(lenient_decode(data)[0]) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    t0 = time.perf_counter()
    with contextlib.suppress(ParseError):
        decode(data)
    assert time.perf_counter() - t0 < 5.0  # bounded work per input, not a speed target


@settings(max_examples=300, deadline=None)
@given(_values, st.data())
def test_mutated_documents_never_crash(value: object, data: st.DataObject) -> None:
    raw = bytearray(bencode2.bencode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.sampled_from(b"dlie:0123456789-x"))
        elif op == "cut":
            del raw[pos:]
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
    with contextlib.suppress(ParseError):
        decode(bytes(raw))
