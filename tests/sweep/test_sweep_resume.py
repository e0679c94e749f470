"""A sweep killed mid-run and resumed from its checkpoint writes exactly what an uninterrupted sweep
writes: nothing screened twice, nothing skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import indexguard
from indexguard.errors import IndexguardError
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

SRC = str(Path(indexguard.__file__).resolve().parents[1])


def _cli(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-m", "indexguard.cli", "sweep", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _args(corpus: Any, out: Path, ckpt: Path, summary: Path) -> list[str]:
    return [str(corpus.jsonl), "--terms", str(corpus.terms), "-o", str(out), "--checkpoint", str(ckpt),
            "--summary", str(summary), "--workers", "1", "--chunk-bytes", "4096", "--no-progress"]


def _wait_for_chunks(state: Path, n: int, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            obj: dict[str, Any] = json.loads(state.read_text())
            if obj["next_chunk"] >= n:
                return obj
        except (FileNotFoundError, ValueError):
            pass
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        time.sleep(0.002)
    raise AssertionError("the sweep made no progress")


def test_killed_sweep_resumes_to_identical_output(corpus: Any, tmp_path: Path) -> None:
    full = tmp_path / "full"
    part = tmp_path / "part"
    ref = _cli(_args(corpus, tmp_path / "full.jsonl", full, tmp_path / "full-summary.json"))
    assert ref.wait(120) == 0, ref.stderr.read() if ref.stderr else ""

    proc = _cli(_args(corpus, tmp_path / "part.jsonl", part, tmp_path / "part-summary.json"))
    _wait_for_chunks(part / "state.json", 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    at_kill = json.loads((part / "state.json").read_text())
    assert not at_kill["done"] and at_kill["next_chunk"] >= 10

    again = _cli([*_args(corpus, tmp_path / "part.jsonl", part, tmp_path / "part-summary.json"), "--resume"])
    assert again.wait(120) == 0, again.stderr.read() if again.stderr else ""
    assert (tmp_path / "part.jsonl").read_bytes() == (tmp_path / "full.jsonl").read_bytes()
    s_full = json.loads((tmp_path / "full-summary.json").read_text())
    s_part = json.loads((tmp_path / "part-summary.json").read_text())
    for key in ("items", "chunks", "flagged", "errors", "actions", "categories", "entries"):
        assert s_part[key] == s_full[key], key
    assert s_part["run"]["items"] == s_full["items"] - at_kill["totals"]["items"]


def test_checkpoint_refuses_another_sweep_and_needs_resume(corpus: Any, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    size = SweepSize(chunk_bytes=64 * 1024)
    run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, checkpoint=ckpt))
    with pytest.raises(IndexguardError, match="--resume"):
        run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, checkpoint=ckpt))
    with pytest.raises(IndexguardError, match="different sweep"):
        run_sweep(SweepConfig([str(corpus.txt)], corpus.bundle(), size=size, checkpoint=ckpt, resume=True))
    again = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, checkpoint=ckpt, resume=True))
    assert again["items"] == len(corpus.titles) and again["run"]["items"] == 0


def test_parquet_output_resumes(corpus: Any, tmp_path: Path) -> None:
    size = SweepSize(chunk_bytes=64 * 1024)
    ckpt = tmp_path / "ckpt"
    out = tmp_path / "o.parquet"
    cfg = SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, output=out, checkpoint=ckpt)

    class Stop(Exception):
        pass

    seen = []

    def stop_after_three(records: list[dict[str, Any]]) -> None:
        seen.append(records)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(cfg, on_flagged=stop_after_three)
    resumed = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, output=out,
                                    checkpoint=ckpt, resume=True))
    ref_out = tmp_path / "ref.parquet"
    ref = run_sweep(SweepConfig([str(corpus.jsonl)], corpus.bundle(), size=size, output=ref_out))
    from indexguard.sweep.output import read_flagged

    assert read_flagged(out) == read_flagged(ref_out)
    assert resumed["flagged"] == ref["flagged"]
