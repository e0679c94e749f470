"""Each exporter's output read back by a reader modelled on that tool's source (the files named in
docs/integrations.md section 4: opentracker ot_accesslist.c, chihaya torrentapproval.go, XBT
Tracker tracker.cpp and xbt_tracker.sql, bitmagnet's classifier, NNTmux BlacklistService.php and
the binaryblacklist migration)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from ig_helpers import term_list
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.integrations.exporters import (
    ExportError,
    ExportOptions,
    collect_infohashes,
    export,
    nntmux_sql,
)
from indexguard.lists.hash_list import ListOptions, parse_hash_list
from indexguard.lists.terms import parse_term_list
from indexguard.screen.deny_set import DenyRecord, JsonlDenySet, MemoryDenySet

V1_A, V1_B = "a1" * 20, "b2" * 20
V2_C = "c3" * 32
V1_BANK, V2_BANK = "d4" * 20, "e5" * 32
EXPECTED_20 = sorted({V1_A, V1_B, V2_C[:40], V1_BANK, V2_BANK[:40]})


def _sources() -> tuple[MemoryDenySet, list]:
    deny = MemoryDenySet()
    deny.add({"infohash": [V1_A, V1_B]}, DenyRecord("d1"))
    deny.add({"infohash_v2": [V2_C], "md5": ["0f" * 16]}, DenyRecord("d2"))
    text = f"hash,type,id\n{V1_BANK},infohash_v1,h1\n{V2_BANK},infohash_v2,h2\n{'f6' * 16},md5,h3\n"
    bank = parse_hash_list(text, "bank.csv", ListOptions("bank"))
    return deny, [bank]


def _export(fmt: str, **opts: object) -> str:
    deny, banks = _sources()
    return export(fmt, collect_infohashes(deny, banks), ExportOptions(**opts))  # type: ignore[arg-type]


# --- readers --------------------------------------------------------------------------------

def read_opentracker(text: str) -> set[bytes]:
    """opentracker's accesslist_readfile: a line counts when it starts with 40 hex digits followed
    by a non-hex character; anything else is silently skipped. The mmap reader looks one byte past
    the 40 digits, so the last line needs its newline."""
    raw = text.encode()
    assert raw == b"" or raw.endswith(b"\n")
    out = set()
    for line in raw.split(b"\n")[:-1]:
        head, rest = line[:40], line[40:41]
        if re.fullmatch(rb"[0-9a-fA-F]{40}", head) and not re.fullmatch(rb"[0-9a-fA-F]", rest):
            out.add(bytes.fromhex(head.decode()))
    accepted = sum(1 for line in raw.split(b"\n")[:-1] if line)
    assert accepted == len(out), "every line written must be one opentracker accepts"
    return out


def read_chihaya(text: str) -> set[bytes]:
    """chihaya's torrent approval hook: options whitelist/blacklist of hex strings, each 20 bytes
    once decoded; a config with both lists is refused."""
    cfg = yaml.safe_load(text)
    hooks = [h for h in cfg["chihaya"]["prehooks"] if h["name"] == "torrent approval"]
    assert len(hooks) == 1
    opts = hooks[0]["options"]
    assert not (opts.get("whitelist") and opts.get("blacklist"))
    out = set()
    for h in opts.get("blacklist") or []:
        raw = bytes.fromhex(h)
        assert len(raw) == 20
        out.add(raw)
    return out


def run_xbt(sql: str, present: list[str], table: str = "xbt_torrents") -> set[str]:
    """XBT Tracker's xbt_torrents (xbt_tracker.sql: tid, info_hash binary(20), flags int, ...) and
    its read_db_torrents with auto_register off (the only case it reads the flag): `select
    info_hash, tid from torrents where flags & 1`, then forget and delete each row. Returns the
    hashes the tracker deleted."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE {table} (tid INTEGER PRIMARY KEY, info_hash BLOB NOT NULL UNIQUE, "
               "seeders INT NOT NULL DEFAULT 0, leechers INT NOT NULL DEFAULT 0, completed INT NOT NULL DEFAULT 0, "
               "flags INT NOT NULL DEFAULT 0, mtime INT NOT NULL DEFAULT 0, ctime INT NOT NULL DEFAULT 0)")
    db.executemany(f"INSERT INTO {table} (info_hash) VALUES (?)", [(bytes.fromhex(h),) for h in present])
    db.executescript(sql)
    doomed = db.execute(f"SELECT info_hash, tid FROM {table} WHERE flags & 1").fetchall()
    db.executemany(f"DELETE FROM {table} WHERE tid = ?", [(tid,) for _, tid in doomed])
    left = {r[0].hex() for r in db.execute(f"SELECT info_hash FROM {table}")}
    assert left.isdisjoint(h.hex() for h, _ in doomed)
    return {h.hex() for h, _ in doomed}


