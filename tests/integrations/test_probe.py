"""The canary self-audit against a demo site that blocks (the ASGI middleware and screened uploads)
and against the same site without any of it, both served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ig_demo_site import DemoSite
from ig_helpers import CANARY, ServerThread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.integrations.probe import ProbeConfig, ProbeError, run_probe
from indexguard.screen.screener import Screener


def _cfg(site: ServerThread, **kw: Any) -> ProbeConfig:
    return ProbeConfig(search_url=site.url + "/search?q={q}", canary=CANARY, upload_url=site.url + "/upload",
                       report_url=site.url + "/report", **kw)


def _statuses(report: Any) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_guarded_site_passes(serve: Callable[[Any], ServerThread], screener: Screener) -> None:
    demo = DemoSite(screener, guarded=True)
    report = run_probe(_cfg(serve(demo.app())))
    assert report.passed, report.checks
    assert set(_statuses(report).values()) == {"pass"}
    assert demo.listings == []  # the canary listing was refused
    assert len(demo.events) == 1  # the canary search, recorded by the middleware


def test_site_that_blocks_nothing_fails_on_the_right_rows(serve: Callable[[Any], ServerThread],
                                                          screener: Screener) -> None:
    report = run_probe(_cfg(serve(DemoSite(screener, guarded=False).app())))
    assert not report.passed
    assert _statuses(report) == {
        "benign search answered": "pass",
        "canary search blocked": "fail",
        "canary listing refused or hidden": "fail",
        "report link works": "pass",
    }
    listing = next(c for c in report.checks if c.name.startswith("canary listing"))
    assert "accepted and listed" in listing.detail


def test_block_page_that_echoes_the_query_fails(serve: Callable[[Any], ServerThread]) -> None:
    async def search(request: Request) -> HTMLResponse:
        q = request.query_params.get("q", "")
        if CANARY in q:
            return HTMLResponse(f"<p>Blocked: {q}</p>", status_code=451)
        return HTMLResponse(f"results for {q}")

    site = serve(Starlette(routes=[Route("/search", search)]))
    report = run_probe(ProbeConfig(site.url + "/search?q={q}", CANARY))
    checks = {c.name: c for c in report.checks}
    assert checks["canary search blocked"].status == "fail" and "echoes" in checks["canary search blocked"].detail
    assert checks["report link works"].status == "skip"
    assert checks["canary listing refused or hidden"].status == "skip"


def test_missing_report_page_and_dead_site_fail(serve: Callable[[Any], ServerThread], screener: Screener) -> None:
    site = serve(DemoSite(screener).app())
    report = run_probe(ProbeConfig(site.url + "/search?q={q}", CANARY, report_url=site.url + "/nope"))
    assert _statuses(report)["report link works"] == "fail"
    dead = run_probe(ProbeConfig("http://127.0.0.1:9/search?q={q}", CANARY, timeout=2))
    assert _statuses(dead)["benign search answered"] == "fail" and not dead.passed


def test_config_errors() -> None:
    with pytest.raises(ProbeError, match=r"\{q\}"):
        ProbeConfig("http://127.0.0.1/search", CANARY)
    with pytest.raises(ProbeError):
        ProbeConfig("http://127.0.0.1/search?q={q}", " ")


def test_cli_exit_codes_and_json_report(serve: Callable[[Any], ServerThread], screener: Screener,
                                        tmp_path: Path) -> None:
    runner = CliRunner()
    good = serve(DemoSite(screener, guarded=True).app())
    bad = serve(DemoSite(screener, guarded=False).app())
    for site, code in ((good, 0), (bad, 1)):
        out = tmp_path / f"report{code}.json"
        r = runner.invoke(build_app(), ["probe", "--search-url", site.url + "/search?q={q}", "--canary", CANARY,
                                        "--upload-url", site.url + "/upload", "--report-url", site.url + "/report",
                                        "-o", str(out)])
        assert r.exit_code == code, r.output
        data = json.loads(out.read_text())
        assert data["passed"] is (code == 0) and len(data["checks"]) == 4
        assert "canary search blocked" in r.stdout
    r = runner.invoke(build_app(), ["probe", "--search-url", "http://127.0.0.1/x", "--canary", CANARY])
    assert r.exit_code == 2 and "{q}" in r.stderr
