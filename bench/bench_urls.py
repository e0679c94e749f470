"""URL matching: lookups per second against a 1,000,000-entry generated URL list.

The list is synthetic (placeholder hosts under .test and .example only): 60% exact URLs, 25%
path prefixes, 15% hosts. Half the probe URLs are derived from listed entries (a deeper path
under a prefix, a subdomain of a host, a query on an exact URL), half are unlisted neighbours.
Also reported: list load time (canonicalizing every entry), peak RSS, and URL extraction from
listing descriptions. Figures on a shared CPU are pessimistic.
"""

from __future__ import annotations

import random
import resource
import time
from typing import Any

from indexguard.lists.url_list import parse_url_list
from indexguard.match.url_match import UrlMatcher

TARGET_LOOKUPS_PER_S = 20_000
TARGET_LOAD_S_PER_MILLION = 120.0
TLDS = ("test", "example")


def _host(rng: random.Random, i: int) -> str:
    return f"h{i:07d}.s{rng.randrange(100)}.{TLDS[i % 2]}"


def make_list(n: int, seed: int = 7) -> tuple[str, list[tuple[str, str]]]:
    """The list text and, per entry, (match kind, the written URL)."""
    rng = random.Random(seed)
    lines, entries = [], []
    for i in range(n):
        host, r = _host(rng, i), rng.random()
        if r < 0.60:
            url = f"http://{host}/g{rng.randrange(1000)}/p{i}.html"
            kind = "exact"
        elif r < 0.85:
            url = f"https://{host}/d{rng.randrange(50)}/s{i}/*"
            kind = "prefix"
        else:
            url, kind = host, "host"
        lines.append(url)
        entries.append((kind, url))
    return "\n".join(lines) + "\n", entries


def make_probes(entries: list[tuple[str, str]], count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for k in range(count):
        kind, url = entries[rng.randrange(len(entries))]
        hit = k % 2 == 0
        if kind == "exact":
            out.append(url + "?ref=1" if hit else url.replace(".html", "x.html"))
        elif kind == "prefix":
            base = url[:-2]
            out.append(base + "/more/x.jpg" if hit else base + "z/x.jpg")
        else:
            out.append(f"http://www.{url}/a/b" if hit else f"http://not-{url}/a/b")
    return out


def run(quick: bool) -> dict[str, Any]:
    n = 100_000 if quick else 1_000_000
    probes_n = 20_000 if quick else 200_000
    text, entries = make_list(n)
    t0 = time.perf_counter()
    lst = parse_url_list(text, "bench")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    matcher = UrlMatcher([lst])
    index_s = time.perf_counter() - t0
    del text

    probes = make_probes(entries, probes_n)
    t0 = time.perf_counter()
    hit_count = sum(1 for u in probes if matcher.match(u))
    lookup_s = time.perf_counter() - t0
    per_s = probes_n / lookup_s

    desc = ("bizu husinjopuk mirror at hxxp://" + entries[0][1].split("://")[-1].replace(".", "[.]")
            + " and www.unlisted.test/x, read more on https://info.example/faq. ") * 3
    reps = 2_000 if quick else 10_000
    t0 = time.perf_counter()
    for _ in range(reps):
        matcher.match_text(desc)
    text_per_s = reps / (time.perf_counter() - t0)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_per_million = (load_s + index_s) * 1_000_000 / n
    return {
        "entries": n,
        "probes": probes_n,
        "probe_hits": hit_count,
        "expected_hits": probes_n // 2,
        "load_seconds": round(load_s, 2),
        "index_seconds": round(index_s, 2),
        "lookups_per_second": round(per_s),
        "microseconds_per_lookup": round(1e6 / per_s, 1),
        "descriptions_per_second": round(text_per_s),
        "peak_rss_mb": round(rss_mb),
        "targets": {
            "lookups_per_second": TARGET_LOOKUPS_PER_S,
            "load_seconds_per_million": TARGET_LOAD_S_PER_MILLION,
        },
        "met": per_s >= TARGET_LOOKUPS_PER_S
        and load_per_million <= TARGET_LOAD_S_PER_MILLION
        and hit_count == probes_n // 2,
        "note": "single thread; the CPU is shared with other work, so figures are pessimistic",
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
