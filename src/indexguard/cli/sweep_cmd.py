"""`indexguard sweep`: screen an existing index (files, a directory tree or a SQL query) in bulk."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from indexguard.errors import IndexguardError
from indexguard.sweep.bundle import ListBundle, ListText, OtherList
from indexguard.sweep.fields import FieldMap
from indexguard.sweep.incremental import ListDelta, delta_list, unhide
from indexguard.sweep.output import read_flagged, write_json
from indexguard.sweep.sources import SqlSource, SweepSize
from indexguard.sweep.summary import human

if TYPE_CHECKING:
    from indexguard.sweep.runner import SweepConfig


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def _fail(message: str) -> typer.Exit:
    print(f"indexguard: {message}", file=sys.stderr)
    return typer.Exit(2)


def sweep(
    sources: Annotated[list[str], typer.Argument(help="JSONL/CSV/Parquet/.txt files, directories of .torrent/.nzb/"
                                                      "image files, or sql: (with --sql-url)")],
    terms: Annotated[list[Path], typer.Option("--terms", help="term list (.txt or .csv); repeatable")],
    allow: Annotated[list[Path] | None, typer.Option("--allow", help="allowlist; repeatable")] = None,
    hashes: Annotated[list[str] | None, typer.Option("--hashes", metavar="[TYPE:]FILE",
                                                     help="hash list [TYPE:]FILE; repeatable")] = None,
    urls: Annotated[list[Path] | None, typer.Option("--urls", help="URL list; repeatable")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="flagged items: .jsonl or .parquet")] = None,
    summary: Annotated[Path | None, typer.Option("--summary", help="write the summary JSON here")] = None,
    workers: Annotated[int, typer.Option(help="processes (default: all cores); 1 runs in this process")] = 0,
    checkpoint: Annotated[Path | None, typer.Option(metavar="DIR",
                                                    help="checkpoint directory (resumable sweeps)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the sweep in --checkpoint")] = False,
    dask: Annotated[str | None, typer.Option(metavar="local|ADDRESS",
                                             help="'local' or a scheduler address tcp://host:8786")] = None,
    since_version: Annotated[Path | None, typer.Option("--since-version",
                                                       help="previous version of the --terms list: search only "
                                                            "added and changed entries")] = None,
    previous_flagged: Annotated[Path | None, typer.Option(help="previous sweep's flagged output (with "
                                                                "--since-version): list items to un-hide")] = None,
    unhide_out: Annotated[Path | None, typer.Option("--unhide", help="write un-hide candidates here (JSONL)")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", metavar="COLUMN[:FIELD]",
                                                    help="COLUMN[:ITEMFIELD] to screen; repeatable")] = None,
    id_field: Annotated[str, typer.Option(metavar="COLUMN", help="column holding the item id")] = "id",
    sql_url: Annotated[str | None, typer.Option(metavar="URL", help="SQLAlchemy URL for sql: sources")] = None,
    sql: Annotated[str | None, typer.Option(metavar="SQL", help="query for a bare sql: source")] = None,
    chunk_bytes: Annotated[int, typer.Option(help="bytes of input per chunk (0: auto, 1-8 MiB)")] = 0,
    chunk_rows: Annotated[int, typer.Option(help="rows per chunk for SQL sources")] = 50_000,
    open_cases: Annotated[str | None, typer.Option(metavar="URL",
                                                   help="service base URL: post flagged items to /v1/batch")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="INDEXGUARD_API_KEY", metavar="KEY",
                                                help="API key for --open-cases")] = None,
    backend: Annotated[str, typer.Option(metavar="auto|hyperscan|ahocorasick",
                                         help="term matcher backend: auto, hyperscan or ahocorasick")] = "auto",
    progress: Annotated[bool, typer.Option(help="progress bar on stderr (only on a terminal)")] = True,
    list_cache: Annotated[Path | None, typer.Option(metavar="DIR", help="compiled-list cache (default: "
                                                    "$INDEXGUARD_LIST_CACHE or ~/.cache/indexguard/lists)")] = None,
    no_list_cache: Annotated[bool, typer.Option("--no-list-cache", help="compile the lists afresh and keep "
                                                                        "nothing of them on disk")] = False,
) -> None:
    """Screen every item of an existing index; write flagged items with their Decisions and a summary."""
    if resume and checkpoint is None:
        raise _fail("--resume needs --checkpoint DIR")
    if open_cases and not api_key:
        raise _fail("--open-cases needs --api-key (or INDEXGUARD_API_KEY)")
    from indexguard.sweep.list_cache import default_dir
    from indexguard.sweep.runner import SweepConfig  # brings pyarrow: only when a sweep runs, not at start-up

    try:
        lists, delta = _lists(terms, allow or [], since_version)
        cfg = SweepConfig(
            sources=sources,
            bundle=ListBundle(tuple(lists), backend, _others(hashes or [], urls or [])),
            fields=FieldMap.parse(field or [], id_field),
            size=SweepSize(chunk_bytes=max(4096, chunk_bytes) if chunk_bytes else 0, chunk_rows=max(1, chunk_rows)),
            output=output,
            summary=None,
            workers=workers or os.cpu_count() or 1,
            checkpoint=checkpoint,
            resume=resume,
            dask=dask,
            sql=SqlSource(sql_url, sql or "") if sql_url else None,
            with_items=open_cases is not None,
            progress=progress and sys.stderr.isatty(),
            list_cache=None if no_list_cache else (list_cache or default_dir()),
        )
        result = _run(cfg, open_cases, api_key)
        if delta is not None:
            result["incremental"] = _incremental(delta, previous_flagged, output, unhide_out)
    except IndexguardError as e:
        raise _fail(str(e)) from None
    if summary:
        write_json(summary, result)
    print(human(result), file=sys.stderr)


def _others(hashes: list[str], urls: list[Path]) -> tuple[OtherList, ...]:
    return tuple([OtherList.read(h, "hash") for h in hashes] + [OtherList.read(str(u), "url") for u in urls])


def _lists(terms: list[Path], allow: list[Path], since: Path | None) -> tuple[list[ListText], ListDelta | None]:
    lists = [ListText.read(p) for p in terms]
    delta = None
    if since is not None:
        if len(terms) != 1:
            raise IndexguardError("--since-version compares one list: give exactly one --terms")
        lists[0], delta = delta_list(lists[0], ListText.read(since))
    return lists + [ListText.read(p, allowlist=True) for p in allow], delta


def _run(cfg: SweepConfig, open_cases: str | None, api_key: str | None) -> dict[str, Any]:
    from indexguard.sweep.runner import run_sweep

    if not open_cases:
        return run_sweep(cfg)
    from indexguard.sweep.cases import CaseOpener

    opener = CaseOpener(open_cases, api_key or "")
    try:
        result = run_sweep(cfg, on_flagged=opener)
    finally:
        opener.close()
    result["cases"] = {"posted": opener.sent, "not_posted_file_items": opener.skipped}
    return result


def _incremental(delta: ListDelta, previous: Path | None, output: Path | None, out: Path | None) -> dict[str, Any]:
    info = delta.to_json()
    if previous is None:
        return info
    if output is None:
        raise IndexguardError("--previous-flagged needs -o (the new flagged output) to tell what is still flagged")
    now = {str(r["id"]) for r in read_flagged(output)}
    candidates = unhide(read_flagged(previous), delta, now)
    info["unhide"] = len(candidates)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(c) + "\n" for c in candidates)
    else:
        info["unhide_items"] = candidates
    return info
