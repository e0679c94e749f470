"""vPDQ (video PDQ) matching over the PDQ index: banks of videos, each a sequence of frame hashes.

A vPDQ hash is one PDQ hash per sampled frame with its quality and timestamp, serialised as the
`threatexchange` library does (a JSON list of "pdq_hex,quality,timestamp" strings). Two videos match
as in the library's brute-force matcher (`vpdq_brute_matcher`): frames below the quality threshold
(50) are dropped, duplicates removed, a frame matches when any frame of the other video is within the
distance threshold (31, inclusive); the video matches when the share of the query's frames that match
reaches `query_pct` (80 %) and the share of the bank video's frames that match reaches `compared_pct`
(0 %). Here every bank frame sits in one `PdqIndex` and all of a query's frames are searched in one
batch, so a query costs one range search instead of a comparison with every video.

Frames and their serialisation: `indexguard.formats.video` (hashing a video needs the `vpdq` package,
FFmpeg underneath). Banks: `indexguard.lists.vpdq_list`.
Matching needs nothing beyond NumPy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from indexguard.formats.video import Frame
from indexguard.lists.vpdq_list import VpdqList
from indexguard.match.pdq_index import PdqIndex

QUALITY_THRESHOLD = 50
DISTANCE_THRESHOLD = 31
QUERY_MATCH_PCT = 80.0
COMPARED_MATCH_PCT = 0.0


def usable(frames: list[Frame], quality: int = QUALITY_THRESHOLD) -> list[str]:
    """The frames that take part in matching: quality at least `quality`, each hash once, in order."""
    seen: set[str] = set()
    out = []
    for f in frames:
        if f.pdq not in seen:
            seen.add(f.pdq)
            if f.quality >= quality:
                out.append(f.pdq)
    return out


@dataclass(frozen=True, slots=True)
class VideoMatch:
    video: int  # the bank video's number (as given to `add`)
    query_match_pct: float
    compared_match_pct: float


class VpdqIndex:
    """Bank videos' frames in one PdqIndex; `match` answers the library's match rule exactly."""

    def __init__(
        self,
        distance: int = DISTANCE_THRESHOLD,
        quality: int = QUALITY_THRESHOLD,
        query_pct: float = QUERY_MATCH_PCT,
        compared_pct: float = COMPARED_MATCH_PCT,
    ) -> None:
        self.distance, self.quality = distance, quality
        self.query_pct, self.compared_pct = query_pct, compared_pct
        self._index = PdqIndex()
        self._frame_video: list[int] = []  # row id -> video number
        self._frames_per_video: dict[int, int] = {}

    def add(self, video: int, frames: list[Frame]) -> int:
        """Bank one video; returns how many of its frames take part (0: nothing usable, never matches)."""
        if video in self._frames_per_video:
            raise ValueError(f"video {video} is already in the index")
        hashes = usable(frames, self.quality)
        start = len(self._frame_video)
        self._frame_video.extend([video] * len(hashes))
        self._frames_per_video[video] = len(hashes)
        if hashes:
            self._index.add(hashes, list(range(start, start + len(hashes))))
        return len(hashes)

    def match(self, frames: list[Frame]) -> list[VideoMatch]:
        """Every bank video the query matches, best query share first."""
        query = usable(frames, self.quality)
        if not query or not self._frame_video:
            return []
        result = self._index.search(query, self.distance)
        query_hits: dict[int, set[int]] = defaultdict(set)
        bank_hits: dict[int, set[int]] = defaultdict(set)
        for q, row in zip(result.query.tolist(), result.ids.tolist(), strict=True):
            video = self._frame_video[row]
            query_hits[video].add(q)
            bank_hits[video].add(row)
        out = []
        for video, qs in query_hits.items():
            q_pct = len(qs) * 100 / len(query)
            c_pct = len(bank_hits[video]) * 100 / self._frames_per_video[video]
            if q_pct >= self.query_pct and c_pct >= self.compared_pct:
                out.append(VideoMatch(video, q_pct, c_pct))
        return sorted(out, key=lambda m: (-m.query_match_pct, -m.compared_match_pct, m.video))


@dataclass(frozen=True)
class VpdqBankMatch:
    list: str
    entry: str
    category: str
    query_match_pct: float
    compared_match_pct: float

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list,
            "entry": self.entry,
            "category": self.category,
            "query_match_pct": round(self.query_match_pct, 2),
            "compared_match_pct": round(self.compared_match_pct, 2),
        }


class VpdqBank:
    """A vPDQ list indexed for matching; matches name the list, entry id and category, never a hash."""

    def __init__(self, source: VpdqList, index: VpdqIndex | None = None) -> None:
        self.name = source.name
        self.entries = source.entries
        self.index = index or VpdqIndex()
        for n, e in enumerate(self.entries):
            self.index.add(n, list(e.frames))

    def match(self, frames: list[Frame]) -> list[VpdqBankMatch]:
        out = []
        for m in self.index.match(frames):
            e = self.entries[m.video]
            out.append(VpdqBankMatch(self.name, e.id, e.category, m.query_match_pct, m.compared_match_pct))
        return out

    def __repr__(self) -> str:
        return f"VpdqBank(name={self.name!r}, videos={len(self.entries)})"
