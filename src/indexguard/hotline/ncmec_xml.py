"""NCMEC CyberTipline report XML for link and search sites.

One `<report>` per case, elements in the order the schema's sequences require:

- web links (kind `url`): a `webPageIncident` with `thirdPartyHostedContent="true"` listing the
  reported links - the content sits on someone else's server, the site only indexed the link;
- torrents and magnets: a `peer2peerIncident` (client "BitTorrent", file names, infohashes, magnet);
- NZBs: a `newsgroupIncident` per newsgroup (subjects and poster as the NZB states them);
- the item's own listing page on the site, when known, as a `webPageIncident` without the
  third-party flag.

`fileViewedByEsp` (file details) and the "viewed" statements for images kept only as hashes come
from the reveal records in the snapshot, which come from the audit log: true only when a person
revealed that very file. Nothing here reads ../shared: the schema is used by the tests only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from indexguard.hotline.snapshot import CaseSnapshot, EvidenceFile, IpEvent, utc

INCIDENT_TYPE = "Child Pornography (possession, manufacture, and distribution)"
MAX_TEXT = 20_000  # a report field never needs more; keeps a hostile listing from bloating the report
MAX_LIST = 500
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_IP_EVENTS = {"Login", "Registration", "Purchase", "Upload", "Other", "Unknown"}


@dataclass(frozen=True)
class ReporterInfo:
    """Who files the report: the site operator's reporting person and company text."""

    first_name: str = "Example"
    last_name: str = "Operator"
    email: str = "abuse@example.org"
    platform: str = "indexguard demo site"
    company_template: str = ""
    terms_of_service: str = ""
    legal_url: str = ""


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Drop characters XML 1.0 cannot carry; bound the length."""
    return _XML_INVALID.sub("", text)[:limit]


def dt(t: datetime) -> str:
    return utc(t).isoformat()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = clean(text)
    return el


def file_viewed(snap: CaseSnapshot, f: EvidenceFile) -> bool:
    """True only when the audit log holds a reveal of this file (by digest or name)."""
    targets = {f.sha256, f"sha256:{f.sha256}", f"file:{f.sha256}", f"file:{f.name}"}
    return any(r.target in targets for r in snap.reveals)


def build_report(snap: CaseSnapshot, reporter: ReporterInfo) -> bytes:
    root = ET.Element("report")
    _incident_summary(root, snap, reporter)
    for incident in _incidents(snap):
        ET.SubElement(root, "internetDetails").append(incident)
    _reporter(root, reporter)
    if snap.uploader is not None:
        _reported_user(root, snap, reporter)
    _sub(root, "additionalInfo", _summary_text(snap))
    return _serialize(root)


def build_file_details(snap: CaseSnapshot, f: EvidenceFile, report_id: int, file_id: str) -> bytes:
    root = ET.Element("fileDetails")
    _sub(root, "reportId", str(report_id))
    _sub(root, "fileId", clean(file_id, 200).strip())
    _sub(root, "fileName", f.name)
    _sub(root, "originalFileName", f.name)
    if f.uploaded_at is not None:
        _sub(root, "uploadedToEspTimestamp", dt(f.uploaded_at))
    if snap.listing_url:
        _sub(root, "locationOfFile", snap.listing_url)
    _sub(root, "fileViewedByEsp", "true" if file_viewed(snap, f) else "false")
    if f.role == "image":
        _sub(root, "exifViewedByEsp", "false")  # the service hashes images, it never reads their metadata
    _sub(root, "fileRelevance", "Reported" if f.role == "image" else "Supplemental Reported")
    for kind, value in (("MD5", f.md5), ("SHA1", f.sha1), ("SHA256", f.sha256)):
        if value:
            _sub(root, "originalFileHash", value, hashType=kind)
    if f.pdq:
        details = _sub(root, "details", type="HASH")
        pair = _sub(details, "nameValuePair")
        _sub(pair, "name", "PDQ")
        _sub(pair, "value", f.pdq)
    if f.role != "image":
        _sub(root, "additionalInfo", f"{f.role} file (metadata only) as held by the site; size {f.size} bytes")
    return _serialize(root)


def _serialize(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _incident_summary(root: ET.Element, snap: CaseSnapshot, reporter: ReporterInfo) -> None:
    s = _sub(root, "incidentSummary")
    _sub(s, "incidentType", INCIDENT_TYPE)
    if reporter.platform:
        _sub(s, "platform", reporter.platform)
    _sub(s, "incidentDateTime", dt(snap.incident_time()))
    what = "time the listing was uploaded to the site" if snap.listed_at else "earliest time recorded by the site"
    _sub(s, "incidentDateTimeDescription", what)


def _incidents(snap: CaseSnapshot) -> list[ET.Element]:
    out: list[ET.Element] = []
    if snap.kind == "url":
        out.append(_web_page(snap.urls or ((snap.listing_url,) if snap.listing_url else ()), True, _links_info(snap)))
    elif snap.kind in ("torrent", "magnet"):
        out.append(_peer2peer(snap))
    else:
        out.extend(_newsgroups(snap))
    if snap.listing_url and (snap.kind != "url" or snap.urls):
        out.append(_web_page((snap.listing_url,), False, "the listing's page on the reporting site"))
    return out


def _web_page(urls: Iterable[str], third_party: bool, info: str) -> ET.Element:
    el = ET.Element("webPageIncident", {"thirdPartyHostedContent": "true" if third_party else "false"})
    for u in list(urls)[:MAX_LIST]:
        _sub(el, "url", u)
    if info:
        _sub(el, "additionalInfo", info)
    return el


def _links_info(snap: CaseSnapshot) -> str:
    return (
        "Links listed on the reporting site pointing to content hosted by third parties. "
        "The reporting site never fetched or viewed the linked content."
    )


def _peer2peer(snap: CaseSnapshot) -> ET.Element:
    el = ET.Element("peer2peerIncident")
    _sub(el, "client", "BitTorrent")
    if snap.uploader is not None:
        for e in snap.uploader.ip_events[:MAX_LIST]:
            _ip_event(el, e)
    if snap.file_names:
        _sub(el, "fileNames", "\n".join(snap.file_names[:MAX_LIST]))
    lines = [f"infohash: {h}" for h in snap.infohashes[:MAX_LIST]]
    if snap.magnet:
        lines.append(f"magnet: {snap.magnet}")
    if snap.title:
        lines.append(f"listing title: {snap.title}")
    lines.append("The reporting site indexes torrent metadata only; it never downloaded the content.")
    _sub(el, "additionalInfo", "\n".join(lines))
    return el


def _newsgroups(snap: CaseSnapshot) -> list[ET.Element]:
    groups = list(snap.newsgroups[:MAX_LIST]) or [""]
    out = []
    for g in groups:
        el = ET.Element("newsgroupIncident")
        if g:
            _sub(el, "name", g)
        headers = []
        if snap.poster:
            headers.append(f"From: {snap.poster}")
        headers.extend(f"Subject: {n}" for n in snap.file_names[:MAX_LIST])
        if headers:
            _sub(el, "content", "\n".join(headers))
        lines = []
        if snap.nzb_id:
            lines.append(f"NZB id: {snap.nzb_id}")
        if snap.title:
            lines.append(f"listing title: {snap.title}")
        lines.append("From an NZB index listing; the reporting site never downloaded the articles.")
        _sub(el, "additionalInfo", "\n".join(lines))
        out.append(el)
    return out


def _ip_event(parent: ET.Element, e: IpEvent) -> None:
    el = _sub(parent, "ipCaptureEvent")
    _sub(el, "ipAddress", e.ip)
    _sub(el, "eventName", e.event if e.event in _IP_EVENTS else "Unknown")
    if e.at is not None:
        _sub(el, "dateTime", dt(e.at))
    if e.port is not None and 0 <= e.port <= 65535:
        _sub(el, "port", str(e.port))


def _reporter(root: ET.Element, r: ReporterInfo) -> None:
    el = _sub(root, "reporter")
    person = _sub(el, "reportingPerson")
    if r.first_name:
        _sub(person, "firstName", r.first_name)
    if r.last_name:
        _sub(person, "lastName", r.last_name)
    if r.email:
        _sub(person, "email", r.email)
    if r.company_template:
        _sub(el, "companyTemplate", r.company_template)
    if r.terms_of_service:
        _sub(el, "termsOfService", r.terms_of_service)
    if r.legal_url:
        _sub(el, "legalURL", r.legal_url)


def _reported_user(root: ET.Element, snap: CaseSnapshot, reporter: ReporterInfo) -> None:
    u = snap.uploader
    assert u is not None
    el = _sub(root, "personOrUserReported")
    if u.account:
        _sub(el, "espIdentifier", u.account)
    if reporter.platform:
        _sub(el, "espService", reporter.platform)
    if u.account:
        _sub(el, "screenName", u.account)
    if u.display_name:
        _sub(el, "displayName", u.display_name)
    if u.profile_url:
        _sub(el, "profileUrl", u.profile_url)
    for e in u.ip_events[:MAX_LIST]:
        _ip_event(el, e)


def _summary_text(snap: CaseSnapshot) -> str:
    """Case reference, timeline, matches (list, version, entry id, category - never list text), images."""
    lines = [f"Case {snap.case_id}, item {snap.item_id} ({snap.kind}), category {snap.category}."]
    for label, t in (
        ("reported to the site", snap.reported_at),
        ("hidden", snap.hidden_at),
        ("removed", snap.removed_at),
        ("confirmed by a moderator", snap.confirmed_at),
    ):
        if t is not None:
            lines.append(f"{label}: {dt(t)}")
    for e in snap.trail[:MAX_LIST]:
        lines.append(f"{dt(e.at)} {e.actor}: {e.action}{_trail_detail(e.detail)}")
    for f in snap.files:
        if f.role == "image" and f.data is None:
            seen = "revealed to a moderator" if file_viewed(snap, f) else "not viewed by any person at the site"
            digests = ", ".join(f"{k} {v}" for k, v in (("SHA256", f.sha256), ("MD5", f.md5), ("PDQ", f.pdq)) if v)
            lines.append(f"image kept as hashes only ({digests}); {seen}.")
    return "\n".join(lines)


def _trail_detail(d: dict[str, object]) -> str:
    keys = ("list", "list_version", "entry", "category", "action", "state", "reason")
    parts = [f"{k}={d[k]}" for k in keys if k in d and isinstance(d[k], str | int)]
    return f" ({', '.join(parts)})" if parts else ""
