"""A real Dask cluster: `dask scheduler` and `dask worker` processes on loopback (not LocalCluster),
sweeping both source kinds, flag exactly what one process flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

pytest.importorskip("distributed")

SMALL = SweepSize(chunk_bytes=64 * 1024)


def _sweep(source: Path, corpus: Any, out: Path, **kw: Any) -> tuple[bytes, dict[str, Any]]:
    summary = run_sweep(SweepConfig([str(source)], corpus.bundle(), size=SMALL, output=out, **kw))
    return out.read_bytes(), summary


def test_scheduler_and_worker_processes_flag_what_one_process_flags(corpus: Any, tmp_path: Path) -> None:
    from indexguard.sweep.dask_run import DaskExecutor, loopback_cluster

    expected = {s: _sweep(s, corpus, tmp_path / f"one-{s.suffix[1:]}.jsonl", workers=1)
                for s in (corpus.jsonl, corpus.txt)}
    with loopback_cluster(2) as address:
        first = DaskExecutor(address, corpus.bundle(), False)
        first.close()
        assert first.lists_sent  # fresh workers: the compiled lists travel to each
        for source, (flagged, summary) in expected.items():
            got, s = _sweep(source, corpus, tmp_path / f"dask-{source.suffix[1:]}.jsonl", dask=address)
            assert flagged.count(b"\n") > 100
            assert got == flagged
            assert (s["items"], s["actions"], s["entries"]) == (summary["items"], summary["actions"],
                                                                summary["entries"])
            workers = {w["worker"] for w in s["run"]["worker_startup"]}
            assert len(workers) == 2  # both worker processes screened chunks
            assert s["run"]["mode"] == f"dask {address}"
            assert "notes" not in s["run"]  # workers started the documented way: no profiler
        # Every worker holds these lists now: a later sweep does not send them again.
        again = DaskExecutor(address, corpus.bundle(), False)
        again.close()
        assert not again.lists_sent


def test_a_cluster_whose_workers_profile_is_named_in_the_summary(corpus: Any, tmp_path: Path) -> None:
    import dask
    from distributed import LocalCluster

    from indexguard.sweep.summary import human

    with dask.config.set({"distributed.worker.profile.enabled": True}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        flagged, s = _sweep(corpus.txt, corpus, tmp_path / "o.jsonl", dask=cluster.scheduler_address)
    assert flagged.count(b"\n") > 100
    assert "2 of 2 Dask workers run Dask's statistical profiler" in s["run"]["notes"][0]
    assert "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False" in human(s)
