"""The plain install works: the wheel, installed into a fresh virtualenv WITHOUT extras, runs every command's
--help, --version, query, a `serve` start-up (HTML at /, sign-in lands on the console, demo cases seeded) and
names the extra when an optional feature is used. Slow (a venv and a pip install from the pip cache, about a
minute and a half here), but part of the default run: this is what a newcomer does first."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

HELP_WALK = """
import contextlib, io, re, sys
from indexguard.cli.main import build_command
def walk(c, path=()):
    yield path
    for n, s in (getattr(c, "commands", None) or {}).items():
        yield from walk(s, (*path, n))
bad = []
for path in walk(build_command()):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            build_command().main(args=[*path, "--help"], prog_name="indexguard")
        except SystemExit as e:
            if e.code:
                bad.append((path, e.code, out.getvalue()[-300:]))
print(len(list(walk(build_command()))), "commands")
sys.exit(repr(bad) if bad else 0)
"""


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the built wheel and its declared (non-extra) dependencies."""
    work = tmp_path_factory.mktemp("plain")
    wheels = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(wheels)],
                   check=True, timeout=600, cwd=work)
    wheel = next(wheels.glob("indexguard-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(wheel)], check=True, timeout=900, cwd=work)
    return venv


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("INDEXGUARD_", "PYTHON", "VIRTUAL_ENV"))}


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "indexguard"), *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_no_extra_is_installed_and_no_source_tree_is_used(plain_venv: Path, tmp_path: Path) -> None:
    py = str(plain_venv / "bin" / "python")
    where = subprocess.run([py, "-c", "import indexguard; print(indexguard.__file__)"], cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, check=True).stdout
    assert str(plain_venv) in where and str(ROOT / "src") not in where
    for extra_only in ("distributed", "pytest", "faiss"):
        r = subprocess.run([py, "-c", f"import {extra_only}"], cwd=tmp_path, env=_env(), capture_output=True)
        assert r.returncode != 0, f"{extra_only} is installed in the plain venv"


def test_every_command_help_and_version(plain_venv: Path, tmp_path: Path) -> None:
    r = subprocess.run([str(plain_venv / "bin" / "python"), "-c", HELP_WALK], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.split()[0]) >= 15
    v = _run(plain_venv, tmp_path, "--version")
    assert v.returncode == 0 and re.fullmatch(r"indexguard \d+\.\d+\.\d+\S*", v.stdout.strip()), v


def test_query_blocks_and_allows(plain_venv: Path, tmp_path: Path) -> None:
    blocked = _run(plain_venv, tmp_path, "query", "a zorblat search")
    assert blocked.returncode == 0, blocked.stderr
    assert json.loads(blocked.stdout)["action"] == "block"
    assert json.loads(_run(plain_venv, tmp_path, "query", "a holiday search").stdout)["action"] == "allow"


def test_optional_feature_names_its_extra(plain_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "terms.txt").write_text("zorblat\n")
    (tmp_path / "items.jsonl").write_text('{"id": "1", "title": "a holiday"}\n')
    r = _run(plain_venv, tmp_path, "sweep", "--terms", "terms.txt", "--dask", "local", "items.jsonl")
    assert r.returncode == 2
    assert "pip install 'indexguard[dask]'" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.fixture
def served(plain_venv: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(plain_venv / "bin" / "indexguard"), "serve", "--port", str(port)],
                            cwd=tmp_path, env=_env(), stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        assert proc.poll() is None, "serve exited during start-up"
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_serve_starts_greets_and_signs_in_to_the_console(
    served: tuple[str, subprocess.Popen[str]], plain_venv: Path, tmp_path: Path
) -> None:
    base, proc = served
    assert proc.stderr is not None
    seen = ""
    while "one-time password" not in seen:
        line = proc.stderr.readline()
        assert line, "serve printed no admin password"
        seen += line
    password = re.search(r"one-time password: (\S+)", seen).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=base, follow_redirects=True) as c:
        home = c.get("/")
        assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
        c.get("/login")
        r = c.post("/login", data={"username": "admin", "password": password,
                                   "csrf_token": c.cookies["ig_login_csrf"]})
        if r.url.path == "/password":  # the one-time password must be replaced first: an HTML form
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            csrf = c.get("/v1/session").json()["csrf_token"]
            r = c.post("/password", data={"current": password, "new": "a fresh passphrase 1", "csrf_token": csrf})
        assert r.status_code == 200 and r.url.path == "/console"
        assert r.headers["content-type"].startswith("text/html")
    xml = _run(plain_venv, tmp_path, "hotline", "ncmec-xml", "--case", "1")
    assert xml.returncode == 0 and "<report" in xml.stdout, xml.stderr
