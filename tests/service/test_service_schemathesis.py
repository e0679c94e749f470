"""schemathesis against /openapi.json: generated requests to every operation, no 500 anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed in this environment")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from ig_service_helpers import settings_for  # noqa: E402

from indexguard.store import accounts  # noqa: E402
from indexguard.store.bootstrap import first_start  # noqa: E402
from indexguard.web.app import build_services, create_app  # noqa: E402

_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import base64
    import os
    import secrets

    os.environ.setdefault("INDEXGUARD_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    db: Path = tmp_path_factory.mktemp("st") / "st.db"
    svc = build_services(settings_for(f"sqlite:///{db}"))
    first_start(svc.sessions, svc.cipher)
    with svc.sessions() as s, s.begin():
        _TOKEN["all"] = accounts.create_api_key(s, "fuzz", list(accounts.SCOPES), "tests")
    svc.live.start()
    app = create_app(svc.settings, svc)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        svc.live.stop()


def test_no_server_errors(api_schema: object) -> None:
    failures: list[str] = []
    statuses: list[int] = []
    ops = [r.ok() for r in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(ops) >= 20

    for op in ops:

        @given(case=op.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            r = case.call(headers={"Authorization": f"Bearer {_TOKEN['all']}"})
            statuses.append(r.status_code)
            if r.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {r.status_code}: {r.text[:200]}")

        run()
    assert not failures, "\n".join(failures[:10])
    assert len(statuses) >= 5 * len(ops) and 200 in statuses  # the run really exercised the API


def test_negative_data_gets_no_server_error(api_schema: object) -> None:
    """schemathesis' negative mode: data that violates the schema must get a 4xx, never a 500."""
    from schemathesis import GenerationMode

    failures: list[str] = []
    statuses: list[int] = []
    for op in [r.ok() for r in api_schema.get_all_operations()]:  # type: ignore[attr-defined]

        @given(case=op.as_strategy(GenerationMode.NEGATIVE))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            r = case.call(headers={"Authorization": f"Bearer {_TOKEN['all']}"})
            statuses.append(r.status_code)
            if r.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {r.status_code}: {r.text[:200]}")

        try:
            run()
        except Exception as e:  # an operation with no way to violate its schema generates nothing
            if "Unsatisfiable" not in type(e).__name__ and "unsatisfiable" not in str(e).lower():
                raise
    assert not failures, "\n".join(failures[:10])
    assert any(400 <= s < 500 for s in statuses)
