"""Entry point of the `indexguard` command. Each command group lives in its own module with a
`register(app)` function; this file only assembles them."""

from __future__ import annotations

import importlib
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


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="indexguard",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    for name in COMMAND_MODULES:
        importlib.import_module(f"indexguard.cli.{name}").register(app)
    return app


def build_command() -> click.Command:
    """The click command tree people run, with readable metavars and help."""
    command: click.Command = tidy(typer.main.get_command(build_app()))
    return command


def main() -> None:
    build_command()(prog_name="indexguard")
