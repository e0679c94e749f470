"""`indexguard export`: the deny set and hash lists in the formats enforcement points read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from indexguard.errors import IndexguardError
from indexguard.integrations.exporters import FORMATS, ExportOptions, collect_infohashes, export
from indexguard.integrations.identity import load_banks
from indexguard.lists.terms import load_term_list
from indexguard.screen.deny_set import DenyRecord, JsonlDenySet


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


def export_command(
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help=f"one of: {', '.join(FORMATS)}")],
    deny: Annotated[Path | None, typer.Option("--deny", help="deny set (JSONL file; no key needed)")] = None,
    database: Annotated[
        str | None, typer.Option("--database", metavar="URL", help="the service's database URL: export its deny set")
    ] = None,
    hashes: Annotated[list[Path] | None, typer.Option("--hashes", help="hash list with infohashes; repeatable")] = None,
    terms: Annotated[list[Path] | None, typer.Option("--terms", help="term list (nntmux format); repeatable")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write here (default stdout)")] = None,
    xbt_table: Annotated[str, typer.Option(help="XBT table holding info_hash and flags")] = "xbt_torrents",
    nntmux_group: Annotated[str, typer.Option(help="NNTmux groupname pattern for the rows")] = "alt.binaries.*",
) -> None:
    """Write the deny set (a JSONL file, or the service's with --database) and hash lists as an
    opentracker, chihaya, XBT, bitmagnet or NNTmux blacklist, or as a plain v1 / truncated-v2
    infohash list."""
    try:
        if format not in FORMATS:
            raise IndexguardError(f"unknown format {format!r}; formats are {', '.join(FORMATS)}")
        if format != "nntmux" and deny is None and database is None and not hashes:
            raise IndexguardError("give --deny, --database and/or --hashes")
        records: list[DenyRecord] = []
        if deny is not None:
            if not deny.is_file():
                raise IndexguardError(f"{deny}: no such deny-set file")
            # Only infohashes are exported, so the URL key is not needed: URL identities (keyed
            # digests, or clear URLs in a file from before they were keyed) are never read out.
            records = list(JsonlDenySet(deny, keyless=True))
        if database is not None:
            records += service_deny_set(database)
        term_lists = [load_term_list(p) for p in terms or []]
        infohashes = collect_infohashes(records, load_banks(hashes))
        text = export(format, infohashes, ExportOptions(xbt_table, nntmux_group, term_lists))
    except IndexguardError as e:
        print(f"indexguard: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    count = len(infohashes.for_trackers()) if format != "nntmux" else text.count("\nINSERT")
    print(f"indexguard: exported {count} entr{'y' if count == 1 else 'ies'} as {format}", file=sys.stderr)


def service_deny_set(database: str) -> list[DenyRecord]:
    """The deny set of the service whose database this is (read only, no key needed)."""
    from sqlalchemy.exc import SQLAlchemyError

    from indexguard.store import db, migrate
    from indexguard.store.deny_repo import DatabaseDenySet

    try:
        engine = db.open_engine(database, create=False)
        try:
            migrate.upgrade(engine)
            deny = DatabaseDenySet(db.session_factory(engine))
            deny.refresh()
            return list(deny)
        finally:
            engine.dispose()
    except SQLAlchemyError as e:
        raise IndexguardError(f"cannot read the deny set from the database: {type(e).__name__}") from None
