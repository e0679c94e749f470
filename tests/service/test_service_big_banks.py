"""Hash lists as shared snapshots: written at import with activation, opened by every worker and
after a restart without re-reading the list (generated hashes only)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env

from indexguard.store import lists_repo
from indexguard.web.app import build_services, create_app


def _bank_csv(n: int, seed: int = 9) -> tuple[str, list[str]]:
    rnd = random.Random(seed)
    hashes = [rnd.randbytes(32).hex() for _ in range(n)]
    return "hash,type,id\n" + "".join(f"{h},pdq,b{i}\n" for i, h in enumerate(hashes)), hashes


def _import(env: Env, text: str, activate: bool = True) -> dict[str, object]:
    r = env.client.post(
        "/v1/lists",
        params={"name": "bank", "kind": "hash", "activate": str(activate).lower()},
        content=text.encode(),
        headers={**env.auth("lists"), "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_activation_writes_a_snapshot_that_a_restart_uses_without_the_list(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, hashes = _bank_csv(3000)
    info = _import(env, text)
    env.wait_live("bank", str(info["version"]))
    assert info["entries"] == 3000
    snapshots = env.svc.live.snapshots
    assert snapshots is not None
    assert (snapshots.path("bank", str(info["version"])) / "meta.json").is_file()
    # A restart: new services on the same database and snapshot directory must not parse the list.
    real_load = lists_repo.load

    def load(cipher: object, row: object) -> object:
        assert getattr(row, "kind", None) != "hash", "re-parsed the hash list instead of opening the snapshot"
        return real_load(cipher, row)  # type: ignore[arg-type]

    monkeypatch.setattr(lists_repo, "load", load)
    svc = build_services(env.svc.settings)
    with TestClient(create_app(svc.settings, svc)) as client:
        assert svc.live.state is not None and svc.live.state.versions["bank"] == info["version"]
        r = client.get("/v1/lookup", params={"type": "pdq", "hash": hashes[1234]}, headers=env.auth("screen"))
        assert [(m["entry"], m["distance"]) for m in r.json()["matches"]] == [("b1234", 0)]


def test_a_missing_or_broken_snapshot_is_rebuilt_from_the_database(env: Env) -> None:
    text, hashes = _bank_csv(500, seed=10)
    info = _import(env, text, activate=False)  # no snapshot yet: the first worker to need it builds it
    snapshots = env.svc.live.snapshots
    assert snapshots is not None
    where = snapshots.path("bank", str(info["version"]))
    assert not where.exists()
    r = env.client.post(f"/v1/lists/bank/versions/{info['number']}/activate", headers=env.auth("lists"))
    assert r.status_code == 200
    env.wait_live("bank", str(info["version"]))
    assert (where / "meta.json").is_file()
    (where / "meta.json").write_text("{not json")
    assert snapshots.open("bank", str(info["version"])) is None
    svc = build_services(env.svc.settings)
    with TestClient(create_app(svc.settings, svc)) as client:
        r = client.get("/v1/lookup", params={"type": "pdq", "hash": hashes[7]}, headers=env.auth("screen"))
        assert [m["entry"] for m in r.json()["matches"]] == ["b7"]


def test_hash_list_versions_show_entries_and_diff_without_stored_digests(env: Env) -> None:
    text, hashes = _bank_csv(50, seed=11)
    first = _import(env, text)
    changed = text.replace(hashes[5], random.Random(1).randbytes(32).hex()).replace(",b9\n", ",b9x\n")
    second = _import(env, changed)
    auth = env.auth("lists")
    v = env.client.get(f"/v1/lists/bank/versions/{first['number']}", headers=auth).json()
    assert v["entry_list"][0] == {"id": "b0", "category": "csam", "severity": "review", "mode": "pdq"}
    assert len(v["entry_list"]) == 50 and hashes[0] not in str(v)
    d = env.client.get("/v1/lists/bank/diff", params={"from": "1", "to": str(second["number"])}, headers=auth).json()
    assert d["added"] == ["b9x"] and d["removed"] == ["b9"]
    assert d["changed"] == [{"id": "b5", "fields": ["text"]}]


def test_snapshot_directory_must_be_private(tmp_path: Path) -> None:
    from indexguard.lists.hash_list import ListOptions
    from indexguard.lists.packed_bank import parse_packed
    from indexguard.store.list_snapshots import SnapshotDirError, Snapshots

    open_dir = tmp_path / "group-writable"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    bank = parse_packed(_bank_csv(10)[0], "b", ListOptions("b"))
    with pytest.raises(SnapshotDirError):
        Snapshots(open_dir).save(bank)


def test_a_list_too_big_for_one_database_row_is_refused_clearly(env: Env) -> None:
    engine = env.svc.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's row size limit, lowered here so that a small list reaches it")
    import sqlite3

    from sqlalchemy import event

    def small_rows(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 200_000)

    event.listen(engine, "connect", small_rows)
    engine.dispose()
    text, _hashes = _bank_csv(5_000)
    r = env.client.post("/v1/lists", params={"name": "toobig", "kind": "hash", "activate": "true"},
                        content=text.encode(), headers={**env.auth("lists"), "Content-Type": "text/csv"})
    assert r.status_code == 413, r.text
    assert "split it into several lists" in r.json()["detail"]
    event.remove(engine, "connect", small_rows)
    engine.dispose()
    assert env.client.get("/v1/lists", headers=env.auth("lists")).status_code == 200
    with env.svc.sessions() as s:
        assert all(v["name"] != "toobig" for v in lists_repo.summaries(s))  # nothing half-stored
