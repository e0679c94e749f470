"""Service settings: defaults, then a TOML file, then INDEXGUARD_* environment variables, then flags."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexguard.errors import IndexguardError
from indexguard.screen.deterrence import Deterrence, HelpLink
from indexguard.screen.policy import Policy

if TYPE_CHECKING:
    from indexguard.deterrence.catalog import Catalog
    from indexguard.hotline.evidence import RetentionPolicy

ENV_PREFIX = "INDEXGUARD_"
CONFIG_ENV = "INDEXGUARD_CONFIG"


class SettingsError(IndexguardError):
    """A configuration file or variable that cannot be used."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///indexguard.db"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    key_file: str | None = None
    log_level: str = "info"
    access_log: bool = True
    auto_migrate: bool = True  # `serve` migrates once, then starts workers with this off
    bootstrap: bool = True  # first start: admin account and the demo list
    secure_cookies: bool = False  # set true behind HTTPS
    session_hours: int = 12
    poll_seconds: float = 1.0
    key_cache_seconds: float = 5.0
    login_max_failures: int = 5
    login_window_seconds: int = 300
    max_upload_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 32 * 1024 * 1024
    max_batch_items: int = 10_000
    max_query_chars: int = 2_048
    deterrence_message: str | None = None  # None: the core's default message
    help_links: tuple[dict[str, str], ...] | None = None  # None: the core's default links
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR for several workers
    hotlines_file: str = ""  # TOML national hotline directory (indexguard.hotline.directory); "": built-in
    # Evidence (issue 6): retention in days, per-jurisdiction overrides ({"GB": 730}), image preservation.
    retention_days: int = 365
    retention_jurisdictions: tuple[tuple[str, int], ...] = ()
    preserve_images: bool = False
    # NCMEC CyberTipline outbox: the test environment unless the operator names production.
    ncmec_url: str = "https://exttest.cybertip.org/ispws"
    ncmec_username: str | None = None  # secrets: prefer INDEXGUARD_NCMEC_USERNAME/_PASSWORD
    ncmec_password: str | None = dataclasses.field(default=None, repr=False)
    # Public reporting and the moderation console (issue 7).
    reports_per_hour: int = 20  # per client (keyed address hash)
    sla_block_seconds: int = 3600  # decide targets by case severity
    sla_review_seconds: int = 4 * 3600
    sla_report_seconds: int = 24 * 3600
    webhook_url: str | None = None  # case events; needs webhook_secret too
    webhook_secret: str | None = dataclasses.field(default=None, repr=False)
    webhook_outbox: str = ":memory:"  # SQLite file for undelivered case webhooks
    # Hash-sharing exchanges (issue 19): sources as TOML [[exchange_sources]] tables, fetched every
    # exchange_fetch_minutes by the service (0: only `indexguard banks fetch`). Secrets: prefer INDEXGUARD_*.
    exchange_sources: tuple[dict[str, Any], ...] = ()
    exchange_fetch_minutes: int = 0
    ncmec_hash_username: str | None = dataclasses.field(default=None, repr=False)
    ncmec_hash_password: str | None = dataclasses.field(default=None, repr=False)
    threatexchange_access_token: str | None = dataclasses.field(default=None, repr=False)
    stopncii_subscription_key: str | None = dataclasses.field(default=None, repr=False)
    stopncii_fetch_function_key: str | None = dataclasses.field(default=None, repr=False)
    # HMA-compatible API (issue 19): mounted under this prefix; "" switches it off.
    hma_prefix: str = "/hma"
    # Hardening (issue 14): bounded work per request (text limits count characters after NFKC).
    max_field_chars: int = 65_536  # one text field
    max_item_chars: int = 1_000_000  # all text of one item
    max_batch_chars: int = 4_000_000  # all text of one /v1/batch
    max_list_entries: int = 100_000  # files, urls, hashes of one item
    max_batch_bytes: int = 8 * 1024 * 1024
    max_report_bytes: int = 4 * 1024 * 1024  # /v1/reports (a site's thumbnail fits)
    max_form_bytes: int = 1024 * 1024  # every other route
    max_image_pixels: int = 16_000_000  # uploads to /v1/images
    screen_threads: int = 4  # CPU-heavy work runs here, off the event loop
    screen_queue: int = 64  # calls waiting beyond this get 503 + Retry-After
    demo_routes: bool = False  # /demo/search and /demo/upload test words against the live lists
    reports_per_item: int = 50  # open public reports one item may gather
    flood_reports: int = 100  # public reports in 10 minutes that the console shows as a flood
    audit_anchor_file: str | None = None  # None: beside the key file (or the SQLite database)
    audit_anchor_syslog: bool = False  # also send each new audit head to the local syslog
    # Deterrence (issue 20): message variants file, the repeat window, how long session state lives,
    # and the differential-privacy epsilon per published count (0: exact counts, for internal use).
    deterrence_file: str = ""  # TOML variants, links and experiment plan; "": the built-in default set
    deterrence_window_minutes: int = 30
    deterrence_keep_hours: int = 6
    deterrence_epsilon: float = 0.0


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TYPES: dict[str, type] = {n: type(getattr(Settings(), n)) for n in _FIELDS}
_OPTIONAL_TEXT = (
    "key_file", "metrics_dir", "deterrence_message", "ncmec_username", "ncmec_password", "webhook_url",
    "webhook_secret", "ncmec_hash_username", "ncmec_hash_password", "threatexchange_access_token",
    "stopncii_subscription_key", "stopncii_fetch_function_key", "audit_anchor_file",
)  # fmt: skip
_POSITIVE = (
    "retention_days", "reports_per_hour", "sla_block_seconds", "sla_review_seconds", "sla_report_seconds",
    "max_field_chars", "max_item_chars", "max_batch_chars", "max_list_entries", "max_batch_bytes",
    "max_report_bytes", "max_form_bytes", "max_image_pixels", "screen_threads", "reports_per_item", "flood_reports",
    "deterrence_window_minutes", "deterrence_keep_hours",
)  # fmt: skip
_HTTPS = ("ncmec_url", "webhook_url")
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")  # local receivers and test doubles


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _TYPES[name]
    if name in _OPTIONAL_TEXT:
        return None if value in (None, "") else str(value)
    if name == "retention_jurisdictions":
        return _jurisdictions(value, source)
    if name == "exchange_sources":
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise SettingsError(f"{source}: exchange_sources must be a list of tables ([[exchange_sources]])")
        return tuple(dict(x) for x in value)
    if name == "help_links":
        if not isinstance(value, list) or not all(
            isinstance(x, dict) and isinstance(x.get("name"), str) and isinstance(x.get("url"), str) for x in value
        ):
            raise SettingsError(f"{source}: help_links must be a list of {{name, url}} tables")
        return tuple({"name": x["name"], "url": x["url"]} for x in value)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(value)
            return text in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{source}: {name} must be of type {kind.__name__}, not {value!r}") from None


