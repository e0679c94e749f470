"""The lists a sweep screens with, in a form that travels to worker processes and Dask workers.

Workers receive list *text* (not compiled databases, which do not pickle) and build the Screener once;
the cache below keys it by the bundle's fingerprint so every later chunk on that worker reuses it.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from indexguard.errors import ListFormatError
from indexguard.lists.hash_list import HASH_TYPES, ListOptions, parse_hash_list
from indexguard.lists.terms import TermList, parse_term_list
from indexguard.lists.url_list import parse_url_list
from indexguard.screen.assemble import assemble
from indexguard.screen.screener import Screener
from indexguard.sweep.heap import collector_paused
from indexguard.text.canonicalize import Canonicalizer

Fmt = Literal["txt", "csv"]


@dataclass(frozen=True, slots=True)
class ListText:
    """One term list or allowlist as text; `only_ids` keeps a subset of entries (incremental sweeps)."""

    name: str
    text: str
    fmt: Fmt
    source: str
    allowlist: bool = False
    only_ids: frozenset[str] | None = None

    @classmethod
    def read(cls, path: Path, *, allowlist: bool = False) -> ListText:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ListFormatError(str(path), None, f"cannot read: {e.strerror or e}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise ListFormatError(str(path), line, f"not valid UTF-8 (byte {e.start})") from None
        fmt: Fmt = "csv" if path.suffix.lower() == ".csv" else "txt"
        return cls(path.stem, text, fmt, str(path), allowlist)

    def parse(self, canon: Canonicalizer | None = None) -> TermList:
        tl = parse_term_list(self.text, self.name, self.fmt, allowlist=self.allowlist, source=self.source,
                             canon=canon)
        if self.only_ids is None:
            return tl
        keep = tuple(e for e in tl.entries if e.id in self.only_ids)
        return TermList(tl.name, tl.version, keep, tl.allowlist, tl.source, dict(tl.meta))


@dataclass(frozen=True, slots=True)
class OtherList:
    """A hash list (`kind` hash, `type_hint` e.g. sha256 or pdq) or a URL list (`kind` url), as text."""

    kind: Literal["hash", "url"]
    name: str
    text: str
    source: str
    allowlist: bool = False
    type_hint: str | None = None

    @classmethod
    def read(cls, spec: str, kind: Literal["hash", "url"], *, allowlist: bool = False) -> OtherList:
        hint, sep, rest = spec.partition(":")
        path = Path(rest) if kind == "hash" and sep and hint in HASH_TYPES else Path(spec)
        type_hint = hint if path != Path(spec) else None
        lt = ListText.read(path)
        return cls(kind, lt.name, lt.text, lt.source, allowlist, type_hint)

    def key(self) -> str:
        return f"\0{self.kind}\0{self.name}\0{self.allowlist}\0{self.type_hint}\0{self.text}"


@dataclass(frozen=True, slots=True)
class ListBundle:
    lists: tuple[ListText, ...]
    backend: str = "auto"
    others: tuple[OtherList, ...] = ()
    # Hashed once: every chunk looks its Screener up by it (a 1M-term list takes ~12 ms to hash), and it
    # travels with the bundle to the workers.
    fingerprint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        h = hashlib.sha256(self.backend.encode())
        for lt in self.lists:
            h.update(f"\0{lt.name}\0{lt.fmt}\0{lt.allowlist}\0".encode())
            h.update(lt.text.encode())
            h.update("\0".join(sorted(lt.only_ids)).encode() if lt.only_ids is not None else b"\1all")
        for o in self.others:
            h.update(o.key().encode())
        object.__setattr__(self, "fingerprint", h.hexdigest())

    def build(self) -> Screener:
        canon = Canonicalizer()
        parsed = [lt.parse(canon) for lt in self.lists]
        terms = [tl for tl in parsed if not tl.allowlist]
        allows = [tl for tl in parsed if tl.allowlist]
        banks = [
            parse_hash_list(o.text, o.source, ListOptions(o.name, o.type_hint,  # type: ignore[arg-type]
                                                          "allowlist" if o.allowlist else "normal"))
            for o in self.others if o.kind == "hash"
        ]
        urls = [parse_url_list(o.text, o.name, allowlist=o.allowlist, source=o.source)
                for o in self.others if o.kind == "url"]
        return assemble(terms, allows, banks=banks, urls=urls, backend=self.backend)


class ScreenerCache:
    """Compiled Screeners by bundle fingerprint. A worker holds one for its lifetime: compiling a
    10,000-term list costs about a second, loading one the coordinator compiled a fraction of that.
    `ready` records, per fingerprint, when the Screener became usable and how long that took."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._items: dict[str, Screener] = {}
        self.ready: dict[str, tuple[float, float]] = {}
        # Serialized forms a coordinator already has (compile_bundle's, or loaded from the compiled-list
        # cache), so that shipping the lists to workers does not pickle them again.
        self.serialized: dict[str, bytes] = {}

    def get(self, bundle: ListBundle, compiled: bytes | None = None, *, keep_serialized: bool = False) -> Screener:
        """`keep_serialized`: also keep `compiled` (a coordinator's; workers drop theirs once loaded)."""
        key = bundle.fingerprint
        found = self._items.get(key)
        if found is None:
            t0 = time.perf_counter()
            with collector_paused():
                found = _load(compiled) if compiled is not None else bundle.build()
            while len(self._items) >= self._size:
                oldest = next(iter(self._items))
                self.ready.pop(oldest, None)
                self.serialized.pop(oldest, None)
                self._items.pop(oldest)
            self._items[key] = found
            self.ready[key] = (time.time(), time.perf_counter() - t0)
            if keep_serialized and compiled is not None:
                self.serialized[key] = compiled
        return found

    def holds(self, fingerprint: str) -> bool:
        """Whether the Screener of the bundle with this fingerprint is loaded here."""
        return fingerprint in self._items

    def inherited(self, bundle: ListBundle) -> None:
        """This process was forked holding the Screener: it became usable here now, at no cost."""
        self.ready[bundle.fingerprint] = (time.time(), 0.0)

    def clear(self) -> None:
        """Forget every Screener (benchmarks: each run starts as a fresh process would)."""
        self._items.clear()
        self.ready.clear()
        self.serialized.clear()


def _load(compiled: bytes) -> Screener:
    screener = pickle.loads(compiled)
    if not isinstance(screener, Screener):
        raise TypeError("compiled lists are not a Screener")
    return screener


def compile_bundle(bundle: ListBundle) -> bytes | None:
    """The Screener for `bundle`, compiled here once and serialized for the workers (Hyperscan
    databases included); None when something in it does not serialize (workers then compile)."""
    screener = screener_for(bundle)
    found = WORKER_CACHE.serialized.get(bundle.fingerprint)
    if found is None:
        try:
            found = WORKER_CACHE.serialized[bundle.fingerprint] = pickle.dumps(screener, pickle.HIGHEST_PROTOCOL)
        except (TypeError, AttributeError, pickle.PicklingError):
            return None
    return found


# One cache per process: worker processes and Dask workers import this module once and keep it.
WORKER_CACHE = ScreenerCache()


def screener_for(bundle: ListBundle, compiled: bytes | None = None) -> Screener:
    return WORKER_CACHE.get(bundle, compiled)
