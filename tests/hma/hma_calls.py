"""An HMA client's calls, replayable against Meta's HMA and against indexguard's /hma mount.

`run(client, base, headers, wait)` performs them with any httpx-style client (httpx.Client for live
servers, FastAPI's TestClient in CI) and returns the exchanges as JSON-able records. Content ids the
two servers hand out for added content differ by design; `normalise` replaces them with labels
(`added#k`) from the add answers so the answers compare. Seeded content is imported into indexguard
with `hma:<n>` entry ids, so its ids are HMA's own.

Data: the bank (seed_bank.txt, random hashes as HMA's big-seed makes them) and generated noise
images; nothing here is, or is a hash of, real imagery.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED_BANK = HERE / "seed_bank.txt"
RECORDED = HERE / "recorded_hma.json"
URL = "http://127.0.0.1:1/never-fetched.jpg"
URL_REFUSED_HINT = "never fetches URLs"


def seed_hashes() -> list[str]:
    return [x.strip() for x in SEED_BANK.read_text().splitlines() if x.strip()]


def flip(h: str, bits: list[int]) -> str:
    v = int(h, 16)
    for b in bits:
        v ^= 1 << b
    return f"{v:064x}"


def image(seed: int) -> bytes:
    from PIL import Image

    rnd = random.Random(seed)
    im = Image.new("RGB", (128, 96))
    im.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(128 * 96)])
    im = im.resize((320, 240), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def queries() -> list[str]:
    bank = seed_hashes()
    rnd = random.Random(5)
    qs = []
    for i in range(40):
        base = bank[rnd.randrange(len(bank))]
        k = rnd.choice([0, 3, 12, 25, 31, 32, 40]) if i % 2 == 0 else 0
        qs.append(flip(base, rnd.sample(range(256), k)) if i % 2 == 0 else f"{rnd.randrange(16**64):064x}")
    return qs


def _rec(r: Any, call: dict[str, Any]) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        body = r.text
    return {**call, "status": r.status_code, "body": body}


def run(client: Any, base: str, headers: dict[str, str], wait: Callable[[], None]) -> list[dict[str, Any]]:
    bank = seed_hashes()
    near7 = flip(bank[6], list(range(0, 200, 20)))  # 10 bits from seed entry 7
    lonely = flip(bank[8], list(range(256)))  # far from everything
    img_banked, img_other = image(1), image(2)
    md5 = hashlib.md5(b"generated video bytes 19").hexdigest()
    out: list[dict[str, Any]] = []

    def call(method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None,
             upload: tuple[str, int] | None = None, phase: str = "B") -> dict[str, Any]:  # fmt: skip
        files = None
        if upload is not None:
            field, which = upload
            data = {1: img_banked, 2: img_other, 3: b"generated video bytes 19"}[which]
            files = {field: (f"f{which}.bin", data, "application/octet-stream")}
        r = client.request(method, base + path, params=params, json=body, files=files, headers=headers)
        rec = _rec(r, {"phase": phase, "method": method, "path": path, "params": params, "json": body,
                       "upload": list(upload) if upload else None})  # fmt: skip
        out.append(rec)
        return rec

    a = "A"
    call("GET", "/c/banks", phase=a)
    call("POST", "/c/banks", body={"name": "BANK_B"}, phase=a)
    call("POST", "/c/banks", body={"name": "BANK_B"}, phase=a)
    call("GET", "/c/bank/BANK_B", phase=a)
    call("GET", "/c/bank/NO_SUCH_BANK", phase=a)
    call("POST", "/c/bank/BANK_B/signal", body={"pdq": near7}, phase=a)
    call("POST", "/c/bank/BANK_B/signal", body={"pdq": lonely}, phase=a)
    call("POST", "/c/bank/BANK_B/signal", body={"pdq": "zz"}, phase=a)
    call("POST", "/c/bank/BANK_B/signal", body={"video_md5": md5}, phase=a)
    call("POST", "/c/bank/NO_SUCH_BANK/signal", body={"pdq": near7}, phase=a)
    added = call("POST", "/c/bank/BANK_B/content", upload=("photo", 1), phase=a)
    if isinstance(added["body"], dict) and "id" in added["body"]:
        call("GET", f"/c/bank/BANK_B/content/{added['body']['id']}", phase=a)
    gone = [r for r in out if r["path"] == "/c/bank/BANK_B/signal" and r["json"] == {"pdq": lonely}]
    if gone and isinstance(gone[0]["body"], dict) and "id" in gone[0]["body"]:
        call("DELETE", f"/c/bank/BANK_B/content/{gone[0]['body']['id']}", phase=a)
    call("GET", "/c/banks", phase=a)
    wait()

    for q in [*queries(), bank[6], near7, lonely]:
        call("GET", "/m/raw_lookup", params={"signal_type": "pdq", "signal": q})
        call("GET", "/m/raw_lookup", params={"signal_type": "pdq", "signal": q, "include_distance": "true"})
        call("GET", "/m/lookup", params={"signal_type": "pdq", "signal": q})
    for banks in ("BANK_B", "SEED_BANK_0", "BANK_B,SEED_BANK_0", "NO_SUCH_BANK"):
        call("GET", "/m/raw_lookup", params={"signal_type": "pdq", "signal": bank[6], "banks": banks,
                                             "include_distance": "true"})  # fmt: skip
        call("GET", "/m/lookup", params={"signal_type": "pdq", "signal": bank[6], "banks": banks})
    call("GET", "/m/lookup", params={"signal_type": "video_md5", "signal": md5.upper()})
    call("GET", "/m/raw_lookup", params={"signal_type": "video_md5", "signal": md5, "include_distance": "true"})
    call("GET", "/m/lookup", params={"signal_type": "video_md5", "signal": "0" * 31 + "1"})
    call("GET", "/m/lookup", params={"signal_type": "nope", "signal": bank[0]})
    call("GET", "/m/lookup", params={"signal_type": "pdq", "signal": bank[0].upper()})
    call("GET", "/m/lookup", params={"signal_type": "pdq", "signal": "abc"})
    call("GET", "/m/lookup", params={"signal": bank[0]})
    call("GET", "/m/raw_lookup", params={"signal_type": "pdq"})
    call("POST", "/h/hash", upload=("photo", 1))
    call("POST", "/h/hash", upload=("photo", 2))
    call("POST", "/h/hash", upload=("video", 3))
    call("POST", "/h/hash", upload=("audio", 1))
    call("POST", "/h/hash")
    call("POST", "/m/lookup", upload=("photo", 1))
    call("POST", "/m/lookup", upload=("photo", 2))
    call("POST", "/m/lookup", upload=("video", 3))
    call("GET", "/h/hash", params={"url": URL})
    call("GET", "/m/lookup", params={"url": URL})
    return out


# Calls whose answers differ by design (docs/hma-compat.md): HMA fetches URLs, indexguard never does.
EXPECTED_DIFFERENT = {("GET", "/h/hash"), ("GET", "/m/lookup", "url")}


def expected_different(rec: dict[str, Any]) -> bool:
    params = rec.get("params") or {}
    return (rec["method"], rec["path"]) in EXPECTED_DIFFERENT or ("url" in params and rec["path"] == "/m/lookup")


def normalise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Added-content ids -> `added#k` labels (k in order of the add calls); match lists sorted."""
    labels: dict[int, str] = {}
    for r in records:
        if r["method"] == "POST" and r["path"].startswith("/c/bank/") and isinstance(r["body"], dict):
            cid = r["body"].get("id")
            if isinstance(cid, int):
                labels[cid] = f"added#{len(labels)}"

    def fix(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            return {k: fix(x, k) for k, x in v.items()}
        if isinstance(v, list):
            items = [fix(x, key) for x in v]
            return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
        if isinstance(v, int) and not isinstance(v, bool) and key in ("id", "bank_content_id", "matches"):
            return labels.get(v, v)
        return v

    out = []
    for r in records:
        path = r["path"]
        for cid, label in labels.items():
            path = path.replace(f"/{cid}", f"/{label}")
        out.append({**r, "path": path, "body": fix(r["body"])})
    return out
