"""Placeholder cases of each kind (torrent, magnet, NZB, web link) for the first-start demo and tests.

Everything is made up: pseudo-word names, documentation IP ranges (RFC 5737), example domains
(RFC 2606) and hashes of the placeholder bytes themselves.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from indexguard.hotline.snapshot import CaseSnapshot, EvidenceFile, IpEvent, RevealRecord, TrailEntry, Uploader

BASE_TIME = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _bencode(v: object) -> bytes:
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, str):
        return _bencode(v.encode())
    if isinstance(v, list):
        return b"l" + b"".join(_bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(_bencode(k) + _bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v).__name__)


def placeholder_torrent(name: str, files: list[str]) -> tuple[bytes, str]:
    """A small valid v1 .torrent (metadata only) and its infohash."""
    info = {
        "name": name,
        "piece length": 16384,
        "pieces": hashlib.sha1(name.encode()).digest(),
        "files": [{"length": 1000 + i, "path": [f]} for i, f in enumerate(files)],
    }
    data = _bencode({"announce": "udp://tracker.example.org:1337/announce", "info": info})
    return data, hashlib.sha1(_bencode(info)).hexdigest()


def placeholder_nzb(poster: str, group: str, subjects: list[str]) -> bytes:
    files = "".join(
        f'<file poster="{poster}" date="1736150400" subject="{s}"><groups><group>{group}</group></groups>'
        f'<segments><segment bytes="1000" number="1">{hashlib.md5(s.encode()).hexdigest()}@news.example.net'
        "</segment></segments></file>"
        for s in subjects
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<nzb xmlns="http://www.newzbin.com/DTD/2003/nzb">' + files + "</nzb>\n"
    ).encode()


def _file(name: str, role: str, data: bytes, at: datetime) -> EvidenceFile:
    return EvidenceFile(
        name=name,
        role=role,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        size=len(data),
        data=data,
        uploaded_at=at,
    )


def _trail(t: datetime, entry: str) -> tuple[TrailEntry, ...]:
    return (
        TrailEntry(t, "screen", "decision", {"list": "demo", "entry": entry, "category": "csam", "action": "review"}),
        TrailEntry(t + timedelta(minutes=2), "system", "item.hidden", {"state": "hidden"}),
        TrailEntry(t + timedelta(minutes=30), "moderator-demo", "case.confirm", {"state": "removed"}),
    )


def demo_snapshots() -> list[CaseSnapshot]:
    out = []
    t0 = BASE_TIME
    for i, (name, files) in enumerate(
        [("bizu-husinjopuk", ["bizu-01.bin", "bizu-02.bin"]), ("zorblat-quemtis", ["zorblat.bin"])]
    ):
        t = t0 + timedelta(hours=i)
        data, infohash = placeholder_torrent(name, files)
        image = hashlib.sha256(f"thumb-{name}".encode()).hexdigest()
        out.append(
            CaseSnapshot(
                case_id=f"demo-torrent-{i + 1}",
                item_id=f"demo-t{i + 1}",
                kind="torrent",
                title=f"{name} placeholder",
                listing_url=f"https://index.example.com/torrent/{i + 1}",
                infohashes=(infohash,),
                file_names=tuple(files),
                identities=(("infohash", infohash),),
                files=(
                    _file(f"{name}.torrent", "torrent", data, t),
                    EvidenceFile(name="thumbnail.jpg", role="image", sha256=image, pdq="f" * 64, uploaded_at=t),
                ),
                uploader=Uploader(
                    account=f"uploader-{i + 1}",
                    profile_url=f"https://index.example.com/user/uploader-{i + 1}",
                    ip_events=(IpEvent("192.0.2.10", "Upload", t, 51413), IpEvent("2001:db8::7", "Login", t)),
                ),
                listed_at=t,
                hidden_at=t + timedelta(minutes=2),
                removed_at=t + timedelta(minutes=30),
                confirmed_at=t + timedelta(minutes=30),
                trail=_trail(t, f"demo:{i + 1}"),
                reveals=(RevealRecord(t + timedelta(minutes=20), "moderator-demo", image, "confirm the match"),)
                if i == 0
                else (),
            )
        )
    for i in range(2):
        t = t0 + timedelta(hours=3 + i)
        infohash = hashlib.sha1(f"magnet-{i}".encode()).hexdigest()
        out.append(
            CaseSnapshot(
                case_id=f"demo-magnet-{i + 1}",
                item_id=f"demo-m{i + 1}",
                kind="magnet",
                title=f"quemtis-vorpal {i + 1}",
                listing_url=f"https://index.example.com/magnet/{i + 1}",
                magnet=f"magnet:?xt=urn:btih:{infohash}&dn=quemtis-vorpal-{i + 1}",
                infohashes=(infohash,),
                identities=(("infohash", infohash),),
                uploader=Uploader(account=f"magnet-poster-{i + 1}", ip_events=(IpEvent("198.51.100.23", "Upload", t),)),
                listed_at=t,
                reported_at=t + timedelta(minutes=5),
                hidden_at=t + timedelta(minutes=9),
                confirmed_at=t + timedelta(hours=1),
                removed_at=t + timedelta(hours=1),
                trail=_trail(t, f"demo:{i + 3}"),
            )
        )
    for i in range(2):
        t = t0 + timedelta(hours=6 + i)
        subjects = [f"husinjopuk part {n} of 2" for n in (1, 2)]
        group = "alt.binaries.example.bizu"
        data = placeholder_nzb("poster@example.net", group, subjects)
        out.append(
            CaseSnapshot(
                case_id=f"demo-nzb-{i + 1}",
                item_id=f"demo-n{i + 1}",
                kind="nzb",
                title=f"husinjopuk release {i + 1}",
                listing_url=f"https://nzb.example.com/details/{i + 1}",
                file_names=tuple(subjects),
                newsgroups=(group,),
                nzb_id=f"nzb-{i + 1}",
                poster="poster@example.net",
                identities=(("sha256", hashlib.sha256(data).hexdigest()),),
                files=(_file(f"husinjopuk-{i + 1}.nzb", "nzb", data, t),),
                uploader=Uploader(account=f"nzb-user-{i + 1}", ip_events=(IpEvent("203.0.113.5", "Upload", t),)),
                listed_at=t,
                hidden_at=t,
                removed_at=t + timedelta(minutes=45),
                confirmed_at=t + timedelta(minutes=45),
                trail=_trail(t, f"demo:{i + 5}"),
            )
        )
    for i in range(2):
        t = t0 + timedelta(hours=9 + i)
        out.append(
            CaseSnapshot(
                case_id=f"demo-url-{i + 1}",
                item_id=f"demo-u{i + 1}",
                kind="url",
                title=f"vorpal link {i + 1}",
                listing_url=f"https://links.example.com/entry/{i + 1}",
                urls=(f"https://files.example.net/bizu/{i + 1}", f"https://host.example.org/z/{i + 1}.html"),
                identities=(("url", f"https://files.example.net/bizu/{i + 1}"),),
                uploader=Uploader(account=f"link-user-{i + 1}", ip_events=(IpEvent("192.0.2.99", "Upload", t),)),
                listed_at=t,
                reported_at=t + timedelta(minutes=1),
                hidden_at=t + timedelta(minutes=3),
                removed_at=t + timedelta(minutes=20),
                confirmed_at=t + timedelta(minutes=20),
                trail=_trail(t, f"demo:{i + 7}"),
            )
        )
    return out
