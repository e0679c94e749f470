"""No page and no API response carries list text or an unrevealed image; reveals need the
child-safety lead, a reason, and are logged, refusals included."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from ig_service_helpers import TERMS, Env
from PIL import Image
from sqlalchemy import select

from indexguard.store.models import AuditEntry, Case, CaseMedia, RevealRecord

PLACEHOLDER_WORDS = ("bizu", "husinjopuk", "wexal", "tromp")  # the seeded terms' words, never shown


def _noise_png(seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def _clean(body: str, where: str, image: bytes) -> None:
    low = body.lower()
    for w in PLACEHOLDER_WORDS:
        assert w not in low, f"{where} shows list text {w!r}"
    b64 = base64.b64encode(image).decode()
    assert b64[:60] not in body and "data:image" not in body, f"{where} carries image bytes"


def _seed(e: Env, image: bytes) -> None:
    info = e.import_list("t", TERMS, activate=True)
    e.wait_live("t", str(info["version"]))
    listing = {
        "id": "L1", "title": "Bizu party", "description": "with husinjopuk inside",
        "files": ["x/Wexal_Tromp.mkv", "x/notes.txt"], "uploader": {"id": "u1", "name": "husinjopuk99"},
    }  # fmt: skip
    assert e.client.post("/v1/listings", json=listing, headers=e.auth("screen")).json()["action"] == "block"
    batch = {"items": [{"id": "B1", "title": "b.i.z.u 4k"}, {"id": "B2", "title": "fine"}]}
    assert e.client.post("/v1/batch", json=batch, headers=e.auth("screen")).status_code == 200
    assert e.svc.recorder.flush()
    r = e.client.post("/v1/reports", json={"item": "R1", "category": "advert", "comment": "it said bizu",
                                           "url": "https://example.org/husinjopuk"})  # fmt: skip
    _clean(r.text, "POST /v1/reports", image)
    prefix = e.keys["cases"].split("_")[1]
    e.client.put(f"/v1/admin/trusted-flaggers/{prefix}", headers=e.auth("admin"))
    thumb = base64.b64encode(image).decode()
    anonymous = e.client.post("/v1/reports", json={"item": "L1", "category": "csam", "thumbnail": thumb})
    assert anonymous.status_code == 403  # the public never uploads images
    r = e.client.post("/v1/reports", json={"item": "L1", "category": "csam", "thumbnail": thumb},
                      headers=e.auth("cases"))  # fmt: skip
    assert r.status_code == 201, r.text


def test_no_page_or_response_shows_terms_or_images(cenv_sqlite: Env) -> None:
    e = cenv_sqlite
    image = _noise_png()
    _seed(e, image)
    with e.svc.sessions() as s:
        ids = [c.id for c in s.scalars(select(Case))]
        assert {"L1", "B1", "R1"} <= {c.item_id for c in s.scalars(select(Case))}
    pages = ["/console", "/console?status=confirmed", "/console?status=dismissed", "/console/dashboard",
             "/v1/cases", "/v1/cases?status=", "/v1/cases-stats"]  # fmt: skip
    pages += [f"/console/cases/{i}" for i in ids] + [f"/v1/cases/{i}" for i in ids]
    seen_mask = False
    for role in ("moderator", "child_safety_lead", "admin"):
        c = e.login(role)
        for path in pages:
            r = c.get(path)
            assert r.status_code == 200, (role, path, r.status_code)
            _clean(r.text, f"{role} GET {path}", image)
            seen_mask = seen_mask or "█" in r.text
    assert seen_mask  # the matches were there, masked
    for path in ("/report", "/report?item=L1", "/blocked"):
        _clean(e.client.get(path).text, path, image)
    case_l1 = e.login("moderator").get("/v1/cases").json()["cases"]
    l1 = next(x for x in case_l1 if x["item"] == "L1")
    assert l1["meta"]["uploader"]["uploader.name"].startswith("██████████")  # screened like a title


def test_reveal_needs_lead_role_and_reason_and_is_logged(cenv_sqlite: Env) -> None:
    e = cenv_sqlite
    image = _noise_png(5)
    _seed(e, image)
    with e.svc.sessions() as s:
        m = s.scalars(select(CaseMedia)).one()
        case_id, media_id = m.case_id, m.id
        assert image not in m.sealed  # sealed at rest
    url = f"/v1/cases/{case_id}/media/{media_id}/reveal"
    mod = e.login("moderator")
    r = mod.post(url, json={"reason": "checking"})
    assert r.status_code == 403 and "logged" in r.text
    r = mod.post(f"/console/cases/{case_id}/media/{media_id}/reveal",
                 data={"reason": "checking", "csrf_token": mod.headers["X-CSRF-Token"]})  # fmt: skip
    assert r.status_code == 403
    _clean(r.text, "refused console reveal", image)
    assert e.client.post(url, json={"reason": "bot"}, headers=e.auth("cases")).status_code == 403  # keys never
    lead = e.login("child_safety_lead")
    assert lead.post(url, json={"reason": ""}).status_code == 422
    r = lead.post(url, json={"reason": "confirm before hotline report"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(r.content)).mode == "L"  # greyscale
    page = lead.post(f"/console/cases/{case_id}/media/{media_id}/reveal",
                     data={"reason": "second look", "csrf_token": lead.headers["X-CSRF-Token"]})  # fmt: skip
    assert page.status_code == 200 and "data:image/png;base64," in page.text
    with e.svc.sessions() as s:
        recs = [(x.role, x.granted) for x in s.scalars(select(RevealRecord).order_by(RevealRecord.id))]
        audit_rows = s.scalars(select(AuditEntry).where(AuditEntry.action.like("case.reveal%"))).all()
    assert recs == [("moderator", False), ("moderator", False), (None, False),
                    ("child_safety_lead", True), ("child_safety_lead", True)]  # fmt: skip
    refused = [a for a in audit_rows if a.action == "case.reveal_refused"]
    assert len(refused) == 3 and all(re.search("may not reveal", a.detail["why"]) for a in refused)
    assert [a.detail["reason"] for a in audit_rows if a.action == "case.reveal"] == [
        "confirm before hotline report", "second look"]  # fmt: skip
