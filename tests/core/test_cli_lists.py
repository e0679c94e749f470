"""`indexguard screen` with hash lists, URL lists and the deny set; `query` exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import bencode2


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "indexguard.cli", *args], cwd=cwd, capture_output=True, text=True)


def _decisions(r: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert r.returncode == 0, r.stderr
    return {d["id"]: d for d in map(json.loads, r.stdout.splitlines())}


def _torrent(name: str) -> bytes:
    info = {b"name": name.encode(), b"piece length": 16384, b"length": 5, b"pieces": b"\x01" * 20}
    return bencode2.bencode({b"info": info, b"announce": b"http://tracker.example.test/announce"})


def test_reupload_under_new_title_is_refused_by_the_deny_set(tmp_path: Path) -> None:
    (tmp_path / "first.torrent").write_bytes(_torrent("zorblat pack"))
    r1 = _decisions(_run("screen", "--deny", "deny.jsonl", "first.torrent", cwd=tmp_path))
    assert r1["first.torrent"]["action"] == "block"
    infohash = r1["first.torrent"]["identities"]["infohash_v1"][0]  # type: ignore[index]
    (tmp_path / "items.jsonl").write_text(json.dumps({"id": "again", "title": "holiday", "infohash": infohash}) + "\n")
    r2 = _decisions(_run("screen", "--deny", "deny.jsonl", "items.jsonl", cwd=tmp_path))
    reason = r2["again"]["reasons"][0]  # type: ignore[index]
    assert r2["again"]["action"] == "block"
    assert reason["list"] == "deny-set" and reason["entry"] == "first.torrent"


def test_exact_hash_list_and_url_list(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"generated thumbnail bytes").hexdigest()
    (tmp_path / "bank.csv").write_text(f"hash,type,id,category,source\n{digest},sha256,h-1,csam,test\n")
    (tmp_path / "urls.txt").write_text("listed.example.test/dir/*\n")
    items = [
        {"id": "h", "title": "ok", "sha256": digest},
        {"id": "u", "title": "ok", "description": "mirror: hxxps://listed[.]example[.]test/dir/file"},
        {"id": "n", "title": "ok", "urls": ["https://listed.example.test/other"]},
    ]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    d = _decisions(_run("screen", "--hashes", "bank.csv", "--urls", "urls.txt", "items.jsonl", cwd=tmp_path))
    assert d["h"]["action"] == "block" and d["h"]["reasons"][0]["entry"] == "h-1"  # type: ignore[index]
    assert d["u"]["action"] == "block" and d["u"]["reasons"][0]["field"] == "description"  # type: ignore[index]
    assert d["n"]["action"] == "allow"
    assert digest not in json.dumps(d["h"]["reasons"])


def test_broken_list_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("id,term,mode\nx,zorblat,fuzzy\n")
    r = _run("query", "--terms", "bad.csv", "anything", cwd=tmp_path)
    assert r.returncode == 2
    assert "bad.csv:2: mode must be one of" in r.stderr and "zorblat" not in r.stderr


def test_query_fail_on_block_exit_code(tmp_path: Path) -> None:
    assert _run("query", "--fail-on-block", "a zorblat search", cwd=tmp_path).returncode == 1
    r = _run("query", "--fail-on-block", "a holiday search", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["action"] == "allow"


def test_unparseable_torrent_is_held_for_review(tmp_path: Path) -> None:
    (tmp_path / "broken.torrent").write_bytes(b"d4:infod4:name")
    d = _decisions(_run("screen", "broken.torrent", cwd=tmp_path))
    assert d["broken.torrent"]["action"] == "review" and "error" in json.dumps(d["broken.torrent"])
