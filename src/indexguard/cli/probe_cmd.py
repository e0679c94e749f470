"""`indexguard probe`: the canary self-audit, with a pass/fail table, a CI exit code and a JSON report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from indexguard.integrations.probe import ProbeConfig, ProbeError, ProbeReport, run_probe

_STYLE = {"pass": "bold green", "fail": "bold red", "skip": "yellow"}


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)


def probe(
    search_url: Annotated[str, typer.Option("--search-url", metavar="URL", help="search URL with {q} for the query")],
    canary: Annotated[str, typer.Option("--canary", metavar="TOKEN", help="the canary token on your term list")],
    upload_url: Annotated[str | None, typer.Option("--upload-url", metavar="URL",
                                                   help="listing upload URL (form POST)")] = None,
    report_url: Annotated[str | None, typer.Option("--report-url", metavar="URL",
                                                   help="the site's report page")] = None,
    blocked_marker: Annotated[list[str] | None, typer.Option(
        "--blocked-marker", metavar="TEXT",
        help="text that shows your block page (repeatable; indexguard's page is known)")] = None,
    title_field: Annotated[str, typer.Option(metavar="NAME", help="form field of the listing title")] = "title",
    description_field: Annotated[str, typer.Option(metavar="NAME",
                                                   help="form field of the listing description")] = "description",
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help="seconds per request")] = 10.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the JSON report here")] = None,
) -> None:
    """Check end to end that the site blocks a canary search, refuses or hides a canary listing and
    has a working report page. Exit 0 when every check passes, 1 when any fails."""
    try:
        base = ProbeConfig(search_url, canary).blocked_markers
        cfg = ProbeConfig(search_url, canary, upload_url, report_url, base + tuple(blocked_marker or ()),
                          title_field, description_field, timeout)
    except ProbeError as e:
        print(f"indexguard: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    report = run_probe(cfg)
    _table(report)
    if output is not None:
        output.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    raise typer.Exit(0 if report.passed else 1)


def _table(report: ProbeReport) -> None:
    table = Table(title=f"indexguard probe: {report.site}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("HTTP")
    table.add_column("detail")
    for c in report.checks:
        table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status.upper()}[/]", str(c.http_status or "-"), c.detail)
    console = Console()
    console.print(table)
    console.print("[bold green]all checks passed[/]" if report.passed else "[bold red]the site failed the audit[/]")
