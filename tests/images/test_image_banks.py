"""Image screening policy over hash banks: exact blocks, PDQ reviews, quality gate, allowlists, floods."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from indexguard.errors import ParseError
from indexguard.formats.image import hash_image
from indexguard.lists.hash_list import HashBank, HashEntry
from indexguard.match.hash_set import ExactHashSet, ImageBankSet, ImagePolicy, ImageQuery

PDQ = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"


def _flip(hex_hash: str, bits: int, offset: int = 0) -> str:
    v = int(hex_hash, 16)
    for b in range(offset, offset + bits):
        v ^= 1 << (b * 7 % 256)
    return f"{v:064x}"


def _entry(hash_type: str, value: str, eid: str, severity: str = "block", enabled: bool = True) -> HashEntry:
    return HashEntry(hash_type, value, eid, "csam", "unit", severity, enabled)  # type: ignore[arg-type]


def _image_bytes(seed: int) -> bytes:
    """A smooth generated picture: a few coloured blobs on a gradient."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:160, 0:200].astype(np.float64)
    img = np.zeros((160, 200, 3)) + (xx / 200 * 50)[..., None]
    for _ in range(8):
        cx, cy, r = rng.uniform(0, 200), rng.uniform(0, 160), rng.uniform(10, 60)
        img += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None] * rng.uniform(0, 255, 3)
    image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_exact_hit_blocks_and_names_entry_only() -> None:
    data = _image_bytes(1)
    h = hash_image(data)
    bank = HashBank("hotline", (_entry("sha256", h.sha256, "H-1"),))
    result = ImageBankSet([bank]).match_image(h)
    assert [(x.list, x.entry, x.severity, x.view) for x in result.hits] == [
        ("hotline", "H-1", "block", "exact:sha256")
    ]
    assert result.hits[0].list_version == bank.version
    assert h.sha256 not in repr(result.hits[0]) and h.pdq not in repr(result.hits[0])


def test_pdq_hit_alone_is_review_with_distance() -> None:
    bank = HashBank("perceptual", (_entry("pdq", PDQ, "P-1"),), pdq_threshold=31)
    s = ImageBankSet([bank])
    r = s.match_image({"pdq": _flip(PDQ, 12), "quality": 90})
    assert r.perceptual_checked and len(r.hits) == 1
    hit = r.hits[0]
    assert hit.severity == "review" and hit.view == "pdq"
    assert hit.extra["perceptual"] is True and hit.extra["distance"] == 12 and hit.extra["quality"] == 90
    assert s.match_image({"pdq": _flip(PDQ, 32), "quality": 90}).hits == []


def test_bank_threshold_is_per_bank() -> None:
    tight = HashBank("tight", (_entry("pdq", PDQ, "T"),), pdq_threshold=8)
    loose = HashBank("loose", (_entry("pdq", PDQ, "L"),), pdq_threshold=40)
    r = ImageBankSet([tight, loose]).match_image({"pdq": _flip(PDQ, 20)}, quality=100)
    assert [x.list for x in r.hits] == ["loose"]


def test_low_quality_gives_no_perceptual_verdict_but_exact_applies() -> None:
    md5 = "8bbbaa9540800e378beadc8bbef7bb32"
    bank = HashBank("b", (_entry("pdq", PDQ, "P"), _entry("md5", md5, "M")))
    r = ImageBankSet([bank]).match_image({"pdq": PDQ, "md5": md5}, quality=49)
    assert [x.entry for x in r.hits] == ["M"]
    assert not r.perceptual_checked
    assert any("quality 49 below 50" in n for n in r.notes)
    r2 = ImageBankSet([bank]).match_image({"pdq": PDQ}, quality=10)
    assert r2.hits == [] and r2.notes


def test_allowlists_cancel() -> None:
    deny = HashBank("deny", (_entry("pdq", PDQ, "D"), _entry("md5", "1" * 32, "DM")))
    allow_pdq = HashBank("allow", (_entry("pdq", _flip(PDQ, 3), "A"),), kind="allowlist", pdq_threshold=10)
    r = ImageBankSet([deny, allow_pdq]).match_image({"pdq": PDQ, "md5": "1" * 32}, quality=100)
    # The perceptual allowlist cancels the perceptual hit but not the exact identification.
    assert [x.entry for x in r.hits] == ["DM"]
    assert [x.entry for x in r.cancelled] == ["D"] and [x.entry for x in r.allowed_by] == ["A"]
    allow_exact = HashBank("allow2", (_entry("md5", "1" * 32, "AX"),), kind="allowlist")
    r2 = ImageBankSet([deny, allow_exact]).match_image({"pdq": PDQ, "md5": "1" * 32}, quality=100)
    assert r2.hits == [] and {x.entry for x in r2.cancelled} == {"DM"}


