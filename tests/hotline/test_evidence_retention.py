"""Evidence packages: sealing, custody, retention, holds and the purge recorded in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hotline_helpers import fresh_store
from sqlalchemy import select

from indexguard.demo.hotline_data import demo_snapshots
from indexguard.hotline import evidence
from indexguard.store import audit
from indexguard.store.models import AuditEntry, EvidenceCustody, EvidencePackage

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_sealed_at_rest_and_images_only_as_hashes(tmp_path: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    snap = demo_snapshots()[0]
    pid = evidence.preserve(factory, cipher, snap, "mod-a", "case confirmed", now=NOW)
    with factory() as s:
        pkg = s.get(EvidencePackage, pid)
        assert pkg is not None and pkg.payload is not None
        assert b"bizu" not in pkg.payload and snap.uploader is not None
        assert b"192.0.2.10" not in pkg.payload
        assert pkg.images_preserved is False
        assert pkg.expires_at.replace(tzinfo=UTC) == NOW + timedelta(days=365)
    back = evidence.open_snapshot(factory, cipher, pid, "mod-b", "prepare NCMEC report")
    assert back.title == snap.title and back.uploader == snap.uploader
    torrent = next(f for f in back.files if f.role == "torrent")
    image = next(f for f in back.files if f.role == "image")
    assert torrent.data == next(f for f in snap.files if f.role == "torrent").data
    assert image.data is None and image.sha256
    actions = [c["action"] for c in evidence.custody_log(factory, pid)]
    assert actions == ["preserve", "open"]
    assert evidence.verify_custody(factory, pid)


def test_image_bytes_kept_only_when_enabled(tmp_path: Path) -> None:
    from dataclasses import replace

    factory, cipher = fresh_store(tmp_path)
    snap = demo_snapshots()[0]
    files = tuple(replace(f, data=b"\x89PNG-generated") if f.role == "image" else f for f in snap.files)
    snap = replace(snap, files=files)
    off = evidence.open_snapshot(factory, cipher, evidence.preserve(factory, cipher, snap, "a", "r"), "a", "r")
    on_id = evidence.preserve(factory, cipher, snap, "a", "r", preserve_images=True)
    on = evidence.open_snapshot(factory, cipher, on_id, "a", "r")
    assert [f.data for f in off.files if f.role == "image"] == [None]
    assert [f.data for f in on.files if f.role == "image"] == [b"\x89PNG-generated"]


def test_retention_per_jurisdiction() -> None:
    p = evidence.RetentionPolicy.from_mapping({"default_days": 365, "jurisdictions": {"gb": 730}})
    assert p.days("US") == 365 and p.days("GB") == 730
    with pytest.raises(evidence.EvidenceError):
        evidence.RetentionPolicy.from_mapping({"default_days": "soon"})


def test_purge_removes_expired_keeps_held_and_is_audited(tmp_path: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    snaps = demo_snapshots()
    old = evidence.preserve(factory, cipher, snaps[0], "a", "r", now=NOW - timedelta(days=400))
    held = evidence.preserve(factory, cipher, snaps[1], "a", "r", now=NOW - timedelta(days=400))
    fresh = evidence.preserve(factory, cipher, snaps[2], "a", "r", now=NOW - timedelta(days=10))
    hold = evidence.place_hold(factory, held, "lead", "preservation request LE-0001")

    result = evidence.purge_expired(factory, now=NOW)
    assert result.purged == [old] and result.held == [held]
    with factory() as s:
        assert s.get(EvidencePackage, old).payload is None  # type: ignore[union-attr]
        assert s.get(EvidencePackage, held).payload is not None  # type: ignore[union-attr]
        assert s.get(EvidencePackage, fresh).payload is not None  # type: ignore[union-attr]
        row = s.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.purge")).one()
        assert [p["package"] for p in row.detail["purged"]] == [old] and row.detail["held"] == [held]
        last = s.scalars(
            select(EvidenceCustody).where(EvidenceCustody.package_id == old).order_by(EvidenceCustody.seq.desc())
        ).first()
        assert last is not None and last.action == "purge"
    assert audit.verify(factory).ok
    with pytest.raises(evidence.EvidenceError, match="purged"):
        evidence.open_snapshot(factory, cipher, old, "a", "r")

    evidence.release_hold(factory, hold, "lead", "request withdrawn")
    assert evidence.purge_expired(factory, now=NOW).purged == [held]
    assert evidence.purge_expired(factory, now=NOW).purged == []


def test_custody_edit_is_detected(tmp_path: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    pid = evidence.preserve(factory, cipher, demo_snapshots()[3], "a", "r")
    evidence.open_snapshot(factory, cipher, pid, "b", "look")
    with factory() as s, s.begin():
        row = s.scalars(select(EvidenceCustody).where(EvidenceCustody.seq == 1)).one()
        row.actor = "someone-else"
    assert not evidence.verify_custody(factory, pid)


def test_hold_needs_reason_and_missing_package_is_clear(tmp_path: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    with pytest.raises(evidence.EvidenceError, match="no evidence package 99"):
        evidence.open_snapshot(factory, cipher, 99, "a", "r")
    pid = evidence.preserve(factory, cipher, demo_snapshots()[4], "a", "r")
    with pytest.raises(evidence.EvidenceError, match="reason"):
        evidence.place_hold(factory, pid, "a", " ")
