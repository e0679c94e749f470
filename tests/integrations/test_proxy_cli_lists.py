"""`indexguard proxy` builds its Screener with the CLI's list options (the core's one assembly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from indexguard.cli import proxy_cmd
from indexguard.cli.main import build_app
from indexguard.screen.item import Item


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `indexguard proxy` would serve: its Screener, caught instead of starting a server."""
    out: dict[str, Any] = {}
    monkeypatch.setattr(proxy_cmd, "make_proxy_app", lambda cfg, screener: out.setdefault("screener", screener))
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    # Its logging setup would bind the root logger to this runner's stream, closed after the test.
    monkeypatch.setattr(proxy_cmd, "configure_logging", lambda level: None)
    return out


def test_proxy_takes_url_lists_like_screen(tmp_path: Path, built: dict[str, Any]) -> None:
    (tmp_path / "terms.txt").write_text("bizu\n")
    (tmp_path / "urls.txt").write_text("http://listed.example.test/bad/*\n")
    args = ["proxy", "--upstream", "http://127.0.0.1:1/api", "--no-apikey", "--terms", str(tmp_path / "terms.txt"),
            "--urls", str(tmp_path / "urls.txt")]  # fmt: skip
    r = CliRunner().invoke(build_app(), args)
    assert r.exit_code == 0, r.output
    screener = built["screener"]
    listed = Item.from_json({"id": "1", "title": "garden", "url": "HTTP://Listed.Example.test:80/bad/x"})
    assert screener.screen(listed).action == "block"
    assert screener.screen(Item.from_json({"id": "2", "title": "bizu"})).action == "block"
    assert screener.screen(Item.from_json({"id": "3", "title": "garden"})).action == "allow"
    bad = CliRunner().invoke(build_app(), [*args[:5], "--urls", str(tmp_path / "missing.txt")])
    assert bad.exit_code == 2 and "missing.txt" in bad.output


def test_proxy_reads_a_keyed_deny_set_with_its_key_and_never_writes_it(tmp_path: Path, built: dict[str, Any]) -> None:
    (tmp_path / "terms.txt").write_text("bizu\n")
    (tmp_path / "items.jsonl").write_text('{"id": "a", "title": "bizu", "url": "http://seen.example.test/t/1"}\n')
    deny = tmp_path / "deny.jsonl"
    screened = CliRunner().invoke(build_app(), ["screen", "--no-progress", "--terms", str(tmp_path / "terms.txt"),
                                                "--deny", str(deny), str(tmp_path / "items.jsonl")])  # fmt: skip
    assert screened.exit_code == 0, screened.output
    key = tmp_path / "moved.key"
    (tmp_path / "deny.jsonl.key").rename(key)
    before = deny.read_bytes()
    args = ["proxy", "--upstream", "http://127.0.0.1:1/api", "--no-apikey", "--terms", str(tmp_path / "terms.txt"),
            "--deny", str(deny)]  # fmt: skip
    missing = CliRunner().invoke(build_app(), args)
    assert missing.exit_code == 2 and "--deny-key" in missing.output
    r = CliRunner().invoke(build_app(), [*args, "--deny-key", str(key)])
    assert r.exit_code == 0, r.output
    again = Item.from_json({"id": "b", "title": "garden", "url": "HTTP://SEEN.example.test:80/t/%31"})
    assert built["screener"].screen(again).action == "block"
    assert deny.read_bytes() == before and not (tmp_path / "deny.jsonl.key").exists()
