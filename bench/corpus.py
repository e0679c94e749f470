"""The standard benchmark corpus (../shared/tools/make_bench_corpus.py, seed 7), generated once
into bench/corpus/ and reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_TOOL = HERE.parent.parent / "shared" / "tools" / "make_bench_corpus.py"
if not SHARED_TOOL.exists():
    SHARED_TOOL = HERE / "make_bench_corpus.py"  # the verbatim copy kept in bench/


def corpus_dir(titles: int = 1_000_000, terms: int = 10_000) -> Path:
    out = HERE / "corpus" / f"t{titles}-k{terms}"
    if not (out / "titles.txt").exists():
        if not SHARED_TOOL.exists():
            raise SystemExit(f"benchmark corpus generator not found at {SHARED_TOOL}")
        subprocess.run(
            [sys.executable, str(SHARED_TOOL), str(out), "--titles", str(titles), "--terms", str(terms)],
            check=True,
        )
    return out
