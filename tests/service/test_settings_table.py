"""docs/service.md has one table with every setting, its environment variable and default."""

from __future__ import annotations

import re
from pathlib import Path

from indexguard.settings import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_every_setting_has_a_row_with_its_variable() -> None:
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_0-9]+)` \| ([^|]*) \|", DOC.read_text(), re.M)}
    missing = [n for n in Settings.model_fields if n not in rows]
    assert missing == [], f"add these settings to the table in docs/service.md: {missing}"
    for name, env in rows.items():
        if name in Settings.model_fields and "file only" not in env:
            assert f"`{ENV_PREFIX}{name.upper()}`" in env, name
