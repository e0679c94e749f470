"""`indexguard vpdq hash VIDEO...` and `indexguard vpdq match --bank F ITEMS`: preview clips by vPDQ."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from indexguard.errors import IndexguardError


def hash_videos(
    videos: Annotated[list[Path], typer.Argument(help="Video files (preview clips).", metavar="VIDEO...")],
    seconds_per_hash: Annotated[float, typer.Option(help="One frame hash per this many seconds.")] = 1.0,
) -> None:
    """vPDQ of each clip as JSON lines ({"path", "vpdq", "frames"}); needs the `vpdq` package."""
    from indexguard.formats.video import VpdqUnavailable, hash_video, to_json

    failed = False
    for v in videos:
        try:
            frames = hash_video(v, seconds_per_hash)
            typer.echo(json.dumps({"path": str(v), "vpdq": to_json(frames), "frames": len(frames)}))
        except VpdqUnavailable as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except (IndexguardError, RuntimeError, ValueError) as e:
            failed = True
            typer.echo(json.dumps({"path": str(v), "error": str(e)}))
    raise typer.Exit(1 if failed else 0)


def match(
    items: Annotated[Path, typer.Argument(help='JSONL of {"id", "vpdq"} ("-" for stdin).', metavar="ITEMS")],
    bank: Annotated[list[Path], typer.Option("--bank", help="vPDQ bank (JSONL), repeatable.", metavar="FILE")],
    query_pct: Annotated[float, typer.Option(help="Share of the clip's frames that must match.")] = 80.0,
    distance: Annotated[int, typer.Option(help="PDQ distance for two frames to match.")] = 31,
) -> None:
    """Each item's matching bank videos as JSON lines (list, entry, category, shares); never a hash."""
    from indexguard.formats.video import parse_vpdq
    from indexguard.lists.vpdq_list import load_vpdq_bank
    from indexguard.match.vpdq_index import VpdqBank, VpdqIndex

    try:
        banks: list[VpdqBank] = []
        for b in bank:
            loaded = load_vpdq_bank(b)
            banks.append(VpdqBank(loaded, VpdqIndex(distance=distance, query_pct=query_pct)))
    except IndexguardError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    stream = sys.stdin if str(items) == "-" else items.open(encoding="utf-8")
    failed = False
    with stream:
        for n, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                raw = obj["vpdq"]
                frames = parse_vpdq(raw if isinstance(raw, str) else json.dumps(raw))
                found = [m.to_json() for bk in banks for m in bk.match(frames)]
                typer.echo(json.dumps({"id": obj.get("id", str(n)), "matches": found}))
            except (ValueError, KeyError, TypeError, IndexguardError) as e:
                failed = True
                typer.echo(json.dumps({"id": str(n), "error": f"line {n}: {type(e).__name__}: {e}"[:300]}))
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Preview clips by vPDQ: hash (needs the vpdq package) and match.", no_args_is_help=True)
    sub.command("hash")(hash_videos)
    sub.command("match")(match)
    app.add_typer(sub, name="vpdq")
