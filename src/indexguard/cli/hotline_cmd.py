"""`indexguard hotline ncmec-xml|outbox|export-iwf`, `indexguard evidence purge` and
`indexguard report transparency`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from indexguard.cli.serve_cmd import ConfigOpt, DatabaseOpt, _fail, _prepare
from indexguard.errors import IndexguardError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as _Session
    from sqlalchemy.orm import sessionmaker as _Sessionmaker


ACTOR = "cli"


def ncmec_xml(
    case: Annotated[str, typer.Option("--case", metavar="ID", help="Case id")],
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the NCMEC CyberTipline report XML for a case (from its evidence package, else the case).
    Without the reporter's identity configured it prints a preview with the reporter marked as not
    configured (filing refuses until it is set)."""
    from indexguard.hotline import evidence
    from indexguard.hotline.from_case import snapshot_from_case
    from indexguard.hotline.ncmec_xml import build_report
    from indexguard.settings import SettingsError, preview_reporter, reporter
    from indexguard.store import hotline_repo

    try:
        settings, factory, cipher = _prepare(database, config, create_key=False)
        try:
            filer = reporter(settings)
        except SettingsError as e:
            print(f"indexguard: preview only, not for filing: {e}", file=sys.stderr)
            filer = preview_reporter()
        with factory() as s:
            pkg = hotline_repo.latest_package(s, case)
            pkg_id = None if pkg is None else pkg.id
            snap = None
            if pkg_id is None:
                if not case.isdigit():
                    raise evidence.EvidenceError(f"no case {case}")
                snap = snapshot_from_case(s, int(case), cipher)
        if snap is None and pkg_id is not None:
            snap = evidence.open_snapshot(factory, cipher, pkg_id, ACTOR, "print NCMEC report XML")
        assert snap is not None
        typer.echo(build_report(snap, filer).decode("utf-8"))
    except IndexguardError as e:
        raise _fail(e) from None


def outbox(
    run: Annotated[bool, typer.Option("--run", help="Queue escalated cases and send what is due")] = False,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show the hotline report outbox (JSON lines); with --run, send due reports to NCMEC."""
    from indexguard.hotline.escalation import HotlineSetup, queue_escalated
    from indexguard.hotline.ncmec_client import NcmecClient
    from indexguard.hotline.outbox import Outbox, summary
    from indexguard.settings import reporter, retention
    from indexguard.store import hotline_repo

    try:
        settings, factory, cipher = _prepare(database, config, create_key=False)
        if run:
            user, password = settings.ncmec_username, settings.ncmec_password
            if not user or not password:
                raise IndexguardError(
                    "set INDEXGUARD_NCMEC_USERNAME and INDEXGUARD_NCMEC_PASSWORD (or ncmec_username/ncmec_password "
                    "in the settings file) to send reports"
                )
            setup = HotlineSetup(reporter(settings), retention(settings), settings.preserve_images)
            queue_escalated(factory, cipher, setup, ACTOR)
            with NcmecClient(user, password, settings.ncmec_url) as client:
                box = Outbox(factory, cipher, client)
                for row_id, state in box.run_due().items():
                    typer.echo(f"outbox {row_id}: {state}", err=True)
        with factory() as s:
            for row in hotline_repo.reports(s):
                typer.echo(json.dumps(summary(row)))
    except IndexguardError as e:
        raise _fail(e) from None


def evidence_purge(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Delete evidence past its retention date (held evidence stays); the purge goes to the audit log.
    A package is purged only once past both its sealed expiry and the current retention settings."""
    from indexguard.hotline import evidence
    from indexguard.settings import retention

    try:
        settings, factory, _cipher = _prepare(database, config, create_key=False)
        r = evidence.purge_expired(factory, actor=ACTOR, policy=retention(settings))
        typer.echo(json.dumps({"purged": r.purged, "held": r.held, "audit_seq": r.audit_seq}))
    except IndexguardError as e:
        raise _fail(e) from None


def _sessions(database: str | None, config: str | None) -> _Sessionmaker[_Session]:
    """The migrated database's session factory; these reports need no key (they read no sealed data)."""
    from indexguard.crypto import Cipher, KeyUnavailable, resolve_key
    from indexguard.settings import load
    from indexguard.store import audit, db, migrate

    settings = load(config, {"database_url": database})
    engine = db.open_engine(settings.database_url, create=False)
    try:  # the audit rows these commands write are signed when the key is at hand
        key = resolve_key(settings.key_file, db.sqlite_path(settings.database_url), create=False)
    except KeyUnavailable:
        migrate.upgrade(engine)
        return db.session_factory(engine)
    migrate.upgrade(engine, cipher=Cipher(key.key))
    return audit.bind(db.session_factory(engine), audit.chain_for(settings, Cipher(key.key), key.origin))


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise IndexguardError(f"--since must be a date (YYYY-MM-DD) or an ISO-8601 time, not {text[:40]!r}") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def export_iwf(
    since: Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD",
                                              help="Cases confirmed at or after this date (UTC)")] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="New directory for the bundle")] = None,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write an export bundle of confirmed cases for hotline portals (IWF, INHOPE members): JSON, CSV, manifest."""
    from indexguard.hotline.iwf_export import export

    try:
        start = _since(since)
        now = datetime.now(UTC)
        target = out or Path(f"hotline-export-{now.strftime('%Y%m%dT%H%M%SZ')}")
        _settings, factory, cipher = _prepare(database, config, create_key=False)  # opens the sealed URLs
        bundle = export(factory, target, start, ACTOR, now=now, cipher=cipher)
        m = bundle.manifest
        typer.echo(json.dumps({"directory": str(target), "period": m["period"], "counts": m["counts"]}))
    except IndexguardError as e:
        raise _fail(e) from None


def report_transparency(
    month: Annotated[str, typer.Option("--month", metavar="YYYY-MM", help="Calendar month in UTC, YYYY-MM")],
    fmt: Annotated[str, typer.Option("--format", metavar="json|csv|html", help="json, csv or html")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file (default stdout)")] = None,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The monthly transparency report: searches and listings blocked, reports, takedown times, hotline reports."""
    from indexguard.hotline import transparency, transparency_render

    try:
        m = transparency.Month.parse(month)
        if fmt not in transparency.FORMATS:
            raise transparency.TransparencyError(f"--format must be one of {', '.join(transparency.FORMATS)}")
        from indexguard.settings import load

        eps = load(config, {"database_url": database}).deterrence_epsilon  # published: noise if configured
        with _sessions(database, config)() as s:
            text = transparency_render.render(transparency.compute(s, m, deterrence_epsilon=eps), fmt)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, "utf-8")
            except OSError as e:
                raise IndexguardError(f"{output}: cannot write ({e.strerror or e})") from None
    except IndexguardError as e:
        raise _fail(e) from None


def register(app: typer.Typer) -> None:
    hotline = typer.Typer(help="Hotline reports: NCMEC CyberTipline XML and outbox.", no_args_is_help=True)
    hotline.command("ncmec-xml")(ncmec_xml)
    hotline.command("outbox")(outbox)
    hotline.command("export-iwf")(export_iwf)
    app.add_typer(hotline, name="hotline")
    ev = typer.Typer(help="Preserved evidence: retention and purge.", no_args_is_help=True)
    ev.command("purge")(evidence_purge)
    app.add_typer(ev, name="evidence")
    report = typer.Typer(help="Reports from the store: the monthly transparency report.", no_args_is_help=True)
    report.command("transparency")(report_transparency)
    app.add_typer(report, name="report")
