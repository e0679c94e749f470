"""`indexguard banks fetch` (for cron) and `indexguard banks status`: hash banks fed by exchanges."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from indexguard.cli.serve_cmd import ConfigOpt, DatabaseOpt, _fail, _prepare
from indexguard.errors import IndexguardError

SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only this source (repeatable); default all")]


def fetch(source: SourceOpt = None, database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Fetch every configured exchange source (or those named) into its bank: one JSON line per source.

    Incremental from the last checkpoint; a new bank version goes live (or shadow) as each source
    says. Exit 1 when any source failed, 2 on a configuration error.
    """
    from indexguard.exchanges import schedule, sources

    try:
        settings, factory, cipher = _prepare(database, config, create_key=True)
        configs = _selected(sources.configured(settings), source)
        creds = sources.credentials(settings)
        sources.library()
    except IndexguardError as e:
        raise _fail(e) from None
    failed = False
    owner = schedule.owner_name("cli")
    for cfg in configs:
        out = schedule.run_source(factory, cipher, cfg, creds, owner)
        failed = failed or not out.ok
        typer.echo(json.dumps(out.to_json(), sort_keys=True))
    raise typer.Exit(1 if failed else 0)


def status(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Each configured source: records, last success, last error, the bank version it made."""
    from indexguard.exchanges import schedule, sources

    try:
        settings, factory, _ = _prepare(database, config, create_key=False)
        configs = sources.configured(settings)
    except IndexguardError as e:
        raise _fail(e) from None
    for st in schedule.status(factory, configs):
        typer.echo(json.dumps(st.to_json(), sort_keys=True))


def _selected(configs: list, names: list[str] | None) -> list:  # type: ignore[type-arg]
    if not names:
        return configs
    known = {c.name for c in configs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise IndexguardError(f"no exchange source named {', '.join(unknown)} (see exchange_sources in settings)")
    return [c for c in configs if c.name in names]


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Hash banks fed from exchanges (NCMEC, ThreatExchange, StopNCII, files, URLs).",
                      no_args_is_help=True)  # fmt: skip
    sub.command("fetch")(fetch)
    sub.command("status")(status)
    app.add_typer(sub, name="banks")
