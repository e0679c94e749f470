"""POST /v1/listings with group commit and a durable queue: the item's state and deny entries are
stored before the answer, the case follows from the queue, concurrent writers get no 500, and a
kill -9 in a burst loses no answered listing (placeholder pseudo-words only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from ig_service_helpers import TERMS, Env, running_server
from sqlalchemy import func, select

from indexguard.cases import recording
from indexguard.store import db
from indexguard.store.models import Case, ItemState


def _listing(i: int, tag: str) -> dict[str, str]:
    title = "wexal tromp pack" if i % 2 == 0 else "garden tools"  # half of them blocked
    return {"id": f"{tag}-{i}", "title": title, "infohash": f"{i:040x}"}


def test_state_and_deny_before_the_answer_case_from_the_queue(env: Env) -> None:
    env.wait_live("site", env.import_list("site", TERMS)["version"])
    assert env.svc.listings is not None
    s = env.auth("screen")
    r = env.client.post("/v1/listings", json={"id": "L1", "title": "wexal tromp", "infohash": "ab" * 20}, headers=s)
    assert r.json()["action"] == "block"
    assert env.client.get("/v1/items/L1", headers=s).json()["state"] == "removed"
    # the re-upload under another title is refused at once, by this worker's deny set
    again = env.client.post("/v1/listings", json={"id": "L2", "title": "plain", "infohash": "AB" * 20}, headers=s)
    assert again.json()["action"] == "block"
    assert any(x["list"] == "deny-set" for x in again.json()["reasons"])
    assert env.svc.listings.drain()
    with env.svc.sessions() as ses:
        assert ses.scalar(select(func.count()).select_from(Case).where(Case.item_id == "L1")) == 1
        assert recording.queued(ses) == 0


def test_concurrent_writers_get_answers_not_errors(env: Env) -> None:
    env.wait_live("site", env.import_list("site", TERMS)["version"])
    with running_server(env.svc) as base, httpx.Client(base_url=base, headers=env.auth("screen")) as c:

        def post(i: int) -> int:
            return c.post("/v1/listings", json=_listing(i, "cw"), timeout=60).status_code

        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(post, range(240)))
    assert codes == [200] * 240
    with env.svc.sessions() as ses:
        assert ses.scalar(select(func.count()).select_from(ItemState).where(ItemState.item_id.like("cw-%"))) == 240


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "-c", "from indexguard.cli.main import main; main()", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def test_kill_9_in_a_burst_loses_no_answered_listing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ig.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    env.update(INDEXGUARD_ACCESS_LOG="0", INDEXGUARD_SNAPSHOT_DIR=str(tmp_path / "snap"))
    _cli(env, "db", "upgrade", "--database", url)
    key = _cli(env, "apikey", "create", "--name", "t", "--scope", "screen", "--database", url).split()[-1]
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from indexguard.cli.main import main; main()", "serve", "--port", str(port),
         "--workers", "2", "--database", url],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    answered: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        def burst(t: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
                i = t
                while not stop.is_set():
                    body = {"id": f"k{i}", "title": "bizu" if i % 2 == 0 else "garden tools"}  # demo list blocks
                    try:
                        r = c.post("/v1/listings", json=body)
                    except httpx.TransportError:
                        return  # the server is gone: this one was never answered
                    if r.status_code == 200:
                        with lock:
                            answered.append((body["id"], r.json()["action"]))
                    i += 8

        threads = [threading.Thread(target=burst, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        while len(answered) < 150 and time.monotonic() < deadline + 60:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its workers, mid-burst
        stop.set()
        for th in threads:
            th.join(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(answered) >= 150
    factory = db.session_factory(db.make_engine(url))
    with factory() as s:
        states = {item: action for item, action in s.execute(select(ItemState.item_id, ItemState.action))}
    lost = [(i, a) for i, a in answered if states.get(i) != a]
    assert lost == [], f"{len(lost)} answered listings missing after kill -9"
    # the cases of the blocked ones were queued durably: a drainer finishes them after the crash
    while recording.drain_queue(factory):
        pass
    blocked = {i for i, a in answered if a == "block"}
    with factory() as s:
        cased = set(s.scalars(select(Case.item_id).where(Case.item_id.in_(blocked))).all())
    assert cased == blocked


def test_a_queued_row_that_keeps_failing_does_not_hold_up_the_rest(env: Env) -> None:
    from indexguard.store.models import RecordQueueEntry

    env.wait_live("site", env.import_list("site", TERMS)["version"])
    with env.svc.sessions() as ses, ses.begin():
        ses.add(RecordQueueEntry(payload={"item_id": "broken"}))  # no case can be made of this
    r = env.client.post("/v1/listings", json={"id": "after", "title": "wexal tromp"}, headers=env.auth("screen"))
    assert r.json()["action"] == "block"
    deadline = time.monotonic() + 30
    found = 0
    while time.monotonic() < deadline and not found:
        with env.svc.sessions() as ses:
            found = ses.scalar(select(func.count()).select_from(Case).where(Case.item_id == "after")) or 0
        time.sleep(0.1)
    assert found == 1
    with env.svc.sessions() as ses:
        assert recording.queued(ses) == 1  # the broken row is kept, not dropped
