"""`indexguard proxy`: the Torznab/Newznab filtering proxy in front of an indexer."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from indexguard.demo.terms import demo_term_list
from indexguard.errors import IndexguardError
from indexguard.integrations.identity import build_screener, load_banks
from indexguard.integrations.torznab_proxy import ProxyConfig, make_proxy_app
from indexguard.lists.terms import load_term_list
from indexguard.screen.deny_set import JsonlDenySet


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)


def proxy(
    upstream: Annotated[
        str, typer.Option("--upstream", metavar="URL", help="the indexer's Torznab/Newznab API URL (…/api)")
    ],
    terms: Annotated[list[Path] | None, typer.Option("--terms", help="term list; repeatable")] = None,
    allow: Annotated[list[Path] | None, typer.Option("--allow", help="allowlist; repeatable")] = None,
    deny: Annotated[Path | None, typer.Option("--deny", help="deny set (JSONL) checked by infohash")] = None,
    hashes: Annotated[list[Path] | None, typer.Option("--hashes", help="hash list (infohashes); repeatable")] = None,
    listen: Annotated[str, typer.Option(metavar="HOST:PORT", help="host:port to listen on")] = "127.0.0.1:9117",
    upstream_apikey_env: Annotated[str, typer.Option(
        metavar="VAR", help="environment variable holding the upstream API key")] = "INDEXGUARD_UPSTREAM_APIKEY",
    apikey: Annotated[list[str] | None, typer.Option(
        "--apikey", metavar="KEY",
        help="key clients must send (repeatable; default: $INDEXGUARD_PROXY_APIKEY or a new one)")] = None,
    public_url: Annotated[
        str | None, typer.Option(metavar="URL", help="the API URL clients use, when behind a reverse proxy")
    ] = None,
    newznab: Annotated[bool, typer.Option("--newznab", help="blocked searches answer in Newznab form")] = False,
    open_access: Annotated[bool, typer.Option("--no-apikey", help="let clients in without a key")] = False,
) -> None:
    """Filter a Torznab/Newznab indexer: blocked searches get an empty feed, flagged items vanish,
    downloads are screened, and the upstream API key never reaches clients."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"indexguard: --listen must be host:port, not {listen!r}", file=sys.stderr)
        raise typer.Exit(2)
    try:
        term_lists = [load_term_list(p) for p in terms] if terms else [demo_term_list()]
        screener = build_screener(term_lists, [load_term_list(p, allowlist=True) for p in allow or []],
                                  deny=JsonlDenySet(deny) if deny else None, banks=load_banks(hashes))
    except IndexguardError as e:
        print(f"indexguard: {e}", file=sys.stderr)
        raise typer.Exit(2) from None
    keys = _client_keys(apikey, open_access)
    secret = os.environ.get("INDEXGUARD_PROXY_LINK_SECRET", "").encode()
    cfg = ProxyConfig(upstream=upstream, upstream_apikey=os.environ.get(upstream_apikey_env) or None,
                      apikeys=frozenset(keys), link_secret=secret, public_url=public_url,
                      flavor="newznab" if newznab else "torznab")
    if not terms:
        print("indexguard: no --terms given, using the bundled demo list of placeholder terms", file=sys.stderr)
    if not secret:
        print("indexguard: INDEXGUARD_PROXY_LINK_SECRET not set; download links expire on restart", file=sys.stderr)
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # No access log: request lines carry the search text, which must not reach logs.
    uvicorn.run(make_proxy_app(cfg, screener), host=host, port=int(port), log_level="info", access_log=False)


def _client_keys(given: list[str] | None, open_access: bool) -> list[str]:
    if open_access:
        return []
    keys = list(given or [])
    if not keys and os.environ.get("INDEXGUARD_PROXY_APIKEY"):
        keys = [os.environ["INDEXGUARD_PROXY_APIKEY"]]
    if not keys:
        keys = [secrets.token_hex(16)]
        print(f"indexguard: proxy API key for clients: {keys[0]}", file=sys.stderr)
    return keys
