"""The deny set: identities of blocked items, so a re-upload under a new title is refused at once.

An identity is a (type, value) pair: infohashes in every form, an NZB id, a normalised URL, exact
file hashes. `add` remembers the identities of a blocked item with a DenyRecord (which decision,
when, which list entries); `lookup` returns the records whose identities a new item shares, each
saying which identity type matched; `deny_hits` turns those into Hits for the Decision.

Types and their normal form (lowercase hex unless said otherwise):
- infohash_v1 (40), infohash_v2 (64), infohash_v2_trunc (40): a v1 hash and a truncated v2 hash
  are compared with each other, since trackers and the DHT see a v2 swarm by its truncation;
  adding infohash_v2 also remembers its truncation. `infohash`/`btih`/`btmh` are accepted too:
  40 hex or 32 base32 is a btih, 64 hex or a `1220` multihash a v2 hash.
- nzb_id (64); url (the Safe Browsing canonical key: host/path?query, scheme and port left out;
  a deny set made with a `url_key` keeps and compares only its keyed digest, `k1:` + 64 hex, see
  `url_digest`, so the addresses of blocked items are not held in clear);
- md5 (32), sha1 and bep47_sha1 (40, compared with each other), sha256 and pieces_root (64);
- uploader: the site's account id, as given (trimmed, at most 200 characters). Only a moderator's
  "ban uploader" adds one; screening looks an item's uploader up, but a blocked item never
  remembers its uploader, so blocking one listing never bans the account.
All-zero values and the hashes of empty content are never remembered: they would match every
item that has an empty file.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from indexguard.errors import IndexguardError
from indexguard.formats.url import UrlError, canonicalize
from indexguard.match.hit import Hit
from indexguard.screen.decision import Decision
from indexguard.screen.item import Item

log = logging.getLogger(__name__)

DENY_LIST = "deny-set"
FILE_FORMAT_VERSION = 1
MAX_VALUES_PER_ADD = 100_000

# Identity types in the order a match is reported (the strongest evidence first), with the
# namespace a value is compared in.
NAMESPACE: dict[str, str] = {
    "infohash_v2": "btmh",
    "infohash_v1": "btih",
    "infohash_v2_trunc": "btih",
    "nzb_id": "nzb",
    "url": "url",
    "sha256": "sha256",
    "pieces_root": "pieces_root",
    "sha1": "sha1",
    "bep47_sha1": "sha1",
    "md5": "md5",
    "uploader": "uploader",
}
IDENTITY_TYPES: tuple[str, ...] = tuple(NAMESPACE)
_HEX_LENGTH = {
    "infohash_v1": 40, "infohash_v2": 64, "infohash_v2_trunc": 40, "nzb_id": 64, "sha256": 64,
    "pieces_root": 64, "sha1": 40, "bep47_sha1": 40, "md5": 32,
}
_ALIASES = {"btih": "infohash", "btmh": "infohash", "nzb": "nzb_id", "urls": "url"}
MAX_UPLOADER = 200
_EMPTY_CONTENT = frozenset({
    "d41d8cd98f00b204e9800998ecf8427e",  # md5("")
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # sha1("")
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # sha256("")
})
_HEXCHARS = frozenset("0123456789abcdef")
URL_DIGEST_PREFIX = "k1:"
_URL_DIGEST_LENGTH = len(URL_DIGEST_PREFIX) + 64


class DenySetError(IndexguardError):
    """A malformed identity, or a deny-set file that cannot be read back safely."""


class DenySetKeyError(DenySetError):
    """A deny-set file that holds keyed URL digests, opened without its key or with another key:
    it could not match a URL, so it is not opened at all."""


EntryRef = tuple[str, str]  # (list name, entry id)


@dataclass(frozen=True, slots=True)
class DenyRecord:
    """Why an item is remembered. `identities` is filled in by the deny set (normalised);
    `matched` is set on lookup results: the identity type the new item shares."""

    decision_id: str
    category: str = "csam"
    entries: tuple[EntryRef, ...] = ()
    created: str = ""  # ISO 8601 UTC; add() fills it in when empty
    item_id: str = ""
    identities: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    matched: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision_id,
            "item": self.item_id,
            "category": self.category,
            "entries": [{"list": ls, "entry": e} for ls, e in self.entries],
            "created": self.created,
            "identities": {k: list(v) for k, v in self.identities.items()},
        }

    @classmethod
    def from_json(cls, obj: Any) -> DenyRecord:
        if not isinstance(obj, dict):
            raise DenySetError("a record must be a JSON object")
        decision = obj.get("decision")
        if not isinstance(decision, str) or not decision:
            raise DenySetError("a record needs a non-empty 'decision'")
        entries = obj.get("entries", [])
        if not isinstance(entries, list) or not all(
            isinstance(x, dict) and isinstance(x.get("list"), str) and isinstance(x.get("entry"), str)
            for x in entries
        ):
            raise DenySetError("'entries' must be a list of {list, entry} objects")
        identities = obj.get("identities", {})
        if not isinstance(identities, dict):
            raise DenySetError("'identities' must be an object")
        return cls(
            decision_id=decision,
            category=_opt_str(obj, "category", "csam"),
            entries=tuple((x["list"], x["entry"]) for x in entries),
            created=_opt_str(obj, "created", ""),
            item_id=_opt_str(obj, "item", ""),
            identities=normalize_identities(identities),
        )


class DenySet(Protocol):
    """What screening needs from a deny set. Implementations: MemoryDenySet, JsonlDenySet (the
    CLI's file) and the service's database one (indexguard.store.deny_repo); each is also the
    Screener's IdentityMatcher."""

    def add(self, identities: Mapping[str, Iterable[str]], reason: DenyRecord) -> DenyRecord | None:
        """Remember the identities; None when none is usable (nothing was stored)."""

    def lookup(self, identities: Mapping[str, Iterable[str]]) -> list[DenyRecord]:
        """One record per earlier decision sharing an identity, `matched` set."""

    def remove(self, decision_id: str) -> bool:
        """Forget a decision (e.g. overturned on appeal); False when it was not there."""

    def match_identities(self, identities: dict[str, list[str]]) -> list[Hit]:
        """The Screener's IdentityMatcher interface: deny_hits(lookup(identities))."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[DenyRecord]: ...


def normalize_identities(
    identities: Mapping[str, Iterable[str]], *, errors: list[str] | None = None
) -> dict[str, tuple[str, ...]]:
    """Canonical type names and values, duplicates dropped, trivial hashes skipped. A malformed
    value raises DenySetError naming the type (never the value), or, when an `errors` list is
    given, is skipped with its reason appended there."""
    out: dict[str, list[str]] = {}
    count = 0
    for raw_type, values in identities.items():
        if isinstance(values, str):
            values = [values]
        for value in values:
            count += 1
            if count > MAX_VALUES_PER_ADD:
                raise DenySetError(f"more than {MAX_VALUES_PER_ADD} identity values")
            try:
                pairs = _normalize_one(str(raw_type).strip().lower(), value)
            except DenySetError as e:
                if errors is None:
                    raise
                errors.append(str(e))
                continue
            for t, v in pairs:
                if t == "uploader" or not _trivial(v):
                    bucket = out.setdefault(t, [])
                    if v not in bucket:
                        bucket.append(v)
    return {t: tuple(out[t]) for t in IDENTITY_TYPES if t in out}


def _normalize_one(kind: str, value: object) -> list[tuple[str, str]]:
    if not isinstance(value, str):
        raise DenySetError(f"a {kind} identity must be a string")
    kind = _ALIASES.get(kind, kind)
    v = value.strip()
    if kind == "uploader":
        if not v or len(v) > MAX_UPLOADER or not v.isprintable():
            raise DenySetError(f"an uploader identity must be 1 to {MAX_UPLOADER} printable characters")
        return [("uploader", v)]
    if kind == "url":
        if is_url_digest(v):
            return [("url", v)]  # already keyed (see url_digest)
        try:
            return [("url", canonicalize(v).key)]
        except UrlError as e:
            raise DenySetError(f"url identity: {e.reason}") from None
    if kind == "infohash":
        kind = _infohash_kind(v)
    if kind not in _HEX_LENGTH:
        raise DenySetError(f"unknown identity type {kind!r}; types are {', '.join(IDENTITY_TYPES)}")
    v = _infohash_hex(v, kind) if kind.startswith("infohash") else v.lower()
    if len(v) != _HEX_LENGTH[kind] or not set(v) <= _HEXCHARS:
        raise DenySetError(f"{kind} must be {_HEX_LENGTH[kind]} hex digits")
    if kind == "infohash_v2":
        return [(kind, v), ("infohash_v2_trunc", v[:40])]
    return [(kind, v)]


def url_digest(key: bytes, canonical_key: str) -> str:
    """The keyed digest a URL identity is kept as: HMAC-SHA256 under `key` of the URL's canonical
    key (what `normalize_identities` makes of it), so every spelling of one address meets the same
    digest and the address cannot be read back (nor confirmed by guessing without the key)."""
    mac = _keyed_mac(key).copy()  # the key's pads are hashed once, not per URL
    mac.update(canonical_key.encode("utf-8", "surrogatepass"))
    return URL_DIGEST_PREFIX + mac.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed_mac(key: bytes) -> hmac.HMAC:
    return hmac.new(key, digestmod=hashlib.sha256)


def is_url_digest(v: str) -> bool:
    return len(v) == _URL_DIGEST_LENGTH and v.startswith(URL_DIGEST_PREFIX) and set(v[3:]) <= _HEXCHARS


def key_urls(ids: Mapping[str, tuple[str, ...]], key: bytes | None) -> dict[str, tuple[str, ...]]:
    """Normalised identities with each URL replaced by its keyed digest (unchanged without a key)."""
    urls = ids.get("url")
    if key is None or not urls:
        return dict(ids)
    keyed = tuple(dict.fromkeys(v if is_url_digest(v) else url_digest(key, v) for v in urls))
    return {**ids, "url": keyed}


def _infohash_kind(v: str) -> str:
    v = _strip_urn(v)
    return "infohash_v2" if len(v) in (64, 68) else "infohash_v1"


def _strip_urn(v: str) -> str:
    low = v.lower()
    for prefix in ("urn:btih:", "urn:btmh:"):
        if low.startswith(prefix):
            return v[len(prefix):]
    return v


def _infohash_hex(v: str, kind: str) -> str:
    v = _strip_urn(v)
    if kind == "infohash_v2" and len(v) == 68 and v.startswith("1220"):
        v = v[4:]  # multihash: sha2-256, 32 bytes
    if kind != "infohash_v2" and len(v) == 32:
        try:
            return base64.b32decode(v.upper()).hex()
        except (binascii.Error, ValueError):
            raise DenySetError(f"{kind} in base32 is not valid base32") from None
    return v.lower()


def _trivial(v: str) -> bool:
    return v in _EMPTY_CONTENT or (v != "" and set(v) == {"0"})


def _opt_str(obj: dict[str, Any], key: str, default: str) -> str:
    v = obj.get(key, default)
    if not isinstance(v, str):
        raise DenySetError(f"'{key}' must be a string")
    return v


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MemoryDenySet:
    """In-memory deny set; every method takes one lock, so it is safe to share between threads.
    With a `url_key`, URL identities are remembered and looked up only as their keyed digests."""

    def __init__(self, url_key: bytes | None = None) -> None:
        self.url_key = url_key
        self._lock = threading.RLock()
        self._records: dict[str, DenyRecord] = {}
        # (namespace, value) -> decision ids, in the order they were added
        self._index: dict[tuple[str, str], dict[str, None]] = {}

    def normalized(
        self, identities: Mapping[str, Iterable[str]], *, errors: list[str] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """`normalize_identities`, URLs keyed when this set has a `url_key`: the form it keeps."""
        return key_urls(normalize_identities(identities, errors=errors), self.url_key)

    def add(self, identities: Mapping[str, Iterable[str]], reason: DenyRecord) -> DenyRecord | None:
        ids = self.normalized(identities)
        if not ids:
            return None
        with self._lock:
            return self._put(reason, ids)

    def lookup(self, identities: Mapping[str, Iterable[str]]) -> list[DenyRecord]:
        # A malformed value cannot equal a stored (normalised) one: skip it, check the rest.
        ids = self.normalized(identities, errors=[])
        out: dict[str, DenyRecord] = {}
        with self._lock:
            for t, values in ids.items():
                for v in values:
                    for did in self._index.get((NAMESPACE[t], v), {}):
                        if did not in out:
                            out[did] = replace(self._records[did], matched=t)
        return list(out.values())

    def match_identities(self, identities: dict[str, list[str]]) -> list[Hit]:
        """The screener's IdentityMatcher interface: deny_hits(lookup(identities))."""
        return deny_hits(self.lookup(identities))

    def remove(self, decision_id: str) -> bool:
        with self._lock:
            rec = self._records.pop(decision_id, None)
            if rec is None:
                return False
            for t, values in rec.identities.items():
                for v in values:
                    key = (NAMESPACE[t], v)
                    bucket = self._index.get(key)
                    if bucket is not None:
                        bucket.pop(decision_id, None)
                        if not bucket:
                            del self._index[key]
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[DenyRecord]:
        with self._lock:
            return iter(list(self._records.values()))

    def _put(self, reason: DenyRecord, ids: Mapping[str, tuple[str, ...]]) -> DenyRecord:
        """Store or merge (same decision id: identities and entries are united, the first time
        is kept). Caller holds the lock."""
        old = self._records.get(reason.decision_id)
        merged: dict[str, tuple[str, ...]] = dict(old.identities) if old else {}
        for t, values in ids.items():
            merged[t] = tuple(dict.fromkeys(merged.get(t, ()) + values))
        rec = replace(
            reason if old is None else old,
            identities={t: merged[t] for t in IDENTITY_TYPES if t in merged},
            entries=tuple(dict.fromkeys((old.entries if old else ()) + reason.entries)),
            created=(old.created if old else "") or reason.created or _now(),
            matched=None,
        )
        self._records[rec.decision_id] = rec
        for t, values in ids.items():
            for v in values:
                self._index.setdefault((NAMESPACE[t], v), {})[rec.decision_id] = None
        return rec


def key_check(url_key: bytes) -> str:
    """What a keyed deny-set file records of its key: an HMAC of a fixed text (not of any URL), so
    opening the file with another key is caught instead of silently matching no URL."""
    return URL_DIGEST_PREFIX + hmac.new(url_key, _KEY_CHECK_TEXT, hashlib.sha256).hexdigest()


_KEY_CHECK_TEXT = b"\x00indexguard deny-set file key check"


class JsonlDenySet(MemoryDenySet):
    """A deny set kept in an append-only JSONL file and read back on start (the CLI's store).

    One writer process at a time. A torn last line (a crash mid-write) is moved to
    `<file>.torn` with a warning and nothing else is lost; any other unreadable line stops the
    load with DenySetError naming file and line, since skipping it would forget a block.

    With a `url_key` the file holds URLs only as keyed digests: its first line is a `key` line
    (`key_check`), URLs in clear found in an older file are keyed in memory on load, and
    `needs_rewrite` says the file should be rewritten (`compact`; the next `add` does it anyway).
    A file that holds digests or a key line is refused (DenySetKeyError) without a key, or with a
    key whose check differs: it could not match a URL. `keyless=True` opens such a file anyway,
    for readers that compare no URL (exporters of infohashes)."""

    def __init__(
        self, path: str | Path, *, fsync: bool = False, url_key: bytes | None = None, keyless: bool = False
    ) -> None:
        super().__init__(url_key)
        self.path = Path(path)
        self.fsync = fsync
        self.warnings: list[str] = []
        self.clear_urls = 0  # URL values found in clear in the file
        self._digests = 0  # URL values found keyed in the file
        self._file_check: str | None = None  # the file's key line
        self._lines = 0
        self._load()
        if not keyless:
            self._check_key()
        self.needs_rewrite = url_key is not None and self._lines > 0 and (
            self.clear_urls > 0 or self._file_check is None
        )

    def add(self, identities: Mapping[str, Iterable[str]], reason: DenyRecord) -> DenyRecord | None:
        ids = self.normalized(identities)
        if not ids:
            return None
        with self._lock:
            rec = self._put(reason, ids)
            if self.needs_rewrite:
                self.compact()
                return rec
            if self.url_key is not None and self._lines == 0:
                self._append(self._key_line())
            line = {"v": FILE_FORMAT_VERSION, "op": "add", **replace(rec, identities=ids).to_json()}
            self._append(line)
            return rec

    def remove(self, decision_id: str) -> bool:
        with self._lock:
            if not super().remove(decision_id):
                return False
            if self.needs_rewrite:
                self.compact()
            else:
                self._append({"v": FILE_FORMAT_VERSION, "op": "remove", "decision": decision_id})
            return True

    def compact(self) -> None:
        """Rewrite the file as one `add` line per record (drops removed ones), atomically; with a
        `url_key`, the key line first and every URL as its digest."""
        with self._lock:
            tmp = self.path.with_name(self.path.name + ".tmp")
            lines = [self._key_line()] if self.url_key is not None else []
            lines += [{"v": FILE_FORMAT_VERSION, "op": "add", **rec.to_json()} for rec in self._records.values()]
            with tmp.open("w", encoding="utf-8") as f:
                for line in lines:
                    f.write(_dump(line))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._lines = len(lines)
            self.clear_urls = 0
            self._file_check = lines[0]["check"] if self.url_key is not None else None
            self.needs_rewrite = False

    def _key_line(self) -> dict[str, Any]:
        assert self.url_key is not None
        return {"v": FILE_FORMAT_VERSION, "op": "key", "check": key_check(self.url_key)}

    def _check_key(self) -> None:
        keyed = self._file_check is not None or self._digests > 0
        if self.url_key is None and keyed:
            raise DenySetKeyError(f"{self.path} holds keyed URL digests and no key was given for it")
        if self.url_key is not None and self._file_check not in (None, key_check(self.url_key)):
            raise DenySetKeyError(f"{self.path} was written with another key than the one given")

    def _append(self, obj: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(_dump(obj))
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        self._lines += 1

    def _load(self) -> None:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: b"" unless the last write was torn
        for n, raw in enumerate(lines, start=1):
            if raw.strip():
                self._replay(raw, n)
        if tail.strip():
            try:
                self._replay(tail, len(lines) + 1)
            except DenySetError as e:
                self._set_aside(data, len(data) - len(tail), len(lines) + 1, e)
            else:
                self._append_newline()

    def _replay(self, raw: bytes, n: int) -> None:
        try:
            obj = json.loads(raw)
            op = obj.get("op") if isinstance(obj, dict) else None
            if op == "add":
                rec = DenyRecord.from_json(obj)
                urls = rec.identities.get("url", ())
                keyed = sum(map(is_url_digest, urls))
                self._digests += keyed
                self.clear_urls += len(urls) - keyed
                if rec.identities:
                    self._put(rec, key_urls(rec.identities, self.url_key))
            elif op == "remove" and isinstance(obj.get("decision"), str):
                MemoryDenySet.remove(self, obj["decision"])
            elif op == "key" and isinstance(obj.get("check"), str):
                self._file_check = obj["check"]
            else:
                raise DenySetError("'op' must be 'add', 'remove' or 'key'")
            self._lines += 1
        except (ValueError, DenySetError) as e:
            reason = e.args[0] if isinstance(e, DenySetError) else f"not JSON ({e})"
            raise DenySetError(f"{self.path}:{n}: {reason}") from None

    def _set_aside(self, data: bytes, cut: int, n: int, e: DenySetError) -> None:
        aside = self.path.with_name(self.path.name + ".torn")
        with aside.open("ab") as f:
            f.write(data[cut:] + b"\n")
        with self.path.open("r+b") as f:
            f.truncate(cut)
        msg = (f"{self.path}:{n}: the last line was cut short ({e}); moved to {aside}, "
               f"{len(self)} record(s) loaded")
        self.warnings.append(msg)
        log.warning(msg)

    def _append_newline(self) -> None:
        with self.path.open("ab") as f:
            f.write(b"\n")


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def deny_hits(records: Iterable[DenyRecord]) -> list[Hit]:
    """Hits for deny-set lookups: list "deny-set", entry = the earlier decision id, severity block,
    view identity:<type>; list_version is when the item was remembered."""
    hits = []
    for r in records:
        t = r.matched or "unknown"
        hits.append(Hit(
            list=DENY_LIST,
            list_version=r.created,
            entry=r.decision_id,
            category=r.category,
            severity="block",
            view=f"identity:{t}",
            extra={
                "detail": f"same {t} as an item blocked earlier (decision {r.decision_id}, {r.created})",
                "denied_at": r.created,
                "caused_by": [{"list": ls, "entry": e} for ls, e in r.entries],
            },
        ))
    return hits


def identities_of_item(item: Item) -> dict[str, list[str]]:
    """The identities an Item carries itself: its exact hashes, infohashes and URLs (parsed
    torrents, magnets and NZBs add theirs through their own `identities()`)."""
    out: dict[str, list[str]] = {}
    for kind in ("md5", "sha1", "sha256", "infohash"):
        if item.hashes.get(kind):
            out[kind] = list(item.hashes[kind])
    urls = [u for u in item.urls if _readable_url(u)]
    if urls:
        out["url"] = urls
    return out


def _readable_url(u: str) -> bool:
    try:
        canonicalize(u)
    except UrlError:
        return False
    return True


def record_for(decision: Decision, item_id: str = "", created: str = "") -> DenyRecord:
    """A DenyRecord for a blocking decision: its id, the first blocking reason's category and
    every blocking reason's (list, entry)."""
    blocking = [r for r in decision.reasons if r.severity == "block" and r.list != DENY_LIST]
    return DenyRecord(
        decision_id=decision.id,
        category=blocking[0].category if blocking else "csam",
        entries=tuple(dict.fromkeys((r.list, r.entry) for r in blocking)),
        created=created,
        item_id=item_id,
    )
