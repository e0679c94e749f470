"""`snapshot_from_case`: a CaseSnapshot from the case workflow's tables (issue 6).

What the case store holds is masked metadata (list matches replaced, never list text), identities,
uploader facts the site supplied, signals with their reasons, the case history, sealed thumbnails and
reveal records. URLs are sealed in the case (indexguard.cases.private_urls): they are opened here with
the key, and left out without it. Thumbnails become image entries with their SHA-256 (bytes only when the operator
enabled encrypted image preservation); every *granted* reveal becomes a reveal record of that image.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexguard.cases.meta import CaseMeta
from indexguard.cases.private_urls import full_fields, full_urls
from indexguard.crypto import Cipher
from indexguard.hotline.snapshot import KINDS, CaseSnapshot, EvidenceFile, IpEvent, RevealRecord, TrailEntry, Uploader
from indexguard.store.models import Case, CaseEvent, CaseMedia, CaseSignal
from indexguard.store.models import RevealRecord as CaseReveal

_KIND = {"listing": "url", "url": "url", "link": "url", "torrent": "torrent", "magnet": "magnet", "nzb": "nzb"}
_IP_KEYS = ("ip", "ips", "ip_address", "upload_ip", "login_ip")


def snapshot_from_case(
    s: Session, case_id: int, cipher: Cipher | None = None, preserve_images: bool = False
) -> CaseSnapshot:
    c = s.get(Case, case_id)
    if c is None:
        from indexguard.hotline.evidence import EvidenceError

        raise EvidenceError(f"no case {case_id}")
    meta = CaseMeta.from_json(c.meta)
    fields = full_fields(meta, cipher)  # sealed URLs opened: a hotline needs the exact address
    urls = full_urls(meta, cipher)
    ids = meta.identities
    kind = _KIND.get(c.kind, "magnet" if fields.get("magnet") else ("url" if urls else "torrent"))
    media = s.scalars(select(CaseMedia).where(CaseMedia.case_id == c.id).order_by(CaseMedia.id)).all()
    reveals = s.scalars(select(CaseReveal).where(CaseReveal.case_id == c.id, CaseReveal.granted.is_(True))).all()
    by_media = {m.id: m.sha256 for m in media}
    return CaseSnapshot(
        case_id=str(c.id),
        item_id=c.item_id,
        kind=kind if kind in KINDS else "url",
        category=c.category,
        title=fields.get("title", ""),
        description=fields.get("description", ""),
        listing_url=fields.get("listing_url") or fields.get("page_url") or None,
        urls=urls,
        magnet=fields.get("magnet") or None,
        infohashes=meta.infohashes(),
        file_names=tuple(v for k, v in fields.items() if k.startswith(("files", "file", "path")))[:500],
        newsgroups=tuple(v for k, v in fields.items() if k.startswith(("groups", "group")))[:50],
        nzb_id=fields.get("nzb_id") or None,
        poster=fields.get("poster") or None,
        identities=tuple((k, v) for k, vs in ids.items() for v in vs),
        files=tuple(_image(m, cipher, preserve_images) for m in media),
        uploader=_uploader(dict(meta.uploader), c.opened_at),
        listed_at=c.opened_at,
        reported_at=_first_report(s, c.id),
        hidden_at=c.hidden_at,
        removed_at=c.removed_at,
        confirmed_at=c.decided_at if c.status == "confirmed" else None,
        trail=_trail(s, c.id),
        reveals=tuple(
            RevealRecord(r.at, r.actor, by_media.get(r.media_id or -1, f"case:{c.id}"), r.reason) for r in reveals
        ),
    )


def _image(m: CaseMedia, cipher: Cipher | None, preserve: bool) -> EvidenceFile:
    data = None
    if preserve and cipher is not None:
        data = cipher.open(m.sealed, f"case-media:{m.case_id}".encode())
    return EvidenceFile(
        name=f"thumbnail-{m.id}", role="image", sha256=m.sha256, size=m.size, data=data, uploaded_at=m.created_at
    )


def _uploader(u: dict[str, Any], at: datetime) -> Uploader | None:
    if not u:
        return None
    account = u.get("uploader_id") or u.get("uploader") or u.get("uploader.id")
    ips: list[IpEvent] = []
    for k, v in u.items():
        if k.split(".")[-1] in _IP_KEYS and v and v != "[withheld: matched a list]":
            ips.extend(
                IpEvent(ip.strip(), "Upload", at) for ip in str(v).strip("[]").replace("'", "").split(",") if ip.strip()
            )
    return Uploader(
        account=str(account) if account else None,
        display_name=u.get("uploader_name") or u.get("uploader.name"),
        ip_events=tuple(ips[:50]),
    )


def _first_report(s: Session, case_id: int) -> datetime | None:
    q = select(CaseSignal.at).where(CaseSignal.case_id == case_id, CaseSignal.source.in_(("report", "trusted")))
    return s.scalars(q.order_by(CaseSignal.at)).first()


def _trail(s: Session, case_id: int) -> tuple[TrailEntry, ...]:
    out: list[TrailEntry] = []
    for sig in s.scalars(select(CaseSignal).where(CaseSignal.case_id == case_id).order_by(CaseSignal.at)):
        for r in sig.reasons[:20] or [{}]:
            detail: dict[str, Any] = {k: r[k] for k in ("list", "list_version", "entry", "category") if k in r}
            out.append(TrailEntry(sig.at, sig.reporter, f"signal.{sig.source}", {**detail, "action": sig.severity}))
    for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at)):
        kept: dict[str, Any] = {k: v for k, v in (e.detail or {}).items() if k in ("state", "reason", "source")}
        out.append(TrailEntry(e.at, e.actor, f"case.{e.action}", kept))
    return tuple(sorted(out, key=lambda t: t.at.isoformat())[:500])
