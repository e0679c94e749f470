"""Every command's --help reads well: FILE/URL/N metavars, never Typer's `<list[Path]>` or `<bool>`, and
no help text split mid-sentence by a docstring's line breaks; `--version` prints the version."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from indexguard.cli.main import build_command, version
from indexguard.cli.readable_help import join_lines

TYPE_LABEL = re.compile(r"<(list\[|bool|str|int|float|path|Path|datetime)[^>]*>")


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def _run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            build_command().main(args=args, prog_name="indexguard")
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue()


ALL = [p for p, _ in _commands(build_command())]


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) or "indexguard" for p in ALL])
def test_help_has_readable_metavars_and_whole_sentences(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    code, text = _run([*path, "--help"])
    assert code == 0, text
    assert "Usage: indexguard" in text
    assert not TYPE_LABEL.search(text), TYPE_LABEL.search(text)
    cmd = dict(_commands(build_command()))[path]
    for sub in (getattr(cmd, "commands", None) or {}).values():
        first = (sub.help or "").split("\n\n")[0]
        assert "\n" not in first, f"{sub.name}: help first paragraph keeps a line break"
        # The command list shows the start of each subcommand's help on one line.
        assert first[:60] in text.replace("\n", " ") or first[:60] in text


def test_metavars_name_what_is_expected() -> None:
    cmds = dict(_commands(build_command()))
    labels = {(p, tuple(param.opts)): param.metavar for p, c in cmds.items() for param in c.params}
    assert labels[(("serve",), ("--database",))] == "URL"
    assert labels[(("serve",), ("--port",))] == "N"
    assert labels[(("screen",), ("--terms",))] == "FILE"
    assert labels[(("sweep",), ("--checkpoint",))] == "DIR"


def test_version_prints_the_installed_version() -> None:
    code, text = _run(["--version"])
    assert code == 0
    assert text.strip() == f"indexguard {version()}"
    assert re.fullmatch(r"indexguard \d+\.\d+\.\d+\S*", text.strip())


def test_join_lines_keeps_list_items_and_paragraphs() -> None:
    assert join_lines("one\ntwo.\n\nthree\n- a\n- b") == "one two.\n\nthree\n- a\n- b"
    assert join_lines(None) is None


def test_each_command_is_built_from_its_own_module_alone() -> None:
    """`indexguard sweep ...` builds only the sweep command (main.COMMANDS); the table must name every
    top-level command the modules register, and each command must come out of its module alone."""
    from indexguard.cli.main import COMMAND_MODULES, COMMANDS, modules_for

    whole = build_command()
    assert set(COMMANDS) == set(whole.commands)  # type: ignore[attr-defined]
    for name, module in COMMANDS.items():
        assert modules_for([name, "--help"]) == (module,)
        alone = build_command((module,))
        assert name in alone.commands  # type: ignore[attr-defined]
        assert _commands_equal(alone.commands[name], whole.commands[name])  # type: ignore[attr-defined]
    for args in ([], ["--help"], ["--version"], ["swep"], ["--help", "sweep"]):
        assert modules_for(args) == COMMAND_MODULES


def _commands_equal(a: Any, b: Any) -> bool:
    return [p.opts for p in a.params] == [p.opts for p in b.params] and a.help == b.help


def test_a_sweep_does_not_import_the_web_stack() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.argv = ['indexguard', 'sweep', '--help']\n"
            "from indexguard.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'sqlalchemy', 'uvicorn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "Usage: indexguard sweep" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"