def read_bitmagnet(text: str) -> tuple[set[str], str]:
    """bitmagnet classifier: flag_definitions name -> type (string_list allowed), flags values,
    workflows of actions; returns (the flag's values, the workflow's CEL condition)."""
    doc = yaml.safe_load(text)
    (name, ftype), = doc["flag_definitions"].items()
    assert ftype == "string_list"
    values = doc["flags"][name]
    assert all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{40}", v) for v in values)
    (workflow,) = doc["workflows"].values()
    assert workflow[0]["if_else"]["if_action"] == "delete"
    assert workflow[-1] == {"run_workflow": "default"}
    return set(values), workflow[0]["if_else"]["condition"]


def cel_in(condition: str, torrent: dict[str, str], flags: dict[str, list[str]]) -> bool:
    """The one CEL form the export uses: `torrent.<field> in flags.<name>`."""
    m = re.fullmatch(r"torrent\.(\w+) in flags\.(\w+)", condition)
    assert m, condition
    return torrent[m.group(1)] in flags[m.group(2)]


def read_nntmux(sql: str) -> list[dict[str, object]]:
    """INSERT rows into NNTmux's binaryblacklist (groupname, regex, msgcol, optype, status,
    description), string literals in MySQL's default escaping (backslash escapes, '' quote)."""
    rows = []
    lit = r"'((?:[^'\\]|\\.|'')*)'"
    pat = re.compile(r"INSERT INTO binaryblacklist \(groupname, regex, msgcol, optype, status, description\) "
                     rf"VALUES \({lit}, {lit}, (\d+), (\d+), (\d+), {lit}\);")
    for line in sql.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        m = pat.fullmatch(line)
        assert m, line
        unq = [re.sub(r"\\(.)|''", lambda x: x.group(1) or "'", m.group(i)) for i in (1, 2, 6)]
        rows.append({"groupname": unq[0], "regex": unq[1], "msgcol": int(m.group(3)), "optype": int(m.group(4)),
                     "status": int(m.group(5)), "description": unq[2]})
    return rows


# --- tests ----------------------------------------------------------------------------------

def test_opentracker() -> None:
    assert read_opentracker(_export("opentracker")) == {bytes.fromhex(h) for h in EXPECTED_20}


def test_chihaya() -> None:
    assert read_chihaya(_export("chihaya")) == {bytes.fromhex(h) for h in EXPECTED_20}
    empty = export("chihaya", collect_infohashes())
    assert read_chihaya(empty) == set()


def test_xbt_flags_exactly_the_denied_torrents() -> None:
    innocent = ["99" * 20, "88" * 20]
    assert run_xbt(_export("xbt"), EXPECTED_20 + innocent) == set(EXPECTED_20)
    assert run_xbt(_export("xbt", xbt_table="xbt_files"), EXPECTED_20, "xbt_files") == set(EXPECTED_20)
    with pytest.raises(ExportError):
        _export("xbt", xbt_table="x; DROP TABLE y")


def test_opentracker_reader_skips_what_opentracker_skips() -> None:
    ok = "ab" * 20
    assert read_opentracker(f"{ok}\n") == {bytes.fromhex(ok)}
    with pytest.raises(AssertionError):
        read_opentracker(f"{ok}")  # no final newline
    with pytest.raises(AssertionError):
        read_opentracker(f"{ok}a\n")  # a 41st hex digit makes opentracker skip the line


