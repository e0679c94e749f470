"""Exchange fetch speed (a local NCMEC-shaped server through the library's real client, into SQLite)
and vPDQ matching speed (VpdqIndex over bank clips). Needs the `exchanges` extra for the first part.

Targets: none set by the issue; figures for docs/exchanges.md and docs/images-and-hashes.md.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _fetch(n: int) -> dict[str, Any]:
    try:
        import threatexchange  # noqa: F401
    except ImportError:
        return {"skipped": "threatexchange not installed (pip install 'indexguard[exchanges]')"}
    sys.path.insert(0, str(ROOT / "tests"))
    from exchanges.ncmec_server import Entry, NcmecState, serve
    from indexguard.crypto import Cipher
    from indexguard.exchanges.fetch import fetch_source
    from indexguard.exchanges.sources import Credentials, SourceConfig
    from indexguard.store import db, migrate

    st = NcmecState("u", "p", page_size=1000)
    rnd = random.Random(1)
    now = int(time.time())
    for i in range(n):
        fps = {"pdq": f"{rnd.getrandbits(256):064x}", "md5": f"{rnd.getrandbits(128):032x}"}
        st.put(Entry(f"e{i}", 40 + i % 7, now - 864000 + rnd.randrange(863990), "image", "A1", fps))
    server, url = serve(st)
    with tempfile.TemporaryDirectory() as d:
        engine = db.make_engine(f"sqlite:///{d}/x.db")
        migrate.upgrade(engine)
        cfg = SourceConfig(name="ncmec", api="ncmec", bank="NCMEC", category="csam", base_url=url)
        creds = Credentials(ncmec_user="u", ncmec_password="p")
        t0 = time.perf_counter()
        out = fetch_source(db.session_factory(engine), Cipher(b"k" * 32), cfg, creds, owner="bench")
        first = time.perf_counter() - t0
        engine.dispose()
    server.shutdown()
    return {
        "ncmec_entries": n,
        "ok": out.ok,
        "bank_entries": out.entries,
        "requests": len(st.requests),
        "first_fetch_s": round(first, 2),
        "records_per_s": round(n / first),
    }


def _vpdq(videos: int, frames: int, queries: int) -> dict[str, Any]:
    from indexguard.formats.video import Frame
    from indexguard.match.vpdq_index import VpdqIndex

    rnd = random.Random(2)
    idx = VpdqIndex()
    bank = []
    t0 = time.perf_counter()
    for v in range(videos):
        fs = [Frame(f"{rnd.getrandbits(256):064x}", 100, float(i)) for i in range(frames)]
        bank.append(fs)
        idx.add(v, fs)
    build = time.perf_counter() - t0

    def near(fs: list[Frame]) -> list[Frame]:
        out = []
        for f in fs:
            h = int(f.pdq, 16)
            for b in rnd.sample(range(256), 12):
                h ^= 1 << b
            out.append(Frame(f"{h:064x}", 100, f.timestamp))
        return out

    qs = [near(bank[rnd.randrange(videos)]) for _ in range(queries)]
    t0 = time.perf_counter()
    found = sum(1 for q in qs if idx.match(q))
    el = time.perf_counter() - t0
    return {"videos": videos, "frames_each": frames, "build_s": round(build, 2), "queries": queries,
            "matched": found, "queries_per_s": round(queries / el, 1)}  # fmt: skip


def run(quick: bool) -> dict[str, Any]:
    return {
        "ncmec_fetch": _fetch(2_000 if quick else 20_000),
        "vpdq_match": _vpdq(500 if quick else 10_000, 30, 50 if quick else 200),
    }
