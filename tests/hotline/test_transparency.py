"""The monthly transparency report on seeded data with known figures, on SQLite and PostgreSQL;
its CSV, HTML (inline SVG, no script) and JSON forms; the CLI and the web routes."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from indexguard.crypto import Cipher
from indexguard.hotline import charts
from indexguard.hotline.transparency import Month, TransparencyError, compute
from indexguard.hotline.transparency_render import render, to_csv, to_html
from indexguard.store import accounts, db, migrate, records
from indexguard.store.models import AbuseReport, Case, CaseSignal, DecisionRecord, HotlineReport

MARCH = Month(2025, 3)


def T(day: int, h: int = 0, m: int = 0, s: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, h, m, s, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    sqlite = f"sqlite:///{tmp_path / 't.db'}"
    url: str = sqlite if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def _decision(s: Session, item: str, kind: str, action: str, at: datetime, categories: list[str],
              lst: str = "demo") -> None:  # fmt: skip
    reasons: list[dict[str, Any]] = [
        {"list": lst, "list_version": "v1", "entry": f"{lst}:{i}", "category": c} for i, c in enumerate(categories)
    ]
    if kind == "query":
        reasons = records.query_reasons(reasons)
    rec = records.Record(item, kind, action, reasons, {lst: "v1"}, [], "client")
    decision_id = records.save(s, rec, kind != "query")
    row = s.get(DecisionRecord, decision_id)
    assert row is not None
    row.created_at = at


def _case(s: Session, item: str, opened: datetime, status: str, hidden: float | None = None,
          removed: float | None = None, decided: datetime | None = None,
          reported: datetime | None = None) -> Case:  # fmt: skip
    c = Case(
        item_id=item, kind="torrent", status=status, severity="block", category="csam", source="screen",
        opened_at=opened, last_signal_at=opened, updated_at=opened, meta={},
        hidden_at=None if hidden is None else opened + timedelta(seconds=hidden),
        removed_at=None if removed is None else opened + timedelta(seconds=removed),
        decided_at=decided, reported_at=reported,
    )  # fmt: skip
    s.add(c)
    s.flush()
    return c


def _signal(s: Session, c: Case, source: str, at: datetime) -> None:
    s.add(CaseSignal(case_id=c.id, source=source, severity="block", category="csam", reporter="x", at=at))


def _report(s: Session, ref: str, category: str, trusted: bool, at: datetime) -> None:
    s.add(AbuseReport(reference=ref, item_id="i", category=category, reporter="public", trusted=trusted,
                      client_hash="h", created_at=at))  # fmt: skip


def _filed(s: Session, ref: str, hotline: str, state: str, finished: datetime | None) -> None:
    s.add(HotlineReport(case_ref=ref, hotline=hotline, state=state, payload=b"sealed", created_by="t",
                        finished_at=finished))  # fmt: skip


def seed(factory: sessionmaker[Session]) -> None:
    """March 2025, with neighbours in February and April that must not count."""
    with factory() as s, s.begin():
        # Searches: 3 blocked (csam; csam+grooming_other; advert), 2 warned; one each side of March.
        _decision(s, "q1", "query", "block", T(5, 10), ["csam"])
        _decision(s, "q2", "query", "block", T(5, 11), ["csam", "grooming_other"])
        _decision(s, "q3", "query", "block", T(31, 23, 59, 59), ["advert"])
        _decision(s, "q4", "query", "warn", T(1), ["csam"])
        _decision(s, "q5", "query", "warn", T(20), ["csam"])
        _decision(s, "q6", "query", "block", T(28, 23, 59, 59, month=2), ["csam"])
        _decision(s, "q7", "query", "block", T(1, month=4), ["csam"])
        # Listings: L1 blocked twice, L2 a re-upload caught by the deny set, L3 and L4 held for review.
        _decision(s, "L1", "listing", "block", T(2), ["csam"])
        _decision(s, "L1", "listing", "block", T(3), ["csam"])
        _decision(s, "L2", "torrent", "block", T(3), ["deny-set"], lst="deny-set")
        _decision(s, "L3", "listing", "review", T(4), ["csam"])
        _decision(s, "L4", "nzb", "review", T(4), ["advert"])
        _decision(s, "L5", "listing", "block", T(15, month=4), ["csam"])
        # Cases: hidden in March after 60, 120, 300 and 10 s; removed in March after 600, 1200, 172800 s.
        c1 = _case(s, "c1", T(1), "confirmed", hidden=60, removed=600, decided=T(1, 0, 10))
        c2 = _case(s, "c2", T(2), "confirmed", hidden=120, removed=1200, decided=T(2, 0, 20), reported=T(3))
        c3 = _case(s, "c3", T(3), "dismissed", hidden=300, decided=T(4))
        c4 = _case(s, "c4", T(27, month=2), "confirmed", hidden=30, removed=172800, decided=T(1))
        c5 = _case(s, "c5", T(10), "open", hidden=10)
        _signal(s, c1, "screen", T(1))
        _signal(s, c2, "report", T(2))
        _signal(s, c2, "trusted", T(2, 1))
        _signal(s, c3, "hotline", T(3))
        _signal(s, c5, "deny", T(10))
        _signal(s, c4, "screen", T(27, month=2))
        # Abuse reports: 3 public, 1 trusted in March; one in April.
        _report(s, "R-1", "csam", False, T(2))
        _report(s, "R-2", "csam", False, T(2, 5))
        _report(s, "R-3", "advert", False, T(9))
        _report(s, "R-4", "csam", True, T(9))
        _report(s, "R-5", "csam", False, T(1, month=4))
        # Hotline reports: two filed with NCMEC in March, one in February, one still open.
        _filed(s, "1", "ncmec", "finished", T(3))
        _filed(s, "2", "ncmec", "finished", T(31, 12))
        _filed(s, "4", "ncmec", "finished", T(20, month=2))
        _filed(s, "5", "ncmec", "open", None)


EXPECTED: dict[str, Any] = {
    "month": "2025-03",
    "period": {"start": "2025-03-01T00:00:00+00:00", "end": "2025-04-01T00:00:00+00:00", "complete": True},
    "searches": {"blocked": 3, "warned": 2, "blocked_by_category": {"advert": 1, "csam": 2, "grooming_other": 1}},
    "listings": {"blocked": 2, "reviewed": 2, "block_decisions_by_category": {"csam": 2, "deny-set": 1},
                 "cases_confirmed": 3, "cases_dismissed": 1},
    "reports": {"received": 4, "by_source": {"public": 3, "trusted": 1}, "by_category": {"advert": 1, "csam": 3},
                "signals_by_source": {"deny": 1, "hotline": 1, "report": 1, "screen": 1, "trusted": 1}},
    "time_to_hide_seconds": {"n": 4, "median": 60.0, "p90": 300.0},
    "time_to_remove_seconds": {"n": 3, "median": 1200.0, "p90": 172800.0},
    "hotline_reports": {"filed": 2, "by_hotline": {"ncmec": 2}, "cases_reported": 1},
    "reuploads_caught": 1,
    "deterrence": {"warnings_shown": 0, "sessions_warned": 0, "help_click_rate": None, "repeat_block_rate": None,
                   "variants": [], "epsilon_per_count": None},  # counted in tests/service/test_service_deterrence.py
}  # fmt: skip


def test_known_figures(factory: sessionmaker[Session]) -> None:
    seed(factory)
    with factory() as s:
        got = compute(s, MARCH, now=T(2, month=4)).to_json()
    daily = got.pop("daily")
    got.pop("generated_at")
    assert got == EXPECTED
    assert len(daily["days"]) == 31 and daily["days"][0] == "2025-03-01"
    nonzero = {series: {d[-2:]: n for d, n in zip(daily["days"], daily[series], strict=True) if n}
               for series in ("searches_blocked", "listing_blocks", "reports_received")}  # fmt: skip
    assert nonzero == {
        "searches_blocked": {"05": 2, "31": 1},
        "listing_blocks": {"02": 1, "03": 2},
        "reports_received": {"02": 2, "09": 2},
    }


def test_an_empty_month_and_a_running_month(factory: sessionmaker[Session]) -> None:
    seed(factory)
    with factory() as s:
        jan = compute(s, Month(2025, 1), now=T(10)).to_json()
        running = compute(s, MARCH, now=T(15)).to_json()
    assert jan["searches"]["blocked"] == 0 and jan["time_to_hide_seconds"] == {"n": 0, "median": None, "p90": None}
    assert jan["hotline_reports"] == {"filed": 0, "by_hotline": {}, "cases_reported": 0}
    assert running["period"]["complete"] is False


def test_csv_and_html_carry_the_same_figures(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 't.db'}")
    migrate.upgrade(engine)
    f = db.session_factory(engine)
    seed(f)
    with f() as s:
        r = compute(s, MARCH, now=T(2, month=4))
    rows = {(x["section"], x["key"]): x["value"] for x in csv.DictReader(io.StringIO(to_csv(r)))}
    assert rows[("searches", "blocked")] == "3"
    assert rows[("searches_blocked_by_category", "grooming_other")] == "1"
    assert rows[("time_to_remove_seconds", "p90")] == "172800.0"
    assert rows[("reports_by_source", "trusted")] == "1"
    assert rows[("daily_searches_blocked", "2025-03-05")] == "2"
    html = to_html(r)
    assert "<script" not in html.lower() and "<svg" in html and "http" not in html.split("<body>")[1]
    assert html.count('role="img"') == 11
    assert "Searches blocked by category: advert: 1; csam: 2; grooming_other: 1" in html
    assert "20m" in html and "48.0h" in html  # median and p90 time to remove, human-readable
    assert json.loads(render(r, "json"))["reuploads_caught"] == 1
    with pytest.raises(TransparencyError, match="format"):
        render(r, "pdf")


@pytest.mark.parametrize("bad", ["2025-13", "2025-3", "25-03", "2025-03-01", "", "1969-12", "march"])
def test_bad_months_are_refused_clearly(bad: str) -> None:
    with pytest.raises(TransparencyError, match="YYYY-MM"):
        Month.parse(bad)


def test_december_ends_in_january() -> None:
    assert Month.parse("2024-12").end == datetime(2025, 1, 1, tzinfo=UTC)
    assert len(Month.parse("2024-02").days()) == 29


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=40), st.one_of(st.none(), st.floats(0, 1e9))), max_size=50),
       st.text(max_size=60))  # fmt: skip
def test_charts_escape_labels_and_never_break(rows: list[tuple[str, float | None]], title: str) -> None:
    svg = str(charts.bar_chart(rows, title))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and re.search(r"<(?!/?(svg|title|text|rect|line)\b)", svg) is None
    col = str(charts.column_chart([r[0] for r in rows], [int(r[1] or 0) for r in rows], title))
    assert col.startswith("<svg") and re.search(r"<(?!/?(svg|title|text|rect|line)\b)", col) is None


def test_cli_report_transparency(tmp_path: Path) -> None:
    from indexguard.cli.main import build_app

    url = f"sqlite:///{tmp_path / 't.db'}"
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    seed(db.session_factory(engine))
    run = CliRunner().invoke
    r = run(build_app(), ["report", "transparency", "--month", "2025-03", "--database", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["listings"]["blocked"] == 2
    out = tmp_path / "march.html"
    r = run(build_app(), ["report", "transparency", "--month", "2025-03", "--format", "html", "-o", str(out),
                          "--database", url])  # fmt: skip
    assert r.exit_code == 0 and out.read_text().startswith("<!doctype html>")
    r = run(build_app(), ["report", "transparency", "--month", "2025-03", "--format", "csv", "--database", url])
    assert r.stdout.splitlines()[0] == "section,key,value"
    bad = run(build_app(), ["report", "transparency", "--month", "2025/03", "--database", url])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_web_page_for_admins_and_json_for_the_admin_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexguard.settings import Settings
    from indexguard.web.app import build_services, create_app

    monkeypatch.setenv("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", access_log=False, bootstrap=False)
    svc = build_services(settings)
    seed(svc.sessions)
    assert isinstance(svc.cipher, Cipher)
    with svc.sessions() as s, s.begin():
        admin_key = accounts.create_api_key(s, "t-admin", ["admin"], "tests")
        cases_key = accounts.create_api_key(s, "t-cases", ["cases"], "tests")
        tokens = {}
        for role in ("admin", "moderator"):
            user = accounts.create_user(s, f"{role}-1", "correct horse battery staple", role)
            tokens[role] = accounts.open_session(s, user, timedelta(hours=1))[0]
    with TestClient(create_app(settings, svc), follow_redirects=False) as client:
        r = client.get("/v1/transparency", params={"month": "2025-03"}, headers={"X-API-Key": admin_key})
        assert r.status_code == 200 and r.json()["searches"]["blocked"] == 3
        assert client.get("/v1/transparency", headers={"X-API-Key": cases_key}).status_code == 403
        assert (
            client.get("/v1/transparency", params={"month": "2025-3"}, headers={"X-API-Key": admin_key}).status_code
            == 422
        )
        assert client.get("/transparency").status_code == 303  # sign in first
        client.cookies.set("ig_session", tokens["moderator"])
        assert client.get("/transparency", params={"month": "2025-03"}).status_code == 403
        client.cookies.set("ig_session", tokens["admin"])
        page = client.get("/transparency", params={"month": "2025-03"})
        assert page.status_code == 200 and "Transparency report: 2025-03" in page.text and "<svg" in page.text
        assert "script-src" not in page.headers["content-security-policy"]
