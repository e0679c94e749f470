"""The outbox against a local NCMEC stand-in: retries, expiry, crashes between steps, retraction."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hotline_helpers import fresh_store, schema_path
from ncmec_fake import FakeNcmec
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.demo.hotline_data import demo_snapshots
from indexguard.hotline import evidence
from indexguard.hotline.ncmec_client import NcmecClient, NcmecError
from indexguard.hotline.ncmec_xml import ReporterInfo
from indexguard.hotline.outbox import Outbox, OutboxConfig, OutboxError
from indexguard.store.models import AuditEntry, HotlineReport


@dataclass
class Clock:
    now: datetime = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing catches it."""


class CrashAfter:
    """Passes calls to the real client and dies right after the named call reached the server."""

    def __init__(self, real: NcmecClient, step: str) -> None:
        self.real, self.step = real, step

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.real, name)

        def call(*args: Any) -> Any:
            out = fn(*args)
            if name == self.step:
                raise Crash(name)
            return out

        return call


@dataclass
class Env:
    fake: FakeNcmec
    factory: sessionmaker[Session]
    cipher: Cipher
    clock: Clock
    client: NcmecClient

    def outbox(self, client: Any = None, **cfg: Any) -> Outbox:
        return Outbox(
            self.factory, self.cipher, client or self.client, OutboxConfig(**cfg), self.clock, random.Random(1)
        )

    def enqueue(self, index: int = 0) -> int:
        pid = evidence.preserve(
            self.factory, self.cipher, demo_snapshots()[index], "mod", "confirmed", now=self.clock()
        )
        return self.outbox().enqueue(pid, ReporterInfo(), "mod")


@pytest.fixture
def env(tmp_path: Path, fixtures_dir: Path) -> Iterator[Env]:
    clock = Clock()
    fake = FakeNcmec(schema_path(fixtures_dir), clock).start()
    factory, cipher = fresh_store(tmp_path)
    client = NcmecClient("esp", "secret", base_url=fake.url, timeout=5)
    yield Env(fake, factory, cipher, clock, client)
    client.close()
    fake.stop()


def row(env: Env, row_id: int) -> HotlineReport:
    with env.factory() as s:
        r = s.get(HotlineReport, row_id)
        assert r is not None
        return r


def test_files_a_torrent_case_with_its_file_and_details(env: Env) -> None:
    rid = env.enqueue(0)
    assert env.outbox().process(rid) == "finished"
    [filed] = env.fake.finished()
    assert row(env, rid).remote_id == filed.id
    assert b"<peer2peerIncident>" in filed.xml
    [f] = filed.files.values()  # the .torrent; the thumbnail is kept as hashes only
    assert str(f["name"]).endswith(".torrent") and f["info"] is not None
    assert b"<fileViewedByEsp>false</fileViewedByEsp>" in f["info"]  # type: ignore[operator]
    with env.factory() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "hotline.filed")).one()
    assert env.outbox().enqueue(row(env, rid).package_id or 0, ReporterInfo(), "mod") == rid  # never twice


def test_retries_with_backoff_after_failures(env: Env) -> None:
    rid = env.enqueue(4)  # NZB case: newsgroup incident plus the .nzb file
    env.fake.fail("/ispws/submit", "http500", "code1000")
    box = env.outbox(base_delay_s=60)
    assert box.process(rid) == "queued"
    first = row(env, rid)
    assert first.attempts == 1 and "HTTP 500" in first.last_error
    assert box.run_due() == {}  # not due yet
    env.clock.now = first.next_attempt_at.replace(tzinfo=UTC) + timedelta(seconds=1)
    assert box.run_due() == {rid: "queued"} and row(env, rid).attempts == 2
    delay = row(env, rid).next_attempt_at.replace(tzinfo=UTC) - env.clock.now
    assert timedelta(seconds=60) <= delay <= timedelta(seconds=120)  # doubled, with jitter
    env.clock.now += delay + timedelta(seconds=1)
    env.fake.fail("/ispws/upload", "http500")
    assert box.run_due() == {rid: "open"}  # the upload's outcome is unknown now
    env.clock.now += timedelta(hours=1)
    assert box.run_due() == {rid: "finished"}
    [filed] = env.fake.finished()
    assert b"<newsgroupIncident>" in filed.xml and len(filed.files) == 1
    assert [r.state for r in env.fake.reports.values()] == ["retracted", "finished"]


