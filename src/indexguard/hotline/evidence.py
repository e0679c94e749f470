"""Evidence packages: a sealed snapshot per confirmed case, a chain-of-custody log, retention per
jurisdiction, legal holds and the purge job.

- The snapshot's canonical JSON is hashed (SHA-256, the package digest, kept in clear) and sealed with
  AES-256-GCM bound to that digest; opening checks both the tag and the digest.
- Image bytes are dropped (hashes kept) unless the operator enabled encrypted image preservation.
- Every action on a package (preserve, open, hold, release, purge) appends a custody row: who,
  when, why, what, the digest - hash-chained per package, so an edit shows.
- `purge_expired` deletes the sealed payload of every package past its retention date that has no
  active hold (its own, or the case's legal-hold flag), keeps the digest and custody log as the
  tombstone, and writes one `evidence.purge` row to the audit log naming the packages and digests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.hotline.snapshot import CaseSnapshot, from_json, to_json
from indexguard.store import audit
from indexguard.store import hotline_repo as repo
from indexguard.store.models import EvidencePackage, LegalHold, utcnow

DEFAULT_RETENTION_DAYS = 365  # 18 U.S.C. 2258A(h) as amended in 2024: one year


class EvidenceError(IndexguardError):
    """A package that does not exist, was purged, or does not match its digest."""


@dataclass(frozen=True)
class RetentionPolicy:
    default_days: int = DEFAULT_RETENTION_DAYS
    by_jurisdiction: Mapping[str, int] = field(default_factory=dict)

    def days(self, jurisdiction: str) -> int:
        return int(self.by_jurisdiction.get(jurisdiction.upper(), self.default_days))

    @staticmethod
    def from_mapping(m: Mapping[str, Any]) -> RetentionPolicy:
        """`{"default_days": 365, "jurisdictions": {"US": 365, "GB": 730}}` (TOML `[retention]`)."""
        try:
            default = int(m.get("default_days", DEFAULT_RETENTION_DAYS))
            per = {str(k).upper(): int(v) for k, v in dict(m.get("jurisdictions", {})).items()}
        except (TypeError, ValueError) as e:
            raise EvidenceError(f"retention: days must be whole numbers ({e})") from None
        if default < 1 or any(v < 1 for v in per.values()):
            raise EvidenceError("retention: days must be at least 1")
        return RetentionPolicy(default, per)


@dataclass(frozen=True)
class PurgeResult:
    purged: list[int]
    held: list[int]
    audit_seq: int | None


def canonical(snap: CaseSnapshot) -> bytes:
    return json.dumps(to_json(snap), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _context(digest: str) -> bytes:
    return b"indexguard-evidence:" + digest.encode("ascii")


def preserve(
    factory: sessionmaker[Session],
    cipher: Cipher,
    snap: CaseSnapshot,
    actor: str,
    reason: str,
    *,
    policy: RetentionPolicy | None = None,
    preserve_images: bool = False,
    now: datetime | None = None,
) -> int:
    """Seal a snapshot as a new package; returns its id."""
    policy = policy or RetentionPolicy()
    now = now or utcnow()
    kept = snap if preserve_images else snap.without_image_bytes()
    plain = canonical(kept)
    digest = hashlib.sha256(plain).hexdigest()
    images = any(f.role == "image" and f.data is not None for f in kept.files)
    with factory() as s, s.begin():
        pkg = EvidencePackage(
            case_ref=kept.case_id[:64],
            item_id=kept.item_id[:256],
            kind=kept.kind,
            jurisdiction=kept.jurisdiction[:16],
            digest=digest,
            size=len(plain),
            images_preserved=images,
            payload=cipher.seal(plain, _context(digest)),
            created_by=actor[:128],
            created_at=now,
            expires_at=now + timedelta(days=policy.days(kept.jurisdiction)),
        )
        s.add(pkg)
        s.flush()
        detail = {
            "case": kept.case_id,
            "item": kept.item_id,
            "size": len(plain),
            "images_preserved": images,
            "files": [{"name": f.name, "role": f.role, "sha256": f.sha256} for f in kept.files],
        }
        repo.add_custody(s, pkg.id, actor, "preserve", reason, digest, detail)
        package_id = pkg.id
        detail = {"case": kept.case_id, "digest": digest}
        audit.append_in(s, actor, "evidence.preserve", f"evidence:{package_id}", detail)
    return package_id


def open_snapshot(
    factory: sessionmaker[Session], cipher: Cipher, package_id: int, actor: str, reason: str
) -> CaseSnapshot:
    """Decrypt a package; the access is written to its custody log (committed before returning)."""
    with factory() as s, s.begin():
        pkg = _get(s, package_id)
        if pkg.payload is None:
            raise EvidenceError(f"evidence package {package_id} was purged on {pkg.purged_at}")
        plain = cipher.open(pkg.payload, _context(pkg.digest))
        if hashlib.sha256(plain).hexdigest() != pkg.digest:
            raise EvidenceError(f"evidence package {package_id} does not match its digest")
        repo.add_custody(s, package_id, actor, "open", reason, pkg.digest, {})
    return from_json(json.loads(plain))


def place_hold(factory: sessionmaker[Session], package_id: int, actor: str, reason: str) -> int:
    if not reason.strip():
        raise EvidenceError("a legal hold needs a reason (e.g. the preservation request's reference)")
    with factory() as s, s.begin():
        pkg = _get(s, package_id)
        hold = LegalHold(package_id=package_id, reason=reason[:512], placed_by=actor[:128])
        s.add(hold)
        s.flush()
        repo.add_custody(s, package_id, actor, "hold", reason, pkg.digest, {"hold": hold.id})
        hold_id = hold.id
        audit.append_in(s, actor, "evidence.hold", f"evidence:{package_id}", {"hold": hold_id, "reason": reason[:512]})
    return hold_id


def release_hold(factory: sessionmaker[Session], hold_id: int, actor: str, reason: str) -> None:
    with factory() as s, s.begin():
        hold = s.get(LegalHold, hold_id)
        if hold is None or hold.released_at is not None:
            raise EvidenceError(f"no active legal hold {hold_id}")
        hold.released_at, hold.released_by = utcnow(), actor[:128]
        pkg = _get(s, hold.package_id)
        repo.add_custody(s, pkg.id, actor, "release", reason, pkg.digest, {"hold": hold_id})
        audit.append_in(s, actor, "evidence.release", f"evidence:{pkg.id}", {"hold": hold_id, "reason": reason[:512]})


def purge_expired(
    factory: sessionmaker[Session],
    actor: str = "system",
    now: datetime | None = None,
    policy: RetentionPolicy | None = None,
) -> PurgeResult:
    """With `policy` (the operator's current retention), a package also waits out its retention under
    that policy: lengthening retention protects evidence already sealed, shortening never cuts it."""
    now = now or utcnow()
    purged: list[dict[str, Any]] = []
    held: list[int] = []
    with factory() as s, s.begin():
        for pkg in repo.expired(s, now):
            if policy is not None and _aware(pkg.created_at) + timedelta(days=policy.days(pkg.jurisdiction)) > now:
                continue
            if repo.active_holds(s, pkg.id) or repo.case_on_hold(s, pkg.case_ref):
                held.append(pkg.id)
                continue
            pkg.payload, pkg.purged_at = None, now
            repo.add_custody(
                s, pkg.id, actor, "purge", "retention period ended", pkg.digest, {"expires_at": _iso(pkg.expires_at)}
            )
            purged.append({"package": pkg.id, "case": pkg.case_ref, "digest": pkg.digest})
        seq = None
        if purged or held:
            detail = {"purged": purged, "held": held, "at": now.isoformat()}
            seq = audit.append_in(s, actor, "evidence.purge", "evidence", detail)
    return PurgeResult([p["package"] for p in purged], held, seq)


def custody_log(factory: sessionmaker[Session], package_id: int) -> list[dict[str, Any]]:
    with factory() as s:
        _get(s, package_id)
        return [
            {
                "seq": c.seq,
                "at": c.at,
                "actor": c.actor,
                "action": c.action,
                "reason": c.reason,
                "digest": c.digest,
                "detail": c.detail,
                "hash": c.hash,
            }
            for c in repo.custody(s, package_id)
        ]


def verify_custody(factory: sessionmaker[Session], package_id: int) -> bool:
    prev = repo.GENESIS
    with factory() as s:
        for c in repo.custody(s, package_id):
            if c.prev_hash != prev or repo.custody_hash(c) != c.hash:
                return False
            prev = c.hash
    return True


def _get(s: Session, package_id: int) -> EvidencePackage:
    pkg = repo.package(s, package_id)
    if pkg is None:
        raise EvidenceError(f"no evidence package {package_id}")
    return pkg


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _iso(t: datetime) -> str:
    return _aware(t).isoformat()
