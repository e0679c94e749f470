"""`indexguard hash`: one JSON object per image in input order; failures reported and exit 1."""

from __future__ import annotations

import io
import json
from pathlib import Path

import typer
from PIL import Image
from typer.testing import CliRunner

from indexguard.cli.hash_cmd import register
from indexguard.cli.main import COMMAND_MODULES


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """Group mode, as in the real CLI with several commands."""

    return app


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    img = Image.linear_gradient("L").convert("RGB").resize((64, 64))
    img.paste(colour, (0, 0, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def test_hash_prints_json_lines_in_order(tmp_path: Path) -> None:
    a = _png(tmp_path / "a.png", (255, 0, 0))
    b = _png(tmp_path / "b.png", (0, 0, 255))
    result = CliRunner().invoke(_app(), ["hash", str(a), str(b)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["path"] for r in rows] == [str(a), str(b)]
    for r in rows:
        assert len(r["pdq"]) == 64 and len(r["md5"]) == 32 and len(r["sha1"]) == 40 and len(r["sha256"]) == 64
        assert isinstance(r["quality"], int)


def test_failures_are_reported_and_run_goes_on(tmp_path: Path) -> None:
    good = _png(tmp_path / "good.png", (0, 255, 0))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    result = CliRunner().invoke(_app(), ["hash", str(bad), str(tmp_path / "missing.png"), str(good), "--dihedral"])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert "error" in rows[0] and "error" in rows[1] and "error" not in rows[2]
    assert len(rows[2]["dihedral"]) == 8


def test_pixel_limit_option(tmp_path: Path) -> None:
    img = _png(tmp_path / "a.png", (1, 2, 3))
    result = CliRunner().invoke(_app(), ["hash", "--max-pixels", "100", str(img)])
    assert result.exit_code == 1 and "pixel limit" in json.loads(result.output)["error"]


def test_registered_in_main() -> None:
    assert "hash_cmd" in COMMAND_MODULES