def test_gives_up_after_max_attempts_and_on_refusal(env: Env) -> None:
    rid = env.enqueue(2)
    env.fake.fail("/ispws/submit", *["http500"] * 3)
    box = env.outbox(max_attempts=3, base_delay_s=1)
    for _ in range(3):
        box.process(rid)
        env.clock.now += timedelta(minutes=5)
    assert row(env, rid).state == "failed"
    bad = Outbox(env.factory, env.cipher, NcmecClient("esp", "wrong", base_url=env.fake.url), clock=env.clock)
    rid2 = env.enqueue(3)
    assert bad.process(rid2) == "failed" and "credentials refused" in row(env, rid2).last_error
    assert env.fake.finished() == []


def test_expired_unfinished_report_is_submitted_again(env: Env) -> None:
    rid = env.enqueue(0)
    env.fake.fail("/ispws/upload", "http500")
    box = env.outbox(base_delay_s=1)
    assert box.process(rid) == "open"
    first_remote = row(env, rid).remote_id
    env.clock.now += timedelta(hours=25)  # NCMEC deleted the unfinished report meanwhile
    assert box.process(rid) == "finished"
    assert env.fake.gone(first_remote or 0)
    [filed] = env.fake.finished()
    assert filed.id != first_remote and len(filed.files) == 1
    assert any("expired" in str(h.get("why", "")) for h in row(env, rid).history)


def test_report_deleted_by_ncmec_before_we_noticed(env: Env) -> None:
    rid = env.enqueue(0)
    env.fake.fail("/ispws/fileinfo", "http500")
    assert env.outbox().process(rid) == "open"
    env.clock.now += timedelta(hours=24, minutes=3)
    late = env.outbox(expiry_margin=timedelta(minutes=-10))  # our clock lags: NCMEC answers 5001
    assert late.process(rid) == "finished"
    assert len(env.fake.finished()) == 1
    assert any("no longer exists" in str(h.get("why", "")) for h in row(env, rid).history)


def test_idle_expiry_detected_locally_before_ncmec_deletes(env: Env) -> None:
    rid = env.enqueue(0)
    with pytest.raises(Crash):
        env.outbox(CrashAfter(env.client, "submit")).process(rid)
    env.clock.now += timedelta(hours=23, minutes=58)  # < 24 h, but inside the safety margin
    assert env.outbox().process(rid) == "finished"
    assert len(env.fake.finished()) == 1


@pytest.mark.parametrize("step", ["submit", "upload", "file_info", "finish"])
def test_no_duplicate_after_a_crash_between_steps(env: Env, step: str) -> None:
    rid = env.enqueue(0)
    with pytest.raises(Crash):
        env.outbox(CrashAfter(env.client, step)).process(rid)
    assert env.outbox().process(rid) == "finished"  # the restarted process
    assert env.outbox().process(rid) == "finished"
    filed = env.fake.finished()
    assert len(filed) == 1, [r.state for r in env.fake.reports.values()]
    assert len(filed[0].files) == 1  # the .torrent once, never twice
    assert env.fake.calls.count("/ispws/finish") <= 2


def test_lost_answer_to_finish_is_not_a_second_filing(env: Env) -> None:
    rid = env.enqueue(5)
    env.fake.fail("/ispws/finish", "lost")
    box = env.outbox(base_delay_s=1)
    assert box.process(rid) == "finishing"
    env.clock.now += timedelta(minutes=1)
    assert box.process(rid) == "finished"
    assert len(env.fake.finished()) == 1


def test_retract_before_finish(env: Env) -> None:
    rid = env.enqueue(0)
    with pytest.raises(Crash):
        env.outbox(CrashAfter(env.client, "upload")).process(rid)
    remote = row(env, rid).remote_id or 0
    env.outbox().retract(rid, "lead", "sent in error")
    assert env.fake.reports[remote].state == "retracted" and row(env, rid).state == "retracted"
    assert env.outbox().process(rid) == "retracted"
    with pytest.raises(OutboxError, match="already retracted"):
        env.outbox().retract(rid, "lead", "again")


def test_finished_report_cannot_be_retracted(env: Env) -> None:
    rid = env.enqueue(7)
    assert env.outbox().process(rid) == "finished"
    with pytest.raises(OutboxError, match="cannot be retracted"):
        env.outbox().retract(rid, "lead", "too late")


def test_client_speaks_the_documented_protocol(env: Env) -> None:
    assert "Remote User" in env.client.status()
    with pytest.raises(NcmecError) as e:
        env.client.submit(b"<report><bogus/></report>")
    assert e.value.code == 4100 and not e.value.retryable and "Request-ID" in str(e.value)
    with pytest.raises(NcmecError) as e2:
        env.client.finish(1)
    assert e2.value.code == 5001
