"""Incremental re-sweeps search only added and changed entries, name the new list version, report
removed entries and the items whose hiding they alone justified; the `sweep` command end to end;
the --open-cases client against a local stub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.sweep.bundle import ListBundle, ListText
from indexguard.sweep.cases import CaseOpener
from indexguard.sweep.incremental import delta_list, unhide
from indexguard.sweep.output import read_flagged
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

SMALL = SweepSize(chunk_bytes=64 * 1024)


def _lists(corpus: Any, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Old list: the corpus terms as CSV; new list: 5 removed, 3 changed (new severity), 4 added."""
    terms = [t for t in corpus.terms.read_text().splitlines()[1:] if t]
    old = tmp_path / "old" / "terms.csv"
    new = tmp_path / "new" / "terms.csv"
    old.parent.mkdir()
    new.parent.mkdir()
    rows = [(f"e{i}", t, "block") for i, t in enumerate(terms)]
    old.write_text("id,term,severity\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows[:-4]))
    changed = [(a, b, "review") if i in (10, 11, 12) else (a, b, c) for i, (a, b, c) in enumerate(rows)]
    kept = changed[5:]
    new.write_text("id,term,severity\n" + "".join(f"{a},{b},{c}\n" for a, b, c in kept))
    return old, new, [r[0] for r in rows[:5]]


def test_incremental_sweep_searches_only_the_delta(corpus: Any, tmp_path: Path) -> None:
    old, new, removed = _lists(corpus, tmp_path)
    subset, delta = delta_list(ListText.read(new), ListText.read(old))
    assert sorted(delta.removed) == sorted(removed)
    assert sorted(delta.changed) == ["e10", "e11", "e12"] and len(delta.added) == 4
    src = [str(corpus.jsonl)]
    run_sweep(SweepConfig(src, ListBundle((ListText.read(old),)), size=SMALL, output=tmp_path / "before.jsonl"))
    full = run_sweep(SweepConfig(src, ListBundle((ListText.read(new),)), size=SMALL, output=tmp_path / "full.jsonl"))
    inc = run_sweep(SweepConfig(src, ListBundle((subset,)), size=SMALL, output=tmp_path / "inc.jsonl"))
    searched = delta.searched
    expected = []
    for r in read_flagged(tmp_path / "full.jsonl"):
        reasons = [x for x in r["reasons"] if x["entry"] in searched]
        if reasons:
            expected.append((r["id"], reasons))
    got = [(r["id"], r["reasons"]) for r in read_flagged(tmp_path / "inc.jsonl")]
    assert got == expected
    assert inc["lists"]["terms"]["version"] == full["lists"]["terms"]["version"]
    assert inc["lists"]["terms"]["entries"] == 7

    now = {r["id"] for r in read_flagged(tmp_path / "full.jsonl")}
    candidates = unhide(read_flagged(tmp_path / "before.jsonl"), delta, now)
    before = read_flagged(tmp_path / "before.jsonl")
    gone = set(removed) | {"e10", "e11", "e12"}
    want = [r["id"] for r in before if r["id"] not in now and all(x["entry"] in gone for x in r["reasons"])]
    assert [c["id"] for c in candidates] == want


def test_sweep_command_end_to_end(corpus: Any, tmp_path: Path) -> None:
    old, new, _ = _lists(corpus, tmp_path)
    runner = CliRunner()
    app = build_app()
    prev = tmp_path / "prev.jsonl"
    res = runner.invoke(app, ["sweep", str(corpus.jsonl), "--terms", str(old), "-o", str(prev), "--workers", "1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["sweep", str(corpus.jsonl), "--terms", str(new), "--since-version", str(old),
                              "--previous-flagged", str(prev), "-o", str(tmp_path / "inc.parquet"),
                              "--summary", str(tmp_path / "s.json"), "--workers", "1"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["incremental"]["removed"] == 5 and summary["incremental"]["changed"] == 3
    assert summary["incremental"]["unhide"] == len(summary["incremental"]["unhide_items"])
    assert "swept 20,000 items" in res.output
    res = runner.invoke(app, ["sweep", str(corpus.jsonl), "--terms", str(tmp_path / "missing.txt")])
    assert res.exit_code == 2 and "cannot read" in res.output


def test_open_cases_posts_flagged_items_to_batch(corpus: Any, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/batch"
        assert request.headers["authorization"] == "Bearer k-123"
        items = json.loads(request.content)["items"]
        seen.extend(items)
        return httpx.Response(200, json={"decisions": [{"id": i["id"], "action": "block"} for i in items]})

    opener = CaseOpener("http://service.test/", "k-123", client=httpx.Client(transport=httpx.MockTransport(handler)))
    summary = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=SMALL, with_items=True),
                        on_flagged=opener)
    assert opener.sent == summary["flagged"] == len(seen) > 0
    assert all(set(i) >= {"id", "kind", "title"} for i in seen)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
                          st.dictionaries(st.sampled_from(["id", "title", "files", "kind", "magnet", "x"]),
                                          st.one_of(st.none(), st.integers(), st.text(max_size=20),
                                                    st.lists(st.text(max_size=5), max_size=2)),
                                          max_size=4).map(json.dumps)),
                min_size=1, max_size=30))
def test_arbitrary_jsonl_lines_never_crash(corpus: Any, tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(x.replace("\n", " ").replace("\r", " ") for x in lines) + "\n", encoding="utf-8")
    summary = run_sweep(SweepConfig([str(path)], corpus.bundle(), size=SweepSize(chunk_bytes=4096)))
    nonblank = sum(1 for x in lines if x.replace("\n", " ").replace("\r", " ").encode().strip())
    assert summary["items"] == nonblank
