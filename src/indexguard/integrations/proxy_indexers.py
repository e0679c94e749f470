"""The upstream indexers behind one Torznab proxy, from a small TOML file:

    [indexers.demo]                       # the id clients see in /api/v2.0/indexers/demo/...
    url = "http://127.0.0.1:9117/api/v2.0/indexers/demo/results/torznab/api"
    apikey_env = "DEMO_APIKEY"            # the key itself never sits in the file
    name = "Demo indexer"                 # optional; shown to clients (jackettindexer, t=indexers)
    download_hosts = ["dl.example.org"]   # optional; other hosts its download links may point at

Ids are lower-case letters, digits, `-`, `_` and `.` (Jackett's ids), and `all` is reserved for the
fan-out over every indexer.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from indexguard.errors import IndexguardError

ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
DEFAULT_ID = "indexguard"
RESERVED_IDS = frozenset(("all",))


class IndexerConfigError(IndexguardError):
    """An indexer file that cannot be used; the message names the file and the entry, never a key."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, (parts.hostname or "").lower(), port)


@dataclass(frozen=True)
class Indexer:
    id: str
    url: str  # the upstream's Torznab/Newznab API endpoint
    apikey: str | None = None
    name: str = ""
    download_hosts: frozenset[str] = field(default_factory=frozenset)  # "host" or "host:port"

    @property
    def origin(self) -> Origin:
        return Origin.of(self.url)

    @property
    def title(self) -> str:
        return self.name or self.id


def single_indexer(url: str, apikey: str | None, indexer_id: str = DEFAULT_ID) -> Indexer:
    _check_url(url, indexer_id)
    return Indexer(indexer_id, url, apikey or None)


def load_indexers(path: Path, environ: Mapping[str, str] | None = None) -> tuple[Indexer, ...]:
    env = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise IndexerConfigError(f"{path}: cannot read ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise IndexerConfigError(f"{path}: not valid TOML ({e})") from None
    table = data.get("indexers")
    if not isinstance(table, dict) or not table:
        raise IndexerConfigError(f"{path}: no [indexers.<id>] tables")
    return tuple(_indexer(path, ident, entry, env) for ident, entry in table.items())


def _indexer(path: Path, ident: str, entry: Any, env: Mapping[str, str]) -> Indexer:
    where = f"{path}: indexer {ident!r}"
    if not ID_RE.fullmatch(ident) or ident in RESERVED_IDS:
        raise IndexerConfigError(f"{where}: ids are lower-case letters, digits, '.', '-', '_' and not 'all'")
    if not isinstance(entry, dict):
        raise IndexerConfigError(f"{where}: must be a table")
    unknown = set(entry) - {"url", "apikey_env", "name", "download_hosts"}
    if unknown:
        raise IndexerConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}"
                                 + (" (put the key in an environment variable named by apikey_env)"
                                    if "apikey" in unknown else ""))
    url = entry.get("url")
    if not isinstance(url, str):
        raise IndexerConfigError(f"{where}: url is required")
    _check_url(url, where)
    key = None
    env_name = entry.get("apikey_env")
    if env_name is not None:
        if not isinstance(env_name, str) or not env_name:
            raise IndexerConfigError(f"{where}: apikey_env must name an environment variable")
        key = env.get(env_name) or None
        if key is None:
            raise IndexerConfigError(f"{where}: environment variable {env_name} is not set")
    hosts = entry.get("download_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip() for h in hosts):
        raise IndexerConfigError(f"{where}: download_hosts must be a list of host names")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise IndexerConfigError(f"{where}: name must be a string")
    return Indexer(ident, url, key, name, frozenset(h.strip().lower() for h in hosts))


def _check_url(url: str, where: str) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        raise IndexerConfigError(f"{where}: url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise IndexerConfigError(f"{where}: url must be an http(s) URL")
    if parts.query or parts.username or parts.password:
        raise IndexerConfigError(f"{where}: url must carry no query or credentials (the key goes in apikey_env)")
