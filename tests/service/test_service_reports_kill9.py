"""kill -9 in a burst of reports: a real `indexguard serve` takes public reports from many clients at
once, is killed mid-burst (server and workers), and started again. Every report that was answered
201 is stored with its audit row, and `indexguard audit verify` finds the chain intact (SQLite and
PostgreSQL)."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from ig_service_helpers import free_port
from sqlalchemy import select

from indexguard.store import db
from indexguard.store.models import AbuseReport, AuditEntry

CLI = [sys.executable, "-c", "from indexguard.cli.main import main; main()"]


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    env.update(INDEXGUARD_ACCESS_LOG="0", INDEXGUARD_SNAPSHOT_DIR=str(tmp_path / "snap"),
               INDEXGUARD_REPORTS_PER_HOUR="1000000", INDEXGUARD_DATABASE_URL=db_url)  # fmt: skip
    if not db_url.startswith("sqlite"):  # PostgreSQL: the operator's key file; the anchor goes beside it
        key = tmp_path / "service.key"
        key.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        env["INDEXGUARD_KEY_FILE"] = str(key)
    return env


@contextmanager
def _serving(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"], env=env, cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("indexguard serve did not get ready")
        yield proc, base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_kill_9_in_a_burst_of_reports_loses_no_acknowledged_report(tmp_path: Path, db_url: str) -> None:
    env = _env(tmp_path, db_url)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    with _serving(env, tmp_path) as (proc, base):

        def burst(t: int) -> None:
            # Each thread is its own client address as the server sees it (X-Forwarded-For is not
            # trusted from here), so the per-address limit is set high for the burst.
            with httpx.Client(base_url=base, timeout=30) as c:
                i = t
                while not stop.is_set():
                    body = {"item": f"rep-{i}", "category": "csam", "comment": "zq placeholder"}
                    try:
                        r = c.post("/v1/reports", json=body)
                    except httpx.TransportError:
                        return  # the server is gone: this one was never acknowledged
                    if r.status_code == 201:
                        with lock:
                            answered.append(r.json()["reference"])
                    i += 8

        threads = [threading.Thread(target=burst, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 120
        while len(answered) < 120 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its workers, mid-burst
        stop.set()
        for th in threads:
            th.join(timeout=30)
    assert len(answered) >= 120
    print(f"kill -9 after {len(answered)} acknowledged reports ({db_url.split(':', 1)[0]})")

    # Started again on the same database: it comes up, takes a report, and the chain is intact.
    with _serving(env, tmp_path) as (proc, base):
        r = httpx.post(f"{base}/v1/reports", json={"item": "after-restart", "category": "csam"}, timeout=30)
        assert r.status_code == 201
        answered.append(r.json()["reference"])
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    factory = db.session_factory(db.make_engine(db_url))
    with factory() as s:
        stored = set(s.scalars(select(AbuseReport.reference)))
        audited = {e.detail.get("reference") for e in s.scalars(select(AuditEntry)) if e.action == "report.create"}
    missing = [ref for ref in answered if ref not in stored]
    unaudited = [ref for ref in answered if ref not in audited]
    assert missing == [] and unaudited == [], f"{len(missing)} lost, {len(unaudited)} without audit row"
    assert stored == audited  # nor a stored report without its row (one the client never heard of)
    verify = subprocess.run([*CLI, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr

