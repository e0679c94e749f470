"""`indexguard serve` as an operator starts it: first start, key file, admin password, demo list;
graceful shutdown; and the account commands."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.crypto import Cipher, KeyUnavailable, resolve_key
from indexguard.settings import SettingsError, load


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_first_start_then_sign_in_and_stop(tmp_path: Path) -> None:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from indexguard.cli.main import main; main()", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["ready"] and "demo" in ready["lists"]
        key = tmp_path / "indexguard.db.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        with httpx.Client(base_url=base, follow_redirects=True) as c:
            public = c.get("/")  # what the site is, and the report form
            assert public.status_code == 200 and public.headers["content-type"].startswith("text/html")
            assert "protected by indexguard" in public.text and 'action="/report"' in public.text
            c.get("/login")
            tok = c.cookies["ig_login_csrf"]
            out = _read_until(proc, "one-time password")
            password = re.search(r"one-time password: (\S+)", out).group(1)  # type: ignore[union-attr]
            r = c.post("/login", data={"username": "admin", "password": password, "csrf_token": tok})
            assert r.status_code == 200 and r.url.path == "/password"  # a one-time password is changed first
            assert r.headers["content-type"].startswith("text/html") and "<html" in r.text
            csrf = c.get("/v1/session").json()["csrf_token"]
            new = {"current": password, "new": "a passphrase of my own", "csrf_token": csrf}
            r = c.post("/password", data=new)
            assert r.status_code == 200
            home = c.get("/")  # signed in: the console
            assert home.url.path == "/console" and home.headers["content-type"].startswith("text/html")
            assert c.get("/v1/session").json()["role"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    # uvicorn re-raises SIGTERM after its graceful shutdown; the lifespan's "stopped" line proves it ran
    assert proc.returncode in (0, -signal.SIGTERM)
    assert '"msg": "stopped"' in rest
    # The first start seeded the demo cases docs/hotline.md promises: a report prints at once.
    xml = subprocess.run(
        [sys.executable, "-c", "from indexguard.cli.main import main; main()", "hotline", "ncmec-xml", "--case", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert xml.returncode == 0, xml.stderr
    assert "<report" in xml.stdout


def _read_until(proc: subprocess.Popen[str], needle: str) -> str:
    assert proc.stderr is not None
    seen = ""
    while needle not in seen:
        line = proc.stderr.readline()
        assert line, "server exited before printing " + needle
        seen += line
    return seen


def test_cli_accounts_and_db_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXGUARD_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    runner = CliRunner()
    r = runner.invoke(build_app(), ["db", "upgrade", "--database", url])
    assert r.exit_code == 0 and f"revision {_head_revision()}" in r.output
    r = runner.invoke(build_app(), ["apikey", "create", "--name", "site", "--scope", "screen", "--database", url])
    assert r.exit_code == 0 and r.output.strip().splitlines()[-1].startswith("ig_")
    r = runner.invoke(build_app(), ["apikey", "create", "--name", "x", "--scope", "root", "--database", url])
    assert r.exit_code == 2 and "scopes must be" in r.output
    r = runner.invoke(build_app(), ["user", "create", "lee", "--role", "child_safety_lead", "--database", url])
    assert r.exit_code == 0 and "one-time password" in r.output
    r = runner.invoke(build_app(), ["user", "create", "lee", "--database", url])
    assert r.exit_code == 2 and "already exists" in r.output


def test_key_sources_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXGUARD_KEY", raising=False)
    monkeypatch.delenv("INDEXGUARD_KEY_FILE", raising=False)
    with pytest.raises(KeyUnavailable, match="INDEXGUARD_KEY"):
        resolve_key(None, None, create=True)  # PostgreSQL: never an implicit key
    with pytest.raises(KeyUnavailable, match="does not exist"):
        resolve_key(None, tmp_path / "a.db", create=False)
    made = resolve_key(None, tmp_path / "a.db", create=True)
    assert made.created and resolve_key(None, tmp_path / "a.db", create=False).key == made.key
    monkeypatch.setenv("INDEXGUARD_KEY", "not base64!")
    with pytest.raises(KeyUnavailable, match="base64"):
        resolve_key(None, None, create=False)
    c1, c2 = Cipher(b"k" * 32), Cipher(b"j" * 32)
    sealed = c1.seal(b"bizu", b"ctx")
    assert b"bizu" not in sealed and c1.open(sealed, b"ctx") == b"bizu"
    with pytest.raises(KeyUnavailable, match="wrong key"):
        c2.open(sealed, b"ctx")
    with pytest.raises(KeyUnavailable):
        c1.open(sealed, b"other context")


def test_settings_precedence_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "ig.toml"
    cfg.write_text('[indexguard]\nport = 9000\nworkers = 3\nhelp_links = [{name = "Help", url = "https://x.test/"}]\n')
    monkeypatch.setenv("INDEXGUARD_WORKERS", "2")
    s = load(cfg, {"host": "0.0.0.0"})
    assert (s.port, s.workers, s.host) == (9000, 2, "0.0.0.0") and s.help_links == (
        {"name": "Help", "url": "https://x.test/"},
    )
    cfg.write_text("[indexguard]\nprot = 1\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load(cfg)
    monkeypatch.setenv("INDEXGUARD_PORT", "eighty")
    with pytest.raises(SettingsError, match="INDEXGUARD_PORT"):
        load()


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from indexguard.store import migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head



_CAPTURE_UVICORN = """
import json, sys, uvicorn
seen = {}
uvicorn.run = lambda *a, **kw: seen.update(kw)
from indexguard.cli.main import main
try:
    main()
except SystemExit as e:
    if e.code:
        raise
print(json.dumps({k: seen.get(k) for k in ("workers", "timeout_worker_healthcheck")}))
"""


def test_serve_gives_uvicorn_the_worker_healthcheck_timeout(tmp_path: Path) -> None:
    # In its own process: serve configures logging and exports settings for its workers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXGUARD_")}
    env["INDEXGUARD_WORKER_HEALTHCHECK_SECONDS"] = "45"
    out = subprocess.run(
        [sys.executable, "-c", _CAPTURE_UVICORN, "serve", "--workers", "2", "--database", f"sqlite:///{tmp_path}/ig.db"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == '{"workers": 2, "timeout_worker_healthcheck": 45}'
