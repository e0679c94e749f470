"""StopNCII and ThreatExchange into banks, through the library's real clients against local servers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("threatexchange")

from indexguard.crypto import Cipher
from indexguard.exchanges.fetch import fetch_source
from indexguard.exchanges.sources import Credentials, SourceConfig
from indexguard.store import db, lists_repo, migrate

from .json_servers import StopNciiState, ThreatExchangeState, serve_json
from .test_ncmec_fetch import MD5, PDQ

SUB, FN = "sub-key-A1b2", "fn-key-C3d4"
TOKEN = "1234567890|app-secret-XyZ"


@pytest.fixture
def factory(db_url: str) -> Iterator[object]:
    engine = db.make_engine(db_url)
    migrate.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def _entries(factory: object, bank: str) -> dict[str, dict[str, str]]:
    with factory() as s:  # type: ignore[operator]
        row = next(v for v in lists_repo.live_set(s).live if v.list_name == bank)
        return {e["id"]: e for e in lists_repo.entries_public(row)}


def _ncii(ts: int, h: str, kind: str = "ImagePDQ") -> dict[str, object]:
    return {"lastModtimestamp": ts, "signalType": kind, "hashValue": h, "hashStatus": "Active",
            "caseNumbers": {"case-1": "Active"}, "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": ["t1"],
                                                                  "source": "csp-x"}]}  # fmt: skip


def test_stopncii_first_and_incremental_fetch_with_paging(factory: object) -> None:
    state = StopNciiState(SUB, FN, page_size=2)
    state.records = [_ncii(100 + i, h) for i, h in enumerate(PDQ[:3])] + [_ncii(104, MD5[0], "VideoMD5")]
    server, url = serve_json(state.handle)
    try:
        cfg = SourceConfig(name="stopncii", api="stopncii", bank="NCII", category="ncii", base_url=url)
        creds = Credentials(stopncii_subscription_key=SUB, stopncii_fetch_function_key=FN)
        out = fetch_source(factory, Cipher(b"k" * 32), cfg, creds, owner="t")  # type: ignore[arg-type]
        assert out.ok, out.error
        assert out.batches == 2 and out.entries == 4 and out.activated == "live"
        assert {e["category"] for e in _entries(factory, "NCII").values()} == {"ncii"}
        state.records.append(_ncii(200, PDQ[4]))
        again = fetch_source(factory, Cipher(b"k" * 32), cfg, creds, owner="t")  # type: ignore[arg-type]
        assert again.ok and again.updated == 1 and again.entries == 5
        assert state.requests[-1]["startTimestamp"] == ["105"]  # from the checkpoint, not from the start
        withdrawn = {**_ncii(300, PDQ[0]), "hashStatus": "Withdrawn", "caseNumbers": {"case-1": "Withdrawn"}}
        state.records.append(withdrawn)
        third = fetch_source(factory, Cipher(b"k" * 32), cfg, creds, owner="t")  # type: ignore[arg-type]
        assert third.ok and third.deleted == 1 and third.entries == 4  # withdrawn by the person: gone
        bad = Credentials(stopncii_subscription_key=SUB, stopncii_fetch_function_key="wrong")
        failed = fetch_source(factory, Cipher(b"k" * 32), cfg, bad, owner="t")  # type: ignore[arg-type]
        assert not failed.ok and "authentication failed (HTTP 401)" in (failed.error or "")
    finally:
        server.shutdown()


def _te(i: int, h: str, ts: int, *, delete: bool = False, kind: str = "HASH_PDQ") -> dict[str, object]:
    u: dict[str, object] = {"id": str(9000 + i), "indicator": h, "type": kind, "last_updated": ts,
                            "should_delete": delete}  # fmt: skip
    if not delete:
        u["descriptors"] = {"data": [{"id": str(7000 + i), "owner": {"id": "42"}, "status": "MALICIOUS",
                                      "tags": ["placeholder_tag"], "reactions": []}]}  # fmt: skip
    return u


def test_threatexchange_updates_deletions_and_token_never_logged(
    factory: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = ThreatExchangeState(TOKEN, 555, page_size=2)
    state.updates = [_te(i, h, 1000 + i) for i, h in enumerate(PDQ[:3])]
    server, url = serve_json(state.handle)
    state.base = url
    try:
        cfg = SourceConfig(name="te", api="fb_threatexchange", bank="TE_BANK", category="csam", base_url=url,
                           privacy_group=555)  # fmt: skip
        creds = Credentials(te_token=TOKEN)
        out = fetch_source(factory, Cipher(b"k" * 32), cfg, creds, owner="t")  # type: ignore[arg-type]
        assert out.ok, out.error
        assert out.batches == 2 and out.entries == 3
        first_ids = set(_entries(factory, "TE_BANK"))
        state.updates = [_te(0, PDQ[0], 2000, delete=True), _te(5, PDQ[4], 2001)]
        again = fetch_source(factory, Cipher(b"k" * 32), cfg, creds, owner="t")  # type: ignore[arg-type]
        assert again.ok and again.deleted == 1 and again.entries == 3 and again.created
        now_ids = set(_entries(factory, "TE_BANK"))
        assert len(first_ids - now_ids) == 1 and len(now_ids - first_ids) == 1  # one withdrawn, one new
        bad = Credentials(te_token="999|wrong-secret")
        failed = fetch_source(factory, Cipher(b"k" * 32), cfg, bad, owner="t")  # type: ignore[arg-type]
        assert not failed.ok and "HTTP 400" in (failed.error or "")
        for text in (failed.error or "", again.error or "", caplog.text):
            assert "app-secret-XyZ" not in text and "wrong-secret" not in text
    finally:
        server.shutdown()
