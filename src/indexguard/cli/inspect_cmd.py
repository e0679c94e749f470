"""`indexguard inspect FILE`: parsed metadata of a .torrent, an NZB (plain or gzipped) or a text
file of magnet URIs, as JSON. The type is detected from the content, not the file name.

Exit codes: 0 parsed cleanly; 1 parsed, but the file has validity errors (listed under "errors":
a client would refuse it, a screener holds it for review); 2 unparseable or unreadable (one line
on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from indexguard.errors import IndexguardError
from indexguard.formats.errors import FormatError
from indexguard.formats.magnet import is_magnet, parse_magnet
from indexguard.formats.nzb import DEFAULT_NZB_LIMITS, is_gzip, parse_nzb
from indexguard.formats.torrent import parse_torrent

MAX_INPUT = DEFAULT_NZB_LIMITS.max_decompressed


def detect(data: bytes) -> str:
    """'torrent', 'nzb' or 'magnet' from the content; FormatError when none fits."""
    if is_gzip(data):
        return "nzb"
    if data[:1] and data[:1] in b"dli0123456789":
        return "torrent"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:8].lower() == b"magnet:?":
        return "magnet"
    if head.startswith(b"<?xml") or b"<nzb" in head or head.startswith(b"<!DOCTYPE nzb"):
        return "nzb"
    raise FormatError("inspect", "unknown_type", "not a torrent, an NZB or a magnet URI file")


def inspect_bytes(data: bytes, filename: str | None = None, *, strict: bool = False) -> dict[str, Any]:
    """The JSON object `inspect` prints. Raises IndexguardError on unparseable input."""
    kind = detect(data)
    if kind == "torrent":
        return parse_torrent(data, strict=strict).to_json()
    if kind == "nzb":
        return parse_nzb(data, filename, strict=strict).to_json()
    text = data.decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    bad = [ln for ln in lines if not is_magnet(ln)]
    if bad:
        raise FormatError("magnet", "not_a_magnet", f"line is not a magnet URI: {bad[0][:60]!r}")
    magnets = [parse_magnet(ln).to_json() for ln in lines]
    if len(magnets) == 1:
        return magnets[0]
    return {"kind": "magnet_list", "magnets": magnets}


def register(app: typer.Typer) -> None:
    @app.command("inspect")
    def inspect_command(
        file: Annotated[Path, typer.Argument(help=".torrent, .nzb, .nzb.gz or a text file of magnet URIs.")],
        strict: Annotated[
            bool, typer.Option("--strict", help="Treat validity errors (what a client refuses) as fatal.")
        ] = False,
    ) -> None:
        """Print parsed metadata as JSON: infohashes, names from every view, files, trackers, warnings."""
        try:
            if file.stat().st_size > MAX_INPUT:
                _fail(f"{file}: larger than {MAX_INPUT} bytes")
            data = file.read_bytes()
        except OSError as exc:
            _fail(f"{file}: cannot read: {exc.strerror or exc}")
        try:
            obj = inspect_bytes(data, file.name, strict=strict)
        except IndexguardError as exc:
            _fail(f"{file}: {exc}")
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
        if obj.get("errors"):
            raise typer.Exit(code=1)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(message.replace("\n", " ") + "\n")
    raise typer.Exit(code=2)
