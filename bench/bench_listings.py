"""POST /v1/listings at volume (issue 15): listings/s, p50/p99, errors, and the queue behind the answers.

    .venv/bin/python bench/run.py --only listings          (or: python bench/bench_listings.py)

Per configuration (database x workers; BENCH_LISTINGS_CONFIGS, default "sqlite:2,pg:2"): `indexguard
serve` on a fresh database with a 100k random PDQ bank (bench/hma_tools/pdq_perf_data.py; BANK to
change), then ROUNDS wrk runs (-t2 -c16, DURATION s) of `bench/hma_tools/wrk_ig_listings.lua`: every
request a new listing id carrying only a precomputed `pdq`, half of them within distance 31 of a bank
hash (held for review: the item is hidden at once and a case opens from the durable queue). Reported
per run: listings/s, p50, p99, non-2xx, socket errors, the load average before and after, the queue
depth when wrk stops and how long it takes to drain, the cases opened, and the server's CPU time
per listing (user + system over all its processes, answers and queue together: the figure that does
not depend on how busy the machine is). Skips cleanly without wrk or (for pg) PostgreSQL.
BENCH_LISTINGS_SRC runs the server from another checkout's src/ (before/after in the same conditions).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_hma import Indexguard, _data, _load, _wrk  # noqa: E402

TARGETS = {"listings_per_s": 1000.0, "p99_ms": 50.0}
TOOLS = HERE / "hma_tools"


def _cpu_seconds(root_pid: int) -> float:
    """user + system CPU seconds of a process and its children (the uvicorn workers)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(root_pid)], capture_output=True, text=True).stdout
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [root_pid, *(int(p) for p in out.split())]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _sql(ig: Indexguard, query: str) -> int:
    if ig.db == "pg":
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", ig.dbname, "-Atc", query],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    else:
        import sqlite3

        with sqlite3.connect(str(ig.work / "ig.db"), timeout=30) as c:
            return int(c.execute(query).fetchone()[0])
    return int(out.strip() or 0)


def _drain_time(ig: Indexguard, timeout: float = 300) -> tuple[int, float | None]:
    """(rows queued when asked, seconds until the queue is empty or None when it did not empty)."""
    t0 = time.perf_counter()
    first = _sql(ig, "SELECT count(*) FROM record_queue")
    depth = first
    while depth and time.perf_counter() - t0 < timeout:
        time.sleep(0.1)
        depth = _sql(ig, "SELECT count(*) FROM record_queue")
    return first, (round(time.perf_counter() - t0, 2) if depth == 0 else None)


def _one(work: Path, db: str, workers: int, n: int, rounds: int, seconds: int) -> dict[str, Any]:
    _bank, qfile, csv = _data(TOOLS, work, n)
    run_dir = work / f"ig-{db}-{workers}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    ig = Indexguard(run_dir, db, workers)
    if os.environ.get("BENCH_LISTINGS_SRC"):  # another checkout's src/, for before/after in the same conditions
        ig.env["PYTHONPATH"] = os.environ["BENCH_LISTINGS_SRC"]
    res: dict[str, Any] = {"db": db, "workers": workers, "bank": n, "load_at_start": _load()}
    script = TOOLS / "wrk_ig_listings.lua"
    try:
        ig.start()
        key = ig._cli("apikey", "create", "--name", "bench", "--scope", "screen", "--scope", "lists").split()[-1]
        res["import"] = ig.import_bank(csv, key)
        _wrk(script, ig.base, [str(qfile), key, "warm"], 3)
        _drain_time(ig)
        runs: list[dict[str, Any]] = []
        for r in range(rounds):
            assert ig.proc is not None
            cases0 = _sql(ig, "SELECT count(*) FROM cases")
            cpu0 = _cpu_seconds(ig.proc.pid)
            out = _wrk(script, ig.base, [str(qfile), key, f"r{r}"], seconds)
            cpu_run = _cpu_seconds(ig.proc.pid) - cpu0
            out["load_after"] = _load()
            depth, drain_s = _drain_time(ig)
            cpu_all = _cpu_seconds(ig.proc.pid) - cpu0
            listings = out["rps"] * seconds
            out.update(
                queue_depth_at_end=depth, drain_s=drain_s,
                cases_opened=_sql(ig, "SELECT count(*) FROM cases") - cases0,
                cpu_ms_per_listing_during_run=round(1000 * cpu_run / listings, 3) if listings else None,
                cpu_ms_per_listing_incl_drain=round(1000 * cpu_all / listings, 3) if listings else None,
                round=r,
            )  # fmt: skip
            runs.append(out)
            print(json.dumps(out), flush=True)
        res["runs"] = runs
    finally:
        ig.close()
    res["met"] = {
        "listings_per_s": all(r["rps"] >= TARGETS["listings_per_s"] for r in res.get("runs", [])),
        "p99_ms": all(r["p99_ms"] <= TARGETS["p99_ms"] for r in res.get("runs", [])),
        "errors": all(r["non_2xx"] == 0 and r["socket_errors"] == 0 for r in res.get("runs", [])),
        "queue_drained": all(r["drain_s"] is not None for r in res.get("runs", [])),
    }
    return res


def _configs() -> list[tuple[str, int]]:
    spec = os.environ.get("BENCH_LISTINGS_CONFIGS", "sqlite:2,pg:2")
    return [(d, int(w)) for d, w in (c.split(":") for c in spec.split(",") if c)]


def run(quick: bool) -> dict[str, object]:
    if not shutil.which("wrk"):
        return {"skipped": "needs wrk (apt-get install -y wrk)"}
    work = Path(os.environ.get("BENCH_LISTINGS_WORK", "/tmp/indexguard-listings-bench"))
    work.mkdir(parents=True, exist_ok=True)
    rounds = int(os.environ.get("ROUNDS", "1" if quick else "2"))
    seconds = int(os.environ.get("DURATION", "5" if quick else "15"))
    n = int(os.environ.get("BANK", "100000"))
    results = []
    for db, workers in _configs():
        if db == "pg" and not shutil.which("psql"):
            results.append({"db": db, "workers": workers, "skipped": "needs PostgreSQL (psql, createdb)"})
            continue
        print(f"-- listings: {db}, {workers} workers, bank {n:,} (load {_load()})", flush=True)
        try:
            results.append(_one(work, db, workers, n, rounds, seconds))
        except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
            results.append({"db": db, "workers": workers, "skipped": str(e)[-1500:]})
    return {"targets": TARGETS, "generator": "wrk -t2 -c16, POST /v1/listings, half matching", "configs": results}


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