def load(config_file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {}
    path = config_file or os.environ.get(CONFIG_ENV)
    if path:
        values.update(_from_toml(Path(path)))
    for name in _FIELDS:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None and name not in ("help_links", "exchange_sources"):
            values[name] = _coerce(name, env, ENV_PREFIX + name.upper())
    if (db := os.environ.get(ENV_PREFIX + "DATABASE")) and "database_url" not in values:
        values["database_url"] = db
    for name, v in (overrides or {}).items():
        if v is not None:
            values[name] = _coerce(name, v, f"--{name}")
    return _validated(Settings(**values))


def _jurisdictions(value: Any, source: str) -> tuple[tuple[str, int], ...]:
    """A TOML table `{GB = 730}` or, from the environment, `GB=730,DE=180`."""
    if isinstance(value, str):
        pairs: list[tuple[Any, Any]] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            code, sep, days = part.partition("=")
            if not sep:
                raise SettingsError(f"{source}: retention_jurisdictions must look like GB=730,DE=180, not {part!r}")
            pairs.append((code.strip(), days.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise SettingsError(f"{source}: retention_jurisdictions must be a table of country code = days")
    out: list[tuple[str, int]] = []
    for code, days in pairs:
        if not (isinstance(code, str) and code.isascii() and code.isalpha() and 2 <= len(code) <= 3):
            raise SettingsError(f"{source}: retention_jurisdictions: {str(code)[:20]!r} is not a country code")
        if isinstance(days, bool) or not str(days).strip().isdigit() or int(days) < 1:
            raise SettingsError(f"{source}: retention_jurisdictions.{code} must be a positive whole number of days")
        out.append((code.upper(), int(days)))
    return tuple(sorted(out))


def _validated(settings: Settings) -> Settings:
    prefix = settings.hma_prefix
    if prefix and not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", prefix):
        raise SettingsError(f"hma_prefix must look like /hma (or be empty to switch it off), not {prefix[:40]!r}")
    for name in _POSITIVE:
        if getattr(settings, name) < 1:
            raise SettingsError(f"{name} must be a positive whole number, not {getattr(settings, name)}")
    if settings.deterrence_keep_hours * 60 < settings.deterrence_window_minutes:
        raise SettingsError("deterrence_keep_hours must cover deterrence_window_minutes")
    if settings.deterrence_epsilon < 0:
        raise SettingsError("deterrence_epsilon must be 0 (no noise) or positive")
    for name in _HTTPS:
        url = getattr(settings, name)
        if url is not None and not _https_or_loopback(url):
            raise SettingsError(f"{name} must be an https:// URL (http only to 127.0.0.1/localhost), not {url[:80]!r}")
    return settings


def _https_or_loopback(url: str) -> bool:
    rest = url[len("https://") :] if url.startswith("https://") else None
    if rest is None:
        loop = next((p for p in _LOOPBACK if url.startswith(p)), None)
        rest = None if loop is None or url[len(loop) : len(loop) + 1] not in ("", ":", "/") else "local"
    return bool(rest) and not any(c.isspace() for c in url)


def retention(settings: Settings) -> RetentionPolicy:
    """The evidence retention policy: `retention_days`, overridden per `retention_jurisdictions`."""
    from indexguard.hotline.evidence import RetentionPolicy

    return RetentionPolicy(settings.retention_days, dict(settings.retention_jurisdictions))


def sla_targets(settings: Settings) -> dict[str, float]:
    """Seconds to decide a case, by severity (the console's due/breached marks)."""
    return {
        "block": settings.sla_block_seconds,
        "review": settings.sla_review_seconds,
        "report": settings.sla_report_seconds,
    }


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as e:
        raise SettingsError(f"{path}: cannot read ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML ({e})") from None
    table = data.get("indexguard", data)
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [indexguard] must be a table")
    unknown = sorted(k for k in table if k not in _FIELDS)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return {k: _coerce(k, v, str(path)) for k, v in table.items()}


def policy(settings: Settings) -> Policy:
    """The screening Policy, with the operator's deterrence variants (or message and help links) if given."""
    if settings.deterrence_file:
        return Policy(deterrence=deterrence_catalog(settings).deterrence)
    base = Deterrence()
    if not (settings.deterrence_message or settings.help_links):
        return Policy(deterrence=base)
    messages = {"default": settings.deterrence_message} if settings.deterrence_message else {}
    links = (
        {"default": tuple(HelpLink(x["name"], x["url"]) for x in settings.help_links)}
        if settings.help_links
        else base.links
    )
    if messages:
        return Policy(deterrence=Deterrence(messages=messages, links=links))
    return Policy(deterrence=Deterrence(variants=base.variants, links=links))


def deterrence_catalog(settings: Settings) -> Catalog:
    """The deterrence file's variants and experiment plan (the built-in set when none is configured)."""
    from indexguard.deterrence.catalog import Catalog, DeterrenceFileError, load_catalog
    from indexguard.deterrence.stats import ExperimentPlan

    if not settings.deterrence_file:
        return Catalog(policy(settings).deterrence, ExperimentPlan())
    try:
        return load_catalog(settings.deterrence_file)
    except DeterrenceFileError as e:
        raise SettingsError(f"deterrence_file: {e}") from None
