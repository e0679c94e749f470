"""The operator's container: the Dockerfile and compose.yaml say what docs/service.md promises (slim Python base,
non-root user, /healthz healthcheck, SQLite on a volume, PostgreSQL in compose) — checked always; and, where a
container runtime works (podman or docker, with the base image present or pullable), the image is built and run
once: /healthz answers, / is HTML, the process is not root. Skips cleanly where no runtime works.
INDEXGUARD_TEST_BASE_IMAGE names another base image (e.g. a locally imported Debian with Python 3.11);
INDEXGUARD_TEST_CONTAINER_RUNTIME an OCI runtime for podman (e.g. runc where crun cannot use the cgroups)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = (ROOT / "compose.yaml").read_text(encoding="utf-8")


def test_dockerfile_is_slim_non_root_with_healthcheck_and_volume() -> None:
    assert "ARG BASE_IMAGE=docker.io/library/python:3.11-slim" in DOCKERFILE
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert "\nUSER indexguard" in final and "useradd --system --uid 10001" in final
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert 'VOLUME ["/var/lib/indexguard"]' in final
    assert "INDEXGUARD_DATABASE_URL=sqlite:////var/lib/indexguard/indexguard.db" in final
    assert "indexguard[" not in DOCKERFILE, "the image is the plain install"


def test_compose_runs_on_postgresql_with_the_key_from_the_environment() -> None:
    assert "image: docker.io/library/postgres:16" in COMPOSE and "condition: service_healthy" in COMPOSE
    assert "INDEXGUARD_DATABASE_URL: postgresql://" in COMPOSE and "INDEXGUARD_KEY: ${INDEXGUARD_KEY:?" in COMPOSE


def _runtime() -> tuple[str, str] | None:
    """A container runtime that answers, and a base image it has or can pull; None to skip."""
    base = os.environ.get("INDEXGUARD_TEST_BASE_IMAGE", "docker.io/library/python:3.11-slim")
    for rt in ("podman", "docker"):
        exe = shutil.which(rt)
        if exe is None:
            continue
        if subprocess.run([exe, "info"], capture_output=True, timeout=60).returncode != 0:
            continue
        have = subprocess.run([exe, "image", "inspect", base], capture_output=True, timeout=60).returncode == 0
        if have or subprocess.run([exe, "pull", base], capture_output=True, timeout=300).returncode == 0:
            return exe, base
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[tuple[str, str]]:
    found = _runtime()
    if found is None:
        pytest.skip("no working container runtime (podman/docker) with the base image; see docs/service.md")
    exe, base = found
    tag = f"localhost/indexguard-test:{uuid.uuid4().hex[:8]}"
    # podman: Docker image format (OCI drops HEALTHCHECK) and chroot isolation (no OCI runtime during the build).
    extra = ["--format", "docker", "--isolation", "chroot"] if _is_podman(exe) else []
    build = subprocess.run([exe, "build", *extra, "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag,
                            str(ROOT)], capture_output=True, text=True, timeout=1500)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    try:
        yield exe, tag
    finally:
        subprocess.run([exe, "rmi", "-f", tag], capture_output=True, timeout=120)


def _is_podman(exe: str) -> bool:
    return Path(exe).name == "podman"


def _rt(exe: str) -> list[str]:
    runtime = os.environ.get("INDEXGUARD_TEST_CONTAINER_RUNTIME")
    return [exe, "--runtime", runtime] if runtime and _is_podman(exe) else [exe]


@pytest.mark.slow
def test_image_serves_health_and_html_as_non_root(image: tuple[str, str]) -> None:
    exe, tag = image
    rt = _rt(exe)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    name = f"indexguard-test-{uuid.uuid4().hex[:8]}"
    # Lowered limits: some hosts (VMs without CAP_SYS_RESOURCE) refuse the runtime's default rlimits.
    limits = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
    run = subprocess.run([*rt, "run", "-d", *limits, "--name", name, "-p", f"127.0.0.1:{port}:8080", tag],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=3).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(1)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        home = httpx.get(f"{base}/", timeout=5)
        assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
        if _is_podman(exe):
            health = subprocess.run([*rt, "healthcheck", "run", name], capture_output=True, text=True, timeout=60)
            assert health.returncode == 0, health.stdout + health.stderr
        uid = subprocess.run([*rt, "exec", name, "id", "-u"], capture_output=True, text=True, timeout=60)
        assert uid.stdout.strip() == "10001"
        files = subprocess.run([*rt, "exec", name, "ls", "/var/lib/indexguard"], capture_output=True, text=True,
                               timeout=60).stdout.split()
        assert "indexguard.db" in files and "indexguard.db.key" in files
        logs = subprocess.run([*rt, "logs", name], capture_output=True, text=True, timeout=60)
        assert "one-time password" in logs.stdout + logs.stderr
    finally:
        subprocess.run([*rt, "rm", "-f", name], capture_output=True, timeout=120)
