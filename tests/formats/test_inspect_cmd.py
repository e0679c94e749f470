"""`indexguard inspect`: content detection, JSON output, exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from indexguard.cli.main import build_app

runner = CliRunner()


def _run(path: Path, *args: str) -> tuple[int, str, str]:
    r = runner.invoke(build_app(), ["inspect", str(path), *args])
    return r.exit_code, r.stdout, r.stderr


def test_torrent(fixtures_dir: Path) -> None:
    code, out, _ = _run(fixtures_dir / "torrents/libtorrent/v2_hybrid.torrent")
    assert code == 0
    obj = json.loads(out)
    assert obj["kind"] == "torrent" and obj["infohash_v1"] and obj["infohash_v2"]
    assert obj["files"] and obj["v2_tree"] and obj["names"][0]["field"] == "name"


def test_invalid_torrent_exit_1_lenient_and_2_strict(fixtures_dir: Path) -> None:
    path = fixtures_dir / "torrents/libtorrent/zero.torrent"
    code, out, _ = _run(path)
    assert code == 1 and json.loads(out)["errors"][0]["code"] == "invalid_length"
    code, out, err = _run(path, "--strict")
    assert code == 2 and out == "" and "invalid_length" in err and err.count("\n") == 1


def test_unparseable_exit_2_with_one_line(tmp_path: Path, fixtures_dir: Path) -> None:
    code, _, err = _run(fixtures_dir / "torrents/libtorrent/string.torrent")
    assert code == 2 and "not_a_dict" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 nothing")
    code, _, err = _run(junk)
    assert code == 2 and "unknown_type" in err and err.count("\n") == 1
    code, _, err = _run(tmp_path / "missing.torrent")
    assert code == 2 and "cannot read" in err


def test_nzb_gz_detected_by_content(tmp_path: Path, fixtures_dir: Path) -> None:
    data = (fixtures_dir / "nzb/spec_example.nzb").read_bytes()
    p = tmp_path / "upload.bin"
    p.write_bytes(gzip.compress(data))
    code, out, _ = _run(p)
    obj = json.loads(out)
    assert code == 0 and obj["kind"] == "nzb" and obj["gzipped"] and obj["nzb_id"]


def test_magnet_file(tmp_path: Path) -> None:
    p = tmp_path / "m.txt"
    p.write_text("magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=bizu\n")
    code, out, _ = _run(p)
    assert code == 0 and json.loads(out)["name"] == "bizu"
    p.write_text("magnet:?dn=a\n# comment\nmagnet:?dn=b\n")
    obj = json.loads(_run(p)[1])
    assert obj["kind"] == "magnet_list" and [m["name"] for m in obj["magnets"]] == ["a", "b"]
