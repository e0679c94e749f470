"""Same queries, same URLs, both servers: HMA's /m/raw_lookup and /m/lookup against indexguard's HMA mount.

  python bench/hma/compare.py QUERIES HMA_URL IG_URL IG_KEY [N]

Both must hold the same bank (HMA seeded from a hash file, indexguard with the same file imported with
entry ids hma:<line>, so content ids agree). Prints each disagreement and a summary; exit 0 when every
answer is identical (matches compared as sets: neither server promises an order).
"""

from __future__ import annotations

import json
import sys

import httpx


def _norm(path: str, r: httpx.Response) -> object:
    body = r.json()
    if path == "/m/raw_lookup" and isinstance(body, dict) and "matches" in body:
        return r.status_code, sorted(json.dumps(m, sort_keys=True) for m in body["matches"])
    return r.status_code, json.dumps(body, sort_keys=True)


def main(queries: str, hma: str, ig: str, key: str, n: int = 300) -> int:
    with open(queries) as f:
        qs = [x.strip() for x in f if x.strip()][:n]
    same = diff = with_matches = 0
    with httpx.Client(timeout=30) as c:
        for q in qs:
            for path, extra in (("/m/raw_lookup", {"include_distance": "true"}), ("/m/lookup", {})):
                params = {"signal_type": "pdq", "signal": q, **extra}
                a = c.get(hma + path, params=params)
                b = c.get(ig + path, params=params, headers={"Authorization": f"Bearer {key}"})
                if _norm(path, a) == _norm(path, b):
                    same += 1
                    body = a.json()
                    with_matches += bool(body.get("matches") if path == "/m/raw_lookup" else body)
                else:
                    diff += 1
                    print("DIFF", path, q[:16], a.text[:160], b.text[:160])
    print(f"{same} identical answers, {diff} different, {with_matches} with matches ({len(qs)} queries x 2 endpoints)")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5], *(int(x) for x in sys.argv[5:6])))
