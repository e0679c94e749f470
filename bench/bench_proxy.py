"""The Torznab proxy's cost: searches/s and p50/p99 latency through the proxy (make_proxy_app, the
standard corpus's 10,000 placeholder terms) versus straight to a local fake Torznab indexer serving
a 100-item feed of corpus titles, plus result items screened per second.

Everything is on 127.0.0.1, one sequential httpx client, each search with a distinct query (so no
per-search state of the proxy answers it). Two arrangements, each measured direct and through the proxy:

- `processes` (the headline figures): the indexer and the proxy each run in their own process, as
  they do when deployed.
- `in_process` (the arrangement of the earlier figures): both servers in threads of the client's
  process, sharing one GIL: a thread woken by the network may wait up to Python's switch interval
  (5 ms) for the GIL while another finishes its work, which inflates every proxied hop.

Each arrangement has three runs, each measured direct and through the proxy:

- `warm`: the issue's 100-item benchmark. Every query gets the same 100-item answer, byte for byte,
  as an indexer answers the *arr apps' RSS polls or a client paging back and forth; the proxy serves it
  from its memory of whole answers (keyed on the answer's digest) after the first time.
- `recurring`: the same 100 items, but every answer differs (its channel title), so only the proxy's
  memory of single items applies: the answer is parsed, its items are not screened again.
- `cold`: every answer brings 100 items never seen before: each is read, screened and rewritten.

`cpu_ms_per_search` is the CPU time the client, indexer and proxy spent per search together
(`cpu_ms_per_search_by_process` splits it when they run apart); the machine's other users disturb it
far less than the wall-clock figures, which move with the load average (`load_average`, 1/5/15
minutes, at the start and end of each arrangement). `summary` puts the figures the issue asks for in
one place.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from corpus import corpus_dir
from indexguard.integrations.identity import build_screener
from indexguard.integrations.torznab_proxy import BlockEvent, ProxyConfig, make_proxy_app
from indexguard.lists.terms import load_term_list

FEED_ITEMS = 100
UPSTREAM_KEY = "benchupstreamkey0123456789"
CLIENT_KEY = "benchclientkey42"
TORZNAB_NS = "http://torznab.com/schemas/2015/feed"


def _titles(path: Path, n: int) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [next(f).rstrip("\n") for _ in range(n)]


class FakeIndexer:
    """The feed logic of tests/integrations/ig_fake_indexer.py, cut down: one search function,
    every page rendered once and served from memory so the indexer costs as little as possible."""

    def __init__(self, titles: list[str]) -> None:
        self.titles = titles
        self.base = ""
        self._pages: dict[tuple[int, int], bytes] = {}
        self.fresh: list[bytes] = []  # when not empty, each answer is the next of these pages (the cold run)
        self.recurring: list[bytes] = []  # the same 100 items in answers that differ (the recurring run)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api", self.api)])

    def prepare_fresh(self, titles: list[str], pages: int) -> None:
        """Pages of 100 items no search has returned before: nothing the proxy remembers applies."""
        self.fresh = [self._render(titles[k * FEED_ITEMS:(k + 1) * FEED_ITEMS], k * FEED_ITEMS + 1_000_000).encode()
                      for k in range(pages)]

    def prepare_recurring(self, pages: int) -> None:
        """Pages holding the warm run's 100 items, each page's channel different: the proxy has met every
        item before but never the answer, so its memory of whole answers does not apply."""
        page = self._feed(0, FEED_ITEMS)
        self.recurring = [page.replace("<title>bench</title>", f"<title>bench {k}</title>", 1).encode()
                          for k in range(pages)]

    async def api(self, request: Request) -> Response:
        params = {k.lower(): v for k, v in request.query_params.items()}
        if params.get("apikey") != UPSTREAM_KEY:
            return Response('<?xml version="1.0"?><error code="100" description="Incorrect user credentials"/>',
                            media_type="application/xml")
        if self.fresh and "cold" in params.get("q", ""):
            return Response(self.fresh.pop(), media_type="application/rss+xml")
        if self.recurring and "recurring" in params.get("q", ""):
            return Response(self.recurring.pop(), media_type="application/rss+xml")
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", 100)), 100)
        page = self._pages.get((offset, limit))
        if page is None:
            page = self._pages[(offset, limit)] = self._feed(offset, limit).encode()
        return Response(page, media_type="application/rss+xml")

    def _feed(self, offset: int, limit: int) -> str:
        return self._render(self.titles[offset:offset + limit], offset, len(self.titles), offset)

    def _render(self, titles: list[str], first: int, total: int | None = None, offset: int = 0) -> str:
        body = "".join(self._item(first + n, t) for n, t in enumerate(titles))
        total = len(titles) if total is None else total
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<rss version="2.0" xmlns:torznab="{TORZNAB_NS}">\n<channel>\n'
                "<title>bench</title><description>bench indexer</description>\n"
                f'<torznab:response offset="{offset}" total="{total}"/>\n{body}</channel>\n</rss>\n')

    def _item(self, n: int, title: str) -> str:
        url = f"{self.base}/get/{n}?apikey={UPSTREAM_KEY}"
        return (f"<item><title>{escape(title)}</title>"
                f'<guid isPermaLink="true">{self.base}/details/{n}</guid>'
                f"<link>{escape(url)}</link>"
                "<pubDate>Sun, 06 Jun 2010 17:29:23 +0100</pubDate><category>TV &gt; HD</category>"
                "<description>A public domain release</description>"
                f'<enclosure url={quoteattr(url)} length="154653309" type="application/x-bittorrent"/>'
                '<torznab:attr name="category" value="5000"/><torznab:attr name="size" value="154653309"/>'
                f'<torznab:attr name="seeders" value="{n}"/></item>\n')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _run_server(app: Any, port: int) -> None:
    gc.collect()
    gc.freeze()  # as `indexguard proxy` does once its lists are loaded
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)


@contextmanager
def _process_server(app: Any, port: int) -> Iterator[int]:
    """uvicorn in a forked process (the app, screener included, is built before the fork); yields its pid."""
    proc = multiprocessing.get_context("fork").Process(target=_run_server, args=(app, port), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or not proc.is_alive():
                    raise RuntimeError("benchmark server process did not start") from None
                time.sleep(0.05)
        assert proc.pid is not None
        yield proc.pid
    finally:
        proc.terminate()
        proc.join(timeout=10)


def _cpu_of(pid: int | None) -> float:
    """CPU seconds of a server process (Linux /proc), or of this process when pid is None."""
    if pid is None:
        return time.process_time()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick
    except (OSError, IndexError, ValueError):
        return 0.0


def _measure(client: httpx.Client, url: str, key: str, n: int, tag: str, pids: dict[str, int]) -> dict[str, Any]:
    """n sequential searches, each with its own query text: latency per request in ms, and CPU time per
    search of everything that took part (this process, and the indexer and proxy processes when they
    run apart; `cpu_ms_per_search_by_process` splits it), which the other users of a shared machine
    disturb far less than wall-clock figures."""
    lat: list[float] = []
    items = 0
    failures = 0
    who: dict[str, int | None] = {"client": None, **pids} if pids else {"all (one process)": None}
    cpu0 = {k: _cpu_of(p) for k, p in who.items()}
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        r = client.get(url, params={"t": "search", "q": f"qzbench {tag} {i}", "limit": "100", "apikey": key})
        lat.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200 or b"<error" in r.content[:200]:
            failures += 1
        items += r.content.count(b"<item>")
    total = time.perf_counter() - t0
    cpu = {k: (_cpu_of(p) - cpu0[k]) * 1000 / n for k, p in who.items()}
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {"searches": n, "searches_per_s": round(n / total, 1), "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(q[98], 2), "cpu_ms_per_search": round(sum(cpu.values()), 2),
            "cpu_ms_per_search_by_process": {k: round(v, 2) for k, v in cpu.items()},
            "items_returned_per_search": items / n, "failures": failures}


# What the upstream answers, per run: `warm` is the 100-item benchmark (the same 100 items in the
# same answer to every query, as an indexer answers the *arr apps' RSS polls or a client paging back);
# `recurring` the same items in answers the proxy never saw whole; `cold` 100 items never seen before.
RUNS = ("warm", "recurring", "cold")


def _arrangement(processes: bool, n: int, titles: list[str], fresh: list[str], screener: Any) -> dict[str, Any]:
    indexer = FakeIndexer(titles)
    up_port, proxy_port = _free_port(), _free_port()
    indexer.base = f"http://127.0.0.1:{up_port}"
    indexer.prepare_fresh(fresh, 2 * n)
    indexer.prepare_recurring(2 * n)
    events: list[BlockEvent] = []
    cfg = ProxyConfig(upstream=indexer.base + "/api", upstream_apikey=UPSTREAM_KEY, apikeys=frozenset({CLIENT_KEY}))
    app = make_proxy_app(cfg, screener, events.append)
    out: dict[str, Any] = {"load_average_before": _load()}
    with _servers(processes, indexer.app(), up_port, app, proxy_port) as pids, httpx.Client(timeout=30) as client:
        direct_url, proxy_url = f"{indexer.base}/api", f"http://127.0.0.1:{proxy_port}/api"
        _measure(client, direct_url, UPSTREAM_KEY, 10, "warm", pids)
        _measure(client, proxy_url, CLIENT_KEY, 10, "warm", pids)
        for run in RUNS:
            direct = _measure(client, direct_url, UPSTREAM_KEY, n, f"direct-{run}", pids)
            proxied = _measure(client, proxy_url, CLIENT_KEY, n, f"proxy-{run}", pids)
            out[run] = {"direct": direct, "proxy": proxied, "added": _added(direct, proxied)}
    out["load_average_after"] = _load()
    out["block_events"] = len(events) if not processes else None
    return out


@contextmanager
def _servers(processes: bool, upstream: Any, up_port: int, proxy: Any, proxy_port: int) -> Iterator[dict[str, int]]:
    if processes:
        with _process_server(upstream, up_port) as up_pid, _process_server(proxy, proxy_port) as proxy_pid:
            yield {"indexer": up_pid, "proxy": proxy_pid}
    else:
        with _Server(upstream, up_port), _Server(proxy, proxy_port):
            yield {}


def _added(direct: dict[str, Any], proxied: dict[str, Any]) -> dict[str, Any]:
    return {
        "p50_ms": round(proxied["p50_ms"] - direct["p50_ms"], 2),
        "p99_ms": round(proxied["p99_ms"] - direct["p99_ms"], 2),
        "cpu_ms_per_search": round(proxied["cpu_ms_per_search"] - direct["cpu_ms_per_search"], 2),
        "throughput_ratio": round(direct["searches_per_s"] / proxied["searches_per_s"], 2),
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _summary(name: str, a: dict[str, Any]) -> dict[str, Any]:
    """One line per run: the figures the issue asks for."""
    return {run: {"direct_per_s": a[run]["direct"]["searches_per_s"], "proxy_per_s": a[run]["proxy"]["searches_per_s"],
                  "direct_p50_p99_ms": [a[run]["direct"]["p50_ms"], a[run]["direct"]["p99_ms"]],
                  "proxy_p50_p99_ms": [a[run]["proxy"]["p50_ms"], a[run]["proxy"]["p99_ms"]],
                  "added_p50_ms": a[run]["added"]["p50_ms"],
                  "added_cpu_ms_per_search": a[run]["added"]["cpu_ms_per_search"],
                  "proxy_process_cpu_ms_per_search": a[run]["proxy"]["cpu_ms_per_search_by_process"].get("proxy")}
            for run in RUNS} | {"arrangement": name,
                                "load_average": [a["load_average_before"], a["load_average_after"]]}


def run(quick: bool) -> dict[str, object]:
    n = 100 if quick else 500
    d = corpus_dir()
    titles = _titles(d / "titles.txt", FEED_ITEMS * (2 * n + 1))
    load_start = _load()
    t0 = time.perf_counter()
    terms = load_term_list(d / "terms.txt")
    screener = build_screener([terms])
    build_s = time.perf_counter() - t0
    fresh = titles[FEED_ITEMS:]  # the cold runs' pages: titles no warm search returns
    separate = _arrangement(True, n, titles[:FEED_ITEMS], fresh, screener)
    threads = _arrangement(False, n, titles[:FEED_ITEMS], fresh, screener)
    ok = all(a[r][w]["failures"] == 0 for a in (separate, threads) for r in RUNS for w in ("direct", "proxy"))
    warm = separate["warm"]
    return {
        "corpus": {"terms": len(terms), "feed_items": FEED_ITEMS,
                   "source": "bench/make_bench_corpus.py seed 7, first 100 titles (cold runs: the next ones)"},
        "screener_build_seconds": round(build_s, 2),
        "summary": [_summary("processes", separate), _summary("in_process", threads)],
        # The headline (issue 16): the warm run, indexer and proxy as separate processes.
        "direct": warm["direct"],
        "proxy": warm["proxy"],
        "overhead": warm["added"],
        "processes": separate,
        "in_process": threads,
        "items_screened_per_s": {run: round(separate[run]["proxy"]["searches_per_s"] * FEED_ITEMS) for run in RUNS},
        "load_average": {"start": load_start, "end": _load()},
        "cpus": os.cpu_count(),
        "target": {"proxy_searches_per_s": 300, "added_p50_ms": 5, "arrangement": "processes", "run": "warm"},
        "met": ok and warm["proxy"]["searches_per_s"] >= 300 and warm["added"]["p50_ms"] <= 5,
        "met_by_run": {run: ok and separate[run]["proxy"]["searches_per_s"] >= 300
                       and separate[run]["added"]["p50_ms"] <= 5 for run in RUNS},
    }
