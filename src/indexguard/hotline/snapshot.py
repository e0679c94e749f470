"""`CaseSnapshot`: everything the site holds about one confirmed item, as plain data.

It is what evidence packages preserve and what every hotline report is built from, so the report
builders never touch the database. Images appear only as hashes unless the operator turned on
encrypted image preservation, in which case `EvidenceFile.data` carries the bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from indexguard.errors import ParseError

KINDS = ("torrent", "magnet", "nzb", "url")
FILE_ROLES = ("torrent", "nzb", "image")
IP_EVENTS = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")


def utc(t: datetime) -> datetime:
    """Naive datetimes are UTC (SQLite hands them back naive)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _time(v: Any) -> datetime | None:
    if v is None:
        return None
    try:
        return utc(datetime.fromisoformat(str(v)))
    except ValueError:
        raise ParseError("snapshot", f"bad timestamp {str(v)[:40]!r}") from None


def _iso(t: datetime | None) -> str | None:
    return None if t is None else utc(t).isoformat()


@dataclass(frozen=True)
class IpEvent:
    """An address the site saw for the uploader, as the site supplied it through the API."""

    ip: str
    event: str = "Upload"  # one of IP_EVENTS
    at: datetime | None = None
    port: int | None = None


@dataclass(frozen=True)
class Uploader:
    account: str | None = None
    display_name: str | None = None
    profile_url: str | None = None
    ip_events: tuple[IpEvent, ...] = ()


@dataclass(frozen=True)
class TrailEntry:
    """One step of the decision trail: screening decisions and moderator actions (never term text)."""

    at: datetime
    actor: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RevealRecord:
    """An audit-logged reveal: a person looked at something normally hidden (an image, a file)."""

    at: datetime
    actor: str
    target: str  # what was revealed: an image's sha256, "item:<id>" or a file name
    reason: str = ""


@dataclass(frozen=True)
class EvidenceFile:
    """A file the site holds: .torrent / .nzb bytes (metadata), or an image (hashes; bytes only when
    encrypted image preservation is on)."""

    name: str
    role: str  # one of FILE_ROLES
    sha256: str
    md5: str = ""
    sha1: str = ""
    pdq: str = ""
    size: int = 0
    data: bytes | None = None
    uploaded_at: datetime | None = None


@dataclass(frozen=True)
class CaseSnapshot:
    case_id: str
    item_id: str
    kind: str  # one of KINDS
    category: str = "csam"
    title: str = ""
    description: str = ""
    listing_url: str | None = None  # the item's page on the site itself
    urls: tuple[str, ...] = ()  # outbound links (for kind "url": the reported links)
    magnet: str | None = None
    infohashes: tuple[str, ...] = ()
    file_names: tuple[str, ...] = ()  # names inside the torrent / subjects inside the NZB
    newsgroups: tuple[str, ...] = ()
    nzb_id: str | None = None  # the indexer's id of the NZB (or its sha256)
    poster: str | None = None  # NZB poster header as the file states it
    identities: tuple[tuple[str, str], ...] = ()
    files: tuple[EvidenceFile, ...] = ()
    uploader: Uploader | None = None
    listed_at: datetime | None = None
    reported_at: datetime | None = None
    hidden_at: datetime | None = None
    removed_at: datetime | None = None
    confirmed_at: datetime | None = None
    trail: tuple[TrailEntry, ...] = ()
    reveals: tuple[RevealRecord, ...] = ()
    jurisdiction: str = "US"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParseError("snapshot", f"unknown item kind {self.kind!r} (expected one of {', '.join(KINDS)})")

    def incident_time(self) -> datetime:
        """When the incident happened as far as the site knows: the upload, else the earliest record."""
        for t in (self.listed_at, self.reported_at, self.confirmed_at):
            if t is not None:
                return utc(t)
        return min((utc(e.at) for e in self.trail), default=datetime(1970, 1, 1, tzinfo=UTC))

    def without_image_bytes(self) -> CaseSnapshot:
        files = tuple(f if f.role != "image" else replace(f, data=None) for f in self.files)
        return replace(self, files=files)


