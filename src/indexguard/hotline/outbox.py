"""The NCMEC report outbox: submit -> upload files -> file info -> finish, with retries, expiry and
retraction, idempotent across a crash between any two steps.

Every step is committed to the database before and after its HTTP call, so a restarted outbox knows
where it stood:

- `submitting` found on restart: whether NCMEC opened a report is unknown. Only `finish` files a
  report, and an unfinished report is deleted by NCMEC on its own, so the outbox submits afresh;
  the orphan (if any) is never finished, so the case is never filed twice.
- a file left `uploading`: it may or may not be in the report. Rather than risk a duplicate file in a
  filed report, the outbox retracts that report and starts over with a new one.
- `finishing` found on restart: `finish` is called again for the same report id; "already finished"
  (5102) counts as done. A case has at most one report that is not retracted or failed.
- NCMEC deletes an unfinished report 24 h after it was opened or 1 h after its last change, whichever
  is later: the outbox treats the report as expired a margin before that (and on "report does not
  exist", 5001), records the lost report id, and submits again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.hotline import evidence
from indexguard.hotline.ncmec_client import (
    ALREADY_FINISHED,
    ALREADY_RETRACTED,
    REPORT_DOES_NOT_EXIST,
    Finished,
    NcmecError,
    Upload,
)
from indexguard.hotline.ncmec_xml import ReporterInfo, build_file_details, build_report
from indexguard.hotline.snapshot import CaseSnapshot, utc
from indexguard.store import audit, cases_repo
from indexguard.store import hotline_repo as repo
from indexguard.store.models import HotlineReport, utcnow

HOTLINE = "ncmec"
OPEN_LIFETIME = timedelta(hours=24)
IDLE_LIFETIME = timedelta(hours=1)
ACTOR = "hotline-outbox"


class OutboxError(IndexguardError):
    """An outbox request that cannot be done (unknown report, retracting a filed report)."""


class Client(Protocol):
    def submit(self, report_xml: bytes) -> int: ...
    def upload(self, report_id: int, filename: str, data: bytes) -> Upload: ...
    def file_info(self, details_xml: bytes) -> None: ...
    def finish(self, report_id: int) -> Finished: ...
    def retract(self, report_id: int) -> None: ...


@dataclass(frozen=True)
class OutboxConfig:
    max_attempts: int = 8
    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    expiry_margin: timedelta = timedelta(minutes=5)
    upload_files: bool = True  # .torrent/.nzb bytes (and preserved images) go up as files


class Outbox:
    def __init__(
        self,
        factory: sessionmaker[Session],
        cipher: Cipher,
        client: Client,
        config: OutboxConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.factory, self.cipher, self.client = factory, cipher, client
        self.config = config or OutboxConfig()
        self.clock = clock
        self.rng = rng or random.Random()

    # -- queueing ---------------------------------------------------------------------------

    def enqueue(self, package_id: int, reporter: ReporterInfo, actor: str) -> int:
        """Queue the case's report from its evidence package; a case already queued or filed keeps its row."""
        snap = evidence.open_snapshot(self.factory, self.cipher, package_id, actor, "build NCMEC report")
        xml = build_report(snap, reporter)
        with self.factory() as s, s.begin():
            existing = repo.open_report(s, snap.case_id, HOTLINE)
            if existing is not None:
                return existing.id
            files = [
                {"name": f.name, "sha256": f.sha256, "role": f.role, "state": "pending", "file_id": None}
                for f in snap.files
                if f.data is not None and self.config.upload_files
            ]
            row = HotlineReport(
                case_ref=snap.case_id[:64],
                package_id=package_id,
                hotline=HOTLINE,
                state="queued",
                attempts=0,
                next_attempt_at=self.clock(),
                last_error="",
                files=files,
                history=[self._event("queued", actor=actor)],
                payload=self.cipher.seal(xml, _context(snap.case_id)),
                created_by=actor[:128],
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            row_id = row.id
            audit.append_in(s, actor, "hotline.enqueue", f"case:{snap.case_id}", {"outbox": row_id})
        return row_id

    def report_xml(self, row_id: int) -> bytes:
        with self.factory() as s:
            row = self._row(s, row_id)
            return self.cipher.open(row.payload, _context(row.case_ref))

    # -- running ----------------------------------------------------------------------------

    def run_due(self) -> dict[int, str]:
        with self.factory() as s:
            due = repo.due_reports(s, self.clock())
        return {row_id: self.process(row_id) for row_id in due}

    def process(self, row_id: int) -> str:
        """Walk one report as far as it goes now; returns its state afterwards."""
        for _ in range(64):  # bounded: each pass makes a step or stops
            state = self._state(row_id)
            if state in repo.TERMINAL:
                return state
            try:
                if not self._step(row_id, state):
                    return self._state(row_id)
            except NcmecError as e:
                if e.code == REPORT_DOES_NOT_EXIST and state == "open":
                    self._restart(row_id, "NCMEC says the report no longer exists (expired)")
                    continue
                return self._failed_call(row_id, e)
            except IndexguardError as e:  # evidence gone, key wrong: retrying will not help
                return self._failed_call(row_id, NcmecError(f"outbox {row_id}: {e}"))
        return self._state(row_id)

    def _step(self, row_id: int, state: str) -> bool:
        if state == "submitting":
            self._update(row_id, state="queued", event="submit outcome unknown after a restart; submitting afresh")
            return True
        if state == "queued":
            return self._submit(row_id)
        if state == "finishing":
            return self._finish(row_id)
        return self._advance_open(row_id)

    def _submit(self, row_id: int) -> bool:
        xml = self.report_xml(row_id)
        self._update(row_id, state="submitting")
        try:
            remote = self.client.submit(xml)
        except NcmecError:
            self._update(row_id, state="queued")
            raise
        now = self.clock()
        self._update(
            row_id,
            state="open",
            remote_id=remote,
            opened_at=now,
            modified_at=now,
            event=f"submitted: NCMEC report {remote}",
        )
        return True

    def _advance_open(self, row_id: int) -> bool:
        with self.factory() as s:
            row = self._row(s, row_id)
            files, remote = [dict(f) for f in row.files], row.remote_id
            expired = self._expired(row)
        assert remote is not None
        if expired:
            self._restart(row_id, f"NCMEC report {remote} expired unfinished")
            return True
        for i, f in enumerate(files):
            if f["state"] == "uploading":
                self._abandon(row_id, remote, f"upload of {f['name']} has an unknown outcome")
                return True
            if f["state"] == "pending":
                self._upload(row_id, remote, i, files)
                return True
            if f["state"] == "uploaded":
                self._describe(row_id, remote, i, files)
                return True
        self._update(row_id, state="finishing")
        return self._finish(row_id)

    def _upload(self, row_id: int, remote: int, i: int, files: list[dict[str, Any]]) -> None:
        snap = self._snapshot(row_id, f"upload to NCMEC report {remote}")
        data = next((f.data for f in snap.files if f.sha256 == files[i]["sha256"] and f.data is not None), None)
        if data is None:
            raise OutboxError(f"file {files[i]['name']} is no longer in the evidence package")
        files[i]["state"] = "uploading"
        self._update(row_id, files=files)
        try:
            up = self.client.upload(remote, files[i]["name"], data)
        except NcmecError as e:
            if e.code >= 1000:
                files[i]["state"] = "pending"  # NCMEC answered with a refusal: nothing was stored
                self._update(row_id, files=files)
            raise
        files[i].update(state="uploaded", file_id=up.file_id, md5=up.md5)
        self._update(row_id, files=files, modified_at=self.clock())

    def _describe(self, row_id: int, remote: int, i: int, files: list[dict[str, Any]]) -> None:
        snap = self._snapshot(row_id, f"file details for NCMEC report {remote}")
        f = next(x for x in snap.files if x.sha256 == files[i]["sha256"])
        self.client.file_info(build_file_details(snap, f, remote, str(files[i]["file_id"])))
        files[i]["state"] = "described"
        self._update(row_id, files=files, modified_at=self.clock())

    def _finish(self, row_id: int) -> bool:
        with self.factory() as s:
            row = self._row(s, row_id)
            remote, case_ref = row.remote_id, row.case_ref
        assert remote is not None
        try:
            self.client.finish(remote)
        except NcmecError as e:
            if e.code == ALREADY_FINISHED:
                pass  # the previous attempt reached NCMEC before the crash
            elif e.code == REPORT_DOES_NOT_EXIST:
                self._restart(row_id, f"NCMEC report {remote} no longer exists (expired before finish)")
                return True
            else:
                raise
        now = self.clock()
        self._update(row_id, state="finished", finished_at=now, event=f"finished: NCMEC report {remote} filed")
        with self.factory() as s, s.begin():
            if case_ref.isdigit():
                cases_repo.mark_reported(s, int(case_ref), ACTOR, f"NCMEC {remote}", now)
            audit.append_in(s, ACTOR, "hotline.filed", f"case:{case_ref}", {"hotline": HOTLINE, "report": remote})
        return False

    def retract(self, row_id: int, actor: str, reason: str) -> None:
        with self.factory() as s:
            row = self._row(s, row_id)
            state, remote = row.state, row.remote_id
        if state == "finished":
            raise OutboxError(f"outbox {row_id}: NCMEC report {remote} is already filed and cannot be retracted")
        if state in ("retracted", "failed"):
            raise OutboxError(f"outbox {row_id} is already {state}")
        if remote is not None and state in ("open", "finishing"):
            try:
                self.client.retract(remote)
            except NcmecError as e:
                if e.code == ALREADY_FINISHED:
                    self._update(row_id, state="finishing")
                    raise OutboxError(f"outbox {row_id}: NCMEC report {remote} was already filed") from None
                if e.code not in (ALREADY_RETRACTED, REPORT_DOES_NOT_EXIST):
                    raise
        self._update(row_id, state="retracted", event=f"retracted by {actor}: {reason[:200]}")
        audit.append(self.factory, actor, "hotline.retract", f"outbox:{row_id}", {"report": remote, "reason": reason})

    # -- failures, expiry, restarts -------------------------------------------------------------

    def _failed_call(self, row_id: int, e: NcmecError) -> str:
        with self.factory() as s, s.begin():
            row = self._row(s, row_id)
            row.attempts += 1
            row.last_error = str(e)[:512]
            give_up = not e.retryable or row.attempts >= self.config.max_attempts
            if give_up:
                row.state = "failed"
            else:
                delay = min(self.config.max_delay_s, self.config.base_delay_s * 2 ** (row.attempts - 1))
                row.next_attempt_at = self.clock() + timedelta(seconds=delay * (0.5 + self.rng.random() / 2))
            row.history = [*row.history, self._event("error", error=str(e)[:300], attempt=row.attempts)]
            state, case_ref = row.state, row.case_ref
            if state == "failed":
                detail = {"outbox": row_id, "error": str(e)}
                audit.append_in(s, ACTOR, "hotline.failed", f"case:{case_ref}", detail)
        return state

    def _expired(self, row: HotlineReport) -> bool:
        if row.opened_at is None:
            return False
        last = utc(row.modified_at or row.opened_at)
        deadline = max(utc(row.opened_at) + OPEN_LIFETIME, last + IDLE_LIFETIME)
        return self.clock() >= deadline - self.config.expiry_margin

    def _abandon(self, row_id: int, remote: int, why: str) -> None:
        try:
            self.client.retract(remote)
        except NcmecError as e:
            if e.code not in (ALREADY_RETRACTED, REPORT_DOES_NOT_EXIST):
                raise
        self._restart(row_id, f"{why}: retracted NCMEC report {remote}")

    def _restart(self, row_id: int, why: str) -> None:
        with self.factory() as s, s.begin():
            row = self._row(s, row_id)
            row.files = [{**f, "state": "pending", "file_id": None} for f in row.files]
            row.state, row.remote_id, row.opened_at, row.modified_at = "queued", None, None, None
            row.history = [*row.history, self._event("restart", why=why)]

    # -- small helpers ------------------------------------------------------------------------

    def _snapshot(self, row_id: int, reason: str) -> CaseSnapshot:
        with self.factory() as s:
            package_id = self._row(s, row_id).package_id
        if package_id is None:
            raise OutboxError(f"outbox {row_id} has no evidence package")
        return evidence.open_snapshot(self.factory, self.cipher, package_id, ACTOR, reason)

    def _state(self, row_id: int) -> str:
        with self.factory() as s:
            return self._row(s, row_id).state

    def _update(self, row_id: int, event: str | None = None, **changes: Any) -> None:
        with self.factory() as s, s.begin():
            row = self._row(s, row_id)
            for k, v in changes.items():
                setattr(row, k, v)
            if event:
                row.history = [*row.history, self._event(event)]

    def _event(self, what: str, **detail: Any) -> dict[str, Any]:
        return {"at": self.clock().isoformat(), "what": what, **detail}

    @staticmethod
    def _row(s: Session, row_id: int) -> HotlineReport:
        row = s.get(HotlineReport, row_id)
        if row is None:
            raise OutboxError(f"no outbox report {row_id}")
        return row


def _context(case_ref: str) -> bytes:
    return b"indexguard-hotline-report:" + case_ref.encode("utf-8", "surrogatepass")


def summary(row: HotlineReport) -> dict[str, Any]:
    return {
        "id": row.id,
        "case": row.case_ref,
        "hotline": row.hotline,
        "state": row.state,
        "report_id": row.remote_id,
        "attempts": row.attempts,
        "next_attempt_at": utc(row.next_attempt_at).isoformat(),
        "files": [{"name": f["name"], "state": f["state"], "file_id": f.get("file_id")} for f in row.files],
        "last_error": row.last_error,
        "finished_at": None if row.finished_at is None else utc(row.finished_at).isoformat(),
    }
