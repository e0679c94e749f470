"""Escalation to a hotline: a moderator's "escalate" becomes a queued NCMEC report.

`queue_case` preserves the case's evidence (or reuses its latest package) and queues its report in
the outbox; sending is the outbox's job (`indexguard hotline outbox --run`). The console calls it
when a hotline is configured (`setup_from(settings)` is not None), the CLI for every escalated case
not yet filed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.hotline import evidence
from indexguard.hotline.from_case import snapshot_from_case
from indexguard.hotline.ncmec_client import Finished, Upload
from indexguard.hotline.ncmec_xml import ReporterInfo
from indexguard.hotline.outbox import Outbox, OutboxError
from indexguard.settings import Settings, reporter, retention
from indexguard.store import cases_repo, hotline_repo


@dataclass(frozen=True)
class HotlineSetup:
    """What queueing a report needs: who files it, and how evidence is kept."""

    reporter: ReporterInfo
    policy: evidence.RetentionPolicy
    preserve_images: bool = False


def setup_from(settings: Settings) -> HotlineSetup | None:
    """None when no hotline is configured (no NCMEC account in the settings); a SettingsError when one
    is but the reporter's identity is missing, so an escalation never queues a report under a made-up
    name."""
    if not settings.ncmec_username:
        return None
    return HotlineSetup(reporter(settings), retention(settings), settings.preserve_images)


def queue_case(
    factory: sessionmaker[Session], cipher: Cipher, case_id: int, setup: HotlineSetup, actor: str
) -> int:
    """Queue the case's hotline report (once: a case already queued keeps its row); the outbox row id."""
    with factory() as s:
        pkg = hotline_repo.latest_package(s, str(case_id))
        snap = None if pkg is not None else snapshot_from_case(s, case_id, cipher, setup.preserve_images)
    if pkg is not None:
        package_id = pkg.id
    else:
        assert snap is not None
        package_id = evidence.preserve(factory, cipher, snap, actor, "escalated case", policy=setup.policy,
                                       preserve_images=setup.preserve_images)  # fmt: skip
    return Outbox(factory, cipher, _QueueOnly()).enqueue(package_id, setup.reporter, actor)


def queue_escalated(factory: sessionmaker[Session], cipher: Cipher, setup: HotlineSetup, actor: str) -> list[int]:
    """Queue every escalated case no report has been filed for yet; their outbox row ids."""
    with factory() as s:
        ids = [c.id for c in cases_repo.hotline_pending(s)]
    return [queue_case(factory, cipher, cid, setup, actor) for cid in ids]


class _QueueOnly:
    """The outbox's client while queueing: queueing sends nothing."""

    def _refuse(self) -> OutboxError:
        return OutboxError("this outbox only queues; `indexguard hotline outbox --run` sends")

    def submit(self, report_xml: bytes) -> int:
        raise self._refuse()

    def upload(self, report_id: int, filename: str, data: bytes) -> Upload:
        raise self._refuse()

    def file_info(self, details_xml: bytes) -> None:
        raise self._refuse()

    def finish(self, report_id: int) -> Finished:
        raise self._refuse()

    def retract(self, report_id: int) -> None:
        raise self._refuse()


def escalator(
    factory: sessionmaker[Session], cipher: Cipher, settings: Settings
) -> Callable[[int, str], int] | None:
    """The console's escalation hook: queue the case's report, or None when no hotline is configured.
    Raises SettingsError when one is configured but the reporter's identity is missing."""
    setup = setup_from(settings)
    if setup is None:
        return None
    return lambda case_id, actor: queue_case(factory, cipher, case_id, setup, actor)
