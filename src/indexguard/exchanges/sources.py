"""Hash-sharing sources: which upstream, which bank, and the `threatexchange` client that talks to it.

The `threatexchange` library (BSD, Meta) is an optional extra, imported only here and only when a
fetch runs: a plain install still runs every other command, and a fetch without it fails with one
line naming the extra. Credentials come from settings and are handed to the library explicitly, so
it never searches the environment or the home directory for its own.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from indexguard.errors import IndexguardError

EXTRA_HINT = "exchange fetching needs the 'exchanges' extra: pip install 'indexguard[exchanges]'"
APIS = ("ncmec", "fb_threatexchange", "stopncii", "file", "url")
ACTIVATE = ("live", "shadow", "none")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEFAULT_CATEGORY = {"ncmec": "csam", "stopncii": "ncii"}
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")

# NCMEC's industry classification (the "Industry" and "Exploitative" databases) onto indexguard
# categories. A1/A2: prepubescent, B1/B2: pubescent (1: sex act, 2: lascivious exhibition): all CSAM.
# The upstream label itself is kept on the entry's source, so nothing is lost in the mapping.
NCMEC_CATEGORIES: dict[str, str] = {"A1": "csam", "A2": "csam", "B1": "csam", "B2": "csam"}
NCMEC_EXPLOITATIVE_ENVIRONMENTS = ("Exploitative", "Industry_Exploitative", "NGO_Generative_AI_Exploitative")

# threatexchange SignalType names onto indexguard hash types. VideoMD5 is the MD5 of the file bytes.
SIGNAL_TO_HASH_TYPE: dict[str, str] = {"pdq": "pdq", "video_md5": "md5", "sha1": "sha1"}


class ExchangeError(IndexguardError):
    """A source that cannot be configured or fetched; the message never carries a credential."""


class ExtraMissing(ExchangeError):
    """The `threatexchange` library is not installed."""


@dataclass(frozen=True)
class Credentials:
    """Secrets for the upstreams, from settings. `repr` shows which are set, never their values."""

    ncmec_user: str | None = field(default=None, repr=False)
    ncmec_password: str | None = field(default=None, repr=False)
    te_token: str | None = field(default=None, repr=False)
    stopncii_subscription_key: str | None = field(default=None, repr=False)
    stopncii_fetch_function_key: str | None = field(default=None, repr=False)

    def secrets(self) -> list[str]:
        values = (
            self.ncmec_user,
            self.ncmec_password,
            self.te_token,
            self.stopncii_subscription_key,
            self.stopncii_fetch_function_key,
        )
        return [v for v in values if v]

    def scrub(self, text: str) -> str:
        """The text with every secret (and the URL-quoted form of it) replaced by ***."""
        from urllib.parse import quote

        for s in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(s, "***").replace(quote(s, safe=""), "***")
        return text


@dataclass(frozen=True)
class SourceConfig:
    """One upstream feeding one hash bank (an indexguard hash list of the same name as `bank`)."""

    name: str
    api: str
    bank: str
    category: str
    activate: str = "live"
    base_url: str | None = None
    environment: str = "Industry"  # NCMEC database
    only_esp_ids: tuple[int, ...] = ()
    privacy_group: int | None = None  # ThreatExchange
    path: str | None = None  # file
    url: str | None = None  # url
    signal_type: str | None = None  # file/url lines without a type

    @property
    def snapshot(self) -> bool:
        """Sources that hand over their whole content each time: a hash missing from it leaves the bank."""
        return self.api in ("file", "url")


def parse_sources(raw: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]]) -> list[SourceConfig]:
    """Validate `exchange_sources` (TOML `[[exchange_sources]]` tables) into configs; errors name the source."""
    out: list[SourceConfig] = []
    for i, table in enumerate(raw):
        out.append(_source(table, f"exchange_sources[{i}]"))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExchangeError(f"exchange_sources: duplicate source name(s) {', '.join(dup)}")
    banks = [s.bank for s in out]
    shared = sorted({b for b in banks if banks.count(b) > 1})
    if shared:
        raise ExchangeError(f"exchange_sources: each source needs its own bank; shared: {', '.join(shared)}")
    return out


_KEYS = {
    "name", "api", "bank", "category", "activate", "base_url", "environment", "only_esp_ids",
    "privacy_group", "path", "url", "signal_type",
}  # fmt: skip


def _source(table: Mapping[str, Any], where: str) -> SourceConfig:
    if not isinstance(table, Mapping):
        raise ExchangeError(f"{where}: must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ExchangeError(f"{where}: unknown key(s) {', '.join(unknown)} (credentials belong in settings)")
    name = str(table.get("name", ""))
    if not _NAME.match(name):
        raise ExchangeError(f"{where}: name must match {_NAME.pattern}")
    where = f"exchange source {name!r}"
    api = str(table.get("api", ""))
    if api not in APIS:
        raise ExchangeError(f"{where}: api must be one of {', '.join(APIS)}")
    bank = str(table.get("bank", name))
    if not _NAME.match(bank):
        raise ExchangeError(f"{where}: bank must match {_NAME.pattern}")
    activate = str(table.get("activate", "live"))
    if activate not in ACTIVATE:
        raise ExchangeError(f"{where}: activate must be one of {', '.join(ACTIVATE)}")
    base_url = table.get("base_url") or None
    for key in ("base_url", "url"):
        value = table.get(key)
        if value and not _https_or_loopback(str(value)):
            raise ExchangeError(f"{where}: {key} must be https:// (http only to 127.0.0.1/localhost)")
    cfg = SourceConfig(
        name=name,
        api=api,
        bank=bank,
        category=str(table.get("category") or _DEFAULT_CATEGORY.get(api, "csam")),
        activate=activate,
        base_url=str(base_url) if base_url else None,
        environment=str(table.get("environment", "Industry")),
        only_esp_ids=tuple(int(x) for x in table.get("only_esp_ids", ())),
        privacy_group=int(table["privacy_group"]) if table.get("privacy_group") is not None else None,
        path=str(table["path"]) if table.get("path") else None,
        url=str(table["url"]) if table.get("url") else None,
        signal_type=str(table["signal_type"]) if table.get("signal_type") else None,
    )
    _check_required(cfg, where)
    return cfg


def _check_required(cfg: SourceConfig, where: str) -> None:
    need = {"fb_threatexchange": ("privacy_group",), "file": ("path",), "url": ("url",)}.get(cfg.api, ())
    missing = [k for k in need if getattr(cfg, k) is None]
    if missing:
        raise ExchangeError(f"{where}: {cfg.api} needs {', '.join(missing)}")


def _https_or_loopback(url: str) -> bool:
    if url.startswith("https://"):
        return len(url) > len("https://")
    return any(url.startswith(p) and url[len(p) : len(p) + 1] in ("", ":", "/") for p in _LOOPBACK)


def library() -> Any:
    """The `threatexchange` package, or ExtraMissing with the one-line install hint."""
    try:
        return importlib.import_module("threatexchange")
    except ImportError:
        raise ExtraMissing(EXTRA_HINT) from None


def module(name: str) -> Any:
    library()
    return importlib.import_module(name)


def signal_types() -> list[Any]:
    """The SignalTypes indexguard can bank: PDQ and video MD5 (plus vPDQ where that package is installed)."""
    pdq = module("threatexchange.signal_type.pdq.signal").PdqSignal
    md5 = module("threatexchange.signal_type.md5").VideoMD5Signal
    return [pdq, md5]


def make_api(cfg: SourceConfig, creds: Credentials) -> Any:
    """A ready SignalExchangeAPI instance for the source (credentials passed in, never discovered)."""
    builders = {
        "ncmec": _ncmec,
        "fb_threatexchange": _threatexchange,
        "stopncii": _stopncii,
        "file": _file,
        "url": _url,
    }
    return builders[cfg.api](cfg, creds)


def _ncmec(cfg: SourceConfig, creds: Credentials) -> Any:
    impl = module("threatexchange.exchanges.impl.ncmec_api")
    hash_api = module("threatexchange.exchanges.clients.ncmec.hash_api")
    if not (creds.ncmec_user and creds.ncmec_password):
        raise ExchangeError(f"source {cfg.name!r}: set ncmec_hash_username and ncmec_hash_password")
    try:
        env = hash_api.NCMECEnvironment[cfg.environment]
    except KeyError:
        names = ", ".join(e.name for e in hash_api.NCMECEnvironment)
        raise ExchangeError(f"source {cfg.name!r}: NCMEC environment must be one of {names}") from None
    collab = impl.NCMECCollabConfig(name=cfg.name, environment=env, only_esp_ids=set(cfg.only_esp_ids))
    base_url = cfg.base_url

    class _Api(impl.NCMECSignalExchangeAPI):  # type: ignore[misc, name-defined]
        # The library picks the server from a fixed list; a base URL override (a proxy, a test
        # double) swaps only the address, every request and parse stays the library's own.
        def get_client(self, environment: Any) -> Any:
            client = super().get_client(environment)
            if base_url:
                client._base_url = base_url.rstrip("/")
            return client

    return _Api(collab, creds.ncmec_user, creds.ncmec_password)


def _threatexchange(cfg: SourceConfig, creds: Credentials) -> Any:
    impl = module("threatexchange.exchanges.impl.fb_threatexchange_api")
    client_mod = module("threatexchange.exchanges.clients.fb_threatexchange.api")
    if not creds.te_token:
        raise ExchangeError(f"source {cfg.name!r}: set threatexchange_access_token")
    collab = impl.FBThreatExchangeCollabConfig(name=cfg.name, privacy_group=cfg.privacy_group)
    client = client_mod.ThreatExchangeAPI(creds.te_token, endpoint_override=cfg.base_url)
    return impl.FBThreatExchangeSignalExchangeAPI(client, collab)


def _stopncii(cfg: SourceConfig, creds: Credentials) -> Any:
    impl = module("threatexchange.exchanges.impl.stop_ncii_api")
    client_mod = module("threatexchange.exchanges.clients.stopncii.api")
    collab_mod = module("threatexchange.exchanges.collab_config")
    if not (creds.stopncii_subscription_key and creds.stopncii_fetch_function_key):
        raise ExchangeError(f"source {cfg.name!r}: set stopncii_subscription_key and stopncii_fetch_function_key")
    client = client_mod.StopNCIIAPI(
        creds.stopncii_subscription_key, creds.stopncii_fetch_function_key, base_url_override=cfg.base_url
    )
    collab = collab_mod.CollaborationConfigBase(name=cfg.name, api="stop_ncii", enabled=True)
    state = module("threatexchange.exchanges.fetch_state")
    gone = (client_mod.StopNCIICaseStatus.Withdrawn, client_mod.StopNCIICaseStatus.Deleted)

    class _Api(impl.StopNCIISignalExchangeAPI):  # type: ignore[misc, name-defined]
        # The library tests the hash value, not the case status, against Withdrawn/Deleted, so a
        # withdrawn hash would never leave the bank: the same fetch with the status tested.
        def fetch_iter(self, _types: Any, checkpoint: Any) -> Any:
            start = client_mod.StopNCIIAPI.DEFAULT_START_TIME if checkpoint is None else checkpoint.update_time
            for result in self.api.fetch_hashes_iter(start_timestamp=start):
                updates = {}
                for record in result.hashRecords:
                    key, meta = impl._get_delta_mapping(record)
                    if key[0]:
                        updates[key] = None if record.hashStatus in gone else meta
                yield state.FetchDelta(updates, impl.StopNCIICheckpoint.from_stopncii_fetch(result))

    return _Api(collab, client)


def _file(cfg: SourceConfig, _creds: Credentials) -> Any:
    impl = module("threatexchange.exchanges.impl.file_api")
    collab = impl.FileCollaborationConfig(name=cfg.name, filename=cfg.path, signal_type=cfg.signal_type)
    return impl.LocalFileSignalExchangeAPI(collab)


def _url(cfg: SourceConfig, _creds: Credentials) -> Any:
    from indexguard.exchanges.url_source import url_api

    return url_api(cfg)


def credentials(settings: Any) -> Credentials:
    """The upstream secrets from the service settings."""
    return Credentials(
        ncmec_user=settings.ncmec_hash_username,
        ncmec_password=settings.ncmec_hash_password,
        te_token=settings.threatexchange_access_token,
        stopncii_subscription_key=settings.stopncii_subscription_key,
        stopncii_fetch_function_key=settings.stopncii_fetch_function_key,
    )


def configured(settings: Any) -> list[SourceConfig]:
    return parse_sources(settings.exchange_sources)
