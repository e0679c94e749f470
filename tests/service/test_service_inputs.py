"""Property tests for the service's own input handling: batch bodies and settings never crash."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import HTTPException
from hypothesis import given, settings
from hypothesis import strategies as st
from ig_service_helpers import settings_for

from indexguard.settings import Settings
from indexguard.web.routes_screen import _batch_items

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()) | _json.map(
    lambda v: json.dumps({"items": [v] if not isinstance(v, list) else v}).encode()
))  # fmt: skip
def test_batch_body_is_items_or_a_clear_http_error(body: bytes) -> None:
    try:
        items = _batch_items(body, Settings(max_batch_items=100))
    except HTTPException as e:
        assert e.status_code in (413, 422) and e.detail
        return
    assert all(it.id.isprintable() and len(it.id) <= 256 for it in items)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_access_log_omits_query_strings(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from indexguard.logs import JsonFormatter
    from indexguard.web.app import create_app

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("indexguard.access")
    handler = Keep()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with TestClient(create_app(settings_for(db_url, access_log=True))) as c:
            c.get("/blocked?q=secretquery77")
    finally:
        log.removeHandler(handler)
    lines = [JsonFormatter().format(r) for r in records]
    assert any('"path": "/blocked"' in x and '"status": 200' in x for x in lines)
    assert not any("secretquery77" in x for x in lines)