def to_json(s: CaseSnapshot) -> dict[str, Any]:
    """A JSON-ready form; file bytes are base64."""
    return {
        "case_id": s.case_id,
        "item_id": s.item_id,
        "kind": s.kind,
        "category": s.category,
        "title": s.title,
        "description": s.description,
        "listing_url": s.listing_url,
        "urls": list(s.urls),
        "magnet": s.magnet,
        "infohashes": list(s.infohashes),
        "file_names": list(s.file_names),
        "newsgroups": list(s.newsgroups),
        "nzb_id": s.nzb_id,
        "poster": s.poster,
        "identities": [list(i) for i in s.identities],
        "files": [
            {
                "name": f.name,
                "role": f.role,
                "sha256": f.sha256,
                "md5": f.md5,
                "sha1": f.sha1,
                "pdq": f.pdq,
                "size": f.size,
                "data": None if f.data is None else base64.b64encode(f.data).decode("ascii"),
                "uploaded_at": _iso(f.uploaded_at),
            }
            for f in s.files
        ],
        "uploader": None
        if s.uploader is None
        else {
            "account": s.uploader.account,
            "display_name": s.uploader.display_name,
            "profile_url": s.uploader.profile_url,
            "ip_events": [
                {"ip": e.ip, "event": e.event, "at": _iso(e.at), "port": e.port} for e in s.uploader.ip_events
            ],
        },
        "listed_at": _iso(s.listed_at),
        "reported_at": _iso(s.reported_at),
        "hidden_at": _iso(s.hidden_at),
        "removed_at": _iso(s.removed_at),
        "confirmed_at": _iso(s.confirmed_at),
        "trail": [{"at": _iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail} for e in s.trail],
        "reveals": [{"at": _iso(r.at), "actor": r.actor, "target": r.target, "reason": r.reason} for r in s.reveals],
        "jurisdiction": s.jurisdiction,
    }


def from_json(d: dict[str, Any]) -> CaseSnapshot:
    try:
        return _from_json(d)
    except (KeyError, TypeError, ValueError) as e:
        raise ParseError("snapshot", f"malformed stored snapshot ({type(e).__name__}: {e})") from None


def _from_json(d: dict[str, Any]) -> CaseSnapshot:
    up = d.get("uploader")
    uploader = None
    if up is not None:
        uploader = Uploader(
            account=up.get("account"),
            display_name=up.get("display_name"),
            profile_url=up.get("profile_url"),
            ip_events=tuple(
                IpEvent(str(e["ip"]), str(e.get("event") or "Unknown"), _time(e.get("at")), e.get("port"))
                for e in up.get("ip_events", [])
            ),
        )
    files = tuple(
        EvidenceFile(
            name=str(f["name"]),
            role=str(f["role"]),
            sha256=str(f["sha256"]),
            md5=str(f.get("md5", "")),
            sha1=str(f.get("sha1", "")),
            pdq=str(f.get("pdq", "")),
            size=int(f.get("size", 0)),
            data=None if f.get("data") is None else base64.b64decode(f["data"]),
            uploaded_at=_time(f.get("uploaded_at")),
        )
        for f in d.get("files", [])
    )
    return CaseSnapshot(
        case_id=str(d["case_id"]),
        item_id=str(d["item_id"]),
        kind=str(d["kind"]),
        category=str(d.get("category", "csam")),
        title=str(d.get("title", "")),
        description=str(d.get("description", "")),
        listing_url=d.get("listing_url"),
        urls=tuple(d.get("urls", [])),
        magnet=d.get("magnet"),
        infohashes=tuple(d.get("infohashes", [])),
        file_names=tuple(d.get("file_names", [])),
        newsgroups=tuple(d.get("newsgroups", [])),
        nzb_id=d.get("nzb_id"),
        poster=d.get("poster"),
        identities=tuple((str(k), str(v)) for k, v in d.get("identities", [])),
        files=files,
        uploader=uploader,
        listed_at=_time(d.get("listed_at")),
        reported_at=_time(d.get("reported_at")),
        hidden_at=_time(d.get("hidden_at")),
        removed_at=_time(d.get("removed_at")),
        confirmed_at=_time(d.get("confirmed_at")),
        trail=tuple(
            TrailEntry(
                _time(e["at"]) or datetime(1970, 1, 1, tzinfo=UTC),
                str(e["actor"]),
                str(e["action"]),
                dict(e.get("detail") or {}),
            )
            for e in d.get("trail", [])
        ),
        reveals=tuple(
            RevealRecord(
                _time(r["at"]) or datetime(1970, 1, 1, tzinfo=UTC),
                str(r["actor"]),
                str(r["target"]),
                str(r.get("reason", "")),
            )
            for r in d.get("reveals", [])
        ),
        jurisdiction=str(d.get("jurisdiction", "US")),
    )
