"""Fixtures for the integration tests: real servers on 127.0.0.1, synthetic lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ig_helpers import TERMS_TEXT, ServerThread, term_list

from indexguard.screen.screener import Screener


@pytest.fixture
def screener() -> Screener:
    return Screener.build([term_list()])


@pytest.fixture
def terms_file(tmp_path: Path) -> Path:
    p = tmp_path / "terms.txt"
    p.write_text(TERMS_TEXT, encoding="utf-8")
    return p


@pytest.fixture
def serve() -> Iterator[Callable[[Any], ServerThread]]:
    started: list[ServerThread] = []

    def _serve(app: Any) -> ServerThread:
        s = ServerThread(app).start()
        started.append(s)
        return s

    yield _serve
    for s in started:
        s.stop()
