"""Exact hash sets and image screening over hash banks.

ExactHashSet answers "is this MD5/SHA-1/SHA-256/infohash/... on a list?" for any hash type.
ImageBankSet combines exact sets with one PDQ index per bank and applies the image policy:
exact hits block, perceptual hits alone only ask for review, low-quality PDQ gives no
perceptual verdict, allowlist banks cancel, and entries that match a flood of different images
are flagged as likely bad entries. Hits name the list, version and entry id, never a hash.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexguard.errors import ParseError
from indexguard.formats.image import DIHEDRAL_NAMES, ImageHashes
from indexguard.lists.hash_list import HASH_TYPES, HEX_LENGTH, HashBank, HashEntry, HashType
from indexguard.lists.packed_bank import AnyBank, EntryView, PackedBank
from indexguard.match.hit import Hit, Severity
from indexguard.match.pdq_index import PdqIndex, hamming_rows, pack_hex

EXACT_IMAGE_TYPES: tuple[HashType, ...] = ("md5", "sha1", "sha256")
_HEX = frozenset("0123456789abcdef")


def normalise_query_hash(hash_type: str, value: str) -> bytes:
    """A hash from an item (not a list): lowercase hex of the right length, else ParseError."""
    if hash_type not in HASH_TYPES:
        raise ParseError("hash", f"unknown hash type {hash_type!r}")
    text = value.strip().lower()
    want = HEX_LENGTH[hash_type]
    if len(text) != want or any(c not in _HEX for c in text):
        raise ParseError("hash", f"{hash_type} must be {want} hex digits")
    return bytes.fromhex(text)


def _hit(bank: AnyBank, entry: HashEntry, view: str, **extra: Any) -> Hit:
    return Hit(
        list=bank.name,
        list_version=bank.version,
        entry=entry.id,
        category=entry.category,
        severity=entry.severity,
        view=view,
        extra={"source": entry.source, **extra},
    )


@dataclass(frozen=True, slots=True)
class ExactLookup:
    hits: list[Hit]
    cancelled: list[Hit]
    allowed_by: list[Hit]


class ExactHashSet:
    """Exact hashes of many banks, per type. Allowlist banks cancel hits on the same value."""

    def __init__(self, banks: Iterable[AnyBank]) -> None:
        self._deny: dict[str, dict[bytes, list[tuple[HashBank, HashEntry]]]] = {}
        self._allow: dict[str, dict[bytes, list[tuple[HashBank, HashEntry]]]] = {}
        self._disabled: set[tuple[str, str]] = set()
        self._packed: list[PackedBank] = []  # searched in place: no per-entry objects
        for bank in banks:
            if isinstance(bank, PackedBank):
                self._packed.append(bank)
                self._disabled.update((bank.name, bank.ids[int(r)]) for r in np.flatnonzero(~bank.enabled))
                continue
            target = self._allow if bank.kind == "allowlist" else self._deny
            for entry in bank.entries:
                if entry.hash_type == "pdq":
                    continue
                if not entry.enabled:
                    self._disabled.add((bank.name, entry.id))
                by_value = target.setdefault(entry.hash_type, {})
                by_value.setdefault(bytes.fromhex(entry.value), []).append((bank, entry))

    def __len__(self) -> int:
        packed = sum(g.size for b in self._packed for t, g in b.groups.items() if t != "pdq")
        return packed + sum(len(v) for t in (self._deny, self._allow) for v in t.values())

    def set_enabled(self, bank: str, entry_id: str, enabled: bool) -> None:
        """Switch an entry on or off at run time (lists are read-only; the switch is local)."""
        if enabled:
            self._disabled.discard((bank, entry_id))
        else:
            self._disabled.add((bank, entry_id))

    def lookup(self, hash_type: str, value: str) -> list[Hit]:
        """Live hits for one hash (allowlisted values give none)."""
        return self.lookup_detail(hash_type, value).hits

    def lookup_detail(self, hash_type: str, value: str) -> ExactLookup:
        raw = normalise_query_hash(hash_type, value)
        view = f"exact:{hash_type}"
        found: list[tuple[AnyBank, HashEntry]] = list(self._deny.get(hash_type, {}).get(raw, []))
        found += self._allow.get(hash_type, {}).get(raw, [])
        if hash_type != "pdq":
            found += [(b, b.entry(r, False)) for b in self._packed for r in b.exact_rows(hash_type, raw)]
        live = [(b, e) for b, e in found if (b.name, e.id) not in self._disabled]
        deny = [_hit(b, e, view) for b, e in live if b.kind != "allowlist"]
        allow = [_hit(b, e, view, allowlist=True) for b, e in live if b.kind == "allowlist"]
        if allow:
            return ExactLookup([], deny, allow)
        return ExactLookup(deny, [], [])


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """Policy defaults reflect how perceptual hashes fail (see docs/images-and-hashes.md)."""

    min_quality: int = 50
    perceptual_severity: Severity = "review"
    use_dihedral: bool = True
    flood_images: int = 20
    flood_window_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class ImageQuery:
    """What an image is screened by: its hashes, computed here or sent by a site."""

    pdq: str | None = None
    quality: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    dihedral: tuple[str, ...] = ()

    @classmethod
    def from_hashes(cls, h: ImageHashes) -> ImageQuery:
        return cls(h.pdq, h.quality, h.md5, h.sha1, h.sha256, tuple(h.dihedral))

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> ImageQuery:
        quality = m.get("quality")
        dihedral = m.get("dihedral") or ()
        if isinstance(dihedral, Mapping):
            dihedral = tuple(dihedral.values())
        return cls(
            pdq=m.get("pdq"),
            quality=int(quality) if quality is not None else None,
            md5=m.get("md5"),
            sha1=m.get("sha1"),
            sha256=m.get("sha256"),
            dihedral=tuple(str(d) for d in dihedral),
        )

    def image_key(self) -> str:
        """Identifies 'the same image' for flood detection without keeping the image."""
        return self.sha256 or self.sha1 or self.md5 or self.pdq or ""


@dataclass(slots=True)
class ImageMatch:
    """Hits for one image and what was (not) checked, so a hit-less result still explains itself."""

    hits: list[Hit] = field(default_factory=list)
    cancelled: list[Hit] = field(default_factory=list)
    allowed_by: list[Hit] = field(default_factory=list)
    perceptual_checked: bool = False
    quality: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SuspectEntry:
    """A bank entry that matched many different images within the window: probably a bad entry."""

    list: str
    list_version: str
    entry: str
    distinct_images: int
    window_seconds: float
    first_flagged: float
    last_seen: float


class _FloodTracker:
    """Distinct images per entry within a sliding window; memory bounded by flood_images per entry."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[tuple[str, str], OrderedDict[str, float]] = {}
        self._flagged: dict[tuple[str, str], SuspectEntry] = {}

    def record(self, bank: AnyBank, entry_id: str, image_key: str) -> bool:
        now = self.clock()
        key = (bank.name, entry_id)
        seen = self._seen.setdefault(key, OrderedDict())
        seen[image_key] = now
        seen.move_to_end(image_key)
        while seen and (now - next(iter(seen.values())) > self.window or len(seen) > self.limit):
            seen.popitem(last=False)
        if len(seen) >= self.limit:
            first = self._flagged[key].first_flagged if key in self._flagged else now
            self._flagged[key] = SuspectEntry(
                bank.name, bank.version, entry_id, len(seen), self.window, first, now
            )
        return key in self._flagged

    def suspects(self) -> list[SuspectEntry]:
        return sorted(self._flagged.values(), key=lambda s: (s.list, s.entry))

    def clear(self, bank: str, entry_id: str) -> None:
        self._flagged.pop((bank, entry_id), None)
        self._seen.pop((bank, entry_id), None)


