"""The PDQ index returns exactly what brute force returns, including after appends and removals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.match.pdq_index import PdqIndex, RangeResult, pack_hex


def _reference(hay: list[str], needles: list[str], thr: int, ids: list[int] | None = None) -> set[tuple[int, int, int]]:
    """Plain-Python brute force, independent of the index code."""
    ids = ids if ids is not None else list(range(len(hay)))
    hv = [int(h, 16) for h in hay]
    out = set()
    for qi, n in enumerate(needles):
        nv = int(n, 16)
        for i, h in zip(ids, hv, strict=True):
            d = (nv ^ h).bit_count()
            if d <= thr:
                out.add((qi, i, d))
    return out


def _triples(r: RangeResult) -> set[tuple[int, int, int]]:
    trip = list(zip(r.query.tolist(), r.ids.tolist(), r.distance.tolist(), strict=True))
    assert len(trip) == len(set(trip)), "duplicate results"
    return set(trip)


def _hex(rows: np.ndarray) -> list[str]:
    return [bytes(r).hex() for r in rows.view(np.uint8).reshape(-1, 32)]


def _bank(seed: int, n: int, planted: int, max_flip: int) -> tuple[np.ndarray, np.ndarray]:
    """n random hashes and `planted` queries that are near-duplicates of bank rows."""
    rng = np.random.default_rng(seed)
    bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    src = bank[rng.integers(0, n, planted)].copy()
    bits = np.unpackbits(src, axis=1)
    for row in bits:
        flips = rng.choice(256, size=int(rng.integers(0, max_flip + 1)), replace=False)
        row[flips] ^= 1
    queries = np.vstack([np.packbits(bits, axis=1), rng.integers(0, 256, size=(planted, 32), dtype=np.uint8)])
    return bank, queries


def test_haystack_needles_match_brute_force(fixtures_dir: Path) -> None:
    root = fixtures_dir / "pdq"
    hay = root.joinpath("haystack.txt").read_text().split()
    needles = root.joinpath("needles.txt").read_text().split()
    for mih_min in (1, 10_000):  # indexed segment and brute-force-only segment
        idx = PdqIndex(mih_min=mih_min)
        idx.add(hay, list(range(len(hay))))
        for thr in (0, 10, 31, 40, 60):
            expected = _reference(hay, needles, thr)
            assert _triples(idx.search(needles, thr)) == expected, (mih_min, thr)
    assert _reference(hay, needles, 31), "fixture should contain matches at 31"


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 3000),
    thr=st.sampled_from([0, 5, 15, 16, 31, 32, 47, 70]),
    seal=st.sampled_from([64, 500, 100_000]),
)
def test_random_banks_with_planted_near_duplicates(seed: int, n: int, thr: int, seal: int) -> None:
    bank, queries = _bank(seed, n, planted=20, max_flip=40)
    idx = PdqIndex(seal_size=seal, mih_min=32)
    # Appends in uneven batches so tails, seals and merges all happen.
    rng = np.random.default_rng(seed)
    start = 0
    while start < n:
        step = int(rng.integers(1, max(2, n // 3)))
        idx.add(bank[start : start + step], np.arange(start, min(n, start + step)) + 1000)
        start += step
    expected = _reference(_hex(bank), _hex(queries), thr, list(range(1000, 1000 + n)))
    assert _triples(idx.search(queries, thr)) == expected
    assert _triples(idx.brute_force(queries, thr)) == expected

    # Remove a third of the ids, then re-add some of them: still exact.
    removed = rng.choice(n, size=n // 3, replace=False)
    assert idx.remove(removed + 1000) == len(removed)
    keep = np.setdiff1d(np.arange(n), removed)
    expected = _reference(_hex(bank[keep]), _hex(queries), thr, (keep + 1000).tolist())
    assert _triples(idx.search(queries, thr)) == expected
    readd = removed[: len(removed) // 2]
    idx.add(bank[readd], readd + 1000)
    live = np.sort(np.concatenate([keep, readd]))
    expected = _reference(_hex(bank[live]), _hex(queries), thr, (live + 1000).tolist())
    assert _triples(idx.search(queries, thr)) == expected
    assert len(idx) == len(live)
    idx.compact()
    assert idx.segment_sizes == [len(live)]
    assert _triples(idx.search(queries, thr)) == expected


def test_degenerate_buckets_fall_back_to_brute_force() -> None:
    # Many rows share most words: MIH buckets explode, and the answer must still be exact.
    rng = np.random.default_rng(4)
    base = rng.integers(0, 256, size=32, dtype=np.uint8)
    bank = np.tile(base, (6000, 1))
    bank[:, 30:] = rng.integers(0, 256, size=(6000, 2), dtype=np.uint8)
    idx = PdqIndex(mih_min=16)
    idx.add(bank, np.arange(6000))
    queries = np.vstack([base, rng.integers(0, 256, size=(3, 32), dtype=np.uint8)])
    expected = _reference(_hex(bank), _hex(queries), 31)
    assert _triples(idx.search(queries, 31)) == expected
    assert len(expected) == 6000


def test_per_query_grouping_and_input_forms() -> None:
    bank, queries = _bank(1, 5000, planted=5, max_flip=10)
    idx = PdqIndex(mih_min=64)
    idx.add(_hex(bank), range(5000))
    r = idx.search(queries.view(np.uint64).reshape(-1, 4), 31)
    groups = r.per_query(len(queries))
    assert all(len(g) >= 1 for g in groups[:5]) and all(not g for g in groups[5:])
    assert r.query.tolist() == sorted(r.query.tolist())
    assert idx.search([], 31).ids.size == 0 and idx.search(queries, -1).ids.size == 0
    assert pack_hex(_hex(bank[:2])).shape == (2, 4)
