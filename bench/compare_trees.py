"""Before/after figures of the bulk path for any checkout of the project, so that two versions can be
measured in the same quiet window (docs/benchmarks.md, issue 18):

    python bench/compare_trees.py TREE CORPUS_DIR        (prints one JSON line)

TREE is the root of a checkout (its src/ is imported first); CORPUS_DIR comes from make_bench_corpus.py.
All in CPU time of this process: raw Hyperscan (the literal terms over the un-normalised titles) and the
bulk path (per 8 MiB piece, what that version's sweep does: newline offsets and flag_lines, or, since
flag_line_starts, that and one pass for the line count, numbers and blank lines; then Screener.screen
of each flagged line), interleaved, best of 3; compiling the list; and a one-process sweep of titles.txt
and titles.jsonl with the lists compiled beforehand, best of 3 (with the sha256 of its flagged output).
Works with versions whose flag_lines takes no newline offsets.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PIECE = 8 << 20


def main() -> None:
    tree, corpus = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, str(Path(tree) / "src"))
    import hyperscan
    import numpy as np

    from indexguard.lists.terms import load_term_list
    from indexguard.screen.item import Item
    from indexguard.screen.screener import Screener
    from indexguard.sweep.bundle import ListBundle, ListText, screener_for
    from indexguard.sweep.runner import SweepConfig, run_sweep

    try:  # as every screening process of a sweep does, in versions that have it (sweep/heap.py)
        from indexguard.sweep.heap import keep_freed_memory
    except ImportError:
        keep_freed = False
    else:
        keep_freed = keep_freed_memory()
    out: dict[str, Any] = {"tree": tree, "load_before": os.getloadavg(), "keep_freed_memory": keep_freed}
    data = (corpus / "titles.txt").read_bytes()
    pieces, start = [], 0
    while start < len(data):
        end = data.find(b"\n", min(len(data) - 1, start + PIECE)) + 1 or len(data)
        pieces.append(data[start:end])
        start = end
    tl = load_term_list(corpus / "terms.txt")
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[e.term.encode() for e in tl.entries], ids=list(range(len(tl.entries))), flags=0,
               literal=True)
    scratch = hyperscan.Scratch(db)

    def on_match(*_: object) -> None:
        return None

    def raw() -> None:
        for p in pieces:
            db.scan(p, match_event_handler=on_match, scratch=scratch)

    s = Screener.build([tl])
    takes_newlines = "newlines" in inspect.signature(s.flag_lines).parameters

    def bulk_numpy_newlines() -> int:
        # Versions before flag_line_starts: the sweep built every newline offset, then flag_lines.
        blocked = 0
        for p in pieces:
            nl = np.flatnonzero(np.frombuffer(p, dtype=np.uint8) == 10)
            lines = (s.flag_lines(p, nl) if takes_newlines else s.flag_lines(p)) or []  # type: ignore[call-arg]
            for i in lines:
                title = p[int(nl[i - 1]) + 1 if i else 0 : int(nl[i])].decode()
                blocked += s.screen(Item(id=str(i), title=title)).action == "block"
        return blocked

    def bulk_line_starts() -> int:
        # What the sweep's plain-text reader does since flag_line_starts (sweep/screening.py _txt_ascii).
        from indexguard.match.line_spans import line_end, scan_lines

        blocked = 0
        for p in pieces:
            starts = s.flag_line_starts(p)  # type: ignore[attr-defined]
            lines = scan_lines(p, starts, blanks=True)
            for i, a in zip(lines.numbers, starts, strict=True):
                if a not in lines.blank:
                    blocked += s.screen(Item(id=str(i), title=p[a : line_end(p, a)].decode())).action == "block"
        return blocked

    def bulk_lines() -> int:
        # Since bulk_lines: the raw scan notes the lines that begin with whitespace (the blank ones).
        from indexguard.match.line_spans import line_end, scan_lines

        blocked = 0
        for p in pieces:
            flags = s.bulk_lines(p)  # type: ignore[attr-defined]
            lines = scan_lines(p, flags.starts, heads=flags.heads)  # type: ignore[call-arg]
            for i, a in zip(lines.numbers, flags.starts, strict=True):
                if a not in lines.blank:
                    blocked += s.screen(Item(id=str(i), title=p[a : line_end(p, a)].decode())).action == "block"
        return blocked

    bulk = (bulk_lines if hasattr(s, "bulk_lines") else
            bulk_line_starts if hasattr(s, "flag_line_starts") else bulk_numpy_newlines)
    out["bulk_path"] = bulk.__name__
    raw_cpu = bulk_cpu = 1e9
    blocked = 0
    for _ in range(3):
        c = time.process_time()
        raw()
        raw_cpu = min(raw_cpu, time.process_time() - c)
        c = time.process_time()
        blocked = bulk()
        bulk_cpu = min(bulk_cpu, time.process_time() - c)
    out.update(raw_cpu_s=round(raw_cpu, 4), bulk_cpu_s=round(bulk_cpu, 4), ratio_cpu=round(bulk_cpu / raw_cpu, 2),
               blocked=blocked)
    bundle = ListBundle((ListText.read(corpus / "terms.txt"),))
    c = time.process_time()
    bundle.build()
    out["list_compile_cpu_s"] = round(time.process_time() - c, 3)
    screener_for(bundle)
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("titles.txt", "titles.jsonl"):
            best, items, flagged = 1e9, 0, 0
            for _ in range(3):
                cfg = SweepConfig([str(corpus / name)], bundle, output=Path(tmp) / "o.jsonl", workers=1)
                c = time.process_time()
                r = run_sweep(cfg)
                best = min(best, time.process_time() - c)
                items, flagged = r["items"], r["flagged"]
                digest = hashlib.sha256((Path(tmp) / "o.jsonl").read_bytes()).hexdigest()[:16]
            out[name] = {"cpu_s": round(best, 3), "titles_per_cpu_s": round(items / best), "flagged": flagged,
                         "flagged_sha256": digest}
    out["load_after"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
