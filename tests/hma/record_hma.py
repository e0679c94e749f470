"""Record HMA's answers to the client calls in hma_calls.py (run by hand against a real HMA).

  HMA_DIR=... HMA_VENV=... HMA_CONFIG=.../omm_config.py python tests/hma/record_hma.py http://127.0.0.1:5100

HMA must hold exactly seed_bank.txt as SEED_BANK_0 with content ids 1..N (the shared tools' hma_up.sh
with that file as HASH_FILE does this). After the curation calls HMA's index is rebuilt
(`flask build_indices`) and the script waits for its index cache to pick that up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
from hma_calls import RECORDED, run, seed_hashes


def main(base: str) -> None:
    env = {**os.environ, "OMM_CONFIG": os.environ["HMA_CONFIG"], "PYTHONPATH": os.environ["HMA_DIR"] + "/src"}
    flask = os.environ["HMA_VENV"] + "/bin/flask"

    def wait() -> None:
        subprocess.run([flask, "--app", "OpenMediaMatch.app", "build_indices"], env=env, check=True,
                       capture_output=True, cwd=os.path.dirname(os.environ["HMA_CONFIG"]))  # fmt: skip
        h = seed_hashes()[6]
        for _ in range(120):
            r = client.get(base + "/m/lookup", params={"signal_type": "pdq", "signal": h})
            if "BANK_B" in r.json():
                return
            time.sleep(1)
        raise SystemExit("HMA's index never showed BANK_B")

    with httpx.Client(timeout=30) as client:
        records = run(client, base, {}, wait)
    RECORDED.write_text(json.dumps({"hma": base, "records": records}, indent=1) + "\n")
    print(f"recorded {len(records)} calls into {RECORDED}")


if __name__ == "__main__":
    main(sys.argv[1])
