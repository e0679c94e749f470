"""Entry point of the `indexguard` command. Each command group lives in its own module with a
`register(app)` function; this file only assembles them."""

from __future__ import annotations

import importlib

import typer

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
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="indexguard",
        help="Keep child sexual abuse material links off search indexes and link-sharing sites.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(f"indexguard.cli.{name}").register(app)
    return app


def main() -> None:
    build_app()()
