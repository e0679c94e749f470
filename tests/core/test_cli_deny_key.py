"""The CLI's deny-set file keeps URLs only as keyed digests (issue 14, deliverable 6), through the public CLI:
no URL in clear after a block, a re-upload in another spelling refused, a missing or different key fails
closed (exit 2, one line), an older file with clear URLs still works and is rewritten, and nothing
`indexguard export` writes reveals a URL."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from indexguard.cases.private_urls import url_key
from indexguard.cli.main import build_app
from indexguard.crypto import Cipher
from indexguard.formats.url import canonicalize
from indexguard.integrations.exporters import FORMATS
from indexguard.screen.deny_set import DenyRecord, JsonlDenySet, is_url_digest, url_digest

URL = "https://Bizu.Example.test:443/gal/t1?x=1#top"
OTHER_SPELLING = "HTTP://bizu.EXAMPLE.test./gal/./%74%31?x=1"
# Pieces of the address that must never be found in the deny file or an export.
URL_PARTS = ("bizu", "example", "gal/t1", "x=1")
V1 = "c0ffee" + "1" * 34


def _cli(*args: str) -> Result:
    return CliRunner().invoke(build_app(), list(args))


def _items(path: Path, *items: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def _decisions(r: Result) -> dict[str, dict[str, object]]:
    assert r.exit_code == 0, r.output
    return {d["id"]: d for d in map(json.loads, r.stdout.splitlines())}


def _screen(tmp_path: Path, deny: Path, *items: dict[str, object], key: Path | None = None) -> Result:
    terms = tmp_path / "terms.txt"
    terms.write_text("zorblat\n", encoding="utf-8")
    inp = _items(tmp_path / "items.jsonl", *items)
    extra = ["--deny-key", str(key)] if key else []
    return _cli("screen", "--no-progress", "--terms", str(terms), "--deny", str(deny), *extra, str(inp))


def _no_url_in(text: str) -> None:
    low = text.lower()
    assert not [p for p in URL_PARTS if p in low]


def _refused_as_reupload(r: Result, item: str, of: str) -> None:
    d = _decisions(r)[item]
    reasons = d["reasons"]
    assert isinstance(reasons, list)
    assert d["action"] == "block" and reasons[0]["list"] == "deny-set" and reasons[0]["entry"] == of
    assert reasons[0]["view"] == "identity:url"


def test_blocked_url_is_kept_keyed_and_a_reupload_in_another_spelling_is_refused(tmp_path: Path) -> None:
    deny = tmp_path / "var" / "deny.jsonl"
    first = _screen(tmp_path, deny, {"id": "a", "title": "zorblat pack", "url": URL})
    assert _decisions(first)["a"]["action"] == "block"
    text = deny.read_text(encoding="utf-8")
    _no_url_in(text)
    lines = [json.loads(x) for x in text.splitlines()]
    assert lines[0]["op"] == "key"
    assert all(is_url_digest(u) for line in lines[1:] for u in line["identities"]["url"])

    key = deny.with_name("deny.jsonl.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    raw_key = base64.b64decode(key.read_text().strip(), validate=True)
    assert len(raw_key) == 32
    # The digest the service would make with this key file (its `identity-url` subkey).
    service = url_digest(url_key(Cipher(raw_key)), canonicalize(URL).key)
    assert lines[1]["identities"]["url"] == [service]

    key_bytes = key.read_bytes()
    again = _screen(tmp_path, deny, {"id": "b", "title": "holiday photos", "url": OTHER_SPELLING})
    _refused_as_reupload(again, "b", of="a")
    _no_url_in(deny.read_text(encoding="utf-8"))
    assert key.read_bytes() == key_bytes  # the key file is never replaced


def test_missing_or_other_key_fails_closed_with_one_line(tmp_path: Path) -> None:
    deny = tmp_path / "deny.jsonl"
    _decisions(_screen(tmp_path, deny, {"id": "a", "title": "zorblat pack", "url": URL}))
    key = tmp_path / "deny.jsonl.key"
    moved = tmp_path / "elsewhere.key"
    key.rename(moved)

    r = _screen(tmp_path, deny, {"id": "b", "title": "holiday", "url": OTHER_SPELLING})
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "holds keyed URL digests" in r.stderr and str(key) in r.stderr and "--deny-key" in r.stderr
    _no_url_in(r.stderr)
    assert not key.exists()  # no new key was made for a file that holds digests

    # Exports need no key (they read infohashes only).
    assert _cli("export", "--format", "v1", "--deny", str(deny)).exit_code == 0

    # Another key file: refused too, never silently matching nothing.
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(b"\x07" * 32).decode() + "\n")
    r = _screen(tmp_path, deny, {"id": "b", "title": "holiday", "url": OTHER_SPELLING}, key=other)
    assert r.exit_code == 2 and "written with another key" in r.stderr

    # The right key named with --deny-key works.
    ok = _screen(tmp_path, deny, {"id": "b", "title": "holiday", "url": OTHER_SPELLING}, key=moved)
    _refused_as_reupload(ok, "b", of="a")
    assert not key.exists()


def test_an_older_file_with_clear_urls_still_matches_and_is_rewritten_keyed(tmp_path: Path) -> None:
    deny = tmp_path / "deny.jsonl"
    old = {"v": 1, "op": "add", "decision": "d-old", "item": "d-old", "category": "csam",
           "entries": [{"list": "hotline-a", "entry": "iwf-1"}], "created": "2024-01-02T03:04:05Z",
           "identities": {"url": ["bizu.example.test/gal/t1?x=1"], "infohash_v1": [V1]}}
    deny.write_text(json.dumps(old) + "\n" + json.dumps({"v": 1, "op": "remove", "decision": "gone"}) + "\n")

    r = _screen(tmp_path, deny, {"id": "b", "title": "holiday", "url": OTHER_SPELLING})
    _refused_as_reupload(r, "b", of="d-old")
    assert "rewrote 1 URL(s) kept in clear as keyed digests" in r.stderr
    text = deny.read_text(encoding="utf-8")
    _no_url_in(text)
    assert V1 in text and (tmp_path / "deny.jsonl.key").is_file()
    assert not deny.with_name("deny.jsonl.tmp").exists()

    # Read again (now keyed): a third spelling still meets the digest.
    r = _screen(tmp_path, deny, {"id": "c", "title": "holiday", "url": "bizu.example.test/gal/t1?x=1"})
    _refused_as_reupload(r, "c", of="d-old")
    assert "rewrote" not in r.stderr


def test_no_export_format_reveals_a_url(tmp_path: Path) -> None:
    keyed = tmp_path / "deny.jsonl"
    _decisions(_screen(tmp_path, keyed, {"id": "a", "title": "zorblat", "url": URL, "infohash": V1}))
    clear = tmp_path / "old.jsonl"  # a file from before URLs were keyed, exported as it is
    JsonlDenySet(clear).add({"url": [URL], "infohash": [V1]}, DenyRecord("d-old"))
    assert "bizu" in clear.read_text()
    terms = tmp_path / "terms.txt"
    for fmt in FORMATS:
        extra = ["--terms", str(terms)] if fmt == "nntmux" else []
        r = _cli("export", "--format", fmt, "--deny", str(keyed), "--deny", str(clear), *extra)
        assert r.exit_code == 0, r.output
        _no_url_in(r.stdout + r.stderr)
        assert "k1:" not in r.stdout
        if fmt in ("opentracker", "v1"):
            assert V1 in r.stdout
    assert "bizu" in clear.read_text()  # exporting never rewrites a file


_SPELLINGS = st.tuples(
    st.sampled_from(["http://", "https://", "HTTP://", "hTtPs://", ""]),
    st.lists(st.booleans(), min_size=17, max_size=17),  # upper-case each character of the host
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.sampled_from(["", "."]),  # a trailing dot on the host
    st.sampled_from(["/gal/t1", "/gal/%74%31", "/gal/./t1", "//gal/t1", "/x/../gal/t1", "/%67al/t1"]),
    st.sampled_from(["", "#top", "#"]),
)


@pytest.fixture(scope="module")
def keyed_set(tmp_path_factory: pytest.TempPathFactory) -> JsonlDenySet:
    """A keyed file holding one blocked URL, read back from disk."""
    path = tmp_path_factory.mktemp("keyed") / "deny.jsonl"
    JsonlDenySet(path, url_key=b"\x01" * 32).add({"url": [URL]}, DenyRecord("a"))
    _no_url_in(path.read_text())
    return JsonlDenySet(path, url_key=b"\x01" * 32)


@settings(max_examples=60, deadline=None)
@given(spelling=_SPELLINGS)
def test_every_spelling_of_a_blocked_url_meets_its_digest(
    keyed_set: JsonlDenySet, spelling: tuple[str, list[bool], str, str, str, str]
) -> None:
    """The keyed file compares URLs only through their digests; any spelling of the blocked address
    meets the digest its first spelling was kept as, and another address does not."""
    scheme, upper, port, dot, path, fragment = spelling
    host = "".join(c.upper() if u else c for c, u in zip("bizu.example.test", upper, strict=True))
    url = f"{scheme}{host}{dot}{port}{path}?x=1{fragment}"
    assert [r.decision_id for r in keyed_set.lookup({"url": [url]})] == ["a"]
    assert keyed_set.lookup({"url": [url.replace("?x=1", "?x=2")]}) == []
