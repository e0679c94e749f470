"""Hidden text: every place an uploader can put a name must reach text_fields()."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import bencode2
import pytest

from indexguard.formats.errors import FormatError
from indexguard.formats.torrent import parse_torrent

TERM = "husinjopuk"  # placeholder pseudo-word


class Pairs(list[tuple[bytes, Any]]):
    """A dictionary written exactly as given: order and duplicate keys kept."""


def enc(v: Any) -> bytes:
    """A tiny bencode encoder that can write what bencode2 refuses (duplicates, any order)."""
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list) and not isinstance(v, Pairs):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    if isinstance(v, Pairs):
        return b"d" + b"".join(enc(k) + enc(x) for k, x in v) + b"e"
    if isinstance(v, dict):
        return enc(Pairs(sorted(v.items())))
    raise TypeError(type(v))


def v1_info(name: bytes | str = "ordinary release", files: list[Any] | None = None) -> dict[bytes, Any]:
    files = files or [{b"length": 1000, b"path": [b"a.txt"]}]
    total = sum(f[b"length"] for f in files)
    return {b"name": name, b"piece length": 16384, b"pieces": b"\x01" * 20 * -(-total // 16384),
            b"files": files}


_KEYS = {"created_by": b"created by", "url_list": b"url-list"}


def torrent(info: Any, **top: Any) -> bytes:
    return enc({b"info": info, **{_KEYS.get(k, k.encode()): v for k, v in top.items()}})


def fields(data: bytes) -> list[tuple[str, str]]:
    return parse_torrent(data).text_fields()


def has_term(fs: list[tuple[str, str]]) -> list[str]:
    return [k for k, v in fs if TERM in v]


def test_term_only_in_second_name_key() -> None:
    info = Pairs([(b"files", [{b"length": 10, b"path": [b"a"]}]), (b"name", b"ordinary"), (b"name", TERM),
                  (b"piece length", 16384), (b"pieces", b"\x01" * 20)])
    t = parse_torrent(enc(Pairs([(b"info", info)])))
    assert has_term(t.text_fields()) == ["name#2"]
    assert "duplicate_name" in {w.code for w in t.warnings}
    assert t.name == "ordinary"


def test_term_only_in_name_utf8() -> None:
    info = v1_info("ordinary")
    info[b"name.utf-8"] = TERM
    t = parse_torrent(torrent(info))
    assert has_term(t.text_fields()) == ["name.utf-8"]
    assert "name_utf8_mismatch" in {w.code for w in t.warnings}


def test_term_only_in_a_path_ten_directories_deep() -> None:
    path = [f"d{i}".encode() for i in range(10)] + [f"x.{TERM}.mkv".encode()]
    t = parse_torrent(torrent(v1_info(files=[{b"length": 5, b"path": [b"ok.txt"]}, {b"length": 5, b"path": path}])))
    assert has_term(t.text_fields()) == ["files[1].path"]
    assert dict(t.text_fields())["files[1].path"].count("/") == 10


def test_term_only_in_path_utf8_and_symlink() -> None:
    files = [{b"length": 5, b"path": [b"a"], b"path.utf-8": [TERM.encode()]},
             {b"attr": b"l", b"length": 0, b"path": [b"b"], b"symlink path": [b"x", TERM.encode()]}]
    t = parse_torrent(torrent(v1_info(files=files)))
    assert has_term(t.text_fields()) == ["files[0].path.utf-8", "files[1].symlink"]
    assert "path_utf8_mismatch" in {w.code for w in t.warnings}


def test_term_only_in_a_pad_file_path() -> None:
    files = [{b"length": 5, b"path": [b"a"]}, {b"attr": b"p", b"length": 16379, b"path": [b".pad", TERM.encode()]}]
    t = parse_torrent(torrent(v1_info(files=files)))
    assert has_term(t.text_fields()) == ["files[1].path"]


def v2_info(tree: dict[bytes, Any], name: str = "ordinary") -> dict[bytes, Any]:
    return {b"file tree": tree, b"meta version": 2, b"name": name, b"piece length": 16384}


def leaf(length: int) -> dict[bytes, Any]:
    props: dict[bytes, Any] = {b"length": length}
    if length:
        props[b"pieces root"] = hashlib.sha256(b"%d" % length).digest()
    return {b"": props}


def test_term_only_in_v2_file_tree() -> None:
    tree = {b"dir": {b"sub": {f"{TERM}.bin".encode(): leaf(100)}, b"b.txt": leaf(10)}}
    data = torrent(v2_info(tree))
    t = parse_torrent(data)
    assert t.infohash_v1 is None
    assert t.infohash_v2 == hashlib.sha256(enc(v2_info(tree))).hexdigest()
    assert has_term(t.text_fields()) == ["v2_tree[1].path"]
    assert any(p.endswith(f"dir/sub/{TERM}.bin") for _, p in t.text_fields())
    assert len(t.identities()["pieces_root"]) == 2


def test_hybrid_with_a_v2_tree_that_differs_from_the_v1_files() -> None:
    info = v1_info("ordinary", files=[{b"length": 100, b"path": [b"a.bin"]}])
    info.update({b"file tree": {f"{TERM}.bin".encode(): leaf(100)}, b"meta version": 2})
    t = parse_torrent(torrent(info), strict=False)
    assert has_term(t.text_fields()) == ["v2_tree[0].path"]
    assert "v1_v2_mismatch" in {w.code for w in t.warnings}
    assert "inconsistent_files" in {e.code for e in t.errors}
    with pytest.raises(FormatError):
        parse_torrent(torrent(info))


def test_cp1251_encoded_name() -> None:
    cyr = "бизу хусинджопук"
    info = v1_info(cyr.encode("cp1251"))
    t = parse_torrent(torrent(info))
    assert t.name == cyr
    assert t.names[0][1].charset == "cp1251"
    assert ("name", cyr) in t.text_fields()
    assert "legacy_charset" in {w.code for w in t.warnings}
    assert t.to_json()["names"][0]["raw_hex"] == cyr.encode("cp1251").hex()


def test_declared_encoding_is_tried_first() -> None:
    text = "日本語の名前"
    t = parse_torrent(torrent(v1_info(text.encode("shift_jis")), encoding=b"Shift_JIS"))
    assert t.name == text and t.names[0][1].charset == "shift_jis"


def test_every_variant_is_screened() -> None:
    raw = f"{TERM} ".encode() + "тест".encode("cp1251")
    fs = fields(torrent(v1_info(raw)))
    assert {k for k, _ in fs if k.startswith("name")} >= {"name", "name[latin-1]"}


def test_term_in_a_second_info_dictionary_and_unknown_keys() -> None:
    info = v1_info("ordinary")
    second = v1_info(TERM)
    data = enc(Pairs([(b"info", info), (b"info", second), (b"x-title", f"about {TERM}")]))
    t = parse_torrent(data)
    found = has_term(t.text_fields())
    assert "extra:info#2.name" in found and "extra:x-title" in found
    assert t.infohash_v1 == hashlib.sha1(enc(info)).hexdigest()
    assert "duplicate_info" in {w.code for w in t.warnings}


def test_term_in_comment_source_publisher_and_trackers() -> None:
    info = v1_info()
    info[b"source"] = TERM
    data = torrent(info, comment=TERM, created_by=TERM, publisher=TERM, announce=f"http://{TERM}.example/a",
                   url_list=[f"http://{TERM}.example/ws"])
    t = parse_torrent(data)
    assert set(has_term(t.text_fields())) == {"comment", "created by", "publisher", "info.source",
                                                "trackers[0]", "web_seeds[0]"}
    assert t.urls() == [f"http://{TERM}.example/a", f"http://{TERM}.example/ws"]


def test_identities() -> None:
    files = [{b"length": 10, b"path": [b"a"], b"sha1": b"\xab" * 20}]
    t = parse_torrent(torrent(v1_info(files=files)))
    ids = t.identities()
    assert ids["bep47_sha1"] == ["ab" * 20]
    assert ids["infohash_v1"] == [hashlib.sha1(enc(v1_info(files=files))).hexdigest()]
    assert ids["infohash_v2"] == [] and ids["pieces_root"] == []


def test_10000_file_torrent_parses_in_bounded_time() -> None:
    """A guard against quadratic blow-ups, not a speed target (that is bench/bench_formats.py): the bound
    is generous so a loaded CI machine never fails it, while an O(n^2) walk over 10,000 files would."""
    files = [{b"length": 1000 + i, b"path": [b"dir%d" % (i % 50), b"file-%05d.bin" % i]} for i in range(10_000)]
    data = torrent(v1_info(files=files))
    t0 = time.perf_counter()
    t = parse_torrent(data)
    fs = t.text_fields()
    elapsed = time.perf_counter() - t0
    assert len(t.files) == 10_000 and len(fs) >= 10_001
    assert elapsed < 5.0, elapsed


def test_lenient_path_10000_files_also_fast() -> None:
    files = [Pairs([(b"path", [b"f%05d" % i]), (b"length", 10)]) for i in range(10_000)]  # unsorted keys
    info = Pairs([(b"name", b"x"), (b"files", files), (b"piece length", 16384), (b"pieces", b"\x01" * 20 * 7)])
    t0 = time.perf_counter()
    t = parse_torrent(enc(Pairs([(b"info", info)])))
    assert not t.bencode_strict and len(t.files) == 10_000
    assert time.perf_counter() - t0 < 5.0  # bounded, not a speed target


def test_to_json_is_serialisable() -> None:
    import json

    obj = parse_torrent(torrent(v1_info("бизу".encode("cp1251")))).to_json()
    assert json.loads(json.dumps(obj))["infohash_v1"] == obj["infohash_v1"]


def test_bencode2_roundtrip_builder_agrees() -> None:
    info = v1_info()
    assert torrent(info) == bencode2.bencode({b"info": info})
