"""`indexguard probe` against the service's own demo site: every check passes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ig_service_helpers import running_server, settings_for
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.web.app import build_services


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    # First start as a newcomer runs it: the demo placeholder list goes live.
    svc = build_services(settings_for(f"sqlite:///{tmp_path / 'demo.db'}", bootstrap=True, demo_routes=True))
    with running_server(svc, lambda: svc.live.state is not None) as base:
        yield base


def test_probe_passes_against_the_demo_site(demo_server: str, tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    r = CliRunner().invoke(build_app(), [
        "probe", "--search-url", f"{demo_server}/demo/search?q={{q}}", "--canary", "zorblat",
        "--upload-url", f"{demo_server}/demo/upload", "--report-url", f"{demo_server}/report", "-o", str(out),
    ])
    report = json.loads(out.read_text())
    assert r.exit_code == 0, r.output
    assert {c["status"] for c in report["checks"]} == {"pass"}
    assert len(report["checks"]) >= 3


def test_demo_search_does_not_echo_a_blocked_query(demo_server: str) -> None:
    import httpx

    r = httpx.get(f"{demo_server}/demo/search", params={"q": "zorblat echo-check"})
    assert "echo-check" not in r.text and "zorblat" not in r.text
    assert "/report" in r.text
