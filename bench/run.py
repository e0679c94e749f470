"""Run every benchmark (bench/bench_*.py) and write one JSON report.

    .venv/bin/python bench/run.py [--quick] [--only NAME ...] [-o bench/results/report.json]

Each benchmark module defines `run(quick: bool) -> dict` returning its figures. Benchmarks are
never timed tests: they report numbers, targets and whether each target was met.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    ap.add_argument("--only", nargs="*", default=None, help="benchmark names, e.g. terms pdq")
    ap.add_argument("-o", "--output", default=str(HERE / "results" / "report.json"))
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    report: dict[str, object] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": a.quick,
        "benchmarks": {},
    }
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if a.only and name not in a.only:
            continue
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        result = _load(path).run(a.quick)  # type: ignore[attr-defined]
        result["seconds"] = round(time.perf_counter() - t0, 2)
        report["benchmarks"][name] = result  # type: ignore[index]
        print(json.dumps(result, indent=2), flush=True)
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report written to {out}")


if __name__ == "__main__":
    main()
