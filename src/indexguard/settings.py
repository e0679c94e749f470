"""Service settings: defaults, then a TOML file, then INDEXGUARD_* environment variables, then flags."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from indexguard.errors import IndexguardError
from indexguard.screen.deterrence import Deterrence, HelpLink
from indexguard.screen.policy import Policy

if TYPE_CHECKING:
    from indexguard.deterrence.catalog import Catalog
    from indexguard.hotline.evidence import RetentionPolicy
    from indexguard.hotline.ncmec_xml import ReporterInfo

ENV_PREFIX = "INDEXGUARD_"
CONFIG_ENV = "INDEXGUARD_CONFIG"


class SettingsError(IndexguardError):
    """A configuration file or variable that cannot be used."""


_OPTIONAL_TEXT = (
    "reporter_first_name", "reporter_last_name", "reporter_email", "reporter_platform",
    "key_file", "metrics_dir", "deterrence_message", "ncmec_username", "ncmec_password", "webhook_url",
    "webhook_secret", "ncmec_hash_username", "ncmec_hash_password", "threatexchange_access_token",
    "stopncii_subscription_key", "stopncii_fetch_function_key", "audit_anchor_file", "proxy_apikey",
    "upstream_apikey",
)  # fmt: skip
_POSITIVE = (
    "retention_days", "reports_per_hour", "sla_block_seconds", "sla_review_seconds", "sla_report_seconds",
    "max_field_chars", "max_item_chars", "max_batch_chars", "max_list_entries", "max_batch_bytes",
    "max_report_bytes", "max_form_bytes", "max_image_pixels", "screen_threads", "reports_per_item", "flood_reports",
    "deterrence_window_minutes", "deterrence_keep_hours",
)  # fmt: skip
_HTTPS = ("ncmec_url", "webhook_url")
_LOOPBACK = ("http://127.0.0.1", "http://localhost", "http://[::1]")  # local receivers and test doubles


class Settings(BaseSettings):
    """Every setting of indexguard. `load()` layers them: defaults, then the TOML file (`--config` or
    INDEXGUARD_CONFIG, table [indexguard]), then INDEXGUARD_<NAME> environment variables, then flags;
    pydantic validates the result (types, and the checks below). `Settings(**values)` reads the
    environment over the defaults, as pydantic-settings does, but no file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, case_sensitive=False, frozen=True, extra="forbid")

    database_url: str = "sqlite:///indexguard.db"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # A worker that cannot answer its supervisor for this long is restarted. uvicorn's 5 s took a
    # worker importing a 10M-entry hash list (a parse that holds the GIL for seconds) for dead.
    worker_healthcheck_seconds: int = Field(default=30, ge=1)
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
    help_links: Annotated[tuple[dict[str, str], ...] | None, NoDecode] = None  # None: the core's default links
    metrics_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR for several workers
    hotlines_file: str = ""  # TOML national hotline directory (indexguard.hotline.directory); "": built-in
    # Evidence (issue 6): retention in days, per-jurisdiction overrides ({"GB": 730}), image preservation.
    retention_days: int = 365
    retention_jurisdictions: Annotated[tuple[tuple[str, int], ...], NoDecode] = ()
    preserve_images: bool = False
    # NCMEC CyberTipline outbox: the test environment unless the operator names production.
    ncmec_url: str = "https://exttest.cybertip.org/ispws"
    ncmec_username: str | None = None  # secrets: prefer INDEXGUARD_NCMEC_USERNAME/_PASSWORD
    ncmec_password: str | None = Field(default=None, repr=False)
    # Who files NCMEC reports (the operator's reporting person): no made-up default; filing needs them.
    reporter_first_name: str | None = None
    reporter_last_name: str | None = None
    reporter_email: str | None = None
    reporter_platform: str | None = None  # the site's name as NCMEC should see it
    # Public reporting and the moderation console (issue 7).
    reports_per_hour: int = 20  # per client (keyed address hash)
    sla_block_seconds: int = 3600  # decide targets by case severity
    sla_review_seconds: int = 4 * 3600
    sla_report_seconds: int = 24 * 3600
    webhook_url: str | None = None  # case events; needs webhook_secret too
    webhook_secret: str | None = Field(default=None, repr=False)
    webhook_outbox: str = ":memory:"  # SQLite file for undelivered case webhooks
    # Hash-sharing exchanges (issue 19): sources as TOML [[exchange_sources]] tables, fetched every
    # exchange_fetch_minutes by the service (0: only `indexguard banks fetch`). Secrets: prefer INDEXGUARD_*.
    exchange_sources: Annotated[tuple[dict[str, Any], ...], NoDecode] = ()
    exchange_fetch_minutes: int = 0
    ncmec_hash_username: str | None = Field(default=None, repr=False)
    ncmec_hash_password: str | None = Field(default=None, repr=False)
    threatexchange_access_token: str | None = Field(default=None, repr=False)
    stopncii_subscription_key: str | None = Field(default=None, repr=False)
    stopncii_fetch_function_key: str | None = Field(default=None, repr=False)
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
    trusted_proxies: str = "127.0.0.1"  # addresses whose X-Forwarded-Proto/-For are believed (uvicorn)
    # Packed hash-list snapshots shared by the workers (issue 15): "" = /dev/shm/indexguard-<uid>-<db>,
    # "off" = none (each worker parses and holds its own copy).
    snapshot_dir: str = ""

    # Settings that used to be read from the environment where they were used (issue 13).
    hotline_links: Annotated[tuple[dict[str, str], ...] | None, NoDecode] = None  # report page override
    proxy_apikey: str | None = Field(default=None, repr=False)  # key clients of `indexguard proxy` send
    upstream_apikey: str | None = Field(default=None, repr=False)  # the indexer's key `proxy` sends upstream

    @field_validator(*_OPTIONAL_TEXT, mode="before")
    @classmethod
    def _blank_is_unset(cls, v: Any) -> Any:
        return None if v in (None, "") else v

    @field_validator("retention_jurisdictions", mode="before")
    @classmethod
    def _jurisdiction_table(cls, v: Any) -> Any:
        return v if isinstance(v, tuple) else _jurisdictions(v)  # a tuple: the default or a copy

    @field_validator("help_links", mode="before")
    @classmethod
    def _help_link_tables(cls, v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, list | tuple) or not all(
            isinstance(x, dict) and isinstance(x.get("name"), str) and isinstance(x.get("url"), str) for x in v
        ):
            raise ValueError("help_links must be a list of {name, url} tables (in the settings file)")
        return tuple({"name": x["name"], "url": x["url"]} for x in v)

    @field_validator("hotline_links", mode="before")
    @classmethod
    def _hotline_link_list(cls, v: Any) -> Any:
        if v is None or isinstance(v, tuple):
            return v
        if isinstance(v, str):  # from the environment: JSON
            try:
                v = json.loads(v)
            except ValueError:
                raise ValueError('hotline_links must be JSON: [{"name": ..., "url": "https://..."}]') from None
        if not isinstance(v, list) or not v or not all(
            isinstance(x, dict) and isinstance(x.get("name"), str) and str(x.get("url", "")).startswith("https://")
            for x in v
        ):
            raise ValueError("hotline_links must be a non-empty list of {name, url} with https:// URLs")
        return tuple({"name": x["name"], "url": x["url"]} for x in v)

    @field_validator("exchange_sources", mode="before")
    @classmethod
    def _exchange_tables(cls, v: Any) -> Any:
        if not isinstance(v, list | tuple) or not all(isinstance(x, dict) for x in v):
            raise ValueError("exchange_sources must be a list of tables ([[exchange_sources]] in the settings file)")
        return tuple(dict(x) for x in v)

    @field_validator(*_POSITIVE)
    @classmethod
    def _positive(cls, v: int, info: ValidationInfo) -> int:
        if v < 1:
            raise ValueError(f"{info.field_name} must be a positive whole number, not {v}")
        return v

    @field_validator("deterrence_epsilon")
    @classmethod
    def _epsilon(cls, v: float) -> float:
        if v < 0:
            raise ValueError("deterrence_epsilon must be 0 (exact counts) or positive")
        return v

    @model_validator(mode="after")
    def _deterrence_window(self) -> Settings:
        if self.deterrence_keep_hours * 60 < self.deterrence_window_minutes:
            raise ValueError("deterrence_keep_hours must cover deterrence_window_minutes")
        return self

    @field_validator(*_HTTPS)
    @classmethod
    def _https(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and not _https_or_loopback(v):
            raise ValueError(
                f"{info.field_name} must be an https:// URL (http only to 127.0.0.1/localhost), not {v[:80]!r}"
            )
        return v


def load(config_file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults < TOML file (`config_file`, else INDEXGUARD_CONFIG) < INDEXGUARD_* environment < `overrides`
    (flags; None means not given). A bad value is a SettingsError naming where it came from."""
    path = config_file or os.environ.get(CONFIG_ENV)
    toml = _from_toml(Path(path)) if path else {}
    if (db := os.environ.get(ENV_PREFIX + "DATABASE")) and not os.environ.get(ENV_PREFIX + "DATABASE_URL"):
        toml = {"database_url": db, **toml}  # the short name, below the file as before
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}

    class Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, _Table(settings_cls, toml)

    try:
        got = Layered(**flags)
    except ValidationError as e:
        raise _settings_error(e, flags, toml, str(path)) from None
    return Settings.model_construct(got.model_fields_set, **dict(got))


class _Table(PydanticBaseSettingsSource):
    """Values read from the settings file: below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _settings_error(e: ValidationError, flags: dict[str, Any], toml: dict[str, Any], path: str) -> SettingsError:
    err = e.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "settings"
    if name in flags:
        source = f"--{name}"
    elif ENV_PREFIX + name.upper() in {k.upper() for k in os.environ}:
        source = ENV_PREFIX + name.upper()
    else:
        source = path if name in toml else "settings"
    if err["type"] == "value_error":
        return SettingsError(f"{source}: {err['ctx']['error']}")
    kind = next((t for prefix, t in _TYPE_WORDS if err["type"].startswith(prefix)), None)
    if kind is not None:
        return SettingsError(f"{source}: {name} must be of type {kind}, not {err.get('input')!r}"[:300])
    return SettingsError(f"{source}: {name}: {err['msg']}"[:300])


_TYPE_WORDS = (("int", "int"), ("bool", "bool"), ("float", "float"), ("string", "str"), ("tuple", "list"))


def _jurisdictions(value: Any) -> tuple[tuple[str, int], ...]:
    """A TOML table `{GB = 730}` or, from the environment, `GB=730,DE=180`."""
    if isinstance(value, str):
        pairs: list[tuple[Any, Any]] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            code, sep, days = part.partition("=")
            if not sep:
                raise ValueError(f"retention_jurisdictions must look like GB=730,DE=180, not {part!r}")
            pairs.append((code.strip(), days.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise ValueError("retention_jurisdictions must be a table of country code = days")
    out: list[tuple[str, int]] = []
    for code, days in pairs:
        if not (isinstance(code, str) and code.isascii() and code.isalpha() and 2 <= len(code) <= 3):
            raise ValueError(f"retention_jurisdictions: {str(code)[:20]!r} is not a country code")
        if isinstance(days, bool) or not str(days).strip().isdigit() or int(days) < 1:
            raise ValueError(f"retention_jurisdictions.{code} must be a positive whole number of days")
        out.append((code.upper(), int(days)))
    return tuple(sorted(out))


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


def reporter(settings: Settings) -> ReporterInfo:
    """Who files NCMEC reports; a clear SettingsError naming what is missing (nothing is made up)."""
    from indexguard.hotline.ncmec_xml import ReporterInfo

    need = ("reporter_first_name", "reporter_last_name", "reporter_email", "reporter_platform")
    missing = [n for n in need if not getattr(settings, n)]
    if missing:
        raise SettingsError(
            "filing an NCMEC report needs the reporter's identity: set "
            + ", ".join(f"{ENV_PREFIX}{n.upper()} (or {n})" for n in missing)
        )
    return ReporterInfo(
        first_name=str(settings.reporter_first_name), last_name=str(settings.reporter_last_name),
        email=str(settings.reporter_email), platform=str(settings.reporter_platform),
    )  # fmt: skip


def preview_reporter() -> ReporterInfo:
    """A reporter marked as not configured, for previewing a report; the outbox never files with it."""
    from indexguard.hotline.ncmec_xml import ReporterInfo

    return ReporterInfo(first_name="NOT-CONFIGURED", last_name="NOT-CONFIGURED",
                        email="not-configured@example.invalid", platform="NOT CONFIGURED")  # fmt: skip


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
    unknown = sorted(k for k in table if k not in Settings.model_fields)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return dict(table)


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
