"""Optional libraries, imported only where a feature uses them. A plain `pip install indexguard` runs every
command; a feature whose library is missing fails with one line naming the extra that brings it.

The extras (pyproject.toml, README and docs/service.md "Installing"):
    dask        dask[distributed]: `indexguard sweep --dask` across machines
    exchanges   threatexchange: hash-sharing exchanges (indexguard.exchanges imports it itself)
"""

from __future__ import annotations

import importlib
from types import ModuleType

from indexguard.errors import IndexguardError


class MissingExtra(IndexguardError):
    """An optional library is not installed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'indexguard[{extra}]'")


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module`, or raise MissingExtra naming `extra` for `feature`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(feature, extra) from None
