"""NCMEC hash sharing into a bank, through the library's real client against a local NCMEC-shaped server."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("threatexchange")

from indexguard.crypto import Cipher
from indexguard.exchanges.fetch import fetch_source
from indexguard.exchanges.sources import Credentials, SourceConfig
from indexguard.store import db, lists_repo, migrate
from indexguard.store.exchange_models import ExchangeRecord, ExchangeState
from indexguard.store.models import ListVersion

from .ncmec_server import Entry, NcmecState, serve

USER, PASSWORD = "esp-user-7", "pw-Secr3t-Value-42"
_RNG = random.Random(19)
PDQ = [f"{_RNG.getrandbits(256):064x}" for _ in range(5)]  # generated: no hash of any real image
MD5 = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]


@pytest.fixture
def env(db_url: str) -> Iterator[tuple[NcmecState, str, object, Cipher]]:
    state = NcmecState(USER, PASSWORD, page_size=2)
    server, url = serve(state)
    engine = db.make_engine(db_url)
    migrate.upgrade(engine)
    factory = db.session_factory(engine)
    try:
        yield state, url, factory, Cipher(b"k" * 32)
    finally:
        server.shutdown()
        engine.dispose()


def _cfg(url: str, **kw: object) -> SourceConfig:
    return SourceConfig(name="ncmec-test", api="ncmec", bank="NCMEC_TEST", category="csam", base_url=url, **kw)  # type: ignore[arg-type]


CREDS = Credentials(ncmec_user=USER, ncmec_password=PASSWORD)


def _seed(state: NcmecState, now: int) -> None:
    for i, h in enumerate(PDQ[:4]):
        state.put(Entry(f"img{i}", 42 + i % 2, now - 3600 + i, "image", "A1" if i % 2 == 0 else "B2", {"pdq": h}))
    state.put(Entry("vid0", 42, now - 3000, "video", "A2", {"md5": MD5[0]}))


def _live_entries(factory: object) -> dict[str, dict[str, str]]:
    with factory() as s:  # type: ignore[operator]
        live = lists_repo.live_set(s)
        row = next(v for v in live.live if v.list_name == "NCMEC_TEST")
        return {e["id"]: e for e in lists_repo.entries_public(row)}


def test_first_fetch_pages_and_fills_the_bank(env: tuple) -> None:
    state, url, factory, cipher = env
    _seed(state, int(time.time()))
    out = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert out.ok, out.error
    assert out.records == 5 and out.entries == 5 and out.created and out.activated == "live"
    assert out.batches >= 3  # five entries, two a page
    assert any("start=" in p for p in state.requests)  # followed the server's `next`
    entries = _live_entries(factory)
    assert {e["category"] for e in entries.values()} == {"csam"}
    assert "ncmec-test:42-img0:pdq" in entries and "ncmec-test:42-vid0:md5" in entries


def test_incremental_fetch_applies_additions_updates_and_deletions(env: tuple) -> None:
    state, url, factory, cipher = env
    now = int(time.time())
    _seed(state, now)
    first = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert first.ok and first.records == 5
    time.sleep(1.1)
    later = int(time.time()) - 6 + 1  # after the first fetch's end, before the next one's
    state.entries.clear()  # the upstream now answers only what changed since
    _seed_changes = [
        Entry("img9", 44, later, "image", "A1", {"pdq": PDQ[4]}),
        Entry("img1", 43, later, "image", "A2", {"pdq": PDQ[1]}),  # reclassified
    ]
    for e in _seed_changes:
        state.put(e)
    state.put(Entry("img0", 42, later, "image", None, {}, deleted=True))
    time.sleep(6)  # the client never asks for the last 5 seconds
    second = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert second.ok, second.error
    assert second.deleted == 1 and second.records == 5 and second.created
    entries = _live_entries(factory)
    assert "ncmec-test:42-img0:pdq" not in entries  # withdrawn upstream: left the bank
    assert "ncmec-test:44-img9:pdq" in entries
    with factory() as s:
        versions = lists_repo.versions(s, "NCMEC_TEST")
        v1, v2 = lists_repo.resolve(s, "NCMEC_TEST", "1"), lists_repo.resolve(s, "NCMEC_TEST", "2")
        diff = lists_repo.diff(v1, v2, cipher)
    assert [v.number for v in versions] == [1, 2] and versions[1].live
    assert diff["removed"] == ["ncmec-test:42-img0:pdq"] and diff["added"] == ["ncmec-test:44-img9:pdq"]
    with factory() as s, s.begin():
        lists_repo.rollback(s, "NCMEC_TEST")  # the operator prefers version 1 for now
    time.sleep(1.1)
    third = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert third.ok and not third.created  # nothing new: no new version
    with factory() as s:
        assert [v.number for v in lists_repo.versions(s, "NCMEC_TEST") if v.live] == [1]  # rollback kept


def test_crash_mid_fetch_resumes_without_duplicates(env: tuple) -> None:
    state, url, factory, cipher = env
    _seed(state, int(time.time()))

    def crash(_n: int) -> None:
        with factory() as s:
            if s.query(ExchangeRecord).count() >= 2:
                raise KeyboardInterrupt  # the process dies after the first committed page of data

    with pytest.raises(KeyboardInterrupt):
        fetch_source(factory, cipher, _cfg(url), CREDS, owner="a", after_batch=crash)
    with factory() as s:
        assert s.query(ExchangeRecord).count() == 2 and s.query(ListVersion).count() == 0
    other = fetch_source(factory, cipher, _cfg(url), CREDS, owner="b")  # the dead fetch's lease still holds
    assert other.busy and not other.ok
    before = len(state.requests)
    out = fetch_source(factory, cipher, _cfg(url), CREDS, owner="a")
    assert out.ok and out.resumed and out.records == 5 and out.entries == 5
    assert all("from=19" not in r for r in state.requests[before:])  # carried on, not from the start
    assert any("from=19" in r for r in state.requests[:before])
    with factory() as s:
        assert s.query(ExchangeRecord).count() == 5


def test_auth_failure_is_reported_without_credentials(env: tuple, caplog: pytest.LogCaptureFixture) -> None:
    state, url, factory, cipher = env
    _seed(state, int(time.time()))
    caplog.set_level(logging.DEBUG)
    bad = Credentials(ncmec_user=USER, ncmec_password="wrong-" + PASSWORD)
    out = fetch_source(factory, cipher, _cfg(url), bad, owner="t")
    assert not out.ok and "authentication failed (HTTP 401)" in (out.error or "")
    with factory() as s:
        st = s.get(ExchangeState, "ncmec-test")
        assert st is not None and st.failures == 1 and st.lease_owner is None
        assert s.query(ListVersion).count() == 0
    for secret in (PASSWORD, USER):
        assert secret not in caplog.text and secret not in (out.error or "")
    assert all(h not in caplog.text for h in PDQ)


def test_server_errors_are_retried_with_backoff_then_reported(env: tuple) -> None:
    state, url, factory, cipher = env
    _seed(state, int(time.time()))
    state.fail_next = [503, 500]
    t0 = time.monotonic()
    out = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert out.ok and out.records == 5
    assert time.monotonic() - t0 >= 0.2  # urllib3's back-off between the retries
    state.fail_next = [503] * 10
    time.sleep(1.1)  # a new second to ask about
    failed = fetch_source(factory, cipher, _cfg(url), CREDS, owner="t")
    assert not failed.ok and "failing after the client's retries (HTTP 503)" in (failed.error or "")
    assert len(state.fail_next) == 5  # one try and four retries, then it stopped
    with factory() as s:
        assert lists_repo.versions(s, "NCMEC_TEST")[0].live  # the bank stays as it was
