"""Migration 0008 converts URLs stored in clear before issue 14 into their keyed, shown-by-host and
sealed forms, on SQLite and PostgreSQL; without the key it converts nothing and says why."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from indexguard.cases.meta import CaseMeta
from indexguard.cases.private_urls import SHOWN, UrlKeys, full_fields, full_urls
from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.store import db, migrate
from indexguard.store.deny_repo import DatabaseDenySet
from indexguard.store.models import AbuseReport, Base, Case, DecisionRecord, DenyEntry, RecordQueueEntry

OLD = "https://files.example.com/zq-old-path/a?b=1"
TRACKER = "https://tracker.example.com/zqpasskey/announce"
LISTED = "https://listed.example.com/zq-old-path/listed"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = db.make_engine(db_url)
    yield e
    e.dispose()


def _meta() -> dict[str, object]:
    return CaseMeta.from_json({
        "kind": "listing",
        "fields": [{"name": "title", "text": "garden"}, {"name": "magnet.trackers[0]", "text": TRACKER}],
        "urls": [{"name": "urls[0]", "text": OLD}],
    }).to_json()  # fmt: skip


def _old_rows(engine: Engine) -> None:
    migrate.upgrade(engine, "0007_record_queue")
    factory = db.session_factory(engine)
    with factory() as s, s.begin():
        d = DecisionRecord(item_id="old-1", kind="listing", action="block", reasons=[], list_versions={},
                           identities=[["url", OLD], ["md5", "1" * 32]], client_hash="h")  # fmt: skip
        s.add(d)
        s.flush()
        s.add(DenyEntry(kind="url", value=OLD, item_id="old-1", decision_id=d.id))
        s.add(DenyEntry(kind="url", value="HTTP://FILES.example.com:80/zq-old-path/a?b=1", item_id="old-2"))
        s.add(DenyEntry(kind="md5", value="1" * 32, item_id="old-1", decision_id=d.id))
        s.add(Case(item_id="old-1", kind="listing", status="open", severity="block", category="csam",
                   source="screen", meta=_meta()))  # fmt: skip
        s.add(RecordQueueEntry(payload={"item_id": "old-3", "meta": _meta()}))
        # A case whose first URL a URL list matched: withheld in the case, kept only by its decision.
        s.add(DecisionRecord(item_id="old-4", kind="listing", action="block", reasons=[], list_versions={},
                             identities=[["url", LISTED], ["url", OLD]], client_hash="h"))  # fmt: skip
        withheld = CaseMeta.from_json({"kind": "listing", "urls": [
            {"name": "urls[0]", "text": "[withheld: matched a list]", "matched": True},
            {"name": "urls[1]", "text": OLD}]}).to_json()  # fmt: skip
        s.add(Case(item_id="old-4", kind="listing", status="open", severity="block", category="csam",
                   source="hotline", meta=withheld))  # fmt: skip
        s.add(AbuseReport(reference="r-1", item_id="old-1", category="csam", url=OLD, reporter="public",
                          client_hash="c"))  # fmt: skip


def _dump(engine: Engine) -> str:
    factory = db.session_factory(engine)
    with factory() as s:
        return "\n".join(repr(row) for t in Base.metadata.sorted_tables for row in s.execute(select(t)).all())


def test_stored_urls_are_converted_with_the_key(engine: Engine) -> None:
    _old_rows(engine)
    cipher = Cipher(secrets.token_bytes(32))
    assert migrate.upgrade(engine, cipher=cipher) == migrate.head()
    text = _dump(engine)
    assert "zq-old-path" not in text and "zqpasskey" not in text
    keys = UrlKeys(cipher)
    digest = keys.digest(OLD)
    factory = db.session_factory(engine)
    with factory() as s:
        assert list(s.scalars(select(DenyEntry.value).where(DenyEntry.kind == "url"))) == [digest]  # merged
        pairs = s.scalars(select(DecisionRecord.identities).where(DecisionRecord.item_id == "old-1")).one()
        assert sorted(map(tuple, pairs)) == sorted(
            [("md5", "1" * 32), ("url", digest), (SHOWN, "https://files.example.com/\u2026")]
        )
        meta = CaseMeta.from_json(s.scalars(select(Case.meta).where(Case.item_id == "old-1")).one())
        listed = CaseMeta.from_json(s.scalars(select(Case.meta).where(Case.item_id == "old-4")).one())
        queued = CaseMeta.from_json(s.scalars(select(RecordQueueEntry.payload)).one()["meta"])
        report_url = s.scalars(select(AbuseReport.url)).one()
    for m in (meta, queued):
        assert full_urls(m, cipher) == (OLD,)
        assert full_fields(m, cipher)["magnet.trackers[0]"] == TRACKER
        assert m.identities["url"] == (digest,)
    assert [u.text for u in meta.urls] == ["https://files.example.com/\u2026"]
    assert full_urls(listed, cipher) == (LISTED, OLD)  # the withheld one sealed from its decision's copy
    assert listed.urls[0].text == "[withheld: matched a list]"
    from indexguard.cases.filing import open_url

    assert open_url(cipher, report_url) == OLD
    # The service's deny set still refuses the address, in any spelling.
    deny = DatabaseDenySet(factory, keys.key)
    deny.refresh()
    assert [r.matched for r in deny.lookup({"url": ["http://files.example.com/zq-old-path/a?b=1"]})] == ["url"]


def test_without_the_key_it_stops_and_converts_nothing(engine: Engine) -> None:
    _old_rows(engine)
    with pytest.raises(IndexguardError, match="needs the service key"):
        migrate.upgrade(engine)
    assert migrate.current(engine) == "0007_record_queue" and "zq-old-path" in _dump(engine)


def test_an_empty_database_needs_no_key(engine: Engine) -> None:
    assert migrate.upgrade(engine) == migrate.head()
