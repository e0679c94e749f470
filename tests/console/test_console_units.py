"""Priority, clocks, masking and report validation: pure functions, with property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.cases import clocks, priority
from indexguard.cases.meta import MASK, WITHHELD, CaseMeta, again, mask, masked_fields, remask
from indexguard.cases.reports import ReportError, ReportIn, new_reference
from indexguard.web.routes_dashboard import svg_chart

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_priority_orders_severity_trust_and_age() -> None:
    fresh_block = priority.score("block", 0.9, False, 0)
    public_report = priority.score("report", 0.5, False, 0)
    trusted_report = priority.score("report", 0.9, True, 0)
    assert trusted_report > fresh_block > public_report
    assert priority.score("report", 0.5, False, 10) > public_report  # age lifts a case
    assert priority.score("report", 0.5, False, 10_000) == priority.score("report", 0.5, False, priority.AGE_CAP)
    assert priority.score("block", 0.9, False, 0, hotline=True) > fresh_block
    assert priority.stronger("review", "block") == "block" and priority.stronger("block", "report") == "block"


def test_clocks_and_percentiles() -> None:
    t = clocks.CaseTimes(T0, T0 + timedelta(seconds=5), T0 + timedelta(minutes=3), T0 + timedelta(minutes=3), None)
    assert t.clocks() == {"hide": 5.0, "decide": 180.0, "remove": 180.0, "report": None}
    assert clocks.percentile([], 50) is None
    assert clocks.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert clocks.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    naive = clocks.CaseTimes(T0.replace(tzinfo=None), T0.replace(tzinfo=None), None, None, None)
    assert naive.clocks()["hide"] == 0.0  # SQLite's naive datetimes read as UTC
    days = clocks.by_day([t, clocks.CaseTimes(T0 + timedelta(days=1), None, None, None, None)], "hide")
    assert [(d.day, d.count, d.median) for d in days] == [("2026-01-05", 1, 5.0)]
    assert clocks.human(None) == "—" and clocks.human(90) == "90s" and clocks.human(600) == "10m"


def test_chart_is_inline_svg_without_script() -> None:
    figs = [clocks.DayFigures("2026-01-05", 3, 60.0, 300.0), clocks.DayFigures("2026-01-06", 2, 30.0, 90.0)]
    svg = str(svg_chart(figs, "time to <hide>"))
    assert svg.startswith("<svg") and "<script" not in svg and "&lt;hide&gt;" in svg and "polyline" in svg
    assert "no data" in str(svg_chart([], "x"))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80), st.lists(st.tuples(st.integers(-5, 90), st.integers(-5, 90)), max_size=4))
def test_mask_keeps_length_and_covers_spans(text: str, spans: list[tuple[int, int]]) -> None:
    out = mask(text, spans)
    assert len(out) == len(text)
    for a, b in spans:
        assert all(out[i] == MASK for i in range(max(a, 0), min(b, len(text))))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["title", "files[0]", "x"]), st.text(max_size=40)), max_size=4),
       st.lists(st.fixed_dictionaries({"field": st.sampled_from(["title", "files[0]", "urls[0]"]),
                                       "span": st.one_of(st.none(), st.tuples(st.integers(0, 50), st.integers(0, 50)),
                                                         st.text(max_size=3))}), max_size=4))  # fmt: skip
def test_masked_fields_never_crash_and_withhold_spanless_hits(
    fields: list[tuple[str, str]], reasons: list[dict]
) -> None:  # type: ignore[type-arg]
    out = masked_fields(fields, reasons)
    assert len(out) == len(fields)
    whole = {r["field"] for r in reasons if not isinstance(r["span"], tuple)}
    for (name, _text), row in zip(fields, out, strict=True):
        assert row.matched == (name in whole or any(r["field"] == name for r in reasons))
        if name in whole:
            assert row.text == WITHHELD


def test_remask_applies_live_lists_and_fails_closed() -> None:
    # as stored by an older version: "matched" as a string
    meta = CaseMeta.from_json({"fields": [{"name": "title", "text": "old zork text", "matched": "True"}], "urls": [],
                               "identities": {"url": ["a/zork"]}, "uploader": {"name": "zork1"}, "errors": []})

    def screen(text: str) -> list[tuple[int, int]] | None:
        i = text.find("zork")
        return [] if i < 0 else [(i, i + 4)]

    out = remask(meta, screen)
    assert out.fields[0].text == "old ████ text" and out.fields[0].matched is True
    assert out.identities["url"] == ("a/████",) and out.uploader["name"] == "████1"
    assert out.to_json()["fields"][0]["matched"] is True  # stored as a JSON boolean from now on
    assert CaseMeta.from_json(out.to_json()) == out
    assert CaseMeta.from_json("garbage") == CaseMeta() and CaseMeta.from_json({"fields": [1, None]}).fields == ()
    assert again("anything", lambda _t: None) == WITHHELD  # no screener: withheld, never shown


def test_report_validation() -> None:
    ok = ReportIn(" item-9 ", "csam", None, "  ", None).checked()
    assert ok.item_id == "item-9" and ok.comment is None
    assert ReportIn("", "advert", "https://x.example/1").checked().item_id == "url:https://x.example/1"
    for bad in (ReportIn("", "csam"), ReportIn("i", "other"), ReportIn("a\x00b", "csam"),
                ReportIn("i", "csam", comment="x" * 5000)):  # fmt: skip
        with pytest.raises(ReportError):
            bad.checked()
    refs = {new_reference() for _ in range(200)}
    assert len(refs) == 200 and all(r.startswith("R-") and len(r) == 11 for r in refs)
