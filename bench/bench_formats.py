"""Formats benchmark: typical 40-file torrents parsed per second (one core), the same parsed and
screened (Screener with the standard 10,000-term corpus list, torrent Items), magnets parsed per
second and NZBs parsed per second.

Torrents are generated from the standard corpus titles (seed 7): a name, 40 files two directories
deep, a comment, two trackers; canonical bencode (the strict path) and, separately, the same torrents
with unsorted keys (the lenient tokenizer path).

    .venv/bin/python bench/run.py --only formats [--quick]
"""

from __future__ import annotations

import gzip
import random
import time
from pathlib import Path
from typing import Any

import bencode2

from corpus import corpus_dir
from indexguard.formats.magnet import parse_magnet
from indexguard.formats.nzb import parse_nzb
from indexguard.formats.torrent import parse_torrent

TARGET_PER_S = 5_000
SEED = 7


def _titles(n: int) -> list[str]:
    out: list[str] = []
    with (corpus_dir() / "titles.txt").open(encoding="utf-8") as f:
        for line in f:
            out.append(line.rstrip("\n"))
            if len(out) >= n:
                break
    return out


def _torrent(title: str, rng: random.Random, canonical: bool) -> bytes:
    words = title.split(".")
    files = [
        {b"length": rng.randint(10_000, 50_000_000),
         b"path": [rng.choice(words).encode(), f"{title}.part{i:02d}.rar".encode()]}
        for i in range(40)
    ]
    total = sum(f[b"length"] for f in files)
    pl = 4 * 1024 * 1024
    info = {b"name": title.encode(), b"piece length": pl, b"pieces": b"\x11" * 20 * -(-total // pl),
            b"files": files}
    top = {b"announce": b"udp://tracker.example:1337/announce",
           b"announce-list": [[b"udp://tracker.example:1337/announce"], [b"http://t2.example/announce"]],
           b"comment": f"Uploaded: {title}".encode(), b"created by": b"bench/1.0", b"info": info}
    if canonical:
        return bencode2.bencode(top)
    # "info" first, then the rest: unsorted keys, so the lenient tokenizer path runs
    rest = {k: v for k, v in top.items() if k != b"info"}
    return b"d4:info" + bencode2.bencode(info) + bencode2.bencode(rest)[1:]


def _rate(fn: Any, items: list[Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return len(items) / best


def _nzb(title: str, rng: random.Random) -> bytes:
    files = []
    for i in range(20):
        segs = "".join(
            f'<segment bytes="{rng.randint(700_000, 760_000)}" number="{j + 1}">{rng.getrandbits(64):x}-{i}-{j}@bench'
            "</segment>"
            for j in range(20)
        )
        files.append(f'<file poster="poster &lt;p@example&gt;" date="1706440709" subject="[{i + 1}/20] - '
                     f'&quot;{title}.part{i:02d}.rar&quot; yEnc (1/20)"><groups><group>alt.binaries.test</group>'
                     f"</groups><segments>{segs}</segments></file>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE nzb PUBLIC "-//newzBin//DTD NZB 1.1//EN" '
            '"http://www.newzbin.com/DTD/nzb/nzb-1.1.dtd">\n<nzb xmlns="http://www.newzbin.com/DTD/2003/nzb">'
            f'<head><meta type="title">{title}</meta></head>{"".join(files)}</nzb>').encode()


def _screen_rate(torrents: list[bytes]) -> dict[str, Any]:
    try:
        from indexguard.lists.terms import load_term_list
        from indexguard.screen.item import Item
        from indexguard.screen.screener import Screener
    except ImportError as e:
        return {"measured": False, "note": f"screener not available ({e}); parse only"}
    screener = Screener.build([load_term_list(corpus_dir() / "terms.txt")])
    items = [Item(id=str(i), kind="torrent", raw=t) for i, t in enumerate(torrents)]
    screener.screen(items[0])
    rate = _rate(screener.screen, items, repeat=2)
    return {"measured": True, "per_s": round(rate), "target_per_s": TARGET_PER_S, "met": rate >= TARGET_PER_S,
            "note": "Item(kind=torrent, raw=bytes) -> Decision: parse, every text field screened, identities"}


def run(quick: bool) -> dict[str, Any]:
    n = 500 if quick else 3_000
    rng = random.Random(SEED)
    titles = _titles(n)
    strict = [_torrent(t, rng, True) for t in titles]
    lenient = [_torrent(t, rng, False) for t in titles]
    assert parse_torrent(strict[0]).bencode_strict and not parse_torrent(lenient[0]).bencode_strict
    parse_rate = _rate(parse_torrent, strict)
    fields_rate = _rate(lambda d: parse_torrent(d).text_fields(), strict)
    lenient_rate = _rate(parse_torrent, lenient)
    magnets = [f"magnet:?xt=urn:btih:{rng.getrandbits(160):040x}&dn={t}&tr=udp%3A%2F%2Ft.example%3A1337"
               for t in titles]
    nzbs = [_nzb(t, rng) for t in titles[: max(n // 10, 50)]]
    nzb_gz = [gzip.compress(x) for x in nzbs]
    return {
        "workload": {"torrents": n, "files_per_torrent": 40, "bytes_per_torrent": len(strict[0]),
                     "nzb_files": 20, "nzb_segments": 400, "nzb_bytes": len(nzbs[0])},
        "torrent_parse": {"per_s": round(parse_rate), "target_per_s": TARGET_PER_S,
                          "met": parse_rate >= TARGET_PER_S, "path": "strict (bencode2)"},
        "torrent_parse_and_text_fields": {"per_s": round(fields_rate)},
        "torrent_parse_lenient": {"per_s": round(lenient_rate), "path": "lenient tokenizer (unsorted keys)"},
        "torrent_parse_and_screen": _screen_rate(strict),
        "magnet_parse_per_s": round(_rate(parse_magnet, magnets)),
        "nzb_parse_per_s": round(_rate(parse_nzb, nzbs)),
        "nzb_gz_parse_per_s": round(_rate(parse_nzb, nzb_gz)),
        "met": parse_rate >= TARGET_PER_S,
        "note": "one core, CPU shared with other developers: figures are pessimistic",
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    print(json.dumps(run(quick=True), indent=2))
