"""The README tells the truth: every line of "Try it without the service" runs verbatim from the clone (the
files it names are in examples/), and the set-up it describes matches scripts/test and .ci/run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section_commands(title: str) -> list[str]:
    section = README.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, title
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines() if line.strip()]


OFFLINE = _section_commands("Try it without the service")


@pytest.mark.parametrize("line", OFFLINE)
def test_offline_examples_run_verbatim(line: str, tmp_path: Path) -> None:
    # `.venv/bin/indexguard` as written; where the suite runs from another environment, that environment's.
    bin_dir = ROOT / ".venv" / "bin"
    if not (bin_dir / "indexguard").exists():
        line = line.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    r = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, (line, r.stderr)
    assert r.stdout.strip(), line


def test_named_example_files_exist() -> None:
    for name in re.findall(r"examples/[\w./-]+\.\w+", README):
        assert (ROOT / name).is_file(), name


def test_setup_commands_match_the_scripts() -> None:
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/indexguard serve" in README
    assert "bash scripts/test" in README and "bash scripts/test" in (ROOT / ".ci" / "run").read_text()
    test_script = (ROOT / "scripts" / "test").read_text()
    assert "start-postgres" in test_script and "ensure-chromium" in test_script
    for script in ("start-postgres", "ensure-chromium"):
        text = (ROOT / "scripts" / script).read_text()
        assert "INDEXGUARD_TEST_NO_INSTALL" in text and "sudo" not in text.replace("never prompts for a sudo", "")
    assert "INDEXGUARD_TEST_NO_INSTALL=1" in README and "apt-get" in README


def test_gitignore_covers_database_side_files_and_key() -> None:
    patterns = (ROOT / ".gitignore").read_text().split()
    for p in ("*.db", "*.db-wal", "*.db-shm", "*.db.key"):
        assert p in patterns, p
