"""Re-uploads through the running service: the deny set matches canonical identities, at once in
the worker that blocked the item and within one poll interval in the others."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator

import bencode2
import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import TERMS, Env

from indexguard.web.app import build_services, create_app
from indexguard.web.deps import Services


def _torrent(name: str) -> tuple[bytes, str]:
    payload = b"synthetic payload " + name.encode()
    info = {b"name": name.encode(), b"length": len(payload), b"piece length": 16384,
            b"pieces": hashlib.sha1(payload).digest()}  # fmt: skip
    return bencode2.bencode({b"info": info}), hashlib.sha1(bencode2.bencode(info)).hexdigest()


def _listing(env: Env, client: TestClient, **fields: object) -> dict:
    r = client.post("/v1/listings", json=fields, headers=env.auth("screen"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _deny_views(d: dict) -> set[str]:
    return {x["view"] for x in d["reasons"] if x["list"] == "deny-set"}


def test_url_in_another_spelling_and_torrent_as_magnet_are_refused_at_once(env: Env) -> None:
    env.wait_live("site", env.import_list("site", TERMS)["version"])
    first = _listing(env, env.client, id="R1", title="wexal tromp pack", url="http://Example.COM:80/a/../b?x=1")
    assert first["action"] == "block" and not _deny_views(first)
    data, ih = _torrent("bizu collection")
    r = env.client.post("/v1/torrents", files={"file": ("t.torrent", data)}, data={"id": "R3"},
                        headers=env.auth("screen"))  # fmt: skip
    assert r.json()["action"] == "block"
    # No wait: the worker that blocked them already refuses both.
    url = _listing(env, env.client, id="R2", title="garden tools", url="http://example.com/b?x=1")
    assert url["action"] == "block" and _deny_views(url) == {"identity:url"}
    b32 = base64.b32encode(bytes.fromhex(ih)).decode()
    for n, magnet in enumerate((f"magnet:?xt=urn:btih:{ih.upper()}", f"magnet:?xt=urn:btih:{b32}&dn=holiday")):
        d = _listing(env, env.client, id=f"R4-{n}", title="holiday photos", magnet=magnet)
        assert d["action"] == "block" and _deny_views(d) == {"identity:infohash_v1"}, d
    # The deny reason names the earlier decision, never a term; unrelated items still pass.
    assert all("wexal" not in str(x) and "bizu" not in str(x) for x in url["reasons"])
    assert _listing(env, env.client, id="R5", title="garden tools", url="http://example.com/c")["action"] == "allow"


def test_a_blocked_listing_does_not_ban_its_uploader(env: Env) -> None:
    env.wait_live("site", env.import_list("site", TERMS)["version"])
    assert _listing(env, env.client, id="U1", title="bizu", uploader_id="acct-9")["action"] == "block"
    assert _listing(env, env.client, id="U2", title="garden tools", uploader_id="acct-9")["action"] == "allow"


@pytest.fixture
def second_worker(env: Env) -> Iterator[tuple[Services, TestClient]]:
    """Another worker of the same service: its own process state, the same database."""
    svc = build_services(env.svc.settings.model_copy(update={"bootstrap": False}))
    with TestClient(create_app(svc.settings, svc)) as client:
        yield svc, client


def test_other_workers_refuse_a_reupload_after_their_next_poll(
    env: Env, second_worker: tuple[Services, TestClient]
) -> None:
    svc2, client2 = second_worker
    version = env.import_list("site", TERMS)["version"]
    env.wait_live("site", version)
    deadline = time.monotonic() + 10
    while (svc2.live.state is None or svc2.live.state.versions.get("site") != version) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _listing(env, env.client, id="W1", title="bizu", url="https://Example.org/x/./y")["action"] == "block"
    deadline = time.monotonic() + 10 * env.svc.settings.poll_seconds + 5
    while True:
        d = _listing(env, client2, id="W2", title="garden tools", url="https://example.org/x/y")
        if d["action"] == "block" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert d["action"] == "block" and _deny_views(d) == {"identity:url"}


def test_export_writes_the_services_deny_set_for_trackers(env: Env, db_url: str) -> None:
    from typer.testing import CliRunner

    from indexguard.cli.main import build_app

    env.wait_live("site", env.import_list("site", TERMS)["version"])
    data, ih = _torrent("wexal tromp set")
    r = env.client.post("/v1/torrents", files={"file": ("t.torrent", data)}, data={"id": "E1"},
                        headers=env.auth("screen"))  # fmt: skip
    assert r.json()["action"] == "block"
    clean, clean_ih = _torrent("garden tools")
    env.client.post("/v1/torrents", files={"file": ("c.torrent", clean)}, data={"id": "E2"}, headers=env.auth("screen"))
    out = CliRunner().invoke(build_app(), ["export", "--format", "v1", "--database", db_url])
    assert out.exit_code == 0, out.output
    lines = {x.strip().lower() for x in out.stdout.splitlines() if x.strip() and not x.startswith("#")}
    assert ih in lines and clean_ih not in lines
    bad = CliRunner().invoke(build_app(), ["export", "--format", "v1", "--database", "nosuch://x"])
    assert bad.exit_code == 2 and "unsupported database URL" in bad.output


def test_a_flagged_torrent_is_parsed_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexguard.formats import torrent

    env.wait_live("site", env.import_list("site", TERMS)["version"])
    calls: list[int] = []
    real = torrent.parse_torrent

    def counting(*a: object, **k: object) -> torrent.Torrent:
        calls.append(1)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(torrent, "parse_torrent", counting)
    data, _ih = _torrent("husinjopuk set")
    r = env.client.post("/v1/torrents", files={"file": ("t.torrent", data)}, data={"id": "P1"},
                        headers=env.auth("screen"))  # fmt: skip
    assert r.json()["action"] == "block" and len(calls) == 1
    assert env.svc.listings.drain()  # cases open behind the answer, from the durable queue
    case = env.client.get("/v1/cases", params={"status": "open"}, headers=env.auth("cases")).json()["cases"]
    meta = next(c["meta"] for c in case if c["item"] == "P1")
    assert any(f["name"] == "name" and f["matched"] is True for f in meta["fields"])  # the case has the parsed fields
