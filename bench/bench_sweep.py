"""Sweep throughput on the standard corpus (10,000 placeholder terms, seed 7): titles/s per core and in
total for 1 and 2 worker processes, scaling, and peak memory (RSS of the whole process tree, sampled
from /proc) for a 1M- and a 10M-title corpus (quick mode: 1M only).

Targets: >= 1,000,000 titles/s per core, near-linear scaling (2 processes >= 1.8x one), peak memory
independent of corpus size (10M peak within 25% of 1M peak). Each run is the real `indexguard sweep`
command in a subprocess (JSONL and plain-title sources), so figures include reading, parsing, the bulk
scan, the per-item path for flagged titles, output and checkpoint-free bookkeeping. The CPU is shared
with other developers: figures are pessimistic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from corpus import corpus_dir

ROOT = Path(__file__).resolve().parents[1]
TARGET_PER_CORE = 1_000_000


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss(root: int) -> tuple[int, int]:
    kids = _children()
    todo, total, biggest = [root], 0, 0
    while todo:
        pid = todo.pop()
        rss = _rss_kb(pid)
        total += rss
        biggest = max(biggest, rss)
        todo += kids.get(pid, [])
    return total, biggest


def _sweep(source: Path, terms: Path, workers: int, work: Path) -> dict[str, Any]:
    summary = work / f"summary-{source.stem}-{workers}.json"
    cmd = [sys.executable, "-m", "indexguard.cli", "sweep", str(source), "--terms", str(terms), "-o",
           str(work / "flagged.jsonl"), "--summary", str(summary), "--workers", str(workers), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_total = peak_proc = 0
    while proc.poll() is None:
        total, biggest = _tree_rss(proc.pid)
        peak_total, peak_proc = max(peak_total, total), max(peak_proc, biggest)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    s = json.loads(summary.read_text())
    run = s["run"]
    return {
        "source": source.name,
        "workers": workers,
        "items": s["items"],
        "blocked": s["actions"]["block"],
        "command_wall_s": round(wall, 2),
        "sweep_s": run["seconds"],
        "titles_per_s": round(run["items_per_s"]),
        "titles_per_s_per_core": round(run["items_per_busy_s"]),
        "peak_rss_tree_mb": round(peak_total / 1024),
        "peak_rss_largest_process_mb": round(peak_proc / 1024),
    }


def run(quick: bool) -> dict[str, Any]:
    big = corpus_dir(1_000_000 if quick else 10_000_000)
    small = corpus_dir(1_000_000)
    terms = big / "terms.txt"
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "corpus") as tmp:
        work = Path(tmp)
        for name in ("titles.jsonl", "titles.txt"):
            for workers in (1, 2):
                runs.append(_sweep(big / name, terms, workers, work))
        if not quick:
            runs.append(_sweep(small / "titles.jsonl", terms, 2, work))
    by = {(r["source"], r["workers"], r["items"]): r for r in runs}
    n = runs[0]["items"]
    scaling = {name: round(by[(name, 2, n)]["titles_per_s"] / by[(name, 1, n)]["titles_per_s"], 2)
               for name in ("titles.jsonl", "titles.txt")}
    best_core = max(r["titles_per_s_per_core"] for r in runs)
    out: dict[str, Any] = {
        "corpus": {"titles": n, "terms": 10_000, "source": "bench/make_bench_corpus.py seed 7"},
        "runs": runs,
        "per_core": {"best_titles_per_s": best_core, "target": TARGET_PER_CORE, "met": best_core >= TARGET_PER_CORE},
        "scaling_1_to_2": {"ratio": scaling, "target": 1.8, "met": min(scaling.values()) >= 1.8},
        "note": "2-core machine shared with other developers while measured: figures are pessimistic",
    }
    if not quick:
        m10 = by[("titles.jsonl", 2, n)]["peak_rss_tree_mb"]
        m1 = next(r for r in runs if r["items"] == 1_000_000)["peak_rss_tree_mb"]
        out["memory"] = {"peak_rss_1m_mb": m1, "peak_rss_10m_mb": m10, "ratio": round(m10 / m1, 2),
                         "target_ratio": 1.25, "met": m10 / m1 <= 1.25}
    out["met"] = all(v["met"] for k, v in out.items() if isinstance(v, dict) and "met" in v)
    return out
