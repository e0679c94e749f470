"""Side by side with Meta's Hasher-Matcher-Actioner (HMA): PDQ lookups over HTTP on the same bank
and queries, alternating runs, plus bank load, activation, restart and memory for both.

HMA is not part of indexguard: get it from facebook/ThreatExchange (folder hasher-matcher-actioner),
install it in its own virtual environment, and point this benchmark at it:

    HMA_DIR=.../hasher-matcher-actioner HMA_VENV=.../hma-venv .venv/bin/python bench/run.py --only hma

It is started by the scripts in bench/hma_tools (HMA_TOOLS to override): its own PostgreSQL
cluster on 127.0.0.1:5433 with the bank bulk-copied in, `build_indices`, gunicorn on 127.0.0.1:5100.
Without them (or when HMA does not come up) the benchmark reports `skipped` with the reason.

Per configuration (indexguard database x workers x bank size; BENCH_HMA_CONFIGS, e.g.
"sqlite:2:100000,pg:4:1000000"): the bank and 1,000 queries (half within distance 31 of a bank
hash, with brute-force truth), HMA up with the same number of workers, indexguard up on a fresh
database, the bank imported through POST /v1/lists with activation (timed to the answer and to
"live in every worker"), a restart (timed to /readyz and to live), correctness of both on 200
queries against the truth, then ROUNDS alternating wrk runs (-t2 -c16, 20 s): HMA
`GET /m/raw_lookup`, indexguard `GET /v1/lookup`. Memory: RSS and PSS summed over each server's
processes (PSS counts shared pages once: the fair figure for memory-mapped banks). Load averages
are recorded before every run: this machine's 2 cores are shared.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HMA_URL = "http://127.0.0.1:5100"
PG = "postgresql://postgres@127.0.0.1:5432"
TARGETS = {"lookup_vs_hma_rps": 10.0, "import_s": 10.0, "live_after_import_s": 5.0, "restart_s": 10.0}


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, key: str | None = None, timeout: float = 60) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _memory(root_pid: int) -> dict[str, float]:
    """RSS and PSS (MB) summed over a process and its children, and the largest RSS."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(root_pid)], capture_output=True, text=True).stdout
    pids = [root_pid, *(int(p) for p in out.split())]
    rss, pss, largest = 0.0, 0.0, 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        r = float(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        p = float(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) / 1024  # type: ignore[union-attr]
        rss, pss, largest = rss + r, pss + p, max(largest, r)
    return {"rss_mb": round(rss), "pss_mb": round(pss), "largest_rss_mb": round(largest), "processes": len(pids)}


def _wrk(script: Path, base: str, args: list[str], seconds: int) -> dict[str, Any]:
    load = _load()
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script), base, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0,
        "load_before": load,
    }


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    assert m, text
    return round(float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)], 2)


class Indexguard:
    """`indexguard serve` on a fresh database, started and stopped by pid."""

    def __init__(self, work: Path, db: str, workers: int) -> None:
        self.work, self.workers, self.port = work, workers, _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
        self.env.update(
            INDEXGUARD_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
            INDEXGUARD_ACCESS_LOG="0",
            INDEXGUARD_MAX_BODY_BYTES=str(1 << 30),
            INDEXGUARD_SNAPSHOT_DIR=str(work / "snapshots"),
            PYTHONPATH=str(ROOT / "src"),
        )
        self.dbname = f"ig_hma_bench_{os.getpid()}"
        if db == "pg":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", self.dbname], check=False)
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", self.dbname], check=True)
            self.url = f"{PG}/{self.dbname}"
        else:
            self.url = f"sqlite:///{work / 'ig.db'}"
        self.db = db
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work / "ig.log"

    def _cli(self, *args: str) -> str:
        cmd = [sys.executable, "-c", "from indexguard.cli.main import main; main()", *args, "--database", self.url]
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=True).stdout

    def start(self) -> float:
        """Seconds from launch to /readyz 200."""
        t0 = time.perf_counter()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from indexguard.cli.main import main; main()", "serve", "--workers",
                 str(self.workers), "--port", str(self.port), "--database", self.url],
                env=self.env, cwd=self.work, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        while time.perf_counter() - t0 < 300:
            try:
                if _get(f"{self.base}/readyz", timeout=5).get("ready"):
                    return time.perf_counter() - t0
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"indexguard did not become ready: {self.log.read_text()[-2000:]}")

    def wait_live(self, name: str, t0: float, timeout: float = 300) -> float:
        """Seconds from t0 until every worker logged the list live."""
        while time.perf_counter() - t0 < timeout:
            lines = [x for x in self.log.read_text().splitlines() if '"lists live"' in x and f'"{name}"' in x]
            if len(lines) >= self.workers:
                return time.perf_counter() - t0
            time.sleep(0.05)
        raise RuntimeError(f"{name} not live in {self.workers} workers after {timeout}s")

    def import_bank(self, csv: Path, key: str) -> dict[str, float]:
        body = csv.read_bytes()
        req = urllib.request.Request(
            f"{self.base}/v1/lists?name=perf-pdq&kind=hash&format=csv&activate=true",
            data=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}, method="POST",
        )  # fmt: skip
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=600) as r:
            info = json.loads(r.read())
        t1 = time.perf_counter()
        live = self.wait_live("perf-pdq", t1)
        return {"import_s": round(t1 - t0, 2), "live_after_import_s": round(live, 2), "entries": info["entries"]}

    def restart(self) -> dict[str, float]:
        self.stop()
        self.log.write_text("")
        t0 = time.perf_counter()
        ready = self.start()
        live = self.wait_live("perf-pdq", t0)
        return {"restart_ready_s": round(ready, 2), "restart_live_s": round(live, 2)}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self.db == "pg":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", self.dbname], check=False)


