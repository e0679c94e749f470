"""Reading an operator's TOML file with a size bound and one clear error naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError


def read_toml(path: str | Path, max_bytes: int, error: type[IndexguardError]) -> dict[str, Any]:
    """The file's table; `error("<file>: <reason>")` when it cannot be read, is too large, or is not UTF-8 TOML."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise error(f"{p}: cannot read ({e.strerror or e})") from None
    if len(raw) > max_bytes:
        raise error(f"{p}: larger than {max_bytes} bytes")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{p}: not UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise error(f"{p}: not valid TOML ({e})") from None
