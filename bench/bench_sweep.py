"""Sweep throughput on the standard corpus (10,000 placeholder terms, seed 7).

Figures (all in one run, on the same corpus):
- per process: titles/s of a one-process sweep (txt and JSONL), and per core in CPU time (items over the
  CPU seconds the screening processes spent on the chunks, `busy_cpu_seconds` of the summary); targets
  >= 2.5M/s (txt) and >= 1.5M/s (JSONL);
- scaling: 1, 2, ... processes (`--workers`), and a real Dask cluster (`dask scheduler` + `dask worker`
  processes on loopback); target 2 processes >= 1.8x one (16 >= 10x on a 16-core machine);
- identical flagged output in every mode (sha256 of the output file);
- worker start-up: per worker, seconds from pool start until its Screener was loaded, and the load
  itself (the coordinator compiles once and ships the compiled lists);
- coordinator only: the sweep with screening replaced by a no-op; target >= 30M titles/s;
- raw Hyperscan over the un-normalised titles (one core) vs the in-process bulk path on the same
  bytes (bulk_lines, line count and blank lines, full decisions for the flagged lines), CPU time,
  interleaved best of 3, with each stage of the bulk path on its own; target within 5x;
- the load average at the start of every run and before/after the whole measurement;
- regex cost: the same sweep with one regex entry added to the list; target <= 1.5x.

    python bench/bench_sweep.py DIR --workers 1,2,4,8,16 --dask 16 -o out.json   (DIR from make_bench_corpus.py)

Runs are in this process (pools and clusters are real processes); every run starts with an empty
Screener cache, as a fresh command would. The CPU of the project machine is shared: figures there
are pessimistic (the load average is recorded).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from indexguard.lists.terms import load_term_list  # noqa: E402
from indexguard.screen.item import Item  # noqa: E402
from indexguard.sweep.bundle import WORKER_CACHE, ListBundle, ListText  # noqa: E402
from indexguard.sweep.list_cache import ListCache  # noqa: E402
from indexguard.sweep.runner import SweepConfig, run_sweep  # noqa: E402

TARGETS = {"txt_per_process": 2_500_000, "jsonl_per_process": 1_500_000, "scaling_1_to_2": 1.8,
           "scaling_1_to_16": 10.0, "coordinator_only": 30_000_000, "ratio_to_hyperscan": 5.0,
           "regex_cost": 1.5}
PIECE = 8 << 20


def _tree_rss_mb(root: int) -> int:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    todo, total = [root], 0
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next((int(x.split()[1]) for x in fh if x.startswith("VmRSS:")), 0)
        except OSError:
            pass
        todo += kids.get(pid, [])
    return total // 1024


class _Peak:
    """Peak RSS of this process and its children, sampled from another process: a sampling thread here
    would make the sweep start its workers from a forkserver instead of forking (local.can_fork)."""

    def __init__(self) -> None:
        self.peak = 0
        self._watch: subprocess.Popen[str] | None = None

    def __enter__(self) -> _Peak:
        self._watch = subprocess.Popen([sys.executable, __file__, "--watch-rss", str(os.getpid())],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._watch is not None
        out, _ = self._watch.communicate("")
        self.peak = int(out.strip() or 0)


def _watch_rss(root: int) -> None:
    """--watch-rss PID: sample until stdin closes, then print the peak in MB."""
    peak = _tree_rss_mb(root)
    while not select.select([sys.stdin], [], [], 0.2)[0]:
        peak = max(peak, _tree_rss_mb(root))
    print(peak)


def sweep(source: Path, bundle: ListBundle, work: Path, *, workers: int = 1, dask: str | None = None,
          noop: bool = False, label: str = "", times: int = 1, cache: Path | None = None) -> dict[str, Any]:
    """One sweep of `source` (`times` over: the same file as that many sources, a corpus that many
    times larger with no more disk). `cache`: a compiled-list cache directory (sweep/list_cache.py) that
    holds these lists already, as for every sweep after the first with them."""
    WORKER_CACHE.clear()  # as a new `indexguard sweep` process starts
    out = work / f"flagged-{source.stem}-{label or workers}.jsonl"
    cfg = SweepConfig([str(source)] * times, bundle, output=out, workers=workers, dask=dask, noop=noop,
                      list_cache=cache)
    load = os.getloadavg()
    with _Peak() as peak:
        t0, c0 = time.perf_counter(), _cpu()
        s = run_sweep(cfg)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    run = s["run"]
    starts = run["worker_startup"]
    return {
        "source": source.name, "mode": label or f"{workers} processes", "items": s["items"], "chunks": s["chunks"],
        "flagged": s["flagged"], "blocked": s["actions"].get("block", 0),
        "flagged_sha256": hashlib.sha256(out.read_bytes()).hexdigest()[:16],
        "seconds": round(wall, 3), "titles_per_s": round(s["items"] / wall) if not noop else None,
        "titles_per_s_per_core": round(run["items_per_busy_s"]), "busy_s": run["busy_seconds"],
        # CPU seconds the screening processes spent on the chunks (reading and screening, no start-up).
        "busy_cpu_s": run["busy_cpu_seconds"], "titles_per_busy_cpu_s": round(run["items_per_busy_cpu_s"]),
        # CPU seconds of this process (all of a one-process sweep; only the coordinator's share otherwise):
        # on a shared machine the fairer per-core figure.
        "cpu_s_this_process": round(cpu, 3), "titles_per_cpu_s_this_process": round(s["items"] / max(cpu, 1e-6)),
        "start_method": run.get("start_method"), "list_cache": run.get("list_cache"), "workers_seen": len(starts),
        "worker_ready_after_s_max": max((w["ready_after_s"] for w in starts), default=0.0),
        "worker_load_s_max": max((w["load_s"] for w in starts), default=0.0),
        "worker_startup": starts, "peak_rss_tree_mb": peak.peak, "load_average_at_start": load,
    }


def machine_ceiling(txt: Path, terms: Path, reps: int = 3, n: int = 2) -> dict[str, Any]:
    """What this machine gives `n` processes that share nothing: the bulk path over the same titles in
    one process, then in `n` forked processes at once, each doing all of it (no coordinator, no
    chunks, no start-up). n cores rarely give n times the work of one (shared caches and memory
    bandwidth, a hypervisor's scheduling): a sweep's 1 -> n scaling cannot exceed this ratio."""
    import multiprocessing as mp

    from indexguard.screen.screener import Screener

    data = txt.read_bytes()
    pieces = [data[i : data.find(b"\n", min(len(data) - 1, i + PIECE)) + 1 or len(data)]
              for i in _piece_starts(data)]
    screener = Screener.build([load_term_list(terms)])

    def bulk() -> float:
        t0 = time.perf_counter()
        for p in pieces:
            screener.bulk_lines(p)
        return time.perf_counter() - t0

    alone, both = [], []
    ctx = mp.get_context("fork")
    for _ in range(reps):
        alone.append(bulk())
        t0 = time.perf_counter()
        procs = [ctx.Process(target=bulk) for _ in range(n)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        both.append(time.perf_counter() - t0)
    ratios = sorted(n * a / b for a, b in zip(alone, both, strict=True))
    return {"processes": n, "one_process_s": [round(a, 3) for a in alone],
            "n_processes_at_once_s": [round(b, 3) for b in both],
            "throughput_ratio_median": round(ratios[len(ratios) // 2], 2),
            "throughput_ratios": [round(r, 2) for r in ratios]}


def _piece_starts(data: bytes) -> list[int]:
    starts, start = [], 0
    while start < len(data):
        starts.append(start)
        start = data.find(b"\n", min(len(data) - 1, start + PIECE)) + 1 or len(data)
    return starts


def planner(corpus: Path) -> dict[str, Any]:
    """The coordinator's own work per source, in CPU time: planning chunks (reading the file once and
    counting newlines), the part of a sweep that grows with the input."""
    from indexguard.sweep.fields import FieldMap
    from indexguard.sweep.sources import SweepSize, plan

    out: dict[str, Any] = {}
    for name in ("titles.txt", "titles.jsonl"):
        chunks = list(plan([str(corpus / name)], FieldMap(), SweepSize()))
        titles = chunks[-1].first_row - 1 + (corpus / name).read_bytes()[chunks[-1].start :].count(b"\n")
        best = min(_timed_plan(corpus / name) for _ in range(3))
        out[name] = {"chunks": len(chunks), "cpu_s": round(best, 4), "titles_per_cpu_s": round(titles / best)}
    return out


def _timed_plan(path: Path) -> float:
    from indexguard.sweep.fields import FieldMap
    from indexguard.sweep.sources import SweepSize, plan

    c0 = _cpu()
    for _ in plan([str(path)], FieldMap(), SweepSize()):
        pass
    return max(_cpu() - c0, 1e-6)


def _cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def raw_vs_bulk(txt: Path, terms: Path, reps: int = 3) -> dict[str, Any]:
    """Raw Hyperscan (literal terms, un-normalised bytes) and the in-process bulk path over the same
    8 MiB pieces of titles.txt, one core, CPU time (best of `reps`, the two interleaved). The bulk path
    is what a sweep's plain-text reader does per chunk: bulk_lines (which places its flagged lines itself
    and notes the lines that begin with whitespace), one numpy pass for the line count and the flagged
    lines' numbers, the blank lines among those noted, then the full decision (Screener.screen) of each
    flagged line. Also each stage of it on its own, CPU seconds."""
    import hyperscan

    from indexguard.match import term_backends as tb
    from indexguard.match.line_spans import line_end, scan_lines
    from indexguard.screen.screener import Screener
    from indexguard.sweep.heap import keep_freed_memory

    keep_freed_memory()  # as every screening process of a sweep does (sweep/heap.py)
    data = txt.read_bytes()
    pieces, start = [], 0
    while start < len(data):
        end = data.find(b"\n", min(len(data) - 1, start + PIECE)) + 1 or len(data)
        pieces.append(data[start:end])
        start = end
    titles = data.count(b"\n")
    tl = load_term_list(terms)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[e.term.encode() for e in tl.entries], ids=list(range(len(tl.entries))), flags=0,
               literal=True)
    scratch = hyperscan.Scratch(db)
    hits: list[int] = []

    def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
        hits.append(pid)

    def raw() -> int:
        hits.clear()
        for p in pieces:
            db.scan(p, match_event_handler=on_match, scratch=scratch)
        return len(hits)

    screener = Screener.build([tl])

    def bulk() -> tuple[int, int]:
        # What the sweep's plain-text reader does per chunk (sweep/screening.py _txt_ascii).
        flagged = blocked = 0
        for p in pieces:
            flags = screener.bulk_lines(p)
            assert flags is not None
            starts = flags.starts
            lines = scan_lines(p, starts, heads=flags.heads)
            for i, s in zip(lines.numbers, starts, strict=True):
                if s in lines.blank:
                    continue
                flagged += 1
                title = p[s : line_end(p, s)].decode()
                blocked += screener.screen(Item(id=str(i), title=title)).action == "block"
        return flagged, blocked

    def best(fn: Any) -> tuple[float, float, Any]:
        cpu, wall, out = 1e9, 1e9, None
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - t0)
        return cpu, wall, out

    raw_cpu = raw_wall = bulk_cpu = bulk_wall = 1e9
    for _ in range(reps):  # interleaved, so that a burst of load on the machine hits both alike
        c, w, raw_hits = _once(raw)
        raw_cpu, raw_wall = min(raw_cpu, c), min(raw_wall, w)
        c, w, (flagged, blocked) = _once(bulk)
        bulk_cpu, bulk_wall = min(bulk_cpu, c), min(bulk_wall, w)
    be: Any = screener.terms.backend
    spaced = [p.translate(tb.SPACED_BYTES) for p in pieces]
    found = [be.line_candidates(p) for p in pieces]
    flags = [screener.bulk_lines(p) for p in pieces]
    starts = [f.starts if f else [] for f in flags]
    items = [Item(id=str(i), title=p[s : line_end(p, s)].decode()) for p, st in zip(pieces, starts, strict=True)
             for i, s in zip(scan_lines(p, st).numbers, st, strict=True)]
    stages = {
        "line count, flagged lines' numbers, blank lines (scan_lines: one numpy pass, heads given, as the sweep)":
            best(lambda: [scan_lines(p, f.starts, heads=f.heads) for p, f in zip(pieces, flags, strict=True) if f])[0],
        "raw scan: multi-character leet, markup, held letters, leet symbols":
            best(lambda: [be._scan_ids(p, "multi") for p in pieces])[0],
        "spaced view: one bytes.translate": best(lambda: [p.translate(tb.SPACED_BYTES) for p in pieces])[0],
        "spaced view: Hyperscan scan (Python callback per hit included)":
            best(lambda: [be._scan_ids(v) for v in spaced])[0],
        "stage one in all (line_candidates: the above, hit -> line start, routed lines' compact view)":
            best(lambda: [be.line_candidates(p) for p in pieces])[0],
        "bulk_lines in all (stage one + stage two verify per candidate)":
            best(lambda: [screener.bulk_lines(p) for p in pieces])[0],
        "full decisions of the flagged lines (Screener.screen, per item)":
            best(lambda: [screener.screen(it) for it in items])[0],
    }
    routed = sum(1 for v in spaced for lid, _ in be._scan_ids(v) if be._spaced.routes[lid])
    return {"titles": titles, "hyperscan_s": round(raw_wall, 3), "hyperscan_titles_per_s": round(titles / raw_wall),
            "raw_hits": raw_hits, "bulk_s": round(bulk_wall, 3), "bulk_titles_per_s": round(titles / bulk_wall),
            "bulk_flagged": flagged, "bulk_blocked": blocked, "ratio": round(bulk_wall / raw_wall, 2),
            "hyperscan_cpu_s": round(raw_cpu, 4), "bulk_cpu_s": round(bulk_cpu, 4),
            "ratio_cpu": round(bulk_cpu / max(raw_cpu, 1e-6), 2),
            "stages_cpu_s": {k: round(v, 4) for k, v in stages.items()},
            "stages_over_raw": {k: round(v / max(raw_cpu, 1e-6), 2) for k, v in stages.items()},
            "candidates": sum(len(f.hits) for f in found), "routing_hits": routed,
            "target_ratio": TARGETS["ratio_to_hyperscan"],
            "met": bulk_cpu / max(raw_cpu, 1e-6) <= TARGETS["ratio_to_hyperscan"]}


def _once(fn: Any) -> tuple[float, float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.process_time() - c0, time.perf_counter() - t0, out


def regex_cost(jsonl: Path, terms: Path, work: Path, rows_max: int = 200_000) -> dict[str, Any]:
    """One regex entry added to the 10,000-term list (CSV form), one process, the first `rows_max`
    JSONL rows."""
    part = work / "regex-part.jsonl"
    with jsonl.open("rb") as src, part.open("wb") as dst:
        for _, line in zip(range(rows_max), src, strict=False):
            dst.write(line)
    jsonl = part
    csv = work / "terms-regex.csv"
    rows = ["id,term,mode,category,severity"] + [f"t{i},{t},,csam,block" for i, t in
                                                  enumerate(e.term for e in load_term_list(terms).entries)]
    rows.append("rx1,zq[0-9]{3}x+v,regex,csam,block")
    csv.write_text("\n".join(rows) + "\n")
    plain_csv = work / "terms-plain.csv"
    plain_csv.write_text("\n".join(rows[:-1]) + "\n")
    base = sweep(jsonl, ListBundle((ListText.read(plain_csv),)), work, label="no-regex")
    with_rx = sweep(jsonl, ListBundle((ListText.read(csv),)), work, label="one-regex")
    ratio = with_rx["seconds"] / base["seconds"]
    return {"rows": base["items"], "without_regex_s": base["seconds"], "with_one_regex_s": with_rx["seconds"],
            "cost": round(ratio, 2),
            "cost_cpu": round(with_rx["cpu_s_this_process"] / max(base["cpu_s_this_process"], 1e-6), 2),
            "same_flagged": (base["flagged"], base["blocked"]) == (with_rx["flagged"], with_rx["blocked"]),
            "target": TARGETS["regex_cost"], "met": ratio <= TARGETS["regex_cost"]}


CACHED = ", lists cached"


def measure(corpus: Path, workers: list[int], dask_workers: int, *, regex: bool = True,
            save: Path | None = None, repeat: int = 1) -> dict[str, Any]:
    """Every figure; with `save`, the raw runs so far are written there after each step (a run cut
    short by a time limit still leaves its figures)."""
    from indexguard.sweep.dask_run import loopback_cluster

    terms = corpus / "terms.txt"
    bundle = ListBundle((ListText.read(terms),))
    runs: list[dict[str, Any]] = []
    noop: list[dict[str, Any]] = []
    out: dict[str, Any] = {"corpus": str(corpus), "cpus": os.cpu_count(), "load_before": os.getloadavg(),
                           "runs": runs, "coordinator_only_runs": noop}

    def step(value: Any) -> Any:
        if save is not None:
            save.write_text(json.dumps({**out, "partial": True}, indent=2) + "\n")
        return value

    c0 = _cpu()
    bundle.build()
    out["list_compile_cpu_s"] = round(_cpu() - c0, 3)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "list-cache"
        out["list_cache_store"] = ListCache(cache).prime(bundle).to_json()  # every later run loads it
        WORKER_CACHE.clear()
        out["list_cache_load"] = ListCache(cache).prime(bundle).to_json()
        for name in ("titles.txt", "titles.jsonl"):
            for _ in range(repeat):  # interleaved, so a slow spell of the machine hits every mode alike
                for n in workers:
                    runs.append(step(sweep(corpus / name, bundle, work, workers=n)))
                    runs.append(step(sweep(corpus / name, bundle, work, workers=n, cache=cache,
                                           label=f"{n} processes{CACHED}")))
        step(None)
        for name in ("titles.txt", "titles.jsonl"):
            for n in sorted({1, max(workers)}):
                noop.append(step(sweep(corpus / name, bundle, work, workers=n, noop=True,
                                       label=f"coordinator-only {n} processes")))
        step(None)
        out["planner"] = step(planner(corpus))
        out["machine_ceiling_1_to_2"] = step(machine_ceiling(corpus / "titles.txt", terms))
        if max(workers) > 2:
            out[f"machine_ceiling_1_to_{max(workers)}"] = step(machine_ceiling(corpus / "titles.txt", terms,
                                                                               n=max(workers)))
        out["raw_hyperscan_vs_bulk"] = step(raw_vs_bulk(corpus / "titles.txt", terms))
        step(None)
        if dask_workers:
            with loopback_cluster(dask_workers) as address:
                for name in ("titles.txt", "titles.jsonl"):
                    for _ in range(repeat):
                        if dask_workers in workers:  # the same work by a pool, in the same minutes
                            runs.append(step(sweep(corpus / name, bundle, work, workers=dask_workers,
                                                   label=f"{dask_workers} processes, cluster idle beside")))
                        runs.append(step(sweep(corpus / name, bundle, work, dask=address,
                                               label=f"dask scheduler + {dask_workers} workers")))
                    step(None)
        if regex:
            out["regex"] = regex_cost(corpus / "titles.jsonl", terms, work)
    del out["coordinator_only_runs"]
    items = runs[0]["items"]
    for r in noop:
        # Sustained rate: from the last worker being ready (pool start-up is reported on its own).
        ready = max((w["ready_after_s"] for w in r["worker_startup"]), default=0.0)
        r["titles_per_s"] = round(items / max(1e-6, r["seconds"] - ready))
        r["titles_per_s_including_startup"] = round(items / r["seconds"])
    out["coordinator_only"] = {"runs": noop, "titles_per_s_min": min(r["titles_per_s"] for r in noop),
                               "target": TARGETS["coordinator_only"],
                               "met": min(r["titles_per_s"] for r in noop) >= TARGETS["coordinator_only"]}
    for r in runs:
        r["titles_per_s_after_startup"] = round(r["items"] / max(1e-6, r["seconds"] - r["worker_ready_after_s_max"]))
    out["identical_output"] = len({(r["source"], r["flagged_sha256"]) for r in runs}) == 2
    out["repeat"] = repeat
    med = _medians(runs)
    out["median_runs"] = med
    one = {r["source"]: r for r in med if r["mode"] == "1 processes"}
    one_cached = {r["source"]: r for r in med if r["mode"] == f"1 processes{CACHED}"}

    def base(r: dict[str, Any]) -> dict[str, Any]:
        """The one-process run to compare `r` with: the one that got its lists the same way."""
        return (one_cached if r["mode"].endswith(CACHED) else one)[r["source"]]

    per: dict[str, Any] = {}
    for key, name in (("txt", "titles.txt"), ("jsonl", "titles.jsonl")):
        r = one[name]
        per[key] = {"titles_per_s": r["titles_per_s"],
                    # The whole one-process sweep, compiling the 10,000-term list included (once per
                    # sweep, whatever its size: it weighs on a 1M-title corpus, not on 100M).
                    "titles_per_cpu_s_whole_sweep": r["titles_per_cpu_s_this_process"],
                    # Per core: reading and screening the chunks, CPU time.
                    "titles_per_cpu_s": r["titles_per_busy_cpu_s"],
                    "target_titles_per_cpu_s": TARGETS[f"{key}_per_process"]}
        per[key]["met"] = per[key]["titles_per_cpu_s"] >= TARGETS[f"{key}_per_process"]
    out["per_process"] = {**per, "note": "one sweep process (in-process executor)"}
    # Medians of the repeats (each mode's median run against the one-process median run).
    out["scaling"] = {r["source"] + " " + r["mode"]: round(r["titles_per_s"] / base(r)["titles_per_s"], 2)
                      for r in med}
    # The same with each run's start-up (until its last worker was ready) taken out: what the
    # screening itself scales to, since start-up does not grow with the corpus.
    out["scaling_after_startup"] = {
        r["source"] + " " + r["mode"]: round(r["titles_per_s_after_startup"]
                                             / base(r)["titles_per_s_after_startup"], 2) for r in med}
    if 2 in workers:
        s = out["scaling"]

        def pair(suffix: str) -> dict[str, Any]:
            txt, jsonl = s[f"titles.txt 2 processes{suffix}"], s[f"titles.jsonl 2 processes{suffix}"]
            return {"txt": txt, "jsonl": jsonl, "met": min(txt, jsonl) >= TARGETS["scaling_1_to_2"]}

        out["scaling_1_to_2"] = {
            "target": TARGETS["scaling_1_to_2"],
            # Every sweep after the first with these lists (the CLI keeps compiled lists by default).
            "lists_cached": pair(CACHED),
            # The first sweep with a list version: 0.6-1.0 s of compiling before anything can start.
            "lists_compiled": pair(""),
        }
    out["load_after"] = os.getloadavg()
    return out


def long_sweeps(corpus: Path, times: int, workers: list[int], dask_workers: int = 0) -> dict[str, Any]:
    """1 and 2 (...) processes over the corpus `times` over: start-up (compiling the lists, about half a
    second whatever the input) weighs less on 100M titles than on 10M, as it does on a real re-sweep.
    With `dask_workers`, a loopback Dask cluster of that many workers too (its first sweep of these
    lists: the workers load them)."""
    from contextlib import nullcontext

    from indexguard.sweep.dask_run import loopback_cluster

    bundle = ListBundle((ListText.read(corpus / "terms.txt"),))
    out: dict[str, Any] = {"times": times}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("titles.txt", "titles.jsonl"):
            runs = [sweep(corpus / name, bundle, Path(tmp), workers=n, times=times) for n in workers]
            with loopback_cluster(dask_workers) if dask_workers else nullcontext() as address:
                if address:
                    runs.append(sweep(corpus / name, bundle, Path(tmp), dask=address, times=times,
                                      label=f"dask scheduler + {dask_workers} workers"))
            one = runs[0]["titles_per_s"]
            out[name] = {"titles": runs[0]["items"],
                         "runs": [{k: r[k] for k in ("mode", "seconds", "titles_per_s", "busy_cpu_s",
                                                     "worker_ready_after_s_max", "flagged", "flagged_sha256",
                                                     "load_average_at_start")} for r in runs],
                         "scaling": {r["mode"]: round(r["titles_per_s"] / one, 2) for r in runs},
                         "identical_output": len({r["flagged_sha256"] for r in runs}) == 1}
    return out


def cli_sweeps(corpus: Path, workers: list[int], repeat: int) -> dict[str, Any]:
    """`indexguard sweep` as an operator runs it, timed from the shell: a new Python process each run
    (imports, reading the lists, the sweep, exiting), with the lists compiled (`--no-list-cache`) and
    with them loaded from a compiled-list cache that holds them already."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "INDEXGUARD_LIST_CACHE": str(Path(tmp) / "cache")}

        def once(source: str, n: int, cached: bool) -> float:
            cmd = [sys.executable, "-m", "indexguard.cli", "sweep", str(corpus / source), "--terms",
                   str(corpus / "terms.txt"), "--workers", str(n), "-o", str(Path(tmp) / "flagged.jsonl"),
                   "--no-progress", *([] if cached else ["--no-list-cache"])]
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            return time.perf_counter() - t0

        once("titles.txt", 1, True)  # fills the cache
        for source in ("titles.txt", "titles.jsonl"):
            walls: dict[str, list[float]] = {}
            for _ in range(repeat):
                for cached in (False, True):
                    for n in workers:
                        walls.setdefault(f"{n} processes{CACHED if cached else ''}", []).append(once(source, n, cached))
            med = {mode: round(sorted(w)[(len(w) - 1) // 2], 3) for mode, w in walls.items()}
            out[source] = {"seconds_median": med,
                           "seconds_all": {m: [round(x, 3) for x in w] for m, w in walls.items()}}
            if 1 in workers:  # against one process that got its lists the same way
                out[source]["scaling"] = {
                    mode: round(med["1 processes" + (CACHED if mode.endswith(CACHED) else "")] / sec, 2)
                    for mode, sec in med.items()}
    return out


def _medians(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source and mode, the run of median wall time (the lower middle one of an even count), with
    the fastest and slowest wall times of its mode beside it."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["source"], r["mode"]), []).append(r)
    out = []
    for same in groups.values():
        ranked = sorted(same, key=lambda r: r["seconds"])
        pick = dict(ranked[(len(ranked) - 1) // 2])
        pick["seconds_all"] = [r["seconds"] for r in same]
        out.append(pick)
    return out


def run(quick: bool) -> dict[str, Any]:
    """bench/run.py entry: the 1M corpus (quick: 200k), 1 and 2 processes, a 2-worker Dask cluster."""
    from corpus import corpus_dir

    d = corpus_dir(200_000 if quick else 1_000_000)
    out = measure(d, [1, 2], 2)
    out["note"] = "2-core machine shared with other developers while measured: figures are pessimistic"
    return out


def main() -> None:
    if sys.argv[1:2] == ["--watch-rss"]:
        _watch_rss(int(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--dask", type=int, default=0, help="worker processes of a loopback Dask cluster (0: none)")
    ap.add_argument("--no-regex", action="store_true")
    ap.add_argument("--long", type=int, default=0, metavar="K",
                    help="only: 1 and 2 (--workers) processes over the corpus K times over")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each mode, interleaved; figures use the median")
    ap.add_argument("--cli", action="store_true",
                    help="only: `indexguard sweep` from the shell, a new process per run, wall time")
    ap.add_argument("-o", "--output", type=Path)
    a = ap.parse_args()
    workers = [int(x) for x in a.workers.split(",")]
    if a.cli:
        out = cli_sweeps(a.corpus, workers, a.repeat)
    elif a.long:
        out = long_sweeps(a.corpus, a.long, workers, a.dask)
    else:
        out = measure(a.corpus, workers, a.dask, regex=not a.no_regex, save=a.output, repeat=a.repeat)
    text = json.dumps(out, indent=2)
    if a.output:
        a.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
