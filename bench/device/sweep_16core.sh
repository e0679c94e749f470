#!/usr/bin/env bash
# Issue 18: sweep scaling on a many-core machine with no network (the 16-core device machine).
#
#   bash bench/device/sweep_16core.sh [WHEELS_DIR] [TITLES]      (from the repository root)
#
# Installs the sweep's runtime wheels (cp312; numpy and pyarrow must already be there) into a
# private folder, generates the standard corpus (bench/make_bench_corpus.py, seed 7, 10,000 terms,
# TITLES titles, default 10M), then runs bench/bench_sweep.py: 1, 2, 4, 8, 16 processes and a
# `dask scheduler` + 16 `dask worker` processes on loopback (txt and JSONL), coordinator-only,
# raw Hyperscan vs the in-process bulk path, and the one-regex-entry cost (on 200k JSONL rows). Every
# process count runs twice: lists compiled, and lists loaded from the compiled-list cache.
# Then `indexguard sweep` from the shell, 1 and 16 processes (bench_sweep.py --cli, cut at CLI_TIMEOUT, 90 s).
# Writes $OUT/sweep_16core.json, $OUT/sweep_16core_cli.json, $OUT/bench.log and $OUT/machine.txt. About 4-6 minutes on 16 cores;
# the benchmark step is cut at BENCH_TIMEOUT (330 s) and the JSON then holds the runs finished so far.
set -euo pipefail
WHEELS=${1:-device-wheels}
TITLES=${2:-10000000}
OUT=${OUT:-/tmp/sweep-16core}
PY=${PY:-python3}
SITE=${SITE:-/tmp/ig-site}
mkdir -p "$OUT" "$SITE"
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$OUT/bench.log"; }

stamp "installing wheels from $WHEELS"
if ! "$PY" -m pip install -q --no-index --no-deps --target "$SITE" "$WHEELS"/*.whl >>"$OUT/bench.log" 2>&1; then
    stamp "pip failed; unpacking the wheels instead"
    for w in "$WHEELS"/*.whl; do "$PY" -m zipfile -e "$w" "$SITE"; done
fi
export PYTHONPATH="$SITE:$PWD/src"
# Fail fast (seconds, not minutes of device time) when a runtime dependency is missing.
if ! "$PY" -c "import numpy, pyarrow, hyperscan, distributed, indexguard.sweep.runner
from indexguard.screen.screener import Screener; Screener.build([]).query('caf\u00e9 &amp; [b]x[/b] \u043f\u0440\u0438')
from indexguard.text.canonicalize import Canonicalizer; Canonicalizer().fold('caf\u00e9')" >>"$OUT/bench.log" 2>&1; then
    stamp "a runtime dependency is missing (see the traceback above): add its wheel to $WHEELS"
    tail -5 "$OUT/bench.log"
    exit 3
fi

{ uptime || true; nproc || true; lscpu | grep -i 'model name' || true; "$PY" --version || true; } > "$OUT/machine.txt" 2>&1
CORPUS=${CORPUS:-/tmp/ig-corpus-$TITLES}
if [ ! -f "$CORPUS/titles.jsonl" ]; then
    stamp "generating $TITLES titles into $CORPUS"
    "$PY" bench/make_bench_corpus.py "$CORPUS" --titles "$TITLES" --terms 10000
fi
stamp "benchmark"
# Bounded so that the summary below still prints; the JSON holds every run finished by then.
timeout "${BENCH_TIMEOUT:-330}" "$PY" bench/bench_sweep.py "$CORPUS" --workers "${WORKERS:-1,2,4,8,16}" --dask "${DASK:-16}" \
    -o "$OUT/sweep_16core.json" >>"$OUT/bench.log" 2>&1 || stamp "benchmark stopped early (exit $?)"
stamp "the same from the shell: indexguard sweep, a new process per run"
timeout "${CLI_TIMEOUT:-90}" "$PY" bench/bench_sweep.py "$CORPUS" --cli --workers "${CLI_WORKERS:-1,16}" \
    -o "$OUT/sweep_16core_cli.json" >>"$OUT/bench.log" 2>&1 || stamp "CLI runs stopped early (exit $?)"
uptime >> "$OUT/machine.txt" 2>&1 || true
stamp "done"
"$PY" - "$OUT/sweep_16core.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("partial results" if d.get("partial") else "complete")
for r in d["runs"] + d.get("coordinator_only", {}).get("runs", d.get("coordinator_only_runs", [])):
    print(f'{r["source"]:13} {r["mode"]:34} {r["seconds"]:8.2f} s {r["titles_per_s"] or 0:>12,} /s  per core {r["titles_per_s_per_core"]:>11,}  ready<= {r["worker_ready_after_s_max"]} s  {r["flagged_sha256"]}')
for k in ("coordinator_only", "raw_hyperscan_vs_bulk", "regex", "per_process", "scaling", "scaling_after_startup",
          "list_cache_load", "machine_ceiling_1_to_2", "machine_ceiling_1_to_16", "identical_output"):
    v = d.get(k)
    if isinstance(v, dict):
        v = {a: b for a, b in v.items() if a != "runs"}
    print(k, json.dumps(v))
PY
