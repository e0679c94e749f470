"""`indexguard screen` and `indexguard query`: the commands scripts and other tools call."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from indexguard.cli.inputs import Entry, missing_inputs, read_inputs
from indexguard.cli.lists_opts import (
    AllowHashesOpt,
    AllowOpt,
    AllowUrlsOpt,
    BackendOpt,
    DenyKeyOpt,
    DenyOpt,
    HashesOpt,
    ListArgs,
    TermsOpt,
    UrlsOpt,
    load_screener,
)
from indexguard.errors import IndexguardError
from indexguard.screen.decision import Decision
from indexguard.screen.deny_set import DenySet, record_for
from indexguard.screen.screener import Screener

BATCH = 4096

RevealOpt = Annotated[bool, typer.Option("--reveal", help="include matched term text in reasons (confidential!)")]


def register(app: typer.Typer) -> None:
    app.command("screen")(screen)
    app.command("query")(query)


def _fail(message: str) -> typer.Exit:
    print(f"indexguard: {message}", file=sys.stderr)
    return typer.Exit(2)


def screen(
    inputs: Annotated[list[str], typer.Argument(help="JSONL item files, .torrent, .nzb or image files; - for stdin")],
    terms: TermsOpt = None,
    allow: AllowOpt = None,
    hashes: HashesOpt = None,
    allow_hashes: AllowHashesOpt = None,
    urls: UrlsOpt = None,
    allow_urls: AllowUrlsOpt = None,
    deny: DenyOpt = None,
    deny_key: DenyKeyOpt = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write Decisions here (default stdout)")] = None,
    backend: BackendOpt = "auto",
    reveal: RevealOpt = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
) -> None:
    """Screen items and write one Decision per item as JSONL, in input order."""
    args = ListArgs(terms, allow, hashes, allow_hashes, urls, allow_urls, deny, backend, deny_key=deny_key)
    if missing := missing_inputs(inputs):
        raise _fail(f"{missing[0]}: no such file")
    try:
        screener, deny_set = load_screener(args, writes_deny=True)
    except IndexguardError as e:
        raise _fail(str(e)) from None
    out: TextIO = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        counts = _screen_all(
            screener, read_inputs(inputs), out, reveal, progress and sys.stderr.isatty(), deny_set
        )
    finally:
        if output:
            out.close()
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    print(f"indexguard: screened {sum(counts.values())} items: {summary or 'none'}", file=sys.stderr)


def _screen_all(
    screener: Screener, entries: Iterator[Entry], out: TextIO, reveal: bool, bar: bool, deny: DenySet | None
) -> dict[str, int]:
    counts = {"allow": 0, "warn": 0, "review": 0, "block": 0}
    progress = _progress() if bar else None
    task = progress.add_task("screening", total=None) if progress else None
    if progress:
        progress.start()
    try:
        while chunk := list(islice(entries, BATCH)):
            for entry, d in zip(chunk, _screen_chunk(screener, chunk, reveal), strict=True):
                if deny is not None:
                    d = _with_deny(screener, deny, entry, d, reveal)
                counts[d.action] += 1
                out.write(json.dumps(d.to_json(), ensure_ascii=False) + "\n")
            if progress and task is not None:
                progress.advance(task, len(chunk))
    finally:
        if progress:
            progress.stop()
    return counts


def _with_deny(screener: Screener, deny: DenySet, entry: Entry, d: Decision, reveal: bool) -> Decision:
    """Remember a block; re-screen an item whose identities an earlier item of this run just blocked."""
    ids = d.extra.get("identities")
    if not ids:
        return d
    if d.action != "block" and entry.item is not None and deny.lookup(ids):
        d = screener.screen(entry.item, reveal=reveal)
    if d.action == "block":
        deny.add(ids, record_for(d, d.id, _now()))
    return d


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _screen_chunk(screener: Screener, chunk: list[Entry], reveal: bool) -> list[Decision]:
    items = [e.item for e in chunk if e.item is not None]
    decided = iter(screener.screen_many(items, reveal=reveal))
    out = []
    for e in chunk:
        if e.item is not None:
            out.append(next(decided))
        else:
            d = Decision(e.id, screener.policy.error_action, [], screener.canonicalizer)
            d.extra["error"] = e.error
            out.append(d)
    return out


def _progress() -> Progress:
    # Input length is unknown while streaming, so the bar shows count, rate and elapsed time.
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} items"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def query(
    text: Annotated[str, typer.Argument(help="the search query")],
    terms: TermsOpt = None,
    allow: AllowOpt = None,
    backend: BackendOpt = "auto",
    reveal: RevealOpt = False,
    locale: Annotated[str, typer.Option(metavar="LOCALE",
                                        help="locale of the deterrence message and help links")] = "default",
    fail_on_block: Annotated[bool, typer.Option(help="exit with status 1 when the query is blocked")] = False,
) -> None:
    """Print the Decision for one search query (with the deterrence payload when blocked)."""
    try:
        screener, _ = load_screener(ListArgs(terms, allow, backend=backend))
    except IndexguardError as e:
        raise _fail(str(e)) from None
    d = screener.query(text, reveal=reveal, locale=locale)
    print(json.dumps(d.to_json(), ensure_ascii=False, indent=2))
    if fail_on_block and d.action == "block":
        raise typer.Exit(1)
