"""The dev term suite in tests/fixtures/term-suite, through the `indexguard screen` command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest


def _screen(tmp_path: Path, terms: Path, inputs: Path, *extra: str) -> list[dict[str, object]]:
    out = tmp_path / "decisions.jsonl"
    cmd = [sys.executable, "-m", "indexguard.cli", "screen", "--terms", str(terms), str(inputs), "-o", str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.fixture(scope="module")
def suite(fixtures_dir: Path) -> Path:
    return fixtures_dir / "term-suite"


@pytest.mark.parametrize("backend", ["hyperscan", "ahocorasick"])
def test_positives_blocked_in_every_transform(tmp_path: Path, suite: Path, backend: str) -> None:
    lines = [json.loads(x) for x in (suite / "positives.jsonl").read_text().splitlines()]
    decisions = _screen(tmp_path, suite / "terms.txt", suite / "positives.jsonl", "--backend", backend)
    assert [d["id"] for d in decisions] == [x["id"] for x in lines]
    total, blocked = Counter(), Counter()
    for line, d in zip(lines, decisions, strict=True):
        total[line["transform"]] += 1
        blocked[line["transform"]] += d["action"] == "block"
    rates = {t: blocked[t] / total[t] for t in total}
    assert all(r >= 0.99 for r in rates.values()), rates


@pytest.mark.parametrize("backend", ["hyperscan", "ahocorasick"])
def test_negatives_allowed(tmp_path: Path, suite: Path, backend: str) -> None:
    decisions = _screen(tmp_path, suite / "terms.txt", suite / "negatives.jsonl", "--backend", backend)
    flagged = [d for d in decisions if d["action"] != "allow"]
    assert len(decisions) == 19999
    assert len(flagged) / len(decisions) <= 0.001, flagged[:5]


def test_decisions_never_contain_term_text(tmp_path: Path, suite: Path) -> None:
    terms = [t.strip() for t in (suite / "terms.txt").read_text().splitlines() if t.strip() and t[0] != "#"]
    out = json.dumps(_screen(tmp_path, suite / "terms.txt", suite / "positives.jsonl"))
    # Items quote their own text back only as spans, never as strings.
    assert not [t for t in terms if f'"{t}"' in out]
