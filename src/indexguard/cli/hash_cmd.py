"""`indexguard hash IMAGE...`: one JSON object per image (pdq, quality, md5, sha1, sha256), in input order.

An image that cannot be read or decoded gives an object with "error" and the run goes on; the
exit code is 1 when any image failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from indexguard.errors import IndexguardError
from indexguard.formats.image import DEFAULT_LIMITS, ImageLimits, hash_image


def hash_one(
    path: Path, *, dihedral: bool, limits: ImageLimits, pdq_max_side: int | None = None
) -> tuple[dict[str, Any], bool]:
    """The JSON object for one file and whether it succeeded."""
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            return {"path": str(path), "error": f"image: {size} bytes exceeds {limits.max_bytes}"}, False
        data = path.read_bytes()
    except OSError as exc:
        return {"path": str(path), "error": f"cannot read: {exc.strerror or exc}"}, False
    try:
        hashes = hash_image(data, dihedral=dihedral, limits=limits, pdq_max_side=pdq_max_side)
    except IndexguardError as exc:
        return {"path": str(path), "error": str(exc)}, False
    return {"path": str(path), **hashes.as_dict()}, True


def register(app: typer.Typer) -> None:
    @app.command("hash")
    def hash_command(
        images: Annotated[list[Path], typer.Argument(help="Image files (any format Pillow reads).")],
        dihedral: Annotated[
            bool, typer.Option("--dihedral", help="Also print the eight rotated/flipped PDQ variants.")
        ] = False,
        max_pixels: Annotated[
            int, typer.Option(help="Refuse images declaring more pixels than this.")
        ] = DEFAULT_LIMITS.max_pixels,
        max_bytes: Annotated[
            int, typer.Option(help="Refuse image files larger than this.")
        ] = DEFAULT_LIMITS.max_bytes,
        pdq_max_side: Annotated[
            int | None,
            typer.Option(help="Shrink larger images to this side before PDQ (faster, a few bits of drift)."),
        ] = None,
    ) -> None:
        """Print PDQ (with quality), MD5, SHA-1 and SHA-256 of each image as JSON lines."""
        limits = ImageLimits(max_bytes=max_bytes, max_pixels=max_pixels)
        failed = False
        for path in images:
            obj, ok = hash_one(path, dihedral=dihedral, limits=limits, pdq_max_side=pdq_max_side)
            failed = failed or not ok
            sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
            sys.stdout.flush()
        if failed:
            raise typer.Exit(code=1)
