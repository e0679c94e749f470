"""Every source kind: CSV (quoted newlines, broken rows), Parquet, a directory tree of .torrent/.nzb/
image files, a magnetico-shaped SQLite database, PostgreSQL; bad JSONL rows become review decisions."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indexguard.screen.item import Item
from indexguard.sweep.bundle import screener_for
from indexguard.sweep.fields import FieldMap
from indexguard.sweep.output import read_flagged
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SqlSource, SweepSize

SMALL = SweepSize(chunk_bytes=32 * 1024, chunk_rows=700, chunk_files=2)


def _sweep(corpus: Any, sources: list[str], out: Path, **kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    summary = run_sweep(SweepConfig(sources, corpus.bundle(), size=SMALL, output=out, **kw))
    return read_flagged(out), summary


def _expected(corpus: Any, titles: list[str]) -> list[tuple[int, str, list[str]]]:
    screener = screener_for(corpus.bundle())
    out = []
    for i, t in enumerate(titles):
        d = screener.screen(Item(id="x", title=t))
        if d.action != "allow":
            out.append((i + 1, d.action, [r.entry for r in d.reasons]))
    return out


def _got(records: list[dict[str, Any]]) -> list[tuple[int, str, list[str]]]:
    return [(r["row"], r["action"], [x["entry"] for x in r["reasons"]]) for r in records]


def test_csv_with_quoted_newlines_and_broken_rows(corpus: Any, tmp_path: Path) -> None:
    titles = corpus.titles[:3000]
    path = tmp_path / "listings.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "seeders"])
        for i, t in enumerate(titles):
            w.writerow([f"c{i}", t + ("\nsecond line" if i % 97 == 0 else ""), i])
    flagged, summary = _sweep(corpus, [str(path)], tmp_path / "o.jsonl")
    assert summary["items"] == len(titles) and summary["chunks"] > 3
    screener = screener_for(corpus.bundle())
    expected = []
    for i, t in enumerate(titles):
        d = screener.screen(Item(id=f"c{i}", title=t + ("\nsecond line" if i % 97 == 0 else "")))
        if d.action != "allow":
            expected.append({"source": str(path), "row": i + 1, **d.to_json()})
    assert flagged == expected

    with open(path, "a", encoding="utf-8") as fh:
        fh.write('c-bad,"only two"\n')
    flagged, summary = _sweep(corpus, [str(path)], tmp_path / "o2.jsonl")
    bad = [r for r in flagged if r["action"] == "review"]
    assert len(bad) == 1 and "expected 3 fields, found 2" in bad[0]["error"]
    assert summary["errors"] == 1 and summary["items"] == len(titles) + 1


def test_parquet_with_renamed_columns(corpus: Any, tmp_path: Path) -> None:
    titles = corpus.titles[:5000]
    path = tmp_path / "listings.parquet"
    table = pa.table({"info_hash": [os.urandom(20) for _ in titles], "name": titles})
    pq.write_table(table, path, row_group_size=1000)
    flagged, summary = _sweep(corpus, [str(path)], tmp_path / "o.jsonl",
                              fields=FieldMap.parse(["name"], id_field="info_hash"))
    assert summary["chunks"] == 5 and summary["items"] == len(titles)
    assert _got(flagged) == _expected(corpus, titles)
    assert all(len(r["id"]) == 40 and r["reasons"][0]["field"] == "title" for r in flagged)


def _torrent(name: str) -> bytes:
    n = name.encode()
    return (b"d4:infod6:lengthi1024e4:name" + str(len(n)).encode() + b":" + n
            + b"12:piece lengthi16384e6:pieces20:" + b"\x01" * 20 + b"ee")


def test_directory_tree_of_files(corpus: Any, tmp_path: Path, fixtures_dir: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    term = corpus.terms.read_text().splitlines()[1]
    (tree / "a" / "clean.torrent").write_bytes(_torrent("Some.Album.2001.FLAC"))
    (tree / "a" / "b" / "hit.torrent").write_bytes(_torrent(f"Some.{term.replace(' ', '.')}.2001"))
    (tree / "a" / "broken.torrent").write_bytes(b"d4:infod4:name")
    shutil.copy(fixtures_dir / "nzb" / "big_buck_bunny.nzb", tree / "b.nzb")
    (tree / "notes.md").write_text("not an index file")
    flagged, summary = _sweep(corpus, [str(tree)], tmp_path / "o.jsonl")
    assert summary["items"] == 4
    by_id = {r["id"]: r for r in flagged}
    assert by_id[os.path.join("a", "b", "hit.torrent")]["action"] == "block"
    assert by_id[os.path.join("a", "broken.torrent")]["action"] == "review"
    assert os.path.join("a", "clean.torrent") not in by_id


def _magnetico(path: Path, titles: list[str]) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE torrents (id INTEGER PRIMARY KEY, info_hash BLOB NOT NULL UNIQUE, name TEXT NOT NULL,"
               " total_size INTEGER NOT NULL, discovered_on INTEGER NOT NULL)")
    db.executemany("INSERT INTO torrents (info_hash, name, total_size, discovered_on) VALUES (?, ?, ?, ?)",
                   [(os.urandom(20), t, 1000 + i, 1_600_000_000 + i) for i, t in enumerate(titles)])
    db.commit()
    db.close()


def test_magnetico_sqlite_database(corpus: Any, tmp_path: Path) -> None:
    titles = corpus.titles[:3000]
    _magnetico(tmp_path / "magnetico.db", titles)
    sql = SqlSource(f"sqlite:///{tmp_path / 'magnetico.db'}", "SELECT info_hash, name FROM torrents ORDER BY id")
    flagged, summary = _sweep(corpus, ["sql:"], tmp_path / "o.jsonl", sql=sql,
                              fields=FieldMap.parse(["name"], id_field="info_hash"))
    assert summary["items"] == len(titles) and summary["chunks"] == 5
    assert _got(flagged) == _expected(corpus, titles)


def test_postgresql_query(corpus: Any, tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    base = os.environ.get("INDEXGUARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = f"ig_sweep_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        pytest.skip(f"PostgreSQL not reachable at {base}: {e}")
    titles = corpus.titles[:2000]
    admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(base.replace("+psycopg", "") + f"/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE listings (id TEXT PRIMARY KEY, title TEXT, description TEXT)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO listings VALUES (%s, %s, %s)",
                                [(f"p{i}", t, None) for i, t in enumerate(titles)])
        sql = SqlSource(f"{base}/{name}", "")
        flagged, summary = _sweep(corpus, ["sql:SELECT id, title, description FROM listings ORDER BY id"],
                                  tmp_path / "o.jsonl", sql=sql)
        assert summary["items"] == len(titles)
        screener = screener_for(corpus.bundle())
        expected = sorted((f"p{i}", screener.screen(Item(id="", title=t)).action) for i, t in enumerate(titles))
        assert sorted((r["id"], r["action"]) for r in flagged) == [e for e in expected if e[1] != "allow"]
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


BAD_LINES = [
    "not json at all",
    '{"id": "a", "title": 5}',
    '{"id": null, "title": "x"}',
    '{"id": 1.5, "title": "x"}',
    '{"id": "b", "files": 7}',
    '[1, 2, 3]',
    '{"id": "c", "title": "trunc',
]


def test_bad_jsonl_rows_become_review_decisions(corpus: Any, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = [json.dumps({"id": f"g{i}", "title": t}) for i, t in enumerate(corpus.titles[:200])]
    path.write_text("\n".join(good[:100] + BAD_LINES + ["", '{"title": "no id here"}'] + good[100:]) + "\n")
    flagged, summary = _sweep(corpus, [str(path)], tmp_path / "o.jsonl")
    reviews = [r for r in flagged if r["action"] == "review"]
    assert [r["row"] for r in reviews] == list(range(101, 101 + len(BAD_LINES)))
    assert all(r["error"] and r["reasons"] == [] for r in reviews)
    assert summary["items"] == 200 + len(BAD_LINES) + 1 and summary["errors"] == len(BAD_LINES)
    assert "not valid JSON" in reviews[0]["error"] and "'title' must be a string" in reviews[1]["error"]


def test_unknown_source_is_a_clear_error(corpus: Any, tmp_path: Path) -> None:
    from indexguard.errors import IndexguardError

    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(IndexguardError, match="unknown source type"):
        run_sweep(SweepConfig([str(tmp_path / "x.xml")], corpus.bundle()))


def test_batches_are_sized_only_where_file_sizes_tell_the_chunk_count(corpus: Any, tmp_path: Path) -> None:
    # Text sources: the chunk count follows from the size, and batches of several chunks keep the
    # coordinator cheap. A directory's chunks follow its files (and Parquet's its row groups): a size
    # estimate could put every chunk in one batch and leave all but one worker idle.
    from indexguard.sweep.sources import expected_chunks, plan

    tiny = SweepSize(chunk_bytes=4096)
    for source in (corpus.txt, corpus.jsonl):
        planned = len(list(plan([str(source)], FieldMap(), tiny)))
        expected = expected_chunks([str(source)], tiny)
        # Each chunk runs on to the end of its last line: a few fewer chunks than bytes / chunk size.
        assert expected is not None and planned <= expected <= planned * 1.05 + 1
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(6):
        (tree / f"big-{i}.torrent").write_bytes(b"x" * 200_000)
    assert expected_chunks([str(tree)], SweepSize(chunk_files=2)) is None
    _, summary = _sweep(corpus, [str(tree)], tmp_path / "o.jsonl", workers=2)
    assert summary["run"]["chunks_per_task"] == 1
    assert summary["errors"] == 6  # not torrents: each a review decision, none lost
