"""Helpers shared by the service tests (imported by module name: pytest puts this directory on
sys.path, and the name is unique across the test tree)."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from indexguard.settings import Settings
from indexguard.store import accounts
from indexguard.web.deps import Services

PASSWORD = "correct horse battery staple"
TERMS = "bizu\nhusinjopuk\nwexal tromp\n"  # placeholder pseudo-words only


def settings_for(url: str, **kw: object) -> Settings:
    base: dict[str, object] = {"database_url": url, "poll_seconds": 0.1, "access_log": False, "key_cache_seconds": 0.5}
    base["snapshot_dir"] = tempfile.mkdtemp(prefix="ig-test-snapshots-")  # not the machine's /dev/shm
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


@dataclass
class Env:
    client: TestClient
    svc: Services
    keys: dict[str, str] = field(default_factory=dict)  # scope -> token

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def login(self, role: str) -> TestClient:
        """A second client signed in as a user of `role`; its CSRF token in headers for unsafe calls."""
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        with self.svc.sessions() as s, s.begin():
            accounts.create_user(s, name, PASSWORD, role)
        c = TestClient(self.client.app)
        page = c.get("/login")
        token = page.cookies.get("ig_login_csrf") or c.cookies.get("ig_login_csrf")
        r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 200, r.text  # followed the redirect to the console
        c.headers["X-CSRF-Token"] = c.get("/v1/session").json()["csrf_token"]
        return c

    def import_list(self, name: str, text: str, kind: str = "term", activate: bool = True) -> dict[str, object]:
        r = self.client.post(
            "/v1/lists",
            params={"name": name, "kind": kind, "activate": str(activate).lower()},
            content=text.encode(),
            headers={**self.auth("lists"), "Content-Type": "text/plain"},
        )
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def wait_live(self, name: str, version: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.svc.live.state
            if state is not None and state.versions.get(name) == version:
                return
            time.sleep(0.05)
        raise AssertionError(f"{name} {version[:12]} not live after {timeout}s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(svc: Services, ready: Callable[[], bool] = lambda: True) -> Iterator[str]:
    """The real app on a real uvicorn server in a thread; yields its base URL."""
    import threading

    import uvicorn

    from indexguard.web.app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(svc.settings, svc), port=port, log_config=None, access_log=False))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not (srv.started and ready()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started and ready(), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        t.join(timeout=15)
