"""The service's deny set (store/deny_repo.py) on SQLite and PostgreSQL: canonical identities,
rows written before they were canonical, removals and out-of-order commits seen by other workers,
URLs kept only as keyed digests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.screen.deny_set import DenyRecord, is_url_digest, url_digest
from indexguard.store import db, deny_repo, migrate
from indexguard.store.deny_repo import DatabaseDenySet
from indexguard.store.models import DenyEntry

IH = "ab" * 20
KEY = b"k" * 32  # the service hands in a subkey of its key (indexguard.cases.private_urls.url_key)


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(db_url)
    migrate.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def _matched(deny: DatabaseDenySet, **ids: list[str]) -> list[str | None]:
    return [r.matched for r in deny.lookup(ids)]


def test_writer_sees_at_once_others_after_refresh(factory: sessionmaker[Session]) -> None:
    a, b = DatabaseDenySet(factory, KEY), DatabaseDenySet(factory, KEY)
    a.refresh(), b.refresh()
    rec = a.add({"url": ["http://Example.COM:80/a/../b?x=1"], "infohash": [IH.upper()]}, DenyRecord("x", item_id="i1"))
    assert rec is not None
    assert _matched(a, url=["example.com/b?x=1"]) == ["url"]
    assert _matched(b, url=["https://example.com/b?x=1"]) == []
    assert b.refresh() and not b.refresh()  # nothing new the second time
    assert _matched(b, url=["https://example.com/b?x=1"]) == ["url"]
    assert _matched(b, infohash_v1=[IH]) == ["infohash_v1"]


def test_legacy_rows_are_normalised_on_load(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        s.add(DenyEntry(kind="url", value="HTTP://Example.COM:80/a/../b", item_id="old", decision_id=None))
        s.add(DenyEntry(kind="infohash", value=IH.upper(), item_id="old", decision_id=None))
        s.add(DenyEntry(kind="pdq", value="f" * 64, item_id="old", decision_id=None))  # not an identity type
    deny = DatabaseDenySet(factory, KEY)
    deny.refresh()
    assert _matched(deny, url=["http://example.com/b"], infohash=[IH]) == ["infohash_v1"]
    assert len(deny) == 1


def test_a_removal_reaches_other_workers(factory: sessionmaker[Session]) -> None:
    a, b = DatabaseDenySet(factory, KEY), DatabaseDenySet(factory, KEY)
    with factory() as s, s.begin():
        deny_repo.store(s, {"uploader": ["acct-1"]}, "item-1", None)
    a.refresh(), b.refresh()
    assert _matched(b, uploader=["acct-1"]) == ["uploader"]
    assert a.remove(deny_repo.record_key(None, "item-1"))
    assert _matched(a, uploader=["acct-1"]) == []
    assert b.refresh() and _matched(b, uploader=["acct-1"]) == []


def test_a_row_committed_after_a_later_one_is_still_read(factory: sessionmaker[Session]) -> None:
    deny = DatabaseDenySet(factory, KEY)
    with factory() as s, s.begin():
        for n in (1, 2, 3):
            deny_repo.store(s, {"md5": [str(n) * 32]}, f"item-{n}", None)
        gap = s.query(DenyEntry).filter_by(item_id="item-2").one()
        gap_id = gap.id
        s.delete(gap)  # the id a slower transaction holds while a later one commits
    deny.refresh()
    with factory() as s, s.begin():
        s.add(DenyEntry(id=gap_id, kind="md5", value="9" * 32, item_id="slow", decision_id=None))
        deny_repo.store(s, {"md5": ["4" * 32]}, "item-4", None)  # moves the counter
    deny.refresh()
    assert _matched(deny, md5=["9" * 32]) == ["md5"] and _matched(deny, md5=["4" * 32]) == ["md5"]


def test_urls_are_stored_and_matched_as_keyed_digests(factory: sessionmaker[Session]) -> None:
    deny = DatabaseDenySet(factory, KEY)
    deny.add({"url": ["http://Example.COM/zq-path?x=1"]}, DenyRecord("x7", item_id="i7"))
    with factory() as s:
        values = list(s.scalars(select(DenyEntry.value).where(DenyEntry.kind == "url")))
    assert values == [url_digest(KEY, "example.com/zq-path?x=1")] and is_url_digest(values[0])
    other = DatabaseDenySet(factory, KEY)
    other.refresh()
    assert _matched(other, url=["https://example.com/zq-path?x=1"]) == ["url"]
    assert _matched(DatabaseDenySet(factory, b"x" * 32), url=["https://example.com/zq-path?x=1"]) == []
    assert all("zq-path" not in repr(rec) for rec in other)


def test_a_url_without_a_key_is_never_stored_in_clear(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        added = deny_repo.store(s, {"url": ["http://example.com/zq-clear"], "md5": ["1" * 32]}, "i8", None)
        keyed = deny_repo.store(s, {"url": [url_digest(KEY, "example.com/zq-keyed")]}, "i9", None)
    assert (added, keyed) == (1, 1)
    with factory() as s:
        assert "zq-clear" not in repr(list(s.execute(select(DenyEntry.kind, DenyEntry.value))))
