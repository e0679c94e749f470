"""The service under load: POST /v1/query req/s and p99 with 4 uvicorn workers, and items/s through
POST /v1/batch, against the standard corpus (10,000 placeholder terms live, torrent-style titles).

The load generator shares the machine with the server (2 cores here): wrk when installed
(`apt-get install -y wrk`), otherwise an asyncio httpx client, which costs the server more CPU.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = {"query_rps": 3000.0, "query_p99_ms": 20.0, "batch_items_per_s": 100_000.0}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(args: list[str], env: dict[str, str]) -> str:
    cmd = [sys.executable, "-c", "from indexguard.cli.main import main; main()", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def _start(workdir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str, dict[str, str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    env.update(
        INDEXGUARD_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        INDEXGUARD_ACCESS_LOG="0",
        INDEXGUARD_LOG_LEVEL="warning",
        PYTHONPATH=str(ROOT / "src"),
    )
    db = f"sqlite:///{workdir / 'bench.db'}"
    keys = {
        scope: _cli(["apikey", "create", "--name", f"bench-{scope}", "--scope", scope, "--database", db], env)
        .strip()
        .splitlines()[-1]
        for scope in ("screen", "lists")
    }
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from indexguard.cli.main import main; main()", "serve",
         "--workers", str(workers), "--port", str(port), "--database", db],
        env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    return proc, base, keys, env


def _load_terms(base: str, lists_key: str, terms: str) -> str:
    r = httpx.post(
        f"{base}/v1/lists",
        params={"name": "bench", "activate": "true"},
        content=terms.encode(),
        headers={"Authorization": f"Bearer {lists_key}", "Content-Type": "text/plain"},
        timeout=300,
    )
    r.raise_for_status()
    version = str(r.json()["version"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # every worker polls; give them all a few rounds
        if httpx.get(f"{base}/readyz").json().get("lists", {}).get("bench") == version:
            time.sleep(3)
            break
        time.sleep(0.5)
    return version


def _wrk(base: str, key: str, titles: list[str], seconds: int, conns: int) -> dict[str, float] | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    bodies = [json.dumps({"q": t}) for t in titles[:500]]
    lua = (
        "local bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}\n"
        "local i = 0\n"
        "request = function()\n  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", "/v1/query", {{["Content-Type"]="application/json", '
        f'["Authorization"]="Bearer {key}"}}, bodies[i])\nend\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        [wrk, "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", f.name, base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": errors.group(0) if errors else "none",  # type: ignore[dict-item]
    }


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


async def _async_load(base: str, key: str, titles: list[str], seconds: float, conns: int) -> dict[str, float]:
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as c:
            i = n
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await c.post("/v1/query", json={"q": titles[i % len(titles)]})
                lat.append(time.perf_counter() - t0)
                errors += r.status_code != 200
                i += conns

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(conns)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "rps": len(lat) / wall,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
        "non_2xx": float(errors),
    }


def _batch(base: str, key: str, titles: list[str], batch_size: int, rounds: int, clients: int) -> dict[str, float]:
    """`clients` concurrent callers, each sending `rounds` batches of `batch_size` titles."""
    bodies = [
        json.dumps({"items": [{"id": str(j), "title": t} for j, t in enumerate(titles[k : k + batch_size])]})
        for k in range(0, batch_size * rounds, batch_size)
    ]
    hdrs = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client() -> int:
        n = 0
        with httpx.Client(base_url=base, headers=hdrs, timeout=120) as c:
            for body in bodies:
                r = c.post("/v1/batch", content=body)
                r.raise_for_status()
                n += len(r.json()["decisions"])
        return n

    with httpx.Client(base_url=base, headers=hdrs, timeout=120) as c:
        for _ in range(clients * 2):  # warm every worker
            c.post("/v1/batch", content=bodies[0])
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        items = sum(pool.map(lambda _: client(), range(clients)))
    wall = time.perf_counter() - t0
    return {"items_per_s": items / wall, "batch_size": batch_size, "clients": clients, "items": items}


def run(quick: bool) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    from corpus import corpus_dir

    cdir = corpus_dir()
    terms = (cdir / "terms.txt").read_text("utf-8")
    titles = []
    with open(cdir / "titles.txt", encoding="utf-8") as f:
        for _, line in zip(range(60_000), f, strict=False):
            titles.append(line.rstrip("\n"))
    workers = 4
    seconds = 4 if quick else 10
    with tempfile.TemporaryDirectory(prefix="indexguard-bench-") as tmp:
        proc, base, keys, _env = _start(Path(tmp), workers)
        try:
            version = _load_terms(base, keys["lists"], terms)
            rounds = [_wrk(base, keys["screen"], titles, seconds, conns=16) for _ in range(3)]
            q = None if rounds[0] is None else sorted(rounds, key=lambda r: r["p99_ms"])[1]  # type: ignore[index,return-value]
            generator = "wrk -t2 -c16, median of 3 runs by p99"
            if q is None:
                q = asyncio.run(_async_load(base, keys["screen"], titles, seconds, conns=16))
                rounds = [q]
                generator = "httpx asyncio, 16 connections"
            b = _batch(base, keys["screen"], titles, 5_000, 3 if quick else 6, clients=2)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    met = {
        "query_rps": q["rps"] >= TARGETS["query_rps"],
        "query_p99_ms": q["p99_ms"] <= TARGETS["query_p99_ms"],
        "batch_items_per_s": b["items_per_s"] >= TARGETS["batch_items_per_s"],
    }
    return {
        "workers": workers,
        "cpus": os.cpu_count(),
        "terms_live": sum(1 for t in terms.splitlines() if t.strip()),
        "list_version": version[:16],
        "load_generator": generator,
        "query": q,
        "query_runs": rounds,
        "batch": b,
        "targets": TARGETS,
        "met_by_target": met,
        "met": all(met.values()),
        "note": "server and load generator share the machine's cores with each other and other work",
    }


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
