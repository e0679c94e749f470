"""The first-start demo cases: one case per placeholder item, evidence preserved, reports build and validate."""

from __future__ import annotations

from pathlib import Path

import xmlschema
from hotline_helpers import fresh_store, schema_path

from indexguard.demo.seed import seed_demo_cases
from indexguard.hotline import evidence
from indexguard.hotline.from_case import snapshot_from_case
from indexguard.hotline.ncmec_xml import ReporterInfo, build_report
from indexguard.store import hotline_repo


def test_seed_then_report_from_the_case_tables(tmp_path: Path, fixtures_dir: Path) -> None:
    factory, cipher = fresh_store(tmp_path)
    ids = seed_demo_cases(factory, cipher)
    assert len(ids) == 8 and seed_demo_cases(factory, cipher) == []  # only into an empty table
    schema = xmlschema.XMLSchema(str(schema_path(fixtures_dir)))
    kinds = set()
    with factory() as s:
        for cid in ids:
            snap = snapshot_from_case(s, cid)
            kinds.add(snap.kind)
            assert snap.confirmed_at is not None and snap.removed_at is not None
            schema.validate(build_report(snap, ReporterInfo()).decode())
            pkg = hotline_repo.latest_package(s, str(cid))
            assert pkg is not None
    assert kinds == {"torrent", "magnet", "nzb", "url"}
    with factory() as s:
        pkg_id = hotline_repo.latest_package(s, str(ids[0])).id  # type: ignore[union-attr]
    torrent = evidence.open_snapshot(factory, cipher, pkg_id, "t", "check")
    assert any(f.role == "torrent" and f.data for f in torrent.files)