def _hma_up(tools: Path, hma_dir: str, venv: str, n: int, workers: int, bank: Path) -> dict[str, float]:
    subprocess.run([str(tools / "hma_down.sh")], capture_output=True, check=False)
    out = subprocess.run(
        [str(tools / "hma_up.sh"), hma_dir, venv, str(n), str(workers), str(bank)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"hma_up.sh failed: {(out.stdout + out.stderr)[-1500:]}")
    text = out.stdout + out.stderr
    figures: dict[str, float] = {}
    if m := re.search(r"seeded \d+ PDQ hashes .* in ([\d.]+) s", text):
        figures["bulk_load_s"] = float(m.group(1))
    if m := re.search(r"build_indices ([\d.]+) s, gunicorn start to /status 200 ([\d.]+) s", text):
        figures["build_indices_s"], figures["start_s"] = float(m.group(1)), float(m.group(2))
    return figures


def _hma_pid() -> int:
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    return int((tmp / "hma-anchor" / "gunicorn.pid").read_text().strip())


def _correctness(q: list[str], truth: list[int], ig: Indexguard, key: str, k: int = 200) -> dict[str, int]:
    agree = hma_ok = ig_ok = 0
    for i in range(k):
        hm = int(bool(_get(f"{HMA_URL}/m/raw_lookup?signal_type=pdq&signal={q[i]}")["matches"]))
        im = int(bool(_get(f"{ig.base}/v1/lookup?type=pdq&hash={q[i]}", key)["matches"]))
        agree += hm == im
        hma_ok += hm == truth[i]
        ig_ok += im == truth[i]
    return {"queries": k, "agree": agree, "hma_equals_truth": hma_ok, "indexguard_equals_truth": ig_ok}


def _configs(quick: bool) -> list[tuple[str, int, int]]:
    spec = os.environ.get("BENCH_HMA_CONFIGS")
    if spec:
        return [(d, int(w), int(n)) for d, w, n in (c.split(":") for c in spec.split(",") if c)]
    if quick:
        return [("sqlite", 2, 100_000)]
    return [(db, w, n) for n in (100_000, 1_000_000) for w in (2, 4) for db in ("sqlite", "pg")]


def _data(tools: Path, work: Path, n: int) -> tuple[Path, Path, Path]:
    bank, q, csv = work / f"bank-{n}.txt", work / f"queries-{n}.txt", work / f"bank-{n}.csv"
    gen = [sys.executable, str(tools / "pdq_perf_data.py")]
    if not bank.exists():
        subprocess.run([*gen, "bank", str(n), str(bank)], check=True)
    if not q.exists():
        subprocess.run([*gen, "queries", str(bank), str(q), "1000"], check=True)
    if not csv.exists():
        subprocess.run([*gen, "csv", str(bank), str(csv)], check=True)
    return bank, q, csv


def _one(
    tools: Path, work: Path, hma: tuple[str, str], db: str, workers: int, n: int, rounds: int, seconds: int
) -> dict[str, Any]:
    bank, qfile, csv = _data(tools, work, n)
    queries = qfile.read_text().split()
    truth = [int(line.split("\t")[0]) for line in (qfile.parent / (qfile.name + ".truth")).read_text().splitlines()]
    res: dict[str, Any] = {"db": db, "workers": workers, "bank": n, "load_at_start": _load()}
    res["hma"] = _hma_up(tools, hma[0], hma[1], n, workers, bank)
    run_dir = work / f"ig-{db}-{workers}-{n}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    ig = Indexguard(run_dir, db, workers)
    try:
        ig.start()
        key = ig._cli("apikey", "create", "--name", "bench", "--scope", "screen", "--scope", "lists").split()[-1]
        res["indexguard"] = {**ig.import_bank(csv, key), **ig.restart()}
        res["correctness"] = _correctness(queries, truth, ig, key)
        hma_script, ig_script = tools / "wrk_hma_lookup.lua", HERE / "wrk_ig_lookup.lua"
        _wrk(hma_script, HMA_URL, [str(qfile)], 3)  # warm-up of both
        _wrk(ig_script, ig.base, [str(qfile), key], 3)
        runs: list[dict[str, Any]] = []
        for r in range(rounds):
            runs.append({"system": "hma", "endpoint": "/m/raw_lookup", "round": r,
                         **_wrk(hma_script, HMA_URL, [str(qfile)], seconds)})  # fmt: skip
            runs.append({"system": "indexguard", "endpoint": "/v1/lookup", "round": r,
                         **_wrk(ig_script, ig.base, [str(qfile), key], seconds)})  # fmt: skip
        res["runs"] = runs
        res["memory"] = {"hma": _memory(_hma_pid()), "indexguard": _memory(ig.proc.pid if ig.proc else 0)}
    finally:
        ig.close()
        subprocess.run([str(tools / "hma_down.sh")], capture_output=True, check=False)
    return _summarise(res)


def _summarise(res: dict[str, Any]) -> dict[str, Any]:
    def mean(system: str, key: str) -> float:
        vals = [r[key] for r in res["runs"] if r["system"] == system]
        return round(sum(vals) / len(vals), 2)

    h_rps, o_rps = mean("hma", "rps"), mean("indexguard", "rps")
    h_p99, o_p99 = mean("hma", "p99_ms"), mean("indexguard", "p99_ms")
    ig = res["indexguard"]
    res["summary"] = {
        "hma_rps": h_rps, "hma_p99_ms": h_p99, "indexguard_rps": o_rps, "indexguard_p99_ms": o_p99,
        "rps_ratio": round(o_rps / h_rps, 2) if h_rps else None,
    }  # fmt: skip
    res["met"] = {
        "lookup_10x_at_lower_p99": bool(h_rps) and o_rps >= TARGETS["lookup_vs_hma_rps"] * h_rps and o_p99 <= h_p99,
        "import_s": ig["import_s"] <= TARGETS["import_s"],
        "live_after_import_s": ig["live_after_import_s"] <= TARGETS["live_after_import_s"],
        "restart_s": ig["restart_live_s"] <= TARGETS["restart_s"],
        "errors": all(r["non_2xx"] == 0 and r["socket_errors"] == 0 for r in res["runs"]),
        "correct": res["correctness"]["agree"] == res["correctness"]["indexguard_equals_truth"]
        == res["correctness"]["queries"],
    }
    return res


def run(quick: bool) -> dict[str, object]:
    tools = Path(os.environ.get("HMA_TOOLS") or HERE / "hma_tools")
    hma_dir, venv = os.environ.get("HMA_DIR"), os.environ.get("HMA_VENV")
    missing = [
        what
        for what, ok in (
            ("HMA_DIR and HMA_VENV (HMA's source and its virtual environment)", hma_dir and venv),
            (f"the HMA scripts in {tools}", (tools / "hma_up.sh").exists()),
            ("wrk (apt-get install -y wrk)", shutil.which("wrk")),
            ("PostgreSQL server binaries", list(Path("/usr/lib/postgresql").glob("*/bin"))),
        )
        if not ok
    ]
    if missing:
        return {"skipped": "needs " + "; ".join(missing)}
    assert hma_dir and venv
    work = Path(os.environ.get("BENCH_HMA_WORK", "/tmp/indexguard-hma-bench"))
    work.mkdir(parents=True, exist_ok=True)
    rounds = int(os.environ.get("ROUNDS", "1" if quick else "2"))
    seconds = int(os.environ.get("DURATION", "5" if quick else "20"))
    results = []
    for db, workers, n in _configs(quick):
        print(f"-- hma vs indexguard: {db}, {workers} workers, {n:,} hashes (load {_load()})", flush=True)
        try:
            results.append(_one(tools, work, (hma_dir, venv), db, workers, n, rounds, seconds))
        except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
            results.append({"db": db, "workers": workers, "bank": n, "skipped": str(e)[-1500:]})
        print(json.dumps(results[-1].get("summary") or results[-1], indent=None), flush=True)
    return {"targets": TARGETS, "generator": "wrk -t2 -c16, alternating HMA / indexguard", "configs": results}
