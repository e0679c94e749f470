"""`indexguard hotline ncmec-xml|outbox` and `indexguard evidence purge`."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from indexguard.cli.serve_cmd import ConfigOpt, DatabaseOpt, _fail, _prepare
from indexguard.errors import IndexguardError
from indexguard.hotline.ncmec_xml import ReporterInfo

ACTOR = "cli"


def ncmec_xml(
    case: Annotated[str, typer.Option("--case", help="Case id")],
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the NCMEC CyberTipline report XML for a case (from its evidence package, else the case)."""
    from indexguard.hotline import evidence
    from indexguard.hotline.from_case import snapshot_from_case
    from indexguard.hotline.ncmec_xml import build_report
    from indexguard.store import hotline_repo

    try:
        _, factory, cipher = _prepare(database, config, create_key=False)
        with factory() as s:
            pkg = hotline_repo.latest_package(s, case)
            pkg_id = None if pkg is None else pkg.id
            snap = None
            if pkg_id is None:
                if not case.isdigit():
                    raise evidence.EvidenceError(f"no case {case}")
                snap = snapshot_from_case(s, int(case))
        if snap is None and pkg_id is not None:
            snap = evidence.open_snapshot(factory, cipher, pkg_id, ACTOR, "print NCMEC report XML")
        assert snap is not None
        typer.echo(build_report(snap, _reporter()).decode("utf-8"))
    except IndexguardError as e:
        raise _fail(e) from None


def outbox(
    run: Annotated[bool, typer.Option("--run", help="Queue escalated cases and send what is due")] = False,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show the hotline report outbox (JSON lines); with --run, send due reports to NCMEC."""
    from indexguard.hotline.ncmec_client import TEST_URL, NcmecClient
    from indexguard.hotline.outbox import Outbox, summary
    from indexguard.store import hotline_repo

    try:
        _, factory, cipher = _prepare(database, config, create_key=False)
        if run:
            user, password = os.environ.get("INDEXGUARD_NCMEC_USERNAME"), os.environ.get("INDEXGUARD_NCMEC_PASSWORD")
            if not user or not password:
                raise IndexguardError("set INDEXGUARD_NCMEC_USERNAME and INDEXGUARD_NCMEC_PASSWORD to send reports")
            with NcmecClient(user, password, os.environ.get("INDEXGUARD_NCMEC_URL", TEST_URL)) as client:
                box = Outbox(factory, cipher, client)
                _queue_escalated(factory, cipher, box)
                for row_id, state in box.run_due().items():
                    typer.echo(f"outbox {row_id}: {state}", err=True)
        with factory() as s:
            for row in hotline_repo.reports(s):
                typer.echo(json.dumps(summary(row)))
    except IndexguardError as e:
        raise _fail(e) from None


def _queue_escalated(factory: object, cipher: object, box: object) -> None:
    from sqlalchemy.orm import Session, sessionmaker

    from indexguard.crypto import Cipher
    from indexguard.hotline import evidence
    from indexguard.hotline.from_case import snapshot_from_case
    from indexguard.hotline.outbox import Outbox
    from indexguard.store import cases_repo, hotline_repo

    assert isinstance(factory, sessionmaker) and isinstance(cipher, Cipher) and isinstance(box, Outbox)
    f: sessionmaker[Session] = factory
    with f() as s:
        pending = [(c.id, hotline_repo.latest_package(s, str(c.id))) for c in cases_repo.hotline_pending(s)]
        snaps = {cid: snapshot_from_case(s, cid) for cid, pkg in pending if pkg is None}
    for cid, pkg in pending:
        pkg_id = pkg.id if pkg is not None else evidence.preserve(f, cipher, snaps[cid], ACTOR, "escalated case")
        box.enqueue(pkg_id, _reporter(), ACTOR)


def _reporter() -> ReporterInfo:
    env = os.environ.get
    return ReporterInfo(
        first_name=env("INDEXGUARD_REPORTER_FIRST_NAME", "Example"),
        last_name=env("INDEXGUARD_REPORTER_LAST_NAME", "Operator"),
        email=env("INDEXGUARD_REPORTER_EMAIL", "abuse@example.org"),
        platform=env("INDEXGUARD_REPORTER_PLATFORM", "indexguard demo site"),
    )


def evidence_purge(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Delete evidence past its retention date (held evidence stays); the purge goes to the audit log."""
    from indexguard.hotline import evidence

    try:
        _, factory, _cipher = _prepare(database, config, create_key=False)
        r = evidence.purge_expired(factory, actor=ACTOR)
        typer.echo(json.dumps({"purged": r.purged, "held": r.held, "audit_seq": r.audit_seq}))
    except IndexguardError as e:
        raise _fail(e) from None


def register(app: typer.Typer) -> None:
    hotline = typer.Typer(help="Hotline reports: NCMEC CyberTipline XML and outbox.", no_args_is_help=True)
    hotline.command("ncmec-xml")(ncmec_xml)
    hotline.command("outbox")(outbox)
    app.add_typer(hotline, name="hotline")
    ev = typer.Typer(help="Preserved evidence: retention and purge.", no_args_is_help=True)
    ev.command("purge")(evidence_purge)
    app.add_typer(ev, name="evidence")
