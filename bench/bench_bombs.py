"""Request bombs against a real server: memory growth and event-loop stall per bomb.

Each bomb gets a fresh server process (uvicorn, SQLite); a thread polls /healthz every 20 ms while
the bomb is sent, and the server's peak RSS (VmHWM) is read before and after. `--src DIR` runs the
same bombs against another checkout's `src` (to measure before a change).

    .venv/bin/python bench/bench_bombs.py [--src /path/to/old/src] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
_SERVER = """
import sys, uvicorn
from indexguard.settings import Settings
from indexguard.store import accounts
from indexguard.store.bootstrap import first_start
from indexguard.web.app import build_services, create_app
svc = build_services(Settings(database_url=sys.argv[1], access_log=False, poll_seconds=0.5))
first_start(svc.sessions, svc.cipher)
with svc.sessions() as s, s.begin():
    print(accounts.create_api_key(s, "bench", ["screen"], "bench"), flush=True)
uvicorn.run(create_app(svc.settings, svc), port=int(sys.argv[2]), log_level="warning")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _png(side: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (side, side)).save(buf, "PNG")
    return buf.getvalue()


Bomb = Callable[[httpx.Client, dict[str, str]], httpx.Response]


def bombs(quick: bool) -> dict[str, Bomb]:
    mib = 1 if quick else 3
    fdfa = "\ufdfa" * (mib * 1024 * 1024 // 3)  # U+FDFA is 3 bytes of UTF-8
    big = 20 if quick else 100
    side = 4000 if quick else 7000
    image = _png(side)

    def batch_fdfa(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        return c.post("/v1/batch", json={"items": [{"id": "1", "title": fdfa}]}, headers=h)

    def listing_fdfa(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        return c.post("/v1/listings", json={"id": "1", "title": fdfa[:60_000]}, headers=h)

    def png(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        return c.post("/v1/images", files={"file": ("a.png", image, "image/png")}, data={"id": "i"}, headers=h)

    def report_body(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        body = json.dumps({"item": "x", "category": "csam", "comment": "A" * (big * 1024 * 1024)})
        return c.post("/v1/reports", content=body, headers={"Content-Type": "application/json"})

    def nested(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        body = '{"items": [' + "[" * 100_000 + "]" * 100_000 + "]}"
        return c.post("/v1/batch", content=body, headers={**h, "Content-Type": "application/json"})

    def batch_at_budget(c: httpx.Client, h: dict[str, str]) -> httpx.Response:
        # The most text a batch may carry (4 M normalised characters): accepted, and bounded.
        words = ("wexal tromp bizu " * 4000)[:60_000]
        return c.post("/v1/batch", json={"items": [{"id": str(i), "title": words} for i in range(66)]}, headers=h)

    return {
        "batch at the text budget (66 x 60,000 chars)": batch_at_budget,
        f"batch title {mib} MiB of U+FDFA": batch_fdfa,
        "listing title 60,000 x U+FDFA": listing_fdfa,
        f"{side}x{side} PNG to /v1/images": png,
        f"{big} MB body to /v1/reports": report_body,
        "nested JSON to /v1/batch": nested,
    }


def _one(src: Path, bomb: Bomb) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="ig-bomb-"))
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    env["INDEXGUARD_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, f"sqlite:///{tmp / 'b.db'}", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        key = proc.stdout.readline().strip()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=120) as c:
            for _ in range(200):
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            before = _hwm_kib(proc.pid)
            stalls: list[float] = []
            done = threading.Event()

            def poll() -> None:
                with httpx.Client(base_url=base, timeout=60) as p:
                    while not done.is_set():
                        t0 = time.perf_counter()
                        p.get("/healthz")
                        stalls.append(time.perf_counter() - t0)
                        time.sleep(0.02)

            t = threading.Thread(target=poll)
            t.start()
            t0 = time.perf_counter()
            r = bomb(c, {"Authorization": f"Bearer {key}"})
            took = time.perf_counter() - t0
            time.sleep(0.1)
            done.set()
            t.join()
            return {
                "status": r.status_code,
                "echoed": "AAAAAAAAAAAAAAAA" in r.text,
                "rss_growth_mib": round((_hwm_kib(proc.pid) - before) / 1024, 1),
                "healthz_max_ms": round(max(stalls) * 1000, 1) if stalls else None,
                "request_s": round(took, 2),
            }
    finally:
        proc.terminate()
        proc.wait(10)


def run(quick: bool, src: Path | None = None) -> dict[str, object]:
    src = src or HERE.parent / "src"
    out: dict[str, object] = {"src": str(src), "load": os.getloadavg()}
    for name, bomb in bombs(quick).items():
        out[name] = _one(src, bomb)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=None)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    print(json.dumps(run(a.quick, a.src), indent=2))
