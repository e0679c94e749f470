"""Compiled lists kept between sweeps, so that a sweep with lists already seen starts in milliseconds.

Compiling a 10,000-term list takes most of a second (parsing, the spaced literals, Hyperscan's compile),
and nothing in a sweep can start before the lists exist: on a many-core machine that second is longer
than the screening itself. A sweep that finds its lists here loads them instead (about 0.07 s).

An entry is the pickled Screener, encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from the
lists' own text and the code that compiled them; its file name is derived the same way with another
label. Whoever can read the cache but not the lists can neither open an entry nor tell which lists it
holds; whoever has the lists could compile them anyway. Lists of under `MIN_TEXT_BYTES` are never kept:
they compile in milliseconds, and a short list's text is the one that could be guessed whole.

A changed list, another version of indexguard, of Python or of Hyperscan, or another machine type gives
another key: the old entry is simply never found again, and the oldest entries beyond `keep` are
deleted. An entry that does not open or load (tampered, truncated, built on another CPU) is compiled
afresh and replaced: the cache can make a sweep faster, never different.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import platform
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import indexguard
from indexguard.sweep.bundle import WORKER_CACHE, ListBundle, compile_bundle

CACHE_ENV = "INDEXGUARD_LIST_CACHE"
MIN_TEXT_BYTES = 16 * 1024
KEEP = 4
SUFFIX = ".igc"
_MAGIC = b"igc1"
_NONCE_BYTES = 12
_SALT = b"indexguard compiled-list cache v1"

State = Literal["off", "held", "hit", "stored", "small", "unusable"]


def default_dir() -> Path | None:
    """$INDEXGUARD_LIST_CACHE, else $XDG_CACHE_HOME/indexguard/lists, else ~/.cache/indexguard/lists;
    None (no cache) when there is no home directory to put it in."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "indexguard" / "lists"
    try:
        return Path.home() / ".cache" / "indexguard" / "lists"
    except RuntimeError:  # no HOME and no password entry (some containers)
        return None


def code_stamp() -> str:
    """What else a compiled Screener depends on: indexguard's source (every module, so that a change
    in a development checkout is not served stale lists), Python, Hyperscan and the machine type."""
    h = hashlib.sha256(f"{indexguard.__version__}\0{sys.version}\0{platform.machine()}\0".encode())
    for dist in ("hyperscan", "ahocorasick_rs"):
        try:
            h.update(f"{dist}={importlib.metadata.version(dist)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{dist}=none\0".encode())
    root = Path(indexguard.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CacheUse:
    """What the cache did for one sweep, for its summary."""

    state: State
    seconds: float = 0.0  # loading the lists from the cache, or compiling (and storing) them
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "seconds": round(self.seconds, 3)}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class ListCache:
    directory: Path
    keep: int = KEEP
    min_text_bytes: int = MIN_TEXT_BYTES
    stamp: str | None = None  # code_stamp() when None: read only for lists the cache may keep

    def prime(self, bundle: ListBundle) -> CacheUse:
        """Make this process hold the bundle's compiled Screener (WORKER_CACHE): loaded from the cache
        when an entry opens, else compiled here and stored."""
        t0 = time.perf_counter()
        if WORKER_CACHE.holds(bundle.fingerprint):
            return CacheUse("held", 0.0, "this process held the compiled lists already")
        if sum(len(lt.text) for lt in bundle.lists) < self.min_text_bytes:
            WORKER_CACHE.get(bundle)
            return CacheUse("small", time.perf_counter() - t0)
        unsafe = self._unsafe()
        if unsafe:
            WORKER_CACHE.get(bundle)
            return CacheUse("unusable", time.perf_counter() - t0, unsafe)
        key, path = self._key(bundle)
        detail = ""
        if path.exists():
            try:
                WORKER_CACHE.get(bundle, self._open(key, path), keep_serialized=True)
            except Exception as e:  # any entry that does not load (whatever the reason) is compiled afresh
                detail = f"an entry did not load ({type(e).__name__}); compiled afresh"
            else:
                _touch(path)
                return CacheUse("hit", time.perf_counter() - t0)
        compiled = compile_bundle(bundle)
        if compiled is None:
            return CacheUse("unusable", time.perf_counter() - t0,
                            "these compiled lists do not serialize (the ahocorasick backend)")
        self._write(key, path, compiled)
        self._evict()
        return CacheUse("stored", time.perf_counter() - t0, detail)

    def _unsafe(self) -> str:
        """Why the directory may not be used ('' when it may): it must be this user's alone to write."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = self.directory.stat()
        except OSError as e:
            return f"cannot create the cache directory: {e.strerror or e}"
        if not stat.S_ISDIR(st.st_mode):
            return "the cache path is not a directory"
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return "the cache directory belongs to another user"
        if st.st_mode & 0o022:
            return "the cache directory is writable by other users"
        return ""

    def _key(self, bundle: ListBundle) -> tuple[bytes, Path]:
        material = f"{bundle.fingerprint}\0{self.stamp or code_stamp()}".encode()

        def derive(label: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=label).derive(material)

        return derive(b"key"), self.directory / (derive(b"name").hex()[:40] + SUFFIX)

    def _open(self, key: bytes, path: Path) -> bytes:
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise ValueError("not a compiled-list cache entry")
        nonce = data[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        opened: bytes = AESGCM(key).decrypt(nonce, data[len(_MAGIC) + _NONCE_BYTES :], path.name.encode())
        return opened

    def _write(self, key: bytes, path: Path, compiled: bytes) -> None:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _MAGIC + nonce + AESGCM(key).encrypt(nonce, compiled, path.name.encode())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
            os.replace(tmp, path)  # another sweep reading the entry sees the old file or the new one whole
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk costs the next sweep a compile, nothing more

    def _evict(self) -> None:
        entries = []
        for p in self.directory.glob("*" + SUFFIX):
            try:
                entries.append((p.stat().st_mtime, p))
            except OSError:
                continue  # deleted by another sweep meanwhile
        for _, p in sorted(entries, reverse=True)[self.keep :]:
            p.unlink(missing_ok=True)


def _touch(path: Path) -> None:
    """Mark an entry most recently used (kept longest); a read-only cache still serves it."""
    with contextlib.suppress(OSError):
        os.utime(path)


def prime_lists(bundle: ListBundle, cache: Path | None) -> CacheUse:
    """The coordinator's lists, through the cache in `cache` (None: compiled here, no cache)."""
    if cache is None:
        t0 = time.perf_counter()
        WORKER_CACHE.get(bundle)
        return CacheUse("off", time.perf_counter() - t0)
    return ListCache(cache).prime(bundle)
