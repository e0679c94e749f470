"""Helpers for the first-contact tests (a uniquely named module, importable from tests)."""

from __future__ import annotations

import contextlib
import io

from indexguard.cli.main import build_command


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """Run `indexguard ARGS` in-process as the console script does: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_command().main(args=args, prog_name="indexguard")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return code, out.getvalue(), err.getvalue()