def test_xbt_batches_large_exports() -> None:
    many = [f"{i:040x}" for i in range(1, 1201)]
    deny = MemoryDenySet()
    deny.add({"infohash_v1": many}, DenyRecord("big"))
    sql = export("xbt", collect_infohashes(deny))
    assert sql.count("UPDATE") == 3
    assert run_xbt(sql, many) == set(many)


def test_bitmagnet_classifier_deletes_denied_hashes() -> None:
    values, condition = read_bitmagnet(_export("bitmagnet"))
    assert values == set(EXPECTED_20)
    flags = {"indexguard_denied_infohashes": sorted(values)}
    assert cel_in(condition, {"infoHash": V1_A}, flags)
    assert not cel_in(condition, {"infoHash": "99" * 20}, flags)


def test_plain_lists() -> None:
    assert _export("v1").split() == sorted({V1_A, V1_B, V1_BANK})
    assert _export("v2trunc").split() == sorted({V2_C[:40], V2_BANK[:40]})


def test_nntmux_rows_match_subjects_like_nntmux() -> None:
    tl = parse_term_list("id,term,mode\nt1,zorblat,token\nt2,vantu drelo,phrase\nt3,quem/fix,substring\n",
                         "ops", "csv")
    rows = read_nntmux(nntmux_sql([tl]))
    assert [r["description"] for r in rows] == ["indexguard ops:t1", "indexguard ops:t2", "indexguard ops:t3"]
    assert all((r["msgcol"], r["optype"], r["status"]) == (1, 1, 1) for r in rows)
    assert all(r["groupname"] == "alt.binaries.*" for r in rows)
    # BlacklistService joins usenet_groups ON g.name REGEXP bb.groupname: the default applies to
    # every alt.binaries group (checked with Python re, close enough to MySQL's ICU for this form)
    assert re.search(str(rows[0]["groupname"]), "alt.binaries.example.bizu")

    def blocked(subject: str) -> bool:  # NNTmux applies each row as preg_match('/' . regex . '/i', subject)
        return any(re.search(str(r["regex"]), subject, re.I) for r in rows)

    assert blocked('Poster - [01/20] - "ZORBLAT.part01.rar" yEnc (1/50)')
    assert blocked("[1/3] Vantu.Drelo.2019 yEnc") and blocked("VantuDrelo") and blocked("vantu_drelo")
    assert blocked("aquem/fixb")
    assert not blocked("zorblatty archive") and not blocked("vantu something drelo")
    assert not blocked("Public.Domain.Show.S01E01 yEnc")


def test_nntmux_refuses_rows_its_columns_cannot_hold() -> None:
    long_phrase = "xy" + " -" * 254  # 510 characters; each "-" escaped, each gap [\W_]*
    tl = parse_term_list(f"id,term,mode\nt1,{long_phrase},phrase\n", "ops", "csv")
    with pytest.raises(ExportError, match=r"binaryblacklist\.regex holds 2000"):
        nntmux_sql([tl])


def test_nntmux_needs_terms() -> None:
    with pytest.raises(ExportError, match="--terms"):
        nntmux_sql([])


def test_cli_export(tmp_path: Path) -> None:
    deny_path = tmp_path / "deny.jsonl"
    deny = JsonlDenySet(deny_path)
    deny.add({"infohash": [V1_A]}, DenyRecord("d1"))
    runner = CliRunner()
    out = tmp_path / "ot.txt"
    r = runner.invoke(build_app(), ["export", "--format", "opentracker", "--deny", str(deny_path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert read_opentracker(out.read_text()) == {bytes.fromhex(V1_A)}
    terms = tmp_path / "t.txt"
    terms.write_text("zorblat\n")
    r = runner.invoke(build_app(), ["export", "--format", "nntmux", "--terms", str(terms)])
    assert r.exit_code == 0 and "zorblat" in read_nntmux(r.stdout)[0]["regex"]
    bad = runner.invoke(build_app(), ["export", "--format", "nope", "--deny", str(deny_path)])
    assert bad.exit_code == 2 and "unknown format" in bad.stderr
    missing = runner.invoke(build_app(), ["export", "--format", "v1", "--deny", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "no such deny-set file" in missing.stderr


def test_terms_from_helper_list_export() -> None:
    rows = read_nntmux(nntmux_sql([term_list()]))
    assert len(rows) == 4
