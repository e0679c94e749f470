"""Operator knobs of issues 6 and 7 as settings: evidence retention and image preservation, the NCMEC
outbox, the public report rate limit, console SLA targets, case webhooks and the report page's
hotline links. Each is read from TOML and from INDEXGUARD_* variables, bad values are refused with
a clear error, and each changes what the service does."""

from __future__ import annotations

import base64
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import Env, settings_for
from PIL import Image
from typer.testing import CliRunner

from indexguard.cases.webhooks import notifier
from indexguard.cli.main import build_app
from indexguard.crypto import Cipher
from indexguard.demo.hotline_data import demo_snapshots
from indexguard.hotline import evidence
from indexguard.settings import Settings, SettingsError, load, retention, sla_targets
from indexguard.store import accounts, db, migrate
from indexguard.store.models import AbuseReport, EvidencePackage
from indexguard.web.app import build_services, create_app

KNOB_ENV = (
    "INDEXGUARD_RETENTION_DAYS", "INDEXGUARD_RETENTION_JURISDICTIONS", "INDEXGUARD_PRESERVE_IMAGES",
    "INDEXGUARD_NCMEC_URL", "INDEXGUARD_NCMEC_USERNAME", "INDEXGUARD_NCMEC_PASSWORD",
    "INDEXGUARD_REPORTS_PER_HOUR", "INDEXGUARD_SLA_BLOCK_SECONDS", "INDEXGUARD_SLA_REVIEW_SECONDS",
    "INDEXGUARD_SLA_REPORT_SECONDS", "INDEXGUARD_WEBHOOK_URL", "INDEXGUARD_WEBHOOK_SECRET",
    "INDEXGUARD_WEBHOOK_OUTBOX", "INDEXGUARD_HOTLINE_LINKS", "INDEXGUARD_CONFIG", "INDEXGUARD_HOTLINES_FILE",
)  # fmt: skip

