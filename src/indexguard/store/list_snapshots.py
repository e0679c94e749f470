"""Packed snapshots of hash lists, shared by every worker through memory-mapped files.

A hash list of a million entries is parsed once, when it is imported with activation (or by the
first worker that needs it), and written as a `PackedBank` directory: raw hash columns, entry
ids, and the PDQ multi-index tables. Every worker then opens it memory-mapped, so a million-hash
bank costs one copy of ~130 MB in the page cache rather than a parsed gigabyte per worker, goes
live in a worker in milliseconds, and a restart needs no re-parse.

Snapshots hold hashes in clear, so by default they live in memory-backed /dev/shm (never on a
disk, gone at reboot; the encrypted list in the database stays the one durable copy), in a
directory only the service's user can read. The directory is a cache: anything missing,
unreadable or not matching its name is rebuilt from the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from indexguard.errors import IndexguardError
from indexguard.lists.packed_bank import PackedBank
from indexguard.match.pdq_index import PdqIndex

_KEEP_SECONDS = 600.0  # a snapshot no list uses is removed after this long (imports write ahead)


class SnapshotDirError(IndexguardError):
    """A snapshot directory that is not private to the service's user."""


def default_dir(database_url: str) -> Path:
    """Memory-backed /dev/shm when the system has it, else the temporary directory; one directory
    per user and database, so two services on one machine never share snapshots."""
    tag = hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:12]
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"indexguard-{os.getuid() if hasattr(os, 'getuid') else 0}-{tag}"


def _mih(bank: PackedBank) -> PackedBank:
    """The bank with its PDQ multi-index tables, built here once for every reader."""
    g = bank.groups.get("pdq")
    if g is None or bank.pdq_mih is not None or g.size == 0:
        return bank
    index = PdqIndex.from_arrays(g.raw.view("u8").reshape(-1, 4), g.rows)
    return dataclasses.replace(bank, pdq_mih=index.mih_tables())


class Snapshots:
    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _ensure_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = self.dir.stat()
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & (stat.S_IRWXG | stat.S_IRWXO)):
            raise SnapshotDirError(f"snapshot directory {self.dir} must belong to this user with mode 0700")

    def path(self, name: str, version: str) -> Path:
        return self.dir / f"{name}.{version}"

    def open(self, name: str, version: str) -> PackedBank | None:
        """The saved bank, memory-mapped; None when there is none (or it cannot be read)."""
        where = self.path(name, version)
        if not (where / "meta.json").is_file():
            return None
        try:
            bank = PackedBank.open(where)
        except (OSError, ValueError, KeyError):
            return None
        return bank if (bank.name, bank.version) == (name, version) else None

    def save(self, bank: PackedBank) -> Path:
        """Write the bank (with its PDQ tables) atomically: readers see all of it or nothing."""
        self._ensure_dir()
        final = self.path(bank.name, bank.version)
        if (final / "meta.json").is_file():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.dir))
        try:
            _mih(bank).save(tmp)
            os.rename(tmp, final)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (final / "meta.json").is_file():
                raise
        return final

    def get_or_build(self, name: str, version: str, build: Callable[[], PackedBank]) -> PackedBank:
        """Open the snapshot, or build and save it; workers wanting the same one wait for the first."""
        bank = self.open(name, version)
        if bank is not None:
            return bank
        self._ensure_dir()
        with self._lock(name, version):
            bank = self.open(name, version)
            if bank is None:
                self.save(build())
                bank = self.open(name, version)
        if bank is None:
            raise OSError(f"snapshot of {name} {version[:12]} could not be read back")
        return bank

    @contextlib.contextmanager
    def _lock(self, name: str, version: str) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # no advisory locks here: at worst two workers build the same snapshot
            yield
            return
        fd = os.open(self.dir / f".{name}.{version}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def prune(self, keep: Iterable[tuple[str, str]], now: float | None = None) -> int:
        """Remove snapshots of versions no longer live or shadowed, once they are old enough that no
        import is still about to activate them. Open mappings stay valid (the files are unlinked)."""
        if not self.dir.is_dir():
            return 0
        wanted = {f"{n}.{v}" for n, v in keep}
        now = time.time() if now is None else now
        removed = 0
        for entry in self.dir.iterdir():
            if entry.name in wanted or now - entry.stat().st_mtime < _KEEP_SECONDS:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        return removed
