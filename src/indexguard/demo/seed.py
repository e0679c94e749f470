"""First-start demo: a few cases of each kind (torrent, magnet, NZB, web link) from placeholder data,
each confirmed and removed, with its evidence package, so a newcomer sees a populated console and
can export a report at once (`indexguard hotline ncmec-xml --case ID`)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import private_urls, service
from indexguard.cases.meta import CaseMeta, MetaField
from indexguard.crypto import Cipher
from indexguard.demo.hotline_data import demo_snapshots
from indexguard.hotline import evidence
from indexguard.hotline.snapshot import CaseSnapshot
from indexguard.store.models import Case

ACTOR = "demo-seed"


def _meta(snap: CaseSnapshot) -> CaseMeta:
    fields = [("title", snap.title), ("listing_url", snap.listing_url or "")]
    if snap.magnet:
        fields.append(("magnet", snap.magnet))
    fields += [(f"files[{i}]", n) for i, n in enumerate(snap.file_names)]
    fields += [(f"groups[{i}]", g) for i, g in enumerate(snap.newsgroups)]
    if snap.nzb_id:
        fields.append(("nzb_id", snap.nzb_id))
    if snap.poster:
        fields.append(("poster", snap.poster))
    ids: dict[str, list[str]] = {}
    for k, v in snap.identities:
        ids.setdefault(k, []).append(v)
    uploader: dict[str, str] = {}
    if snap.uploader is not None:
        uploader["uploader_id"] = snap.uploader.account or ""
        uploader["uploader_facts.ip"] = ",".join(e.ip for e in snap.uploader.ip_events)
    return CaseMeta(
        kind=snap.kind,
        fields=tuple(MetaField(n, t) for n, t in fields if t),
        urls=tuple(MetaField(f"urls[{i}]", u) for i, u in enumerate(snap.urls)),
        identities={k: tuple(v) for k, v in ids.items()},
        uploader=uploader,
    )


def seed_demo_cases(
    factory: sessionmaker[Session],
    cipher: Cipher,
    policy: evidence.RetentionPolicy | None = None,
    preserve_images: bool = False,
) -> list[int]:
    """Only into an empty case table; returns the new case ids (empty when cases already exist).
    Evidence is sealed under the operator's retention `policy` and image-preservation setting."""
    with factory() as s:
        if int(s.scalar(select(func.count()).select_from(Case)) or 0) > 0:
            return []
    ids: list[int] = []
    for i, snap in enumerate(demo_snapshots()):
        with factory() as s, s.begin():
            sig = service.Signal(
                item_id=snap.item_id, kind=snap.kind, source="screen", severity="review", category=snap.category,
                confidence=0.8, reporter="screen", reasons=[{"list": "demo", "entry": f"demo:{i + 1}",
                                                              "category": snap.category}],
                meta=private_urls.UrlKeys(cipher).meta(_meta(snap)),
            )  # fmt: skip
            case, fx = service.open_or_join(s, sig)
            fx.add(service.act(s, case.id, "remove", ACTOR))
            if i % 2 == 0:
                fx.add(service.act(s, case.id, "escalate", ACTOR))
            case_id = case.id
            service.audit_in(s, fx)
        service.emit(factory, fx)
        evidence.preserve(
            factory, cipher, replace(snap, case_id=str(case_id)), ACTOR, "demo case confirmed",
            policy=policy, preserve_images=preserve_images,
        )  # fmt: skip
        ids.append(case_id)
    return ids