def test_disabled_entries_and_runtime_switch() -> None:
    bank = HashBank("b", (_entry("pdq", PDQ, "P", enabled=False), _entry("sha1", "2" * 40, "S")))
    s = ImageBankSet([bank])
    assert s.match_image({"pdq": PDQ, "sha1": "2" * 40}, quality=100).hits[0].entry == "S"
    assert len(s.match_image({"pdq": PDQ}, quality=100).hits) == 0
    s.set_enabled("b", "P", True)
    s.set_enabled("b", "S", False)
    assert [x.entry for x in s.match_image({"pdq": PDQ, "sha1": "2" * 40}, quality=100).hits] == ["P"]


def test_dihedral_variants_match_a_flipped_thumbnail() -> None:
    data = _image_bytes(7)
    flipped_img = Image.open(io.BytesIO(data)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buf = io.BytesIO()
    flipped_img.save(buf, "PNG")
    listed = hash_image(data)
    bank = HashBank("b", (_entry("pdq", listed.pdq, "P"),))
    s = ImageBankSet([bank])
    query = hash_image(buf.getvalue(), dihedral=True)
    plain = ImageQuery(pdq=query.pdq, quality=query.quality)
    assert s.match_image(plain).hits == []
    hits = s.match_image(query).hits
    assert len(hits) == 1 and hits[0].extra["variant"] != "original"


def test_flooding_entry_is_flagged() -> None:
    clock = [0.0]
    bank = HashBank("b", (_entry("pdq", PDQ, "P"),))
    s = ImageBankSet([bank], ImagePolicy(flood_images=5, flood_window_seconds=60), clock=lambda: clock[0])
    for i in range(4):
        clock[0] += 1
        r = s.match_image({"pdq": _flip(PDQ, 2, offset=i), "sha256": f"{i:064x}"}, quality=100)
        assert r.hits[0].extra["suspect_entry"] is False
    # The same image again does not count twice.
    assert s.match_image({"pdq": PDQ, "sha256": f"{3:064x}"}, quality=100).hits[0].extra["suspect_entry"] is False
    r = s.match_image({"pdq": PDQ, "sha256": f"{9:064x}"}, quality=100)
    assert r.hits[0].extra["suspect_entry"] is True
    [suspect] = s.suspect_entries()
    assert (suspect.list, suspect.entry, suspect.distinct_images) == ("b", "P", 5)


def test_flood_window_expires() -> None:
    clock = [0.0]
    bank = HashBank("b", (_entry("pdq", PDQ, "P"),))
    s = ImageBankSet([bank], ImagePolicy(flood_images=3, flood_window_seconds=10), clock=lambda: clock[0])
    for i in range(6):
        clock[0] += 20
        s.match_image({"pdq": PDQ, "sha256": f"{i:064x}"}, quality=100)
    assert s.suspect_entries() == []


def test_batch_matches_single_and_bad_query_hash() -> None:
    bank = HashBank("b", (_entry("pdq", PDQ, "P"),))
    s = ImageBankSet([bank])
    queries = [{"pdq": _flip(PDQ, k), "quality": 100} for k in (0, 10, 40)]
    batch = s.match_images(queries)
    assert [len(r.hits) for r in batch] == [1, 1, 0]
    with pytest.raises(ParseError):
        s.match_image({"pdq": "xyz"}, quality=100)


def test_exact_hash_set_for_other_types() -> None:
    ih = "3" * 40
    deny = HashBank("t", (_entry("infohash_v1", ih, "I"), _entry("nzb_id", "4" * 64, "N")))
    exact = ExactHashSet([deny])
    assert [h.view for h in exact.lookup("infohash_v1", ih.upper())] == ["exact:infohash_v1"]
    assert exact.lookup("sha1", ih) == []
    assert exact.lookup("nzb_id", "4" * 64)[0].entry == "N"
    with pytest.raises(ParseError):
        exact.lookup("infohash_v1", "12")
