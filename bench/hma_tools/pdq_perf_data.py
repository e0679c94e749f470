#!/usr/bin/env python3
"""Data and correctness helpers for hma_vs_indexguard.sh (PDQ hash lookup, HMA vs indexguard).

  pdq_perf_data.py bank N OUT [SEED]          N distinct random PDQ hashes, one hex a line, made the way
                                              HMA's `big-seed` makes them (f"{randrange(16**64):064x}")
  pdq_perf_data.py queries BANK OUT [N] [SEED] N query hashes (default 1000): even lines a bank hash with
                                              0..31 bits flipped, odd lines random; OUT.truth gets the
                                              exact answer (brute force over the whole bank): 1 match, 0 none
  pdq_perf_data.py csv BANK OUT               the bank as an indexguard hash list CSV (hash,type,id)
  pdq_perf_data.py compare QUERIES K HMA_URL IG_URL IG_KEY
                                              match / no match of the first K queries in both systems and
                                              in the brute-force truth; prints disagreements and one summary
                                              line; exit 0 when all three agree on every query
Only the standard library, except `queries` (NumPy, for the brute force)."""
import json
import random
import sys
import urllib.error
import urllib.request
from pathlib import Path


def bank(n: int, out: str, seed: int = 1) -> None:
    rnd = random.Random(seed)
    seen: set[str] = set()
    with open(out, "w") as f:
        while len(seen) < n:
            h = f"{rnd.randrange(16**64):064x}"
            if h not in seen:
                seen.add(h)
                f.write(h + "\n")


def queries(bank_file: str, out: str, n: int = 1000, seed: int = 2) -> None:
    import numpy as np

    hashes = [x.strip() for x in Path(bank_file).read_text().splitlines() if x.strip()]
    rnd = random.Random(seed)
    qs = []
    for i in range(n):
        if i % 2 == 0:
            v = int(rnd.choice(hashes), 16)
            for b in rnd.sample(range(256), rnd.randint(0, 31)):
                v ^= 1 << b
            qs.append(f"{v:064x}")
        else:
            qs.append(f"{rnd.randrange(16**64):064x}")
    rows = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=">u8").reshape(-1, 4).astype(np.uint64)
    truth = []
    for q in qs:
        qv = np.frombuffer(bytes.fromhex(q), dtype=">u8").astype(np.uint64)
        d = np.bitwise_count(rows ^ qv).sum(axis=1)
        truth.append(int(d.min()))
    with open(out, "w") as f:
        f.write("".join(q + "\n" for q in qs))
    with open(out + ".truth", "w") as f:
        f.write("".join(f"{int(d <= 31)}\t{d}\n" for d in truth))


def csv(bank_file: str, out: str) -> None:
    with open(out, "w") as f:
        f.write("hash,type,id\n")
        for i, x in enumerate(Path(bank_file).read_text().splitlines(), 1):
            if x.strip():
                f.write(f"{x.strip()},pdq,b{i}\n")


def _get(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> dict:
    req = urllib.request.Request(url, data=body, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def compare(qfile: str, k: int, hma: str, ig: str, key: str) -> int:
    qs = [x.strip() for x in Path(qfile).read_text().splitlines() if x.strip()][:k]
    truth = [x.split("\t") for x in Path(qfile + ".truth").read_text().splitlines()][:k]
    agree = hma_ok = ig_ok = 0
    n_match = 0
    for i, q in enumerate(qs):
        t, dmin = int(truth[i][0]), int(truth[i][1])
        n_match += t
        h = _get(f"{hma}/m/raw_lookup?signal_type=pdq&signal={q}")
        hm = int(bool(h.get("matches")))
        body = json.dumps({"id": f"check-{i}", "pdq": q}).encode()
        d = _get(f"{ig}/v1/listings", {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, body)
        pdq_hits = [r for r in d.get("reasons", []) if r.get("field") == "pdq"]
        im = int(bool(pdq_hits))
        agree += hm == im
        hma_ok += hm == t
        ig_ok += im == t
        if not (hm == im == t):
            print(f"query {i} {q[:16]}..: truth={t} (min distance {dmin}) hma={hm} ours={im} "
                  f"ours_action={d.get('action')}")
    print(f"correctness: {len(qs)} queries ({n_match} within 31 of a bank hash): HMA and ours agree on {agree}, "
          f"HMA = truth on {hma_ok}, ours = truth on {ig_ok}")
    return 0 if agree == hma_ok == ig_ok == len(qs) else 1


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "bank":
        bank(int(args[0]), args[1], *(int(a) for a in args[2:]))
    elif cmd == "queries":
        queries(args[0], args[1], *(int(a) for a in args[2:]))
    elif cmd == "csv":
        csv(args[0], args[1])
    elif cmd == "compare":
        sys.exit(compare(args[0], int(args[1]), args[2], args[3], args[4]))
    else:
        sys.exit(__doc__)
