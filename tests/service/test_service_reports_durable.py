"""A report and its audit row are one transaction; a database outage answers 503 and heals itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env, free_port, settings_for
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from indexguard.store import audit
from indexguard.store.models import AbuseReport, AuditEntry
from indexguard.web.app import build_services, create_app


def _report(c: TestClient, item: str) -> int:
    return c.post("/v1/reports", json={"item": item, "category": "advert"}).status_code


def test_every_acknowledged_report_has_its_audit_row(db_url: str) -> None:
    svc = build_services(settings_for(db_url, reports_per_hour=1000))
    with TestClient(create_app(svc.settings, svc)) as c, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: _report(c, f"item-{i % 7}"), range(60)))
    assert codes == [201] * 60
    with svc.sessions() as s:
        refs = set(s.scalars(select(AbuseReport.reference)).all())
        audited = {e.detail["reference"] for e in s.scalars(select(AuditEntry)) if e.action == "report.create"}
    assert len(refs) == 60 and refs == audited
    assert audit.verify(svc.sessions).ok


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_failed_audit_append_stores_no_report(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> int:
        raise OperationalError("append", {}, Exception("connection lost"))

    monkeypatch.setattr(audit, "append_in", broken)
    c = TestClient(env.client.app, raise_server_exceptions=False)
    r = c.post("/v1/reports", json={"item": "lost-1", "category": "csam"})
    assert r.status_code == 503 and r.headers["Retry-After"]
    with env.svc.sessions() as s:
        assert s.scalars(select(AbuseReport).where(AbuseReport.item_id == "lost-1")).first() is None


class Proxy:
    """A TCP forwarder on loopback: stopping it is a database outage without touching the server."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for c in self._conns:
            with suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self._conns.clear()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@contextmanager
def proxied(url: str) -> Iterator[tuple[Proxy, str]]:
    proxy = Proxy(free_port(), ("127.0.0.1", 5432))
    proxy.start()
    try:
        yield proxy, url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    finally:
        proxy.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_outage_answers_503_with_retry_after_and_recovers(db_url: str) -> None:
    with proxied(db_url) as (proxy, url):
        svc = build_services(settings_for(url))
        with TestClient(create_app(svc.settings, svc), raise_server_exceptions=False) as c:
            assert _report(c, "before") == 201
            proxy.stop()
            r = c.post("/v1/reports", json={"item": "during", "category": "csam"})
            assert r.status_code == 503 and r.headers["Retry-After"], r.text
            assert "Traceback" not in r.text
            assert c.get("/readyz").status_code == 503
            assert c.get("/healthz").status_code == 200
            proxy.start()
            deadline = time.monotonic() + 15
            while (code := _report(c, "after")) != 201 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert code == 201
            assert c.get("/readyz").status_code == 200
        with svc.sessions() as s:
            items = set(s.scalars(select(AbuseReport.item_id)).all())
        assert items == {"before", "after"}  # nothing half-stored during the outage
        assert audit.verify(svc.sessions).ok