TOML = """[indexguard]
retention_days = 30
retention_jurisdictions = { gb = 730, DE = 180 }
preserve_images = true
ncmec_url = "https://report.cybertip.org/ispws"
ncmec_username = "esp-user"
reports_per_hour = 2
sla_block_seconds = 600
sla_review_seconds = 1200
sla_report_seconds = 7200
webhook_url = "https://site.example/hooks/indexguard"
webhook_secret = "whsec-placeholder"
webhook_outbox = "/var/lib/indexguard/webhooks.db"
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KNOB_ENV:
        monkeypatch.delenv(name, raising=False)


REPORTER = ('reporter_first_name = "Placeholder"\nreporter_last_name = "Person"\n'
            'reporter_email = "abuse@example.org"\nreporter_platform = "example site"\n')


def _config(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "indexguard.toml"
    f.write_text(text, "utf-8")
    return f


def test_defaults_are_todays_behaviour() -> None:
    s = load()
    assert (s.retention_days, s.retention_jurisdictions, s.preserve_images) == (365, (), False)
    assert s.ncmec_url == "https://exttest.cybertip.org/ispws" and s.ncmec_username is None
    assert s.reports_per_hour == 20
    assert sla_targets(s) == {"block": 3600, "review": 4 * 3600, "report": 24 * 3600}
    assert (s.webhook_url, s.webhook_secret, s.webhook_outbox) == (None, None, ":memory:")


def test_every_knob_is_read_from_toml(tmp_path: Path) -> None:
    s = load(_config(tmp_path, TOML))
    assert s.retention_days == 30 and s.retention_jurisdictions == (("DE", 180), ("GB", 730))
    assert retention(s).days("gb") == 730 and retention(s).days("US") == 30
    assert s.preserve_images is True
    assert s.ncmec_url == "https://report.cybertip.org/ispws" and s.ncmec_username == "esp-user"
    assert s.reports_per_hour == 2
    assert sla_targets(s) == {"block": 600, "review": 1200, "report": 7200}
    assert s.webhook_url == "https://site.example/hooks/indexguard" and s.webhook_secret == "whsec-placeholder"
    assert s.webhook_outbox == "/var/lib/indexguard/webhooks.db"
    assert "whsec-placeholder" not in repr(s)  # secrets stay out of logs and tracebacks


def test_every_knob_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "RETENTION_DAYS": "90", "RETENTION_JURISDICTIONS": "gb=730, de=180", "PRESERVE_IMAGES": "on",
        "NCMEC_URL": "https://report.cybertip.org/ispws", "NCMEC_USERNAME": "u", "NCMEC_PASSWORD": "p",
        "REPORTS_PER_HOUR": "5", "SLA_BLOCK_SECONDS": "60", "SLA_REVIEW_SECONDS": "120",
        "SLA_REPORT_SECONDS": "180", "WEBHOOK_URL": "http://127.0.0.1:9/hook", "WEBHOOK_SECRET": "s",
        "WEBHOOK_OUTBOX": "/tmp/wh.db",
    }.items():  # fmt: skip
        monkeypatch.setenv("INDEXGUARD_" + name, value)
    s = load()
    assert s.retention_days == 90 and dict(s.retention_jurisdictions) == {"GB": 730, "DE": 180}
    assert s.preserve_images is True
    assert (s.ncmec_url, s.ncmec_username, s.ncmec_password) == ("https://report.cybertip.org/ispws", "u", "p")
    assert s.reports_per_hour == 5 and sla_targets(s) == {"block": 60, "review": 120, "report": 180}
    assert (s.webhook_url, s.webhook_secret, s.webhook_outbox) == ("http://127.0.0.1:9/hook", "s", "/tmp/wh.db")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("reports_per_hour = 0", "reports_per_hour must be a positive whole number"),
        ("retention_days = -30", "retention_days must be a positive whole number"),
        ("sla_review_seconds = 0", "sla_review_seconds must be a positive"),
        ('sla_block_seconds = "soon"', "sla_block_seconds must be of type int"),
        ('ncmec_url = "http://report.cybertip.org/ispws"', "ncmec_url must be an https:// URL"),
        ('webhook_url = "ftp://site.example/"', "webhook_url must be an https:// URL"),
        ('webhook_url = "http://127.0.0.1.evil.example/"', "webhook_url must be an https:// URL"),
        ("retention_jurisdictions = { GB = 0 }", "retention_jurisdictions.GB must be a positive"),
        ('retention_jurisdictions = { "G1" = 30 }', "'G1' is not a country code"),
        ("retention_jurisdictions = 30", "must be a table of country code = days"),
        ('preserve_images = "maybe"', "preserve_images must be of type bool"),
        ("report_rate = 3", "unknown setting(s) report_rate"),
    ],
)
def test_bad_toml_values_are_refused_clearly(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(_config(tmp_path, f"[indexguard]\n{line}\n"))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INDEXGUARD_REPORTS_PER_HOUR", "twenty", "INDEXGUARD_REPORTS_PER_HOUR: reports_per_hour must be of type"),
        ("INDEXGUARD_RETENTION_JURISDICTIONS", "GB730", "must look like GB=730,DE=180"),
        ("INDEXGUARD_NCMEC_URL", "exttest.cybertip.org", "ncmec_url must be an https:// URL"),
    ],
)
def test_bad_environment_values_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load()


@pytest.fixture
def knob_env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Env]:
    overrides: dict[str, object] = getattr(request, "param", {})
    svc = build_services(settings_for(f"sqlite:///{tmp_path / 'k.db'}", **overrides))
    with TestClient(create_app(svc.settings, svc)) as client:
        e = Env(client, svc)
        with svc.sessions() as s, s.begin():
            e.keys["cases"] = accounts.create_api_key(s, "test-cases", ["cases"], "tests")
        yield e


@pytest.mark.parametrize("knob_env", [{"reports_per_hour": 2}], indirect=True)
def test_report_rate_limit_of_two_refuses_the_third(knob_env: Env) -> None:
    codes = [
        knob_env.client.post("/v1/reports", json={"item": f"R{i}", "category": "csam"}).status_code for i in range(3)
    ]
    assert codes == [201, 201, 429]


@pytest.mark.parametrize("knob_env", [{"sla_block_seconds": 1, "sla_review_seconds": 1, "sla_report_seconds": 1}],
                         indirect=True)  # fmt: skip
def test_sla_target_marks_the_console_queue(knob_env: Env) -> None:
    r = knob_env.client.post("/v1/reports", json={"item": "S1", "category": "csam"})
    assert r.status_code == 201
    time.sleep(1.2)
    mod = knob_env.login("moderator")
    page = mod.get("/console")
    assert page.status_code == 200 and "sla-breached" in page.text
    assert mod.get("/v1/cases-stats").json()["sla_targets"] == {"block": 1, "review": 1, "report": 1}


def test_default_sla_leaves_a_new_case_ok(knob_env: Env) -> None:
    knob_env.client.post("/v1/reports", json={"item": "S2", "category": "csam"})
    page = knob_env.login("moderator").get("/console")
    assert "sla-ok" in page.text and "sla-breached" not in page.text


def _hotlines_file(tmp_path: Path) -> str:
    f = tmp_path / "hotlines.toml"
    f.write_text(
        'replace_defaults = true\n[[hotline]]\nname = "Example hotline NL"\ncountry = "NL"\n'
        'url = "https://nl.example.org/report"\n'
    )
    return str(f)


def test_report_page_uses_the_hotline_directory_and_the_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = build_services(settings_for(f"sqlite:///{tmp_path / 'h.db'}", hotlines_file=_hotlines_file(tmp_path)))
    with TestClient(create_app(svc.settings, svc)) as client:
        page = client.get("/report")
        assert "https://nl.example.org/report" in page.text and "Example hotline NL" in page.text
    # The override is a setting (hotline_links), read from INDEXGUARD_HOTLINE_LINKS at start.
    links = [{"name": "Override hotline", "url": "https://override.example.org/"}]
    monkeypatch.setenv("INDEXGUARD_HOTLINE_LINKS", json.dumps(links))
    assert load().hotline_links == tuple(links)
    svc = build_services(settings_for(f"sqlite:///{tmp_path / 'h.db'}", bootstrap=False))
    with TestClient(create_app(svc.settings, svc)) as client:
        r = client.post("/v1/reports", json={"item": "H1", "category": "csam"})
        assert r.json()["hotlines"] == links
    monkeypatch.setenv("INDEXGUARD_HOTLINE_LINKS", '[{"name": "x", "url": "http://plain.example/"}]')
    with pytest.raises(SettingsError, match="INDEXGUARD_HOTLINE_LINKS: hotline_links must be"):
        load()


def test_a_broken_hotline_directory_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[hotline]]\nname = "x"\ncountry = "GB"\nurl = "http://x.example/"\n')
    with pytest.raises(Exception, match="https://"):
        build_services(settings_for(f"sqlite:///{tmp_path / 'b.db'}", hotlines_file=str(bad)))


def test_webhook_target_from_settings_queues_case_events(tmp_path: Path) -> None:
    assert notifier(Settings()) is None  # nothing configured, nothing sent
    box = tmp_path / "webhooks.db"
    svc = build_services(
        settings_for(
            f"sqlite:///{tmp_path / 'w.db'}", webhook_url="http://127.0.0.1:9/hook", webhook_secret="s",
            webhook_outbox=str(box),
        )
    )  # fmt: skip
    with TestClient(create_app(svc.settings, svc)) as client:
        assert client.post("/v1/reports", json={"item": "W1", "category": "csam"}).status_code == 201
    assert box.exists()  # the event went to the configured outbox (port 9 refuses: it stays queued)


# Evidence retention through `indexguard evidence purge --config`.


def _store(url: str) -> tuple[object, Cipher]:
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    return db.session_factory(engine), Cipher(base64.b64decode(os.environ["INDEXGUARD_KEY"]))


def _purge(config: Path, url: str) -> dict[str, list[int]]:
    r = CliRunner().invoke(build_app(), ["evidence", "purge", "--config", str(config), "--database", url])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_retention_of_30_days_purges_31_day_old_evidence(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session, sessionmaker

    url = f"sqlite:///{tmp_path / 'e.db'}"
    cfg = _config(tmp_path, "[indexguard]\nretention_days = 30\nretention_jurisdictions = { GB = 60 }\n")
    settings = load(cfg)
    factory, cipher = _store(url)
    assert isinstance(factory, sessionmaker)
    f: sessionmaker[Session] = factory
    snaps = demo_snapshots()
    now = datetime.now(UTC)

    def seal(i: int, days_ago: int, jurisdiction: str = "US") -> int:
        snap = replace(snaps[i], jurisdiction=jurisdiction)
        when = now - timedelta(days=days_ago)
        return evidence.preserve(f, cipher, snap, "t", "r", policy=retention(settings), now=when)

    old, young, gb = seal(0, 31), seal(1, 29), seal(2, 31, "GB")
    assert _purge(cfg, url)["purged"] == [old]
    with f() as s:
        assert s.get(EvidencePackage, young).payload is not None  # type: ignore[union-attr]
        assert s.get(EvidencePackage, gb).payload is not None  # type: ignore[union-attr]
    # Lengthening retention later protects what was sealed under the shorter one.
    longer = seal(0, 40)
    assert _purge(_config(tmp_path, "[indexguard]\nretention_days = 365\n"), url)["purged"] == []
    with f() as s:
        assert s.get(EvidencePackage, longer).payload is not None  # type: ignore[union-attr]


def test_cli_refuses_bad_retention_and_plain_http_ncmec(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    assert runner.invoke(build_app(), ["db", "upgrade", "--database", url]).exit_code == 0  # only it creates a db
    r = runner.invoke(
        build_app(),
        ["evidence", "purge", "--config", str(_config(tmp_path, "retention_days = 0\n")), "--database", url],
    )
    assert r.exit_code != 0 and "retention_days must be a positive whole number" in r.output
    cfg = _config(tmp_path, 'ncmec_url = "http://exttest.cybertip.org/ispws"\n')
    r = runner.invoke(build_app(), ["hotline", "outbox", "--run", "--config", str(cfg), "--database", url])
    assert r.exit_code != 0 and "ncmec_url must be an https:// URL" in r.output
    r = runner.invoke(build_app(), ["hotline", "outbox", "--run", "--database", url])
    assert r.exit_code != 0 and "ncmec_username/ncmec_password" in r.output


@pytest.mark.parametrize("knob_env", [{"retention_days": 30}], indirect=True)
def test_demo_evidence_is_sealed_under_the_retention_setting(knob_env: Env) -> None:
    with knob_env.svc.sessions() as s:
        pkgs = s.query(EvidencePackage).all()
    assert pkgs and all((p.expires_at - p.created_at) == timedelta(days=30) for p in pkgs)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(503)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *_args: object) -> None:
        pass


def test_outbox_sends_to_the_configured_ncmec_url_with_configured_credentials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    _Recorder.seen.clear()
    svc = build_services(settings_for(url))
    with TestClient(create_app(svc.settings, svc)):
        pass  # first start seeds the demo cases, half of them escalated to the hotline
    srv = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        cfg = _config(
            tmp_path,
            f'ncmec_url = "http://127.0.0.1:{srv.server_address[1]}/ispws"\n'
            'ncmec_username = "esp-knob"\nncmec_password = "pw-knob"\n' + REPORTER,
        )
        CliRunner().invoke(build_app(), ["hotline", "outbox", "--run", "--config", str(cfg), "--database", url])
    finally:
        srv.shutdown()
        srv.server_close()
    auth = "Basic " + base64.b64encode(b"esp-knob:pw-knob").decode()
    assert _Recorder.seen and all(p.startswith("/ispws/") and a == auth for p, a in _Recorder.seen)


def test_preserve_images_seals_thumbnail_bytes_only_when_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    svc = build_services(settings_for(url, bootstrap=False))
    png = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 90, 160)).save(png, "PNG")  # generated, plain colour
    thumb = base64.b64encode(png.getvalue()).decode()
    with TestClient(create_app(svc.settings, svc)) as client:
        e = Env(client, svc)
        with svc.sessions() as s, s.begin():
            site = {"Authorization": "Bearer " + accounts.create_api_key(s, "site", ["cases"], "tests")}
        mod = e.login("moderator")

        def escalated(item: str) -> int:
            body = {"item": item, "category": "csam", "thumbnail": thumb}
            r = client.post("/v1/reports", json=body, headers=site)
            assert r.status_code == 201, r.text
            ref = r.json()
            with svc.sessions() as s:
                case_id = s.query(AbuseReport).filter_by(reference=ref["reference"]).one().case_id
            assert mod.post(f"/v1/cases/{case_id}/actions", json={"action": "escalate"}).status_code == 200
            return int(case_id)

        def outbox(preserve: bool) -> None:
            cfg = _config(
                tmp_path,
                f'preserve_images = {str(preserve).lower()}\nncmec_url = "http://127.0.0.1:9/ispws"\n'
                'ncmec_username = "u"\nncmec_password = "p"\n' + REPORTER,
            )
            CliRunner().invoke(build_app(), ["hotline", "outbox", "--run", "--config", str(cfg), "--database", url])

        off = escalated("P1")
        outbox(False)
        on = escalated("P2")
        outbox(True)
    with svc.sessions() as s:
        kept = {p.case_ref: p.images_preserved for p in s.query(EvidencePackage).all()}
    assert kept == {str(off): False, str(on): True}
