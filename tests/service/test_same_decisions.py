"""The same items and lists give the same Decisions through the CLI (`indexguard screen`), the
service (POST /v1/batch) and the sweep (`indexguard sweep`): all three assemble their Screener in
the core (indexguard.screen.assemble)."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ig_service_helpers import Env
from typer.testing import CliRunner

from indexguard.cli.main import build_app

# Placeholder pseudo-words only; severities differ so the policy is exercised too.
TERMS_CSV = (
    "id,term,mode,severity,category\n"
    "t1,bizu,token,block,csam\n"
    "t2,husinjopuk,token,review,csam\n"
    "t3,wexal tromp,phrase,warn,other\n"
)
ALLOW_TXT = "bizu garden\n"
URLS_TXT = "http://listed.example.test/bad/*\nhusinjopuk.test\n"
WORDS = ["garden", "tools", "bizu", "Husinjopuk", "wexal", "tromp", "WexalTromp", "b.i.z.u", "photos", "bizu garden"]
_nonce = itertools.count()


def _url(kind: int, n: int) -> str:
    return [f"http://Listed.Example.test:80/bad/{n}", f"http://listed.example.test/ok/{n}",
            f"https://www.husinjopuk.test/{n}", f"https://other.test/{n}/../x{n}"][kind]  # fmt: skip


@st.composite
def items(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 12))):
        n = next(_nonce)  # identities unique to the item, so the service's deny set never carries over
        item: dict[str, Any] = {"id": f"i{n}", "title": " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4)))}
        if draw(st.booleans()):
            item["description"] = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3)))
        if draw(st.booleans()):
            item["url"] = _url(draw(st.integers(0, 3)), n)
        if draw(st.booleans()):
            item["uploader_id"] = f"acct-{i % 3}"
        if draw(st.booleans()):
            item["magnet"] = f"magnet:?xt=urn:btih:{hashlib.sha1(str(n).encode()).hexdigest()}"
        if draw(st.booleans()):
            item["md5"] = hashlib.md5(str(n).encode()).hexdigest()
        out.append(item)
    return out


def _key(d: dict[str, Any]) -> tuple[str, list[tuple[Any, ...]]]:
    reasons = sorted(
        (r["list"], r["list_version"], r["entry"], r["category"], r["field"], r["view"], str(r["span"]))
        for r in d.get("reasons", [])
    )
    return d["action"], reasons


def _import(env: Env, name: str, kind: str, fmt: str, text: str) -> str:
    r = env.client.post("/v1/lists", params={"name": name, "kind": kind, "format": fmt, "activate": "true"},
                        content=text.encode(), headers={**env.auth("lists"), "Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    return str(r.json()["version"])


def _lists(tmp: Path) -> list[str]:
    (tmp / "site.csv").write_text(TERMS_CSV)
    (tmp / "ok.txt").write_text(ALLOW_TXT)
    (tmp / "hot.txt").write_text(URLS_TXT)
    return ["--terms", str(tmp / "site.csv"), "--allow", str(tmp / "ok.txt"), "--urls", str(tmp / "hot.txt")]


def _cli(tmp: Path, lists: list[str], batch: list[dict[str, Any]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    src = tmp / "items.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in batch))
    r = CliRunner().invoke(build_app(), ["screen", *lists, str(src), "-o", str(tmp / "cli.jsonl"), "--no-progress"])
    assert r.exit_code == 0, r.output
    return [_key(json.loads(x)) for x in (tmp / "cli.jsonl").read_text().splitlines()]


def _sweep(tmp: Path, lists: list[str], batch: list[dict[str, Any]]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    out = tmp / "flagged.jsonl"
    out.unlink(missing_ok=True)
    r = CliRunner().invoke(build_app(), ["sweep", str(tmp / "items.jsonl"), *lists, "--workers", "1", "-o", str(out),
                                         "--no-progress"])  # fmt: skip
    assert r.exit_code == 0, r.output
    flagged = {}
    for line in out.read_text().splitlines():
        rec = json.loads(line)
        d = rec.get("decision", rec)
        flagged[d["id"]] = _key(d)
    return [flagged.get(x["id"], ("allow", [])) for x in batch]


def _service_lists(env: Env) -> None:
    # The bootstrap's demo list is live too: retire it so all three see the same lists.
    r = env.client.post("/v1/lists/demo/deactivate", headers=env.auth("lists"))
    assert r.status_code == 200, r.text
    for name, kind, fmt, text in (("site", "term", "csv", TERMS_CSV), ("ok", "allow", "txt", ALLOW_TXT),
                                  ("hot", "url", "txt", URLS_TXT)):  # fmt: skip
        env.wait_live(name, _import(env, name, kind, fmt, text))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "demo" in (env.svc.live.state.versions if env.svc.live.state else {}):
        time.sleep(0.05)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=items())
def test_cli_service_and_sweep_decide_alike(env: Env, tmp_path: Path, batch: list[dict[str, Any]]) -> None:
    if env.svc.live.state is None or "hot" not in env.svc.live.state.versions:
        _service_lists(env)
    lists = _lists(tmp_path)
    cli = _cli(tmp_path, lists, batch)
    r = env.client.post("/v1/batch", json={"items": batch}, headers=env.auth("screen"))
    assert r.status_code == 200, r.text
    service = [_key(d) for d in r.json()["decisions"]]
    assert service == cli
    assert _sweep(tmp_path, lists, batch) == cli
