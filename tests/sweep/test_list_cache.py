"""The compiled-list cache: a second sweep with the same lists loads them instead of compiling; what it
keeps on disk is private to the user and holds no term; an entry that does not open, or was made by
other code, is compiled afresh; the output never changes."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.sweep.bundle import WORKER_CACHE, ListBundle, ListText
from indexguard.sweep.list_cache import SUFFIX, ListCache
from indexguard.sweep.runner import SweepConfig, run_sweep
from indexguard.sweep.sources import SweepSize

SMALL = SweepSize(chunk_bytes=64 * 1024)


def _big_list(corpus: Any, tmp_path: Path, seed: int = 3) -> Path:
    """The corpus terms plus enough other placeholder terms to pass the cache's size floor."""
    rng = random.Random(seed)
    # Letters the corpus titles never use, so the extra terms change nothing that is flagged.
    extra = sorted({"".join(rng.choice("jqwxy") for _ in range(9)) for _ in range(2500)})
    path = tmp_path / f"big-{seed}.txt"
    path.write_text(corpus.terms.read_text(encoding="utf-8") + "\n".join(extra) + "\n", encoding="utf-8")
    return path


def _sweep(corpus: Any, terms: Path, out: Path, cache: Path | None, workers: int = 1) -> dict[str, Any]:
    WORKER_CACHE.clear()  # as a new `indexguard sweep` process starts
    cfg = SweepConfig([str(corpus.jsonl)], ListBundle((ListText.read(terms),)), size=SMALL, output=out,
                      workers=workers, list_cache=cache)
    return run_sweep(cfg)


def _entries(d: Path) -> list[Path]:
    return sorted(d.glob("*" + SUFFIX))


def test_second_sweep_loads_the_lists_and_flags_the_same(corpus: Any, tmp_path: Path) -> None:
    terms, cache = _big_list(corpus, tmp_path), tmp_path / "cache"
    plain = _sweep(corpus, terms, tmp_path / "plain.jsonl", None)
    first = _sweep(corpus, terms, tmp_path / "first.jsonl", cache)
    second = _sweep(corpus, terms, tmp_path / "second.jsonl", cache, workers=2)
    assert plain["run"]["list_cache"]["state"] == "off"
    assert first["run"]["list_cache"]["state"] == "stored"
    assert second["run"]["list_cache"]["state"] == "hit"
    out = (tmp_path / "plain.jsonl").read_bytes()
    assert out.count(b"\n") > 100
    assert (tmp_path / "first.jsonl").read_bytes() == out == (tmp_path / "second.jsonl").read_bytes()
    assert second["lists"] == plain["lists"]
    [entry] = _entries(cache)
    assert cache.stat().st_mode & 0o777 == 0o700
    assert entry.stat().st_mode & 0o777 == 0o600


def test_an_entry_holds_no_term(corpus: Any, tmp_path: Path) -> None:
    terms, cache = _big_list(corpus, tmp_path), tmp_path / "cache"
    WORKER_CACHE.clear()
    assert ListCache(cache).prime(ListBundle((ListText.read(terms),))).state == "stored"
    [entry] = _entries(cache)
    data = entry.read_bytes()
    words = {w for line in terms.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
             for w in line.split()}
    assert len(data) > 100_000
    assert not [w for w in words if len(w) >= 6 and w.encode() in data]
    assert not [w for w in words if w in entry.name]


def test_an_entry_that_does_not_open_is_compiled_afresh(corpus: Any, tmp_path: Path) -> None:
    terms, cache = _big_list(corpus, tmp_path), tmp_path / "cache"
    _sweep(corpus, terms, tmp_path / "a.jsonl", cache)
    [entry] = _entries(cache)
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 1
    entry.write_bytes(bytes(data))
    again = _sweep(corpus, terms, tmp_path / "b.jsonl", cache)
    assert again["run"]["list_cache"]["state"] == "stored"
    assert "did not load (InvalidTag)" in again["run"]["list_cache"]["detail"]
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert _sweep(corpus, terms, tmp_path / "c.jsonl", cache)["run"]["list_cache"]["state"] == "hit"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300))
def test_any_bytes_in_an_entry_mean_a_compile(corpus: Any, tmp_path: Path, junk: bytes) -> None:
    cache = ListCache(tmp_path / "fuzz", min_text_bytes=0)
    bundle = corpus.bundle()
    WORKER_CACHE.clear()
    cache.prime(bundle)
    [entry] = _entries(cache.directory)
    entry.write_bytes(junk)
    WORKER_CACHE.clear()
    assert cache.prime(bundle).state == "stored"
    WORKER_CACHE.clear()
    assert cache.prime(bundle).state == "hit"


