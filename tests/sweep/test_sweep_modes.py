"""The same corpus through the in-process path, a process pool and a Dask LocalCluster gives the same
flagged output and totals, and the same decisions as screening every item one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexguard.screen.item import Item
from indexguard.sweep.bundle import screener_for
from indexguard.sweep.output import read_flagged
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

SMALL = SweepSize(chunk_bytes=64 * 1024)


def _run(corpus: Any, out: Path, **kw: object) -> tuple[bytes, dict[str, object]]:
    cfg = SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=SMALL, output=out, **kw)  # type: ignore[arg-type]
    summary = run_sweep(cfg)
    return out.read_bytes(), summary


def _counts(summary: dict[str, object]) -> tuple[object, ...]:
    return tuple(summary[k] for k in ("items", "chunks", "errors", "flagged", "actions", "categories", "entries"))


def test_local_pool_and_dask_agree(corpus: Any, tmp_path: Path) -> None:
    inline, s1 = _run(corpus, tmp_path / "inline.jsonl", workers=1)
    pool, s2 = _run(corpus, tmp_path / "pool.jsonl", workers=2)
    dask, s3 = _run(corpus, tmp_path / "dask.jsonl", workers=2, dask="local", dask_processes=False)
    assert s1["items"] == len(corpus.titles)
    assert inline.count(b"\n") > 100  # the corpus carries about 1% terms
    assert inline == pool == dask
    assert _counts(s1) == _counts(s2) == _counts(s3)
    assert s3["run"]["mode"] == "dask local"  # type: ignore[index]


def test_sweep_decides_like_per_item_screening(corpus: Any, tmp_path: Path) -> None:
    _run(corpus, tmp_path / "o.jsonl", workers=1)
    screener = screener_for(corpus.bundle())
    expected = []
    for i, t in enumerate(corpus.titles):
        d = screener.screen(Item(id=f"t{i}", title=t))
        if d.action != "allow":
            expected.append({"source": str(corpus.jsonl), "row": i + 1, **d.to_json()})
    assert read_flagged(tmp_path / "o.jsonl") == expected


def test_txt_source_matches_jsonl(corpus: Any, tmp_path: Path) -> None:
    run_sweep(SweepConfig([str(corpus.txt)], corpus.bundle(), size=SMALL, output=tmp_path / "t.jsonl"))
    run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=SMALL, output=tmp_path / "j.jsonl"))
    txt = [(r["row"], r["action"], r["reasons"]) for r in read_flagged(tmp_path / "t.jsonl")]
    jsonl = [(r["row"], r["action"], r["reasons"]) for r in read_flagged(tmp_path / "j.jsonl")]
    assert txt == jsonl and txt


def test_parquet_output_holds_the_same_records(corpus: Any, tmp_path: Path) -> None:
    run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=SMALL, output=tmp_path / "o.parquet"))
    run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=SMALL, output=tmp_path / "o.jsonl"))
    assert read_flagged(tmp_path / "o.parquet") == read_flagged(tmp_path / "o.jsonl")
    assert not (tmp_path / "o.parquet.parts").exists()


def test_workers_get_the_compiled_lists(corpus: Any) -> None:
    # The coordinator compiles once and ships the Screener; if it stops pickling, every worker silently
    # compiles the lists itself (seconds of start-up each).
    import pickle

    from indexguard.sweep.bundle import compile_bundle

    blob = compile_bundle(corpus.bundle())
    assert blob is not None
    loaded = pickle.loads(blob)
    original = screener_for(corpus.bundle())
    assert loaded.policy == original.policy
    for t in corpus.titles[:200]:
        assert loaded.screen(Item(id="x", title=t)).to_json() == original.screen(Item(id="x", title=t)).to_json()


def test_pool_forks_from_the_command_line(corpus: Any, tmp_path: Path) -> None:
    # A fresh `indexguard sweep` runs no other Python thread: its workers are forked holding the lists
    # the coordinator compiled, with nothing to load, and flag what one process flags.
    import json
    import subprocess
    import sys

    import indexguard

    inline, _ = _run(corpus, tmp_path / "inline.jsonl", workers=1)
    out, summary = tmp_path / "forked.jsonl", tmp_path / "summary.json"
    env = {"PYTHONPATH": str(Path(indexguard.__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "indexguard.cli", "sweep", str(corpus.jsonl), "--terms", str(corpus.terms),
                    "-o", str(out), "--summary", str(summary), "--workers", "2", "--chunk-bytes", str(64 * 1024),
                    "--no-progress"], env=env, check=True, capture_output=True, timeout=120)
    run = json.loads(summary.read_text())["run"]
    assert run["start_method"] == "fork"
    assert len(run["worker_startup"]) == 2
    assert all(w["load_s"] == 0.0 for w in run["worker_startup"])
    assert out.read_bytes() == inline


def test_pool_beside_another_thread_starts_from_a_forkserver(corpus: Any, tmp_path: Path) -> None:
    # Forking while another Python thread runs could copy a lock that thread holds into the child.
    import threading

    inline, _ = _run(corpus, tmp_path / "inline.jsonl", workers=1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        pool, summary = _run(corpus, tmp_path / "pool.jsonl", workers=2)
    finally:
        stop.set()
        other.join()
    assert summary["run"]["start_method"] == "forkserver"  # type: ignore[index]
    assert pool == inline


def test_dask_sends_consecutive_chunks_as_one_task(corpus: Any, tmp_path: Path) -> None:
    tiny = SweepSize(chunk_bytes=4096)
    inline = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=tiny, output=tmp_path / "1.jsonl"))
    dask = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=tiny, output=tmp_path / "d.jsonl",
                                 dask="local", workers=2, dask_processes=False))
    assert dask["run"]["chunks_per_task"] > 4  # several hundred chunks, two workers
    assert inline["run"]["chunks_per_task"] == 1
    assert (tmp_path / "d.jsonl").read_bytes() == (tmp_path / "1.jsonl").read_bytes()
    assert _counts(dask) == _counts(inline)


def test_batches_shrink_to_single_chunks_at_the_end() -> None:
    from indexguard.sweep.batches import Batcher, batch_size
    from indexguard.sweep.fields import FieldMap
    from indexguard.sweep.screening import ChunkResult
    from indexguard.sweep.sources import Chunk

    sent: list[int] = []

    def send(chunks: list[Chunk]) -> Any:
        sent.append(len(chunks))
        return lambda: [ChunkResult(c.index) for c in chunks]

    total, workers = 256, 2
    batcher = Batcher(batch_size(total, workers), send, chunks=total, workers=workers)
    pending = [batcher.submit(Chunk(i, "t.txt", "txt", FieldMap())) for i in range(total)]
    assert [p.result().index for p in pending] == list(range(total))
    assert sum(sent) == total
    assert sent[0] == 16 and sent[-1] == 1
    assert sent == sorted(sent, reverse=True)
    # Dispatch stays cheap: a few dozen tasks for 256 chunks, not one per chunk.
    assert len(sent) < 50


def test_the_progress_bar_draws_share_items_and_rate(capsys: Any) -> None:
    from indexguard.sweep.progress import SweepProgress

    with SweepProgress(True, 1000) as bar:
        bar.advance(500, 1234)
        bar.advance(500, 766)
        assert bar._bar is not None
        task = bar._bar.tasks[0]
        assert task.completed == 1000 and task.fields["items"] == "2,000"
    with SweepProgress(False, 1000) as off:
        off.advance(10, 10)
        assert off._bar is None
