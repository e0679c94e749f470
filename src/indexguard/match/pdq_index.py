"""Exact PDQ range search: every stored hash within the threshold of a query, never approximate.

Design (see docs/images-and-hashes.md):
- Hashes are 32-byte rows held as 4×uint64; distance is XOR + np.bitwise_count.
- Each sealed segment carries a multi-index (MIH) over its 16 16-bit words: per word a CSR
  table (row numbers sorted by the word's value, plus 65,537 offsets). By pigeonhole, a hash
  within distance t of a query differs in at most t//16 bits in at least one word, so probing
  every word value within t//16 flips finds every candidate; each candidate is then verified on
  all 256 bits. That is exact, not approximate.
- Appends go to an unindexed tail that is brute-forced; a full tail is sealed into a segment.
  Segments merge like a binary counter, so there are O(log n) of them. Removals set tombstones;
  a segment with many tombstones (or `compact()`) is rewritten without them.
- A query whose candidate count would approach brute-force cost (degenerate data, large
  thresholds) is answered by brute force over that segment instead, so the worst case is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt

PDQ_BYTES = 32
WORDS = 16
WORD_VALUES = 1 << 16
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")


def popcount64(x: U64) -> npt.NDArray[np.uint8]:
    """Per-element popcount; np.bitwise_count on numpy >= 2, a byte table otherwise."""
    if _HAS_BITWISE_COUNT:
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    counts: npt.NDArray[np.uint8] = table[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1, dtype=np.uint8)
    return counts


def hamming_rows(a: U64, b: U64) -> npt.NDArray[np.int32]:
    """Row-wise distance of two (..., 4) uint64 arrays (broadcasting allowed)."""
    return _row_popcount(np.bitwise_xor(a, b))


def _row_popcount(x: U64) -> npt.NDArray[np.int32]:
    # Four strided adds beat a reduction over a length-4 axis by about 5x in NumPy.
    c = popcount64(x)
    d = c[..., 0].astype(np.int32)
    d += c[..., 1]
    d += c[..., 2]
    d += c[..., 3]
    return d


def pack_hex(hashes: Sequence[str]) -> U64:
    """64-hex PDQ strings -> (n, 4) uint64 rows (byte order preserved)."""
    if not hashes:
        return np.zeros((0, 4), dtype=np.uint64)
    joined = bytes.fromhex("".join(hashes))
    if len(joined) != PDQ_BYTES * len(hashes):
        raise ValueError("every PDQ hash must have 64 hex digits")
    return np.frombuffer(joined, dtype=np.uint64).reshape(-1, 4).copy()


def as_rows(hashes: Sequence[str] | npt.NDArray[np.generic]) -> U64:
    """Accept hex strings, (n, 32) uint8 or (n, 4) uint64 and return contiguous (n, 4) uint64."""
    if isinstance(hashes, np.ndarray):
        arr = np.ascontiguousarray(hashes)
        if arr.dtype == np.uint8 and arr.ndim == 2 and arr.shape[1] == PDQ_BYTES:
            return arr.view(np.uint64).reshape(-1, 4)
        if arr.dtype == np.uint64 and arr.ndim == 2 and arr.shape[1] == 4:
            return arr
        raise ValueError("hash arrays must be (n, 32) uint8 or (n, 4) uint64")
    return pack_hex(list(hashes))


def _flip_masks(radius: int) -> npt.NDArray[np.int64]:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(16), r):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.int64)


@dataclass(slots=True)
class RangeResult:
    """Flat results of a batch search: query number, stored id and distance, sorted by query then id."""

    query: I64
    ids: I64
    distance: npt.NDArray[np.int32]

    def per_query(self, n_queries: int) -> list[list[tuple[int, int]]]:
        """[(id, distance), ...] for each query, in query order."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(n_queries)]
        for q, i, d in zip(self.query.tolist(), self.ids.tolist(), self.distance.tolist(), strict=True):
            out[q].append((i, d))
        return out


def _empty_result() -> RangeResult:
    return RangeResult(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    )


