"""Deny set: identities of blocked items, in memory and in a JSONL file."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from pathlib import Path

import pytest

from indexguard.screen.decision import Decision, Reason
from indexguard.screen.deny_set import (
    DENY_LIST,
    DenyRecord,
    DenySet,
    DenySetError,
    DenySetKeyError,
    JsonlDenySet,
    MemoryDenySet,
    deny_hits,
    identities_of_item,
    normalize_identities,
    record_for,
)
from indexguard.screen.item import Item

V1 = hashlib.sha1(b"synthetic torrent one").hexdigest()
V2 = hashlib.sha256(b"synthetic torrent two").hexdigest()
NZB = hashlib.sha256(b"synthetic nzb").hexdigest()
FILE_SHA256 = hashlib.sha256(b"synthetic file").hexdigest()


def _rec(decision: str, category: str = "csam") -> DenyRecord:
    return DenyRecord(decision, category, (("hot", "hot:3"),), "2024-01-02T03:04:05Z", "item-1")


@pytest.fixture(params=["memory", "jsonl"])
def deny(request: pytest.FixtureRequest, tmp_path: Path) -> DenySet:
    return MemoryDenySet() if request.param == "memory" else JsonlDenySet(tmp_path / "deny.jsonl")


def test_reupload_under_a_new_title_is_found_by_infohash(deny: DenySet) -> None:
    deny.add({"infohash_v1": [V1.upper()], "url": ["http://bizu.example.test/t/1"]}, _rec("d-1"))
    (got,) = deny.lookup({"infohash": [V1]})
    assert (got.decision_id, got.matched, got.category, got.entries) == ("d-1", "infohash_v1", "csam",
                                                                        (("hot", "hot:3"),))
    (hit,) = deny_hits([got])
    assert (hit.list, hit.entry, hit.severity, hit.view) == (DENY_LIST, "d-1", "block", "identity:infohash_v1")
    assert "blocked earlier" in hit.extra["detail"]


def test_all_infohash_forms_meet(deny: DenySet) -> None:
    deny.add({"btmh": ["1220" + V2]}, _rec("v2"))
    deny.add({"btih": [base64.b32encode(bytes.fromhex(V1)).decode()]}, _rec("v1"))
    assert [r.matched for r in deny.lookup({"infohash_v2": [V2]})] == ["infohash_v2"]
    # what a tracker sees for the v2 swarm: the truncated hash, even when filed as a v1 btih
    assert [r.decision_id for r in deny.lookup({"infohash_v1": [V2[:40]]})] == ["v2"]
    assert [r.decision_id for r in deny.lookup({"infohash_v2_trunc": [V1]})] == ["v1"]
    assert [r.decision_id for r in deny.lookup({"infohash": [f"urn:btih:{V1}"]})] == ["v1"]


def test_urls_and_file_hashes_and_nzb(deny: DenySet) -> None:
    deny.add({"url": ["HTTP://Bizu.Example.TEST:80/a/./b#x"], "nzb_id": [NZB], "sha256": [FILE_SHA256]},
             _rec("d-2"))
    assert [r.matched for r in deny.lookup({"url": ["https://bizu.example.test/a/b"]})] == ["url"]
    assert [r.matched for r in deny.lookup({"nzb": [NZB.upper()]})] == ["nzb_id"]
    assert [r.matched for r in deny.lookup({"pieces_root": [FILE_SHA256]})] == []  # other namespace
    assert deny.lookup({"url": ["http://bizu.example.test/a/c"]}) == []


def test_strongest_identity_is_reported_once_per_decision(deny: DenySet) -> None:
    deny.add({"url": ["http://h.test/x"], "infohash_v1": [V1]}, _rec("d-3"))
    got = deny.lookup({"url": ["http://h.test/x"], "infohash_v1": [V1]})
    assert [(r.decision_id, r.matched) for r in got] == [("d-3", "infohash_v1")]


def test_trivial_hashes_are_never_remembered(deny: DenySet) -> None:
    empty = {"md5": [hashlib.md5(b"").hexdigest()], "sha1": ["0" * 40], "sha256": [hashlib.sha256().hexdigest()]}
    assert deny.add(empty, _rec("d-4")) is None
    assert len(deny) == 0 and deny.lookup(empty) == []


def test_malformed_identities_are_clear_errors_without_the_value(deny: DenySet) -> None:
    with pytest.raises(DenySetError, match="infohash_v1 must be 40 hex digits"):
        deny.add({"infohash_v1": ["xyz-husinjopuk"]}, _rec("d-5"))
    with pytest.raises(DenySetError, match="unknown identity type") as info:
        deny.add({"colour": ["husinjopuk"]}, _rec("d-5"))
    assert "husinjopuk" not in str(info.value)
    # lookups skip what cannot be stored and still check the rest
    deny.add({"md5": [hashlib.md5(b"x").hexdigest()]}, _rec("d-6"))
    got = deny.lookup({"md5": ["nothex", hashlib.md5(b"x").hexdigest()], "url": ["mailto:x"]})
    assert [r.decision_id for r in got] == ["d-6"]


def test_remove_and_merge_and_iteration(deny: DenySet) -> None:
    deny.add({"infohash_v1": [V1]}, _rec("d-7"))
    deny.add({"url": ["http://h.test/y"]}, DenyRecord("d-7", entries=(("other", "o:1"),)))
    (rec,) = list(deny)
    assert set(rec.identities) == {"infohash_v1", "url"}
    assert rec.entries == (("hot", "hot:3"), ("other", "o:1"))
    assert rec.created == "2024-01-02T03:04:05Z"
    assert deny.remove("d-7") is True and deny.remove("d-7") is False
    assert len(deny) == 0 and deny.lookup({"infohash_v1": [V1]}) == []


def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deny.jsonl"
    a = JsonlDenySet(path)
    a.add({"infohash_v2": [V2], "url": ["http://h.test/z"]}, _rec("d-8", "cat-a"))
    a.add({"nzb_id": [NZB]}, _rec("d-9"))
    a.add({"md5": [hashlib.md5(b"q").hexdigest()]}, _rec("d-10"))
    a.remove("d-10")
    b = JsonlDenySet(path)
    assert [r.to_json() for r in b] == [r.to_json() for r in a]
    assert [r.decision_id for r in b.lookup({"infohash_v1": [V2[:40]]})] == ["d-8"]
    assert b.lookup({"md5": [hashlib.md5(b"q").hexdigest()]}) == []
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["op"] for x in lines] == ["add", "add", "add", "remove"]
    b.compact()
    assert len(path.read_text().splitlines()) == 2
    assert [r.to_json() for r in JsonlDenySet(path)] == [r.to_json() for r in a]


def test_truncated_last_line_is_set_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "deny.jsonl"
    a = JsonlDenySet(path)
    a.add({"infohash_v1": [V1]}, _rec("d-11"))
    a.add({"nzb_id": [NZB]}, _rec("d-12"))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 25])  # a crash in the middle of the second write
    with caplog.at_level(logging.WARNING):
        b = JsonlDenySet(path)
    assert [r.decision_id for r in b] == ["d-11"]
    assert b.warnings and ":2: the last line was cut short" in b.warnings[0]
    assert "cut short" in caplog.text
    assert (tmp_path / "deny.jsonl.torn").exists()
    b.add({"url": ["http://h.test/after"]}, _rec("d-13"))
    c = JsonlDenySet(path)
    assert [r.decision_id for r in c] == ["d-11", "d-13"] and c.warnings == []


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "deny.jsonl"
    JsonlDenySet(path).add({"infohash_v1": [V1]}, _rec("d-14"))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    b = JsonlDenySet(path)
    b.add({"nzb_id": [NZB]}, _rec("d-15"))
    assert [r.decision_id for r in JsonlDenySet(path)] == ["d-14", "d-15"]


def test_corrupt_middle_line_stops_the_load(tmp_path: Path) -> None:
    path = tmp_path / "deny.jsonl"
    a = JsonlDenySet(path)
    a.add({"infohash_v1": [V1]}, _rec("d-16"))
    a.add({"nzb_id": [NZB]}, _rec("d-17"))
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n{broken\n" + lines[1] + "\n")
    with pytest.raises(DenySetError, match=r"deny\.jsonl:2: not JSON"):
        JsonlDenySet(path)


def test_memory_set_is_thread_safe() -> None:
    deny = MemoryDenySet()

    def work(k: int) -> None:
        for i in range(200):
            h = hashlib.sha1(f"{k}-{i}".encode()).hexdigest()
            deny.add({"infohash_v1": [h]}, DenyRecord(f"d-{k}-{i}"))
            assert deny.lookup({"infohash_v1": [h]})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(deny) == 800


def test_record_for_a_decision_and_identities_of_an_item() -> None:
    d = Decision("dec-1", "block", [
        Reason("terms", "v", "terms:4", "csam", "title", "standard", (0, 4), "block"),
        Reason("terms", "v", "terms:9", "other", "title", "standard", (5, 9), "warn"),
    ], "c1")
    rec = record_for(d, item_id="it-1")
    assert (rec.decision_id, rec.category, rec.entries) == ("dec-1", "csam", (("terms", "terms:4"),))
    item = Item.from_json({"id": "it-1", "infohash": V1, "sha256": FILE_SHA256,
                           "urls": ["http://h.test/a", "http:///broken"]})
    ids = normalize_identities(identities_of_item(item))
    assert ids == {"infohash_v1": (V1,), "url": ("h.test/a",), "sha256": (FILE_SHA256,)}


def test_deny_set_serves_as_the_screeners_identity_matcher() -> None:
    deny = MemoryDenySet()
    deny.add({"infohash_v1": [V1]}, _rec("d-20"))
    (hit,) = deny.match_identities({"infohash_v1": [V1], "infohash_v2": []})
    assert (hit.list, hit.entry, hit.view) == (DENY_LIST, "d-20", "identity:infohash_v1")


def test_a_banned_uploader_is_refused_but_a_block_never_bans_one(deny: DenySet) -> None:
    from indexguard.lists.terms import parse_term_list
    from indexguard.screen.screener import Screener

    screener = Screener.build([parse_term_list("bizu\n", "t", "txt")], identity_matchers=[deny])
    blocked = screener.screen(Item.from_json({"id": "a", "title": "bizu", "uploader_id": "acct-1", "infohash": V1}))
    assert blocked.action == "block" and "uploader" not in blocked.extra["identities"]
    deny.add(blocked.extra["identities"], record_for(blocked, "a"))
    assert screener.screen(Item.from_json({"id": "b", "title": "garden", "uploader_id": "acct-1"})).action == "allow"
    deny.add({"uploader": [" acct-1 "]}, _rec("ban"))
    for item in ({"id": "c", "title": "garden", "uploader": {"id": "acct-1"}}, {"id": "d", "uploader_id": "acct-1"}):
        d = screener.screen(Item.from_json(item))
        assert d.action == "block" and [r.view for r in d.reasons] == ["identity:uploader"]
        assert screener.screen_many([Item.from_json(item)])[0].action == "block"  # not skipped as text-only
    with pytest.raises(DenySetError, match="uploader"):
        deny.add({"uploader": ["x" * 201]}, _rec("long"))


def test_keyed_file_converts_clear_urls_on_its_next_save_and_refuses_a_wrong_or_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "deny.jsonl"
    JsonlDenySet(path).add({"url": ["http://bizu.example.test/t/1"]}, _rec("d-old"))  # an older, clear file
    key = b"\x05" * 32
    a = JsonlDenySet(path, url_key=key)
    assert (a.clear_urls, a.needs_rewrite) == (1, True)
    assert [r.decision_id for r in a.lookup({"url": ["HTTP://BIZU.example.test:80/t/%31"]})] == ["d-old"]
    a.add({"infohash_v1": [V1]}, _rec("d-new"))  # the next save rewrites the whole file keyed
    text = path.read_text()
    assert "bizu" not in text and not a.needs_rewrite
    assert [json.loads(x)["op"] for x in text.splitlines()] == ["key", "add", "add"]
    a.remove("d-new")
    b = JsonlDenySet(path, url_key=key)
    assert [r.decision_id for r in b] == ["d-old"] and not b.needs_rewrite
    assert [r.decision_id for r in b.lookup({"url": ["bizu.example.test/t/1"]})] == ["d-old"]
    with pytest.raises(DenySetKeyError, match="no key was given"):
        JsonlDenySet(path)
    with pytest.raises(DenySetKeyError, match="another key"):
        JsonlDenySet(path, url_key=b"\x06" * 32)
    assert [r.decision_id for r in JsonlDenySet(path, keyless=True)] == ["d-old"]  # exporters


def test_new_keyed_file_starts_with_its_key_line(tmp_path: Path) -> None:
    path = tmp_path / "deny.jsonl"
    JsonlDenySet(path, url_key=b"\x05" * 32).add({"url": ["http://h.test/z"]}, _rec("d-1"))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["op"] for x in lines] == ["key", "add"] and "h.test" not in path.read_text()
