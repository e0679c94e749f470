"""`indexguard proxy`: the Torznab/Newznab filtering proxy in front of one or more indexers."""

from __future__ import annotations

import gc
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from indexguard.cli.lists_opts import DenyKeyOpt, ListArgs, UrlsOpt, load_screener
from indexguard.errors import IndexguardError
from indexguard.integrations.proxy_indexers import Indexer, load_indexers, single_indexer
from indexguard.integrations.torznab_proxy import ProxyConfig, make_proxy_app
from indexguard.settings import Settings, load

LOG_LEVELS = ("debug", "info", "warning", "error")
# Loggers that would write request URLs: httpx logs every upstream URL (with its key and the search
# text) at INFO, httpcore connection details at DEBUG, uvicorn's access log every request line (with
# the client's search text). They stay at WARNING whatever --log-level says.
QUIET_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "hpack", "h11", "httptools", "watchfiles")


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)


def proxy(
    upstream: Annotated[str | None, typer.Option(
        "--upstream", metavar="URL", help="one indexer's Torznab/Newznab API URL (…/api); or use --indexers")] = None,
    indexers: Annotated[Path | None, typer.Option(
        "--indexers", metavar="FILE",
        help="TOML file of several upstream indexers (id -> url, apikey_env, download_hosts)")] = None,
    terms: Annotated[list[Path] | None, typer.Option("--terms", help="term list; repeatable")] = None,
    allow: Annotated[list[Path] | None, typer.Option("--allow", help="allowlist; repeatable")] = None,
    deny: Annotated[Path | None, typer.Option("--deny", help="deny set (JSONL) checked by infohash")] = None,
    deny_key: DenyKeyOpt = None,
    hashes: Annotated[list[Path] | None, typer.Option("--hashes", help="hash list (infohashes); repeatable")] = None,
    urls: UrlsOpt = None,
    listen: Annotated[str, typer.Option(metavar="HOST:PORT", help="host:port to listen on")] = "127.0.0.1:9117",
    upstream_apikey_env: Annotated[str, typer.Option(
        metavar="VAR", help="environment variable holding --upstream's API key")] = "INDEXGUARD_UPSTREAM_APIKEY",
    download_host: Annotated[list[str] | None, typer.Option(
        "--download-host", metavar="HOST[:PORT]",
        help="another host --upstream's download links may point at; repeatable")] = None,
    apikey: Annotated[list[str] | None, typer.Option(
        "--apikey", metavar="KEY",
        help="key clients must send (repeatable; default: $INDEXGUARD_PROXY_APIKEY or a new one)")] = None,
    public_url: Annotated[str | None, typer.Option(
        metavar="URL", help="the proxy's base URL as clients reach it, behind a reverse proxy")] = None,
    newznab: Annotated[bool, typer.Option("--newznab", help="blocked searches answer in Newznab form")] = False,
    open_access: Annotated[bool, typer.Option("--no-apikey", help="let clients in without a key")] = False,
    log_level: Annotated[str, typer.Option(metavar="LEVEL", help="debug | info | warning | error")] = "info",
) -> None:
    """Filter Torznab/Newznab indexers: blocked searches get an empty feed, flagged items vanish,
    downloads are screened, and upstream API keys never reach clients. Serves `/api` and Jackett's
    `/api/v2.0/indexers/<id|all>/results/torznab/api`."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        _fail(f"--listen must be host:port, not {listen!r}")
    if log_level.lower() not in LOG_LEVELS:
        _fail(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
    try:
        upstreams = _upstreams(upstream, indexers, upstream_apikey_env, download_host or [])
        lists = ListArgs(terms, allow, [str(h) for h in hashes or []], urls=urls, deny=deny, deny_key=deny_key)
        screener, _ = load_screener(lists, quiet=True)
    except IndexguardError as e:
        _fail(str(e))
    keys = _client_keys(apikey, open_access)
    cfg = ProxyConfig(indexers=upstreams, apikeys=frozenset(keys), public_url=public_url,
                      flavor="newznab" if newznab else "torznab")
    if not terms:
        print("indexguard: no --terms given, using the bundled demo list of placeholder terms", file=sys.stderr)
    import uvicorn

    configure_logging(log_level)
    app = make_proxy_app(cfg, screener)
    # Everything loaded so far (the screener's lists above all) lives as long as the process: the
    # collector stops walking it, which made a tenth of a search's time when items were new.
    gc.collect()
    gc.freeze()
    # access_log off and never uvicorn's "trace" level: both would write request lines with search text.
    uvicorn.run(app, host=host, port=int(port), log_level=log_level.lower(),
                access_log=False, log_config=None)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _upstreams(upstream: str | None, path: Path | None, key_env: str, hosts: list[str]) -> tuple[Indexer, ...]:
    if (upstream is None) == (path is None):
        _fail("give exactly one of --upstream URL and --indexers FILE")
    if path is not None:
        return load_indexers(path)
    ix = single_indexer(str(upstream), os.environ.get(key_env) or _settings().upstream_apikey)
    return (Indexer(ix.id, ix.url, ix.apikey, download_hosts=frozenset(h.strip().lower() for h in hosts)),)


def _settings() -> Settings:
    try:
        return load()
    except IndexguardError as e:
        _fail(str(e))


def _fail(message: str) -> NoReturn:
    print(f"indexguard: {message}", file=sys.stderr)
    raise typer.Exit(2)


def _client_keys(given: list[str] | None, open_access: bool) -> list[str]:
    if open_access:
        return []
    keys = list(given or [])
    if not keys and (configured := _settings().proxy_apikey):
        keys = [configured]
    if not keys:
        keys = [secrets.token_hex(16)]
        print(f"indexguard: proxy API key for clients: {keys[0]}", file=sys.stderr)
    return keys
