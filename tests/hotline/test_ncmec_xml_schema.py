"""Report and file-details XML validate against NCMEC's schema: demo cases and random cases."""

from __future__ import annotations

import string
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema
from hotline_helpers import schema_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexguard.demo.hotline_data import demo_snapshots
from indexguard.hotline.ncmec_xml import ReporterInfo, build_file_details, build_report, file_viewed
from indexguard.hotline.snapshot import CaseSnapshot, EvidenceFile, IpEvent, RevealRecord, TrailEntry, Uploader


@pytest.fixture(scope="module")
def schema(fixtures_dir: Path) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(schema_path(fixtures_dir)))


INCIDENT = {
    "url": "webPageIncident",
    "torrent": "peer2peerIncident",
    "magnet": "peer2peerIncident",
    "nzb": "newsgroupIncident",
}


def test_demo_cases_validate_with_the_right_incident(schema: xmlschema.XMLSchema) -> None:
    kinds = set()
    for snap in demo_snapshots():
        xml = build_report(snap, ReporterInfo())
        schema.validate(xml.decode())
        root = ET.fromstring(xml)
        incident = root.find(f"internetDetails/{INCIDENT[snap.kind]}")
        assert incident is not None
        if snap.kind == "url":
            assert incident.get("thirdPartyHostedContent") == "true"
            assert [u.text for u in incident.findall("url")] == list(snap.urls)
        kinds.add(snap.kind)
        for f in snap.files:
            schema.validate(build_file_details(snap, f, 4564654, "b0754af766b426f2928a02c651ed4b99").decode())
    assert kinds == {"torrent", "magnet", "nzb", "url"}


def test_file_viewed_follows_the_reveal_records() -> None:
    snap = demo_snapshots()[0]
    image = next(f for f in snap.files if f.role == "image")
    torrent = next(f for f in snap.files if f.role == "torrent")
    assert file_viewed(snap, image) is True  # the demo case has a reveal of this image
    assert file_viewed(snap, torrent) is False
    xml = ET.fromstring(build_file_details(snap, torrent, 1, "f1"))
    assert xml.findtext("fileViewedByEsp") == "false"
    assert ET.fromstring(build_file_details(snap, image, 1, "f2")).findtext("fileViewedByEsp") == "true"
    unrevealed = demo_snapshots()[1]
    img2 = next(f for f in unrevealed.files if f.role == "image")
    info = ET.fromstring(build_report(unrevealed, ReporterInfo())).findtext("additionalInfo") or ""
    assert "not viewed by any person" in info and img2.sha256 in info


def test_report_never_carries_control_characters(schema: xmlschema.XMLSchema) -> None:
    snap = CaseSnapshot(case_id="c\x00", item_id="i\x1b", kind="url", title="a\udcff", urls=("https://e.example/\x07",))
    schema.validate(build_report(snap, ReporterInfo()).decode())


text = st.text(max_size=40)
times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
hexes = st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)
ip_events = st.builds(
    IpEvent, text, st.sampled_from(["Upload", "Login", "bogus"]), st.none() | times, st.none() | st.integers(-5, 70000)
)
files = st.builds(
    EvidenceFile,
    name=text,
    role=st.sampled_from(["torrent", "nzb", "image"]),
    sha256=hexes,
    md5=text,
    sha1=text,
    pdq=text,
    size=st.integers(0, 10**9),
    data=st.none() | st.binary(max_size=20),
    uploaded_at=st.none() | times,
)
snapshots = st.builds(
    CaseSnapshot,
    case_id=text,
    item_id=text,
    kind=st.sampled_from(["torrent", "magnet", "nzb", "url"]),
    category=text,
    title=text,
    description=text,
    listing_url=st.none() | text,
    urls=st.lists(text, max_size=4).map(tuple),
    magnet=st.none() | text,
    infohashes=st.lists(hexes, max_size=3).map(tuple),
    file_names=st.lists(text, max_size=4).map(tuple),
    newsgroups=st.lists(st.text(alphabet=string.ascii_lowercase + ".", max_size=20), max_size=3).map(tuple),
    nzb_id=st.none() | text,
    poster=st.none() | text,
    files=st.lists(files, max_size=3).map(tuple),
    uploader=st.none()
    | st.builds(
        Uploader, st.none() | text, st.none() | text, st.none() | text, st.lists(ip_events, max_size=3).map(tuple)
    ),
    listed_at=st.none() | times,
    reported_at=st.none() | times,
    confirmed_at=st.none() | times,
    trail=st.lists(st.builds(TrailEntry, times, text, text, st.dictionaries(text, text, max_size=3)), max_size=3).map(
        tuple
    ),
    reveals=st.lists(st.builds(RevealRecord, times, text, text, text), max_size=2).map(tuple),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snap=snapshots, report_id=st.integers(1, 2**62), file_id=st.text(max_size=30))
def test_random_cases_validate(schema: xmlschema.XMLSchema, snap: CaseSnapshot, report_id: int, file_id: str) -> None:
    schema.validate(build_report(snap, ReporterInfo()).decode())
    for f in snap.files:
        schema.validate(build_file_details(snap, f, report_id, file_id).decode())
