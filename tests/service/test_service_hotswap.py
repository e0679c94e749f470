"""A real uvicorn server: a list version swapped under concurrent load loses no request, and every
Decision names either the old or the new version."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from ig_service_helpers import running_server, settings_for

from indexguard.store import accounts
from indexguard.web.app import build_services
from indexguard.web.deps import Services


@pytest.fixture
def server(db_url: str) -> Iterator[tuple[str, Services]]:
    svc = build_services(settings_for(db_url, poll_seconds=0.2))
    with running_server(svc) as base:
        yield base, svc


def test_hot_swap_under_load(server: tuple[str, Services]) -> None:
    base, svc = server
    with svc.sessions() as s, s.begin():
        screen = accounts.create_api_key(s, "load", ["screen"], "tests")
        lists = accounts.create_api_key(s, "ops", ["lists"], "tests")
    h = {"Authorization": f"Bearer {lists}"}
    with httpx.Client(base_url=base, timeout=30) as c:
        old = c.post("/v1/lists", params={"name": "swap", "activate": "true"}, content=b"bizu\n", headers=h).json()
        new = c.post("/v1/lists", params={"name": "swap"}, content=b"bizu\nkelvorn\n", headers=h).json()
        published = svc.live.published({"swap": old["version"]})["swap"]  # /readyz shows keyed digests
        while c.get("/readyz").json().get("lists", {}).get("swap") != published:
            time.sleep(0.05)

    stop = threading.Event()
    results: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def load() -> None:
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {screen}"}) as c:
            while not stop.is_set():
                r = c.post("/v1/query", json={"q": "kelvorn"})
                d = r.json() if r.status_code == 200 else {}
                with lock:
                    results.append((r.status_code, d.get("lists", {}).get("swap", ""), d.get("action", "")))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(load) for _ in range(4)]
        time.sleep(0.5)
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.post("/v1/lists/swap/versions/2/activate", headers=h).status_code == 200
        time.sleep(2.0)
        stop.set()
        for f in futures:
            f.result()

    assert results and all(code == 200 for code, _, _ in results)
    seen = {v for _, v, _ in results}
    assert seen == {old["version"], new["version"]}
    # each Decision agrees with the version it names
    assert all(a == ("block" if v == new["version"] else "allow") for _, v, a in results)
    # once swapped, never back
    first_new = next(i for i, (_, v, _) in enumerate(results) if v == new["version"])
    assert sum(v == old["version"] for _, v, _ in results[first_new:]) <= 4  # in-flight requests only
