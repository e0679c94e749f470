"""Everything screenable in an Item: text fields, identities, URLs and perceptual hashes.

Parsing happens here, once, so every matcher sees the same fields. A file that cannot be parsed is
recorded as an error (the Decision is then held for review) while the item's other fields are still
screened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexguard.errors import IndexguardError
from indexguard.formats.fields import FormatWarning
from indexguard.screen.decision import Reason
from indexguard.screen.item import Item

IDENTITY_KEYS = ("infohash_v1", "infohash_v2", "infohash_v2_trunc", "bep47_sha1", "pieces_root", "nzb_id",
                 "md5", "sha1", "sha256")
# Metadata that disagrees with itself is how uploaders hide a name from lazy parsers.
DISAGREEMENT_CODES = frozenset(("duplicate_name", "name_mismatch", "comment_mismatch", "inconsistent_files",
                                "duplicate_info", "magnet_name_mismatch", "duplicate_meta"))
DISAGREEMENT_CATEGORY = "metadata-disagreement"


@dataclass
class Extracted:
    text_fields: list[tuple[str, str]] = field(default_factory=list)
    identities: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in IDENTITY_KEYS})
    urls: list[tuple[str, str]] = field(default_factory=list)
    pdq: list[tuple[str, int | None]] = field(default_factory=list)
    disagreements: list[Reason] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    uploader: str | None = None

    def lookup_identities(self) -> dict[str, list[str]]:
        """What identity matchers look up: the item's identities and its uploader (a banned account's
        items are refused; the uploader is never remembered as an identity of a blocked item)."""
        if self.uploader is None:
            return self.identities
        return {**self.identities, "uploader": [self.uploader]}

    def add_identities(self, ids: dict[str, list[str]]) -> None:
        for k, values in ids.items():
            bucket = self.identities.setdefault(k, [])
            for v in values:
                v = v.strip().lower()
                if v and v not in bucket:
                    bucket.append(v)

    def add_warnings(self, prefix: str, warnings: list[FormatWarning]) -> None:
        for w in warnings:
            if w.code in DISAGREEMENT_CODES or "mismatch" in w.code:
                self.disagreements.append(
                    Reason("indexguard", "", w.code, DISAGREEMENT_CATEGORY, prefix + (",".join(w.fields) or w.code),
                           "metadata", None, "warn", w.message)
                )


def extract(item: Item) -> Extracted:
    ex = Extracted(text_fields=item.text_fields(), uploader=item.uploader)
    ex.urls = [(f"urls[{i}]", u) for i, u in enumerate(item.urls)]
    # The deny set remembers a blocked listing's URLs too (it canonicalizes them itself).
    ex.identities["url"] = list(dict.fromkeys(item.urls))
    _item_hashes(item, ex)
    if item.magnet:
        _magnet(item.magnet, ex)
    if item.raw is not None:
        _raw(item, ex)
    return ex


def _item_hashes(item: Item, ex: Extracted) -> None:
    if not item.hashes:
        return  # a title-only item: the common case in a sweep
    for kind in ("md5", "sha1", "sha256"):
        ex.add_identities({kind: item.hashes.get(kind, [])})
    for h in item.hashes.get("infohash", []):
        h = h.strip().lower()
        if len(h) == 64:
            ex.add_identities({"infohash_v2": [h], "infohash_v2_trunc": [h[:40]]})
        else:
            ex.add_identities({"infohash_v1": [h]})
    ex.pdq += [(p.strip().lower(), item.extra.get("pdq_quality")) for p in item.hashes.get("pdq", [])]


def _magnet(uri: str, ex: Extracted) -> None:
    from indexguard.formats.magnet import parse_magnet

    try:
        m = parse_magnet(uri)
    except IndexguardError as e:
        ex.errors.append(f"magnet: {e}")
        return
    ex.text_fields += [(f"magnet.{k}", v) for k, v in m.text_fields()]
    ex.add_identities(m.identities())
    ex.urls += [(f"magnet.url[{i}]", u) for i, u in enumerate(m.urls())]
    ex.add_warnings("magnet.", m.warnings)
    ex.names += [t.text for t in m.names]


def _raw(item: Item, ex: Extracted) -> None:
    assert item.raw is not None
    try:
        if item.kind == "torrent":
            _torrent(item.raw, ex)
        elif item.kind == "nzb":
            _nzb(item.raw, item.extra.get("filename"), ex)
        elif item.kind == "image":
            _image(item.raw, ex)
    except IndexguardError as e:
        ex.errors.append(f"{item.kind}: {e}")


def _torrent(data: bytes, ex: Extracted) -> None:
    from indexguard.formats.torrent import parse_torrent

    # Non-strict: a torrent libtorrent would refuse still has its text screened; its validity errors
    # hold the item for review.
    t = parse_torrent(data, strict=False)
    ex.text_fields += t.text_fields()
    ex.add_identities(t.identities())
    ex.urls += [(f"torrent.url[{i}]", u) for i, u in enumerate(t.urls())]
    ex.add_warnings("", list(t.warnings))
    ex.errors += [f"torrent: {w.code}: {w.message}" for w in t.errors]
    real = t.name.strip().lower()
    for dn in ex.names:
        if real and dn.strip().lower() != real:
            ex.disagreements.append(
                Reason("indexguard", "", "magnet_name_mismatch", DISAGREEMENT_CATEGORY, "magnet.dn", "metadata",
                       None, "warn", "the magnet's dn differs from the torrent's name")
            )


def _nzb(data: bytes, filename: object, ex: Extracted) -> None:
    from indexguard.formats.nzb import parse_nzb

    n = parse_nzb(data, filename if isinstance(filename, str) else None, strict=False)
    ex.text_fields += n.text_fields()
    ex.add_identities(n.identities())
    ex.add_warnings("", list(n.warnings))
    ex.errors += [f"nzb: {w.code}: {w.message}" for w in n.errors]


def _image(data: bytes, ex: Extracted) -> None:
    from indexguard.formats.image import hash_image

    h = hash_image(data)
    ex.add_identities({"md5": [h.md5], "sha1": [h.sha1], "sha256": [h.sha256]})
    ex.pdq.append((h.pdq, h.quality))
