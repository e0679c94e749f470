"""The service's JSON logs live in indexguard.logs (the CLI sets them up too); this path is kept for
web modules that import it."""

from __future__ import annotations

from indexguard.logs import LOGGER, JsonFormatter, get, setup

__all__ = ["LOGGER", "JsonFormatter", "get", "setup"]
