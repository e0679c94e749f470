"""Service settings: defaults, then a TOML file, then INDEXGUARD_* environment variables, then flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.screen.deterrence import Deterrence, HelpLink
from indexguard.screen.policy import Policy

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


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TYPES: dict[str, type] = {n: type(getattr(Settings(), n)) for n in _FIELDS}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = _TYPES[name]
    if name in ("key_file", "metrics_dir", "deterrence_message"):
        return None if value in (None, "") else str(value)
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
        if env is not None and name != "help_links":
            values[name] = _coerce(name, env, ENV_PREFIX + name.upper())
    if (db := os.environ.get(ENV_PREFIX + "DATABASE")) and "database_url" not in values:
        values["database_url"] = db
    for name, v in (overrides or {}).items():
        if v is not None:
            values[name] = _coerce(name, v, f"--{name}")
    return Settings(**values)


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
    """The screening Policy, with the operator's deterrence message and help links if given."""
    base = Deterrence()
    messages = {"default": settings.deterrence_message} if settings.deterrence_message else base.messages
    links = (
        {"default": tuple(HelpLink(x["name"], x["url"]) for x in settings.help_links)}
        if settings.help_links
        else base.links
    )
    return Policy(deterrence=Deterrence(messages=messages, links=links))
