"""The standard benchmark corpus (bench/make_bench_corpus.py, a verbatim copy of the project's shared generator,
seed 7), generated once into bench/corpus/ and reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "make_bench_corpus.py"


def corpus_dir(titles: int = 1_000_000, terms: int = 10_000) -> Path:
    out = HERE / "corpus" / f"t{titles}-k{terms}"
    if not (out / "titles.txt").exists():
        subprocess.run(
            [sys.executable, str(GENERATOR), str(out), "--titles", str(titles), "--terms", str(terms)],
            check=True,
        )
    return out
