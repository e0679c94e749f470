"""A hash list published at an HTTPS address, read like the library's local-file source.

The address is the operator's configured list feed (a hotline's published list), never content a
user linked: indexguard still never fetches linked content.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from indexguard.exchanges.sources import ExchangeError, module

if TYPE_CHECKING:
    from indexguard.exchanges.sources import SourceConfig

MAX_LIST_BYTES = 1 << 30
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def url_api(cfg: SourceConfig) -> Any:
    impl = module("threatexchange.exchanges.impl.file_api")
    url = cfg.url or ""

    class UrlSignalExchangeAPI(impl.LocalFileSignalExchangeAPI):  # type: ignore[misc, name-defined]
        def fetch_iter(self, signal_types: Any, checkpoint: Any) -> Iterator[Any]:
            with tempfile.TemporaryDirectory(prefix="indexguard-list-") as tmp:
                path = Path(tmp) / "list.txt"
                _download(url, path)
                self.collab.filename = str(path)
                yield from super().fetch_iter(signal_types, checkpoint)

    collab = impl.FileCollaborationConfig(name=cfg.name, filename="", signal_type=cfg.signal_type)
    return UrlSignalExchangeAPI(collab)


def _download(url: str, path: Path) -> None:
    size = 0
    try:
        with httpx.stream("GET", url, timeout=_TIMEOUT, follow_redirects=False) as r:
            if r.status_code != 200:
                raise ExchangeError(f"list download answered HTTP {r.status_code}")
            with path.open("wb") as f:
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > MAX_LIST_BYTES:
                        raise ExchangeError(f"list download larger than {MAX_LIST_BYTES} bytes")
                    f.write(chunk)
    except httpx.HTTPError as e:
        raise ExchangeError(f"list download failed: {type(e).__name__}") from None
