"""The hotline export bundle: built from the seeded placeholder cases, written, parsed back, verified."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hotline_helpers import fresh_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from indexguard.cases import service
from indexguard.cases.meta import CaseMeta
from indexguard.demo.hotline_data import demo_snapshots
from indexguard.demo.seed import seed_demo_cases
from indexguard.errors import IndexguardError
from indexguard.hotline.iwf_export import (
    CASES_CSV,
    FORMAT,
    IDS_CSV,
    JSON_FILE,
    MANIFEST,
    ExportError,
    Period,
    collect,
    export,
    read_bundle,
)
from indexguard.store import records
from indexguard.store.models import AuditEntry, Case


def _seeded(tmp_path: Path):  # type: ignore[no-untyped-def]
    factory, cipher = fresh_store(tmp_path)
    ids = seed_demo_cases(factory, cipher)
    return factory, ids, cipher


def test_export_of_the_seeded_cases_parses_back(tmp_path: Path) -> None:
    factory, ids, cipher = _seeded(tmp_path)
    out = tmp_path / "bundle"
    b = export(factory, out, None, "tester", cipher=cipher)
    assert sorted(p.name for p in out.iterdir()) == sorted([JSON_FILE, CASES_CSV, IDS_CSV, MANIFEST])
    assert [c.case_id for c in b.cases] == ids  # every seeded case is confirmed and removed
    snaps = {s.item_id: s for s in demo_snapshots()}
    with factory() as s:
        item_of = {c.id: c.item_id for c in s.scalars(select(Case))}
    for c in b.cases:
        snap = snaps[item_of[c.case_id]]
        assert c.kind == snap.kind and c.category == "csam"
        assert c.listing_url == snap.listing_url
        assert c.confirmed_at is not None and c.removed_at is not None and c.opened_at
        if snap.kind in ("torrent", "magnet"):
            assert c.infohashes_v1 == snap.infohashes
            assert c.magnets == (f"magnet:?xt=urn:btih:{snap.infohashes[0]}",)  # no display name
        if snap.kind == "nzb":
            assert c.nzb_ids == (snap.nzb_id,)
        if snap.kind == "url":
            assert c.urls == snap.urls
    counts = b.manifest["counts"]
    assert counts == {
        "cases": 8, "listing_url": 8, "url": 4, "infohash_v1": 4, "infohash_v2": 0, "magnet": 4, "nzb_id": 2,
    }  # fmt: skip
    assert b.manifest["period"] == {"since": None, "until": b.manifest["generated_at"]}
    assert len(b.identifiers) == sum(v for k, v in counts.items() if k != "cases")
    rows = list(csv.DictReader(io.StringIO((out / CASES_CSV).read_text("utf-8"))))
    assert [int(r["case_id"]) for r in rows] == ids
    assert {r["type"] for r in b.identifiers} == {"listing_url", "url", "infohash_v1", "magnet", "nzb_id"}


def test_the_bundle_never_carries_titles_file_names_or_image_data(tmp_path: Path) -> None:
    factory, _ids, cipher = _seeded(tmp_path)
    out = tmp_path / "b"
    export(factory, out, None, "tester", cipher=cipher)
    blob = b"".join((out / n).read_bytes() for n in (JSON_FILE, CASES_CSV, IDS_CSV, MANIFEST)).decode()
    for snap in demo_snapshots():
        assert snap.title not in blob
        for name in snap.file_names:
            assert name not in blob
        for f in snap.files:
            assert f.sha256 not in blob  # not even image hashes: identifiers of the listing only
        if snap.magnet:
            assert "dn=" not in blob
        if snap.uploader is not None:
            assert all(e.ip not in blob for e in snap.uploader.ip_events)


def test_since_and_until_select_by_decision_time(tmp_path: Path) -> None:
    factory, ids, _cipher = _seeded(tmp_path)
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    with factory() as s, s.begin():
        for i, cid in enumerate(ids):
            s.get(Case, cid).decided_at = t0 + timedelta(days=i)  # type: ignore[union-attr]
    with factory() as s:
        got = collect(s, Period(t0 + timedelta(days=2), t0 + timedelta(days=5)))
    assert [c.case_id for c in got] == ids[2:5]
    with pytest.raises(ExportError, match="not before"):
        export(factory, tmp_path / "x", t0, "t", until=t0)


def test_open_and_dismissed_cases_stay_out(tmp_path: Path) -> None:
    factory, ids, cipher = _seeded(tmp_path)
    with factory() as s, s.begin():
        service.act(s, ids[0], "dismiss", "tester", "false positive")
        sig = service.Signal("other-item", "url", "report", "report", "csam", 0.5, "public")
        service.open_or_join(s, sig)
    b = export(factory, tmp_path / "b", None, "tester", cipher=cipher)
    assert [c.case_id for c in b.cases] == ids[1:]


def test_identities_come_from_decision_records_when_the_case_view_withheld_them(tmp_path: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    v1, v2 = "ab" * 20, "cd" * 32
    meta = CaseMeta.from_json({
        "kind": "torrent",
        "fields": [{"name": "title", "text": "█████ bizu", "matched": "True"},
                   {"name": "magnet", "text": f"magnet:?xt=urn:btih:{v1}&dn=█████", "matched": "True"}],
        "urls": [{"name": "urls[0]", "text": "[withheld: matched a list]", "matched": "True"}],
        "identities": {"infohash_v1": ["[withheld: matched a hash list]"]},
    })  # fmt: skip
    with factory() as s, s.begin():
        rec = records.Record("item-9", "torrent", "block", [], {}, [("infohash_v1", v1), ("infohash_v2", v2),
                             ("url", "https://cdn.example.net/x/9")], "h")  # fmt: skip
        decision_id = records.save(s, rec, True)
        sig = service.Signal("item-9", "torrent", "hotline", "block", "csam", 0.9, "screening",
                             decision_id=decision_id, meta=meta)  # fmt: skip
        case, _fx = service.open_or_join(s, sig)
        service.act(s, case.id, "remove", "moderator")
    (c,) = export(factory, tmp_path / "b", None, "t", cipher=cipher).cases
    assert c.infohashes_v1 == (v1,) and c.infohashes_v2 == (v2,)
    assert c.magnets == (f"magnet:?xt=urn:btih:{v1}&xt=urn:btmh:1220{v2}",)  # one hybrid magnet
    assert c.urls == ("https://cdn.example.net/x/9",)
    text = (tmp_path / "b" / JSON_FILE).read_text("utf-8")
    assert "█" not in text and "withheld" not in text and "bizu" not in text


def test_urls_come_from_the_sealed_copies_and_only_with_the_key(tmp_path: Path) -> None:
    """Cases keep URLs keyed, shown by host and sealed (private_urls): the export opens the sealed
    copy, also of a URL a list matched (withheld from view), and without the key leaves URLs out."""
    from indexguard.cases.private_urls import UrlKeys

    factory, cipher = fresh_store(tmp_path)
    keys = UrlKeys(cipher)
    meta = keys.meta(CaseMeta.from_json({
        "kind": "listing",
        "fields": [{"name": "listing_url", "text": "https://index.example.com/zq-listing/9"}],
        "urls": [{"name": "urls[0]", "text": "[withheld: matched a list]", "matched": True},
                 {"name": "urls[1]", "text": "https://cdn.example.net/zq-open/2"}],
    }), {"urls[0]": "https://cdn.example.net/zq-listed/1"})  # fmt: skip
    assert "zq-" not in json.dumps({k: v for k, v in meta.to_json().items() if k != "sealed"})
    pairs = [(k, v) for k, vs in keys.identities({"url": ["https://cdn.example.net/zq-listed/1"]}).items() for v in vs]
    with factory() as s, s.begin():
        decision_id = records.save(s, records.Record("item-u", "listing", "block", [], {}, pairs, "h"), True)
        sig = service.Signal("item-u", "listing", "hotline", "block", "csam", 0.9, "screening",
                             decision_id=decision_id, meta=meta)  # fmt: skip
        case, _fx = service.open_or_join(s, sig)
        service.act(s, case.id, "remove", "moderator")
    (c,) = export(factory, tmp_path / "b", None, "t", cipher=cipher).cases
    assert c.urls == ("https://cdn.example.net/zq-listed/1", "https://cdn.example.net/zq-open/2")
    assert c.listing_url == "https://index.example.com/zq-listing/9"
    (bare,) = export(factory, tmp_path / "c", None, "t").cases
    assert bare.urls == () and bare.listing_url is None
    assert "zq-" not in (tmp_path / "c" / JSON_FILE).read_text("utf-8")


def test_tampering_and_reuse_are_refused(tmp_path: Path) -> None:
    factory, _, cipher = _seeded(tmp_path)
    out = tmp_path / "b"
    export(factory, out, None, "t", cipher=cipher)
    with pytest.raises(ExportError, match="not an empty directory"):
        export(factory, out, None, "t", cipher=cipher)
    data = (out / IDS_CSV).read_bytes()
    (out / IDS_CSV).write_bytes(data.replace(b"https://", b"http://", 1))
    with pytest.raises(ExportError, match="does not match the manifest"):
        read_bundle(out)
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(IndexguardError, match="manifest"):
        read_bundle(out)


def test_export_is_audited_and_an_empty_period_gives_an_empty_bundle(tmp_path: Path) -> None:
    factory, _, cipher = _seeded(tmp_path)
    b = export(factory, tmp_path / "b", datetime(2000, 1, 1, tzinfo=UTC), "tester",
               until=datetime(2000, 2, 1, tzinfo=UTC), cipher=cipher)  # fmt: skip
    assert b.cases == [] and b.manifest["counts"]["cases"] == 0
    with factory() as s:
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None and last.action == "hotline.export" and last.detail["cases"] == 0
    files = {f["name"]: f for f in json.loads((tmp_path / "b" / MANIFEST).read_text())["files"]}
    assert files[IDS_CSV]["records"] == 0


def test_cli_export_iwf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexguard.cli.main import build_app

    _seeded(tmp_path)
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'hotline.db'}"
    r = CliRunner().invoke(
        build_app(), ["hotline", "export-iwf", "--since", "2000-01-01", "--out", "exp", "--database", db_url]
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["counts"]["cases"] == 8 and summary["directory"].endswith("exp")
    assert len(read_bundle(tmp_path / "exp").cases) == 8
    bad = CliRunner().invoke(build_app(), ["hotline", "export-iwf", "--since", "yesterday", "--database", db_url])
    assert bad.exit_code == 2 and "--since" in bad.output


def _json_values() -> st.SearchStrategy[object]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
    return st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                        max_leaves=12)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=_json_values(), ids_csv=st.binary(max_size=200), extra=st.dictionaries(st.sampled_from(
    ["format", "files", "counts"]), _json_values(), max_size=2))  # fmt: skip
def test_reading_any_bundle_gives_a_bundle_or_a_clear_error(
    tmp_path: Path, cases: object, ids_csv: bytes, extra: dict[str, object]
) -> None:
    """Files that match their manifest but hold anything at all: parsed, or refused with a clear error."""
    import hashlib

    d = tmp_path / secrets.token_hex(4)
    d.mkdir()
    files = {JSON_FILE: json.dumps({"cases": cases}).encode(), CASES_CSV: b"case_id\r\n", IDS_CSV: ids_csv}
    listed = [{"name": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in files.items()]
    for n, b in files.items():
        (d / n).write_bytes(b)
    (d / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": listed, **extra}))
    try:
        b = read_bundle(d)
    except IndexguardError:
        return
    assert all(isinstance(c.case_id, int) for c in b.cases)