def test_other_code_or_other_lists_never_share_an_entry(corpus: Any, tmp_path: Path) -> None:
    d = tmp_path / "cache"
    a, b = ListBundle((ListText.read(_big_list(corpus, tmp_path, 3)),)), ListBundle((ListText.read(corpus.terms),))
    for stamp, bundle, state in [("v1", a, "stored"), ("v1", a, "hit"), ("v2", a, "stored"), ("v1", b, "stored")]:
        WORKER_CACHE.clear()
        assert ListCache(d, stamp=stamp, min_text_bytes=0).prime(bundle).state == state
    assert len(_entries(d)) == 3


def test_the_oldest_entries_go_beyond_keep(corpus: Any, tmp_path: Path) -> None:
    d = tmp_path / "cache"
    for seed in range(4):
        WORKER_CACHE.clear()
        bundle = ListBundle((ListText.read(_big_list(corpus, tmp_path, seed)),))
        ListCache(d, keep=2).prime(bundle)
        os.utime(_entries(d)[0], (1e9 + seed, 1e9 + seed))  # mtimes one second apart, in order
    assert len(_entries(d)) == 2


def test_small_lists_are_never_kept(corpus: Any, tmp_path: Path) -> None:
    summary = _sweep(corpus, corpus.terms, tmp_path / "o.jsonl", tmp_path / "cache")
    assert summary["run"]["list_cache"]["state"] == "small"
    assert not (tmp_path / "cache").exists()


def test_a_directory_others_may_write_is_not_used(corpus: Any, tmp_path: Path) -> None:
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o777)
    summary = _sweep(corpus, _big_list(corpus, tmp_path), tmp_path / "o.jsonl", d)
    assert summary["run"]["list_cache"]["state"] == "unusable"
    assert "writable by other users" in summary["run"]["list_cache"]["detail"]
    assert not list(d.iterdir())
    assert summary["flagged"] > 100


def test_cli_keeps_and_reuses_the_lists(corpus: Any, tmp_path: Path) -> None:
    terms, d = _big_list(corpus, tmp_path), tmp_path / "cli-cache"
    args = ["sweep", str(corpus.jsonl), "--terms", str(terms), "--workers", "1", "--no-progress"]
    runner = CliRunner()
    WORKER_CACHE.clear()
    off = runner.invoke(build_app(), [*args, "-o", str(tmp_path / "a.jsonl"), "--no-list-cache",
                                      "--list-cache", str(d)])
    assert off.exit_code == 0, off.output
    assert not d.exists()
    for name, line in [("b", "kept in the compiled-list cache"), ("c", "loaded from the compiled-list cache")]:
        WORKER_CACHE.clear()
        res = runner.invoke(build_app(), [*args, "-o", str(tmp_path / f"{name}.jsonl"), "--list-cache", str(d)])
        assert res.exit_code == 0, res.output
        assert line in res.output
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "c.jsonl").read_bytes()


def test_default_directory_follows_the_environment(monkeypatch: Any, tmp_path: Path) -> None:
    from indexguard.sweep.list_cache import default_dir

    monkeypatch.setenv("INDEXGUARD_LIST_CACHE", str(tmp_path / "mine"))
    assert default_dir() == tmp_path / "mine"
    monkeypatch.delenv("INDEXGUARD_LIST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "indexguard" / "lists"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "indexguard" / "lists"


def test_an_unwritable_place_costs_a_compile_not_the_sweep(corpus: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    summary = _sweep(corpus, _big_list(corpus, tmp_path), tmp_path / "o.jsonl", blocker / "cache")
    assert summary["run"]["list_cache"]["state"] == "unusable"
    assert "cannot create the cache directory" in summary["run"]["list_cache"]["detail"]
    assert summary["flagged"] > 100


def test_a_read_only_cache_still_serves_its_entries(corpus: Any, tmp_path: Path, monkeypatch: Any) -> None:
    import indexguard.sweep.list_cache as lc

    terms, d = _big_list(corpus, tmp_path), tmp_path / "cache"
    assert _sweep(corpus, terms, tmp_path / "a.jsonl", d)["run"]["list_cache"]["state"] == "stored"

    def refuse(*args: object, **kw: object) -> None:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(lc.os, "utime", refuse)
    assert _sweep(corpus, terms, tmp_path / "b.jsonl", d)["run"]["list_cache"]["state"] == "hit"


def test_lists_that_do_not_serialize_are_compiled_each_time(corpus: Any, tmp_path: Path) -> None:
    d = tmp_path / "cache"
    WORKER_CACHE.clear()
    use = ListCache(d).prime(ListBundle((ListText.read(_big_list(corpus, tmp_path)),), backend="ahocorasick"))
    assert use.state == "unusable" and "ahocorasick" in use.detail
    assert not _entries(d)
