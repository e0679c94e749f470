"""Entry point of the `indexguard` command. Each command group lives in its own module with a
`register(app)` function; this file only assembles them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Annotated

import click
import typer

from indexguard.cli.readable_help import tidy

# Modules under indexguard.cli that define `register(app: typer.Typer) -> None`.
COMMAND_MODULES: tuple[str, ...] = (
    "screen_cmd",
    "hash_cmd",
    "inspect_cmd",
    "serve_cmd",
    "sweep_cmd",
    "proxy_cmd",
    "export_cmd",
    "probe_cmd",
    "hotline_cmd",
    "banks_cmd",
    "vpdq_cmd",
)


# The module that registers each top-level command. `indexguard sweep ...` imports sweep_cmd alone (and
# what it needs), not every command's dependencies: building the whole tree imports the web service's
# stack, 1.3 s before a sweep could start. A test keeps this table equal to what the modules register.
COMMANDS: dict[str, str] = {
    "screen": "screen_cmd", "query": "screen_cmd", "hash": "hash_cmd", "inspect": "inspect_cmd",
    "serve": "serve_cmd", "db": "serve_cmd", "audit": "serve_cmd", "apikey": "serve_cmd", "user": "serve_cmd",
    "sweep": "sweep_cmd", "proxy": "proxy_cmd", "export": "export_cmd", "probe": "probe_cmd",
    "hotline": "hotline_cmd", "evidence": "hotline_cmd", "report": "hotline_cmd", "banks": "banks_cmd",
    "vpdq": "vpdq_cmd",
}  # fmt: skip


def version() -> str:
    """The installed distribution's version (the package's own when run from a source tree)."""
    try:
        return metadata.version("indexguard")
    except metadata.PackageNotFoundError:
        from indexguard import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"indexguard {version()}")
        raise typer.Exit()


def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Keep child sexual abuse material links off search indexes and link-sharing sites."""


def build_app(modules: Sequence[str] = COMMAND_MODULES) -> typer.Typer:
    app = typer.Typer(
        name="indexguard",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in modules:
        importlib.import_module(f"indexguard.cli.{name}").register(app)
    return app


def build_command(modules: Sequence[str] = COMMAND_MODULES) -> click.Command:
    """The click command tree people run, with readable metavars and help."""
    command: click.Command = tidy(typer.main.get_command(build_app(modules)))
    return command


def modules_for(args: Sequence[str]) -> tuple[str, ...]:
    """The command modules a command line needs: the one registering its command, or all of them (no
    command, a root option such as `--help` first, an unknown name: the whole tree lists or suggests
    commands)."""
    return (COMMANDS[args[0]],) if args and args[0] in COMMANDS else COMMAND_MODULES


def main() -> None:
    build_command(modules_for(sys.argv[1:]))(prog_name="indexguard")
