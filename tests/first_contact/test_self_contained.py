"""Nothing under src/, tests/ or scripts/ (nor the benchmark corpus) reaches outside the repository: the
fixtures, the NCMEC schema and the benchmark-corpus generator are all in the clone (tests/fixtures/,
bench/make_bench_corpus.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Path constructions that leave the checkout: the old ../shared beside the clone (as a string, or built from a
# `.parent` chain with `/ "shared"`), the repository root's parent, the development machine's /work tree.
# ("../" alone is not flagged: path-traversal tests feed it as hostile input.)
OUTSIDE = re.compile(
    r"""["']\.\./shared|\.parent\s*/\s*["']shared|parents\[\d+\]\s*/\s*["']shared|(["'])/work/|\bROOT\.parent\b"""
)
# bench/ as a whole may use tools beside the clone (bench_hma.py drives an HMA install); its corpus may not.
SCANNED = [ROOT / "bench" / "corpus.py"] + [
    p for d in ("src", "tests", "scripts") for p in sorted((ROOT / d).rglob("*"))
    if p.is_file() and p.suffix in {".py", ".toml", ".cfg", ".ini", ".sh", ""} and "fixtures" not in p.parts
    and p != Path(__file__).resolve()  # this file holds the examples the pattern must catch
]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_path_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    hits = [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == [], f"{path.relative_to(ROOT)} reaches outside the repository: {hits}"


def test_the_pattern_catches_the_old_ways() -> None:
    for line in ('SHARED = ROOT.parent / "shared"', 'T = HERE.parent.parent / "shared" / "tools"',
                 'open("../shared/fixtures/x")', "Path('/work/shared/schemas')", "ROOT.parent / 'fixtures'"):
        assert OUTSIDE.search(line), line


def test_fixtures_and_generator_are_in_the_clone() -> None:
    fx = ROOT / "tests" / "fixtures"
    licences = ("pdq/LICENSE", "nzb/LICENSE", "torrents/libtorrent/LICENSE", "schemas/ncmec/LICENSE-of-the-copy-source")
    for licence in licences:
        assert (fx / licence).is_file(), licence
    assert (fx / "schemas" / "ncmec" / "cyber_tipline.xsd").is_file()
    assert len(list((fx / "torrents" / "libtorrent").glob("*.torrent"))) >= 100
    assert (ROOT / "bench" / "make_bench_corpus.py").is_file()