@dataclass(slots=True)
class _Segment:
    codes: U64
    ids: I64
    alive: npt.NDArray[np.bool_]
    dead: int = 0
    perm: npt.NDArray[np.uint32] | None = None  # (16, n) row numbers sorted by each word
    offsets: npt.NDArray[np.int64] | None = None  # (16, 65537)

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    def build(self) -> None:
        words = self.codes.view(np.uint16).reshape(-1, WORDS)
        n = self.size
        perm = np.empty((WORDS, n), dtype=np.uint32)
        offsets = np.empty((WORDS, WORD_VALUES + 1), dtype=np.int64)
        for j in range(WORDS):
            col = words[:, j]
            perm[j] = np.argsort(col, kind="stable").astype(np.uint32)
            counts = np.bincount(col, minlength=WORD_VALUES)
            offsets[j, 0] = 0
            np.cumsum(counts, out=offsets[j, 1:])
        self.perm, self.offsets = perm, offsets


@dataclass
class PdqIndex:
    """Exact Hamming range index over PDQ hashes with stable int64 ids.

    seal_size: tail rows before the tail is sealed into an indexed segment.
    mih_min: segments smaller than this are brute-forced (tables would not pay off).
    max_candidates: rows verified per sub-batch, which bounds temporary memory.
    """

    seal_size: int = 65_536
    mih_min: int = 4_096
    brute_ratio: float = 0.25
    max_candidates: int = 262_144
    brute_block: int = 16_384
    _segments: list[_Segment] = field(default_factory=list)
    _tail_codes: list[U64] = field(default_factory=list)
    _tail_ids: list[I64] = field(default_factory=list)
    _tail: _Segment | None = None

    def __len__(self) -> int:
        return sum(s.size - s.dead for s in self._all_segments())

    @classmethod
    def from_arrays(
        cls, codes: U64, ids: I64, mih: tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]] | None = None
    ) -> PdqIndex:
        """One segment over these rows as they are (memory-mapped arrays stay mapped), with its
        multi-index tables given (from `mih_tables` of an equal index) or built here."""
        index = cls()
        seg = _Segment(codes, ids, np.ones(len(ids), dtype=bool))
        if seg.size == 0:
            return index
        if mih is not None:
            seg.perm, seg.offsets = mih
        else:
            index._index(seg)
        index._segments.append(seg)
        return index

    def mih_tables(self) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]] | None:
        """(perm, offsets) of a one-segment index with tables, to save beside its rows."""
        if len(self._segments) != 1 or self._tail_codes:
            return None
        seg = self._segments[0]
        return (seg.perm, seg.offsets) if seg.perm is not None and seg.offsets is not None else None

    @property
    def segment_sizes(self) -> list[int]:
        return [s.size for s in self._segments]

    # building -------------------------------------------------------------------------------
    def add(self, hashes: Sequence[str] | npt.NDArray[np.generic], ids: Sequence[int] | I64) -> None:
        """Append hashes with their ids. Large batches become an indexed segment directly."""
        codes = as_rows(hashes)
        id_arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if id_arr.shape[0] != codes.shape[0]:
            raise ValueError("hashes and ids differ in length")
        if codes.shape[0] == 0:
            return
        if codes.shape[0] >= self.seal_size:
            self._push_segment(_Segment(codes.copy(), id_arr.copy(), np.ones(len(id_arr), dtype=bool)))
            return
        self._tail_codes.append(codes.copy())
        self._tail_ids.append(id_arr.copy())
        self._tail = None
        if sum(c.shape[0] for c in self._tail_codes) >= self.seal_size:
            self._seal_tail()

    def remove(self, ids: Sequence[int] | I64) -> int:
        """Tombstone every row with one of these ids; returns how many rows were removed."""
        targets = np.unique(np.asarray(ids, dtype=np.int64))
        removed = 0
        for seg in self._all_segments():
            hit = np.isin(seg.ids, targets) & seg.alive
            count = int(hit.sum())
            if count:
                seg.alive[hit] = False
                seg.dead += count
                removed += count
        self._drop_dead_tail()
        self._segments = [self._maybe_rewrite(s) for s in self._segments]
        return removed

    def compact(self) -> None:
        """Merge every segment and the tail into one indexed segment without tombstones."""
        parts = self._all_segments()
        self._segments, self._tail_codes, self._tail_ids, self._tail = [], [], [], None
        if parts:
            merged = _merge(parts)
            if merged.size:
                self._index(merged)
                self._segments.append(merged)

    # searching ------------------------------------------------------------------------------
    def search(self, queries: Sequence[str] | npt.NDArray[np.generic], threshold: int) -> RangeResult:
        """Every (query, id, distance) with distance <= threshold, exactly."""
        q = as_rows(queries)
        if q.shape[0] == 0 or threshold < 0:
            return _empty_result()
        parts = [self._search_segment(seg, q, threshold) for seg in self._all_segments()]
        return _merge_results(parts)

    def brute_force(self, queries: Sequence[str] | npt.NDArray[np.generic], threshold: int) -> RangeResult:
        """The reference answer: every live row compared with every query."""
        q = as_rows(queries)
        parts = [self._brute(seg, q, threshold) for seg in self._all_segments()]
        return _merge_results(parts)

    # internals ------------------------------------------------------------------------------
    def _all_segments(self) -> list[_Segment]:
        tail = self._tail_segment()
        return [*self._segments, tail] if tail is not None else list(self._segments)

    def _tail_segment(self) -> _Segment | None:
        if not self._tail_codes:
            return None
        if self._tail is None:
            codes = np.concatenate(self._tail_codes)
            ids = np.concatenate(self._tail_ids)
            self._tail = _Segment(codes, ids, np.ones(len(ids), dtype=bool))
            self._tail_codes, self._tail_ids = [codes], [ids]
        return self._tail

    def _drop_dead_tail(self) -> None:
        tail = self._tail
        if tail is not None and tail.dead:
            keep = tail.alive
            codes, ids = tail.codes[keep], tail.ids[keep]
            self._tail = _Segment(codes, ids, np.ones(len(ids), dtype=bool)) if len(ids) else None
            self._tail_codes, self._tail_ids = ([codes], [ids]) if len(ids) else ([], [])

    def _seal_tail(self) -> None:
        tail = self._tail_segment()
        self._tail_codes, self._tail_ids, self._tail = [], [], None
        if tail is not None:
            self._push_segment(tail)

    def _push_segment(self, seg: _Segment) -> None:
        self._index(seg)
        self._segments.append(seg)
        # Binary-counter merging keeps O(log n) segments without rewriting the big ones often.
        while len(self._segments) >= 2 and self._segments[-1].size * 2 >= self._segments[-2].size:
            last, prev = self._segments.pop(), self._segments.pop()
            merged = _merge([prev, last])
            self._index(merged)
            self._segments.append(merged)

    def _index(self, seg: _Segment) -> None:
        if seg.size >= self.mih_min:
            seg.build()

    def _maybe_rewrite(self, seg: _Segment) -> _Segment:
        if seg.dead and seg.dead * 4 >= seg.size:
            merged = _merge([seg])
            self._index(merged)
            return merged
        return seg

    def _search_segment(self, seg: _Segment, q: U64, threshold: int) -> RangeResult:
        if seg.size == 0 or seg.dead == seg.size:
            return _empty_result()
        radius = threshold // WORDS
        if seg.perm is None or seg.offsets is None or radius > 2:
            return self._brute(seg, q, threshold)
        masks = _flip_masks(radius)
        words = q.view(np.uint16).reshape(-1, WORDS).astype(np.int64)
        probes = words[:, :, None] ^ masks[None, None, :]  # (Q, 16, M)
        flat = probes + (np.arange(WORDS, dtype=np.int64) * (WORD_VALUES + 1))[None, :, None]
        offsets = seg.offsets.reshape(-1)
        starts = np.take(offsets, flat)
        lens = np.take(offsets, flat + 1) - starts
        per_query = lens.reshape(len(q), -1).sum(axis=1)
        brute_mask = per_query > self.brute_ratio * seg.size
        parts: list[RangeResult] = []
        if brute_mask.any():
            sub = np.flatnonzero(brute_mask)
            part = self._brute(seg, q[sub], threshold)
            parts.append(RangeResult(sub[part.query], part.ids, part.distance))
        mih_q = np.flatnonzero(~brute_mask)
        if mih_q.size:
            base = starts + (np.arange(WORDS, dtype=np.int64) * seg.size)[None, :, None]
            for chunk in _split_by_budget(mih_q, per_query, self.max_candidates):
                parts.append(self._verify(seg, q, chunk, base[chunk], lens[chunk], threshold))
        return _concat(parts)

    def _verify(
        self, seg: _Segment, q: U64, qsel: I64, base: I64, lens: I64, threshold: int
    ) -> RangeResult:
        assert seg.perm is not None
        flat_lens = lens.reshape(-1)
        total = int(flat_lens.sum())
        if total == 0:
            return _empty_result()
        # Ranges are laid out query-major, so each query's candidates form one contiguous run.
        ends = np.cumsum(flat_lens)
        shift = np.repeat(base.reshape(-1) - (ends - flat_lens), flat_lens)
        pos = shift + np.arange(total, dtype=np.int64)
        rows = np.take(seg.perm.reshape(-1), pos)
        per_q = lens.reshape(len(qsel), -1).sum(axis=1)
        qi = np.repeat(qsel, per_q)
        x = np.take(seg.codes, rows, axis=0)
        np.bitwise_xor(x, np.repeat(q[qsel], per_q, axis=0), out=x)
        dist = _row_popcount(x)
        keep = dist <= threshold
        rows, qi, dist = rows[keep], qi[keep], dist[keep]
        if seg.dead:
            live = seg.alive[rows]
            rows, qi, dist = rows[live], qi[live], dist[live]
        # A row found through several words appears several times: keep one.
        key = qi * seg.size + rows.astype(np.int64)
        _, first = np.unique(key, return_index=True)
        return RangeResult(qi[first], seg.ids[rows[first]], dist[first])

    def _brute(self, seg: _Segment, q: U64, threshold: int) -> RangeResult:
        parts: list[RangeResult] = []
        block = max(1, self.brute_block // max(1, len(q)) * 4)
        for start in range(0, seg.size, block):
            codes = seg.codes[start : start + block]
            dist = hamming_rows(codes[None, :, :], q[:, None, :])  # (Q, B)
            qi, rows = np.nonzero(dist <= threshold)
            rows = rows + start
            if seg.dead:
                live = seg.alive[rows]
                qi, rows = qi[live], rows[live]
            if rows.size:
                parts.append(RangeResult(qi.astype(np.int64), seg.ids[rows], dist[qi, rows - start]))
        return _concat(parts)


def _split_by_budget(qsel: I64, per_query: I64, budget: int) -> list[I64]:
    """Split selected queries into runs whose candidate totals stay near the budget."""
    sizes = per_query[qsel]
    chunks: list[I64] = []
    start, acc = 0, 0
    for i, size in enumerate(sizes.tolist()):
        if acc and acc + size > budget:
            chunks.append(qsel[start:i])
            start, acc = i, 0
        acc += size
    chunks.append(qsel[start:])
    return chunks


def _concat(parts: list[RangeResult]) -> RangeResult:
    parts = [p for p in parts if p.ids.size]
    if not parts:
        return _empty_result()
    if len(parts) == 1:
        return parts[0]
    return RangeResult(
        np.concatenate([p.query for p in parts]),
        np.concatenate([p.ids for p in parts]),
        np.concatenate([p.distance for p in parts]),
    )


def _merge(parts: list[_Segment]) -> _Segment:
    codes = np.concatenate([p.codes[p.alive] for p in parts])
    ids = np.concatenate([p.ids[p.alive] for p in parts])
    return _Segment(codes, ids, np.ones(len(ids), dtype=bool))


def _merge_results(parts: list[RangeResult]) -> RangeResult:
    """Segment results as one, ordered by query then id."""
    parts = [p for p in parts if p.ids.size]
    if not parts:
        return _empty_result()
    query = np.concatenate([p.query for p in parts])
    ids = np.concatenate([p.ids for p in parts])
    dist = np.concatenate([p.distance for p in parts])
    order = np.lexsort((ids, query))
    return RangeResult(query[order], ids[order], dist[order])
