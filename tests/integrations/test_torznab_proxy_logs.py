"""A whole `indexguard proxy` session at the most verbose log level the command offers, with every
kind of request a client makes, and then a grep of everything it wrote: no upstream key, no search
text, no upstream URL with its query."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from ig_fake_indexer import UPSTREAM_KEY, FakeIndexer, FakeItem, default_items
from ig_helpers import TERMS_TEXT, ServerThread

CLIENT_KEY = "logtestclientkey"
SEARCH_TEXT = "qqsearchcanary public show"  # what a client searched for; must never be logged
BLOCKED_TEXT = "zorblat qqblockedcanary"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the proxy exited early")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the proxy did not start")


def test_debug_log_of_a_full_session_holds_no_key_no_search_text_no_upstream_query(
        serve: Callable[[Any], ServerThread], tmp_path: Path) -> None:
    items = [*default_items(), FakeItem("Redirected.Away")]
    indexer = FakeIndexer(items)
    indexer.base = serve(indexer.app()).url
    items[-1].download = f"{indexer.base}/redirect?to=http://127.0.0.1:{_free_port()}/admin%3Fapikey%3D{UPSTREAM_KEY}"
    terms = tmp_path / "terms.txt"
    terms.write_text(TERMS_TEXT, encoding="utf-8")
    conf = tmp_path / "indexers.toml"
    conf.write_text(f'[indexers.one]\nurl = "{indexer.base}/api"\napikey_env = "ONE_KEY"\n\n'
                    f'[indexers.two]\nurl = "{indexer.base}/api"\napikey_env = "ONE_KEY"\n', encoding="utf-8")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"ONE_KEY": UPSTREAM_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from indexguard.cli.main import main; main()", "proxy", "--indexers", str(conf),
         "--terms", str(terms), "--apikey", CLIENT_KEY, "--listen", f"127.0.0.1:{port}", "--log-level", "debug"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(base + "/api", proc)
        jackett = base + "/api/v2.0/indexers/{}/results/torznab/api"
        get = lambda url, **p: httpx.get(url, params=p, timeout=15)  # noqa: E731
        get(jackett.format("all"), apikey=CLIENT_KEY, t="indexers", configured="true")
        get(base + "/api", apikey=CLIENT_KEY, t="caps")
        get(jackett.format("all"), apikey=CLIENT_KEY, t="caps")
        feed = get(jackett.format("one"), apikey=CLIENT_KEY, q=SEARCH_TEXT).text
        get(jackett.format("all"), apikey=CLIENT_KEY, t="tvsearch", q=SEARCH_TEXT, cat="5000", season="1", ep="2")
        get(base + "/api", apikey=CLIENT_KEY, t="search", q=BLOCKED_TEXT)
        get(base + "/api", apikey="wrong-" + SEARCH_TEXT, t="search", q=SEARCH_TEXT)
        get(jackett.format("nosuch"), apikey=CLIENT_KEY, q=SEARCH_TEXT)
        links = [part.split("<", 1)[0] for part in feed.split("<link>")[1:]]
        assert len(links) == 7  # no --deny here, so the infohash-listed item of the unit tests is kept
        statuses = sorted(httpx.get(link, timeout=15).status_code for link in links)
        assert statuses == [200] * 5 + [404, 404]  # the flagged .torrent and the redirect to loopback
        get(base + "/dl/AAAAAAAAAAAAAAAAAAAAAA.torrent")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    log = out.decode("utf-8", "replace")
    assert "blocked query" in log and "blocked item" in log and "blocked download" in log  # it did log
    assert "DEBUG" in log  # at the most verbose level
    for secret in (UPSTREAM_KEY, CLIENT_KEY):
        assert secret not in log
    for text in (SEARCH_TEXT, BLOCKED_TEXT):
        for form in {text, quote(text), quote_plus(text), *text.split()[:1]}:
            assert form not in log, form
    assert f"{indexer.base}/api?" not in log and "apikey=" not in log and "?t=" not in log
    assert "/redirect" not in log and "/admin" not in log