@dataclass
class _PdqBank:
    bank: AnyBank
    index: PdqIndex
    entries: Sequence[HashEntry]  # index ids are positions in here


class ImageBankSet:
    """Screens images against many banks with the image policy applied."""

    def __init__(
        self,
        banks: Iterable[AnyBank],
        policy: ImagePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bank_list = list(banks)
        names = [b.name for b in bank_list]
        if len(set(names)) != len(names):
            raise ValueError("bank names must be unique")
        self.policy = policy or ImagePolicy()
        self.exact = ExactHashSet(bank_list)
        self._pdq: list[_PdqBank] = [self._build_pdq(b) for b in bank_list]
        self._pdq = [p for p in self._pdq if p.entries]
        self._flood = _FloodTracker(self.policy.flood_images, self.policy.flood_window_seconds, clock)

    @staticmethod
    def _build_pdq(bank: AnyBank) -> _PdqBank:
        if isinstance(bank, PackedBank):
            return _packed_pdq(bank)
        entries = bank.of_type("pdq")
        index = PdqIndex()
        live = [i for i, e in enumerate(entries) if e.enabled]
        if live:
            index.add([entries[i].value for i in live], live)
        return _PdqBank(bank, index, entries)

    def set_enabled(self, bank: str, entry_id: str, enabled: bool) -> None:
        """The per-entry on/off switch, effective at once and without a rebuild."""
        self.exact.set_enabled(bank, entry_id, enabled)
        for p in self._pdq:
            if p.bank.name != bank:
                continue
            for row in _rows_with_id(p, entry_id):
                p.index.remove([row])
                if enabled:
                    value = p.bank.entry(row).value if isinstance(p.bank, PackedBank) else p.entries[row].value
                    p.index.add([value], [row])
        if enabled:
            self._flood.clear(bank, entry_id)

    def suspect_entries(self) -> list[SuspectEntry]:
        return self._flood.suspects()

    def match_image(
        self, hashes: ImageHashes | ImageQuery | Mapping[str, Any], quality: int | None = None
    ) -> ImageMatch:
        return self.match_images([hashes], [quality])[0]

    def match_images(
        self,
        images: Sequence[ImageHashes | ImageQuery | Mapping[str, Any]],
        qualities: Sequence[int | None] | None = None,
    ) -> list[ImageMatch]:
        """Batch form: all PDQ lookups of a bank go to its index in one call."""
        queries = [_as_query(img, (qualities or [None] * len(images))[i]) for i, img in enumerate(images)]
        results = [self._exact_part(q) for q in queries]
        self._perceptual_part(queries, results)
        return results

    def _exact_part(self, q: ImageQuery) -> ImageMatch:
        out = ImageMatch(quality=q.quality)
        for hash_type in EXACT_IMAGE_TYPES:
            value = getattr(q, hash_type)
            if not value:
                continue
            found = self.exact.lookup_detail(hash_type, value)
            out.hits.extend(found.hits)
            out.cancelled.extend(found.cancelled)
            out.allowed_by.extend(found.allowed_by)
        return out

    def _perceptual_part(self, queries: list[ImageQuery], results: list[ImageMatch]) -> None:
        rows: list[tuple[int, str]] = []  # (image number, variant name) per PDQ query row
        hexes: list[str] = []
        for n, (q, res) in enumerate(zip(queries, results, strict=True)):
            if not q.pdq:
                res.notes.append("no pdq hash: no perceptual verdict")
                continue
            if q.quality is not None and q.quality < self.policy.min_quality:
                res.notes.append(
                    f"pdq quality {q.quality} below {self.policy.min_quality}: no perceptual verdict"
                )
                continue
            if res.allowed_by:
                res.notes.append("exact allowlist hit: perceptual lookup skipped")
                continue
            variants = q.dihedral if (self.policy.use_dihedral and q.dihedral) else (q.pdq,)
            names = DIHEDRAL_NAMES if len(variants) == len(DIHEDRAL_NAMES) else ("original",)
            for name, value in zip(names, variants, strict=False):
                normalise_query_hash("pdq", value)
                rows.append((n, name))
                hexes.append(value.strip().lower())
            res.perceptual_checked = True
            if q.quality is None:
                res.notes.append("pdq quality not given: perceptual lookup done anyway")
        if not hexes:
            return
        packed = pack_hex(hexes)
        found: list[dict[tuple[str, str], tuple[int, str, _PdqBank, HashEntry]]] = [{} for _ in queries]
        for p in self._pdq:
            rr = p.index.search(packed, p.bank.pdq_threshold)
            for qrow, row, dist in zip(rr.query.tolist(), rr.ids.tolist(), rr.distance.tolist(), strict=True):
                image_no, variant = rows[qrow]
                key = (p.bank.name, p.entries[row].id)
                best = found[image_no].get(key)
                if best is None or dist < best[0]:
                    found[image_no][key] = (dist, variant, p, p.entries[row])
        for image_no, per_entry in enumerate(found):
            self._apply_perceptual(queries[image_no], results[image_no], per_entry)

    def _apply_perceptual(
        self,
        q: ImageQuery,
        res: ImageMatch,
        per_entry: dict[tuple[str, str], tuple[int, str, _PdqBank, HashEntry]],
    ) -> None:
        allow: list[Hit] = []
        deny: list[Hit] = []
        for dist, variant, p, entry in per_entry.values():
            extra: dict[str, Any] = {
                "perceptual": True,
                "distance": dist,
                "threshold": p.bank.pdq_threshold,
                "quality": q.quality,
                "variant": variant,
            }
            if p.bank.kind == "allowlist":
                allow.append(_hit(p.bank, entry, "pdq", allowlist=True, **extra))
                continue
            extra["suspect_entry"] = self._flood.record(p.bank, entry.id, q.image_key())
            hit = _hit(p.bank, entry, "pdq", **extra)
            deny.append(_with_severity(hit, self._perceptual_severity(entry.severity)))
        if allow:
            res.cancelled.extend(deny)
            res.allowed_by.extend(allow)
            res.notes.append("perceptual allowlist hit: perceptual hits cancelled")
        else:
            res.hits.extend(sorted(deny, key=lambda h: (h.extra["distance"], h.list, h.entry)))

    def _perceptual_severity(self, entry_severity: Severity) -> Severity:
        return self.policy.perceptual_severity if entry_severity == "block" else entry_severity


def _packed_pdq(bank: PackedBank) -> _PdqBank:
    g = bank.groups.get("pdq")
    if g is None or g.size == 0:
        return _PdqBank(bank, PdqIndex(), [])
    live = np.asarray(bank.enabled)[g.rows]
    codes = g.raw.view(np.uint64).reshape(-1, 4)
    if live.all():  # the common case: the (memory-mapped) columns and tables are used as they are
        index = PdqIndex.from_arrays(codes, g.rows, bank.pdq_mih)
    else:
        index = PdqIndex.from_arrays(np.ascontiguousarray(codes[live]), np.asarray(g.rows)[live])
    return _PdqBank(bank, index, EntryView(bank, values=False))


def _rows_with_id(p: _PdqBank, entry_id: str) -> list[int]:
    if isinstance(p.bank, PackedBank):
        g = p.bank.groups.get("pdq")
        rows = g.rows.tolist() if g is not None else []
        return [r for r in rows if p.bank.ids[r] == entry_id]
    return [row for row, e in enumerate(p.entries) if e.id == entry_id]


def _with_severity(hit: Hit, severity: Severity) -> Hit:
    return Hit(hit.list, hit.list_version, hit.entry, hit.category, severity, hit.view, hit.span, hit.extra)


def _as_query(img: ImageHashes | ImageQuery | Mapping[str, Any], quality: int | None) -> ImageQuery:
    if isinstance(img, ImageQuery):
        q = img
    elif isinstance(img, ImageHashes):
        q = ImageQuery.from_hashes(img)
    else:
        q = ImageQuery.from_mapping(img)
    if quality is not None:
        q = ImageQuery(q.pdq, quality, q.md5, q.sha1, q.sha256, q.dihedral)
    return q


def pdq_distance(a: str, b: str) -> int:
    """Hamming distance of two 64-hex PDQ hashes."""
    return int(hamming_rows(pack_hex([a]), pack_hex([b]))[0])
