"""Fetch one source into its hash bank: incremental, resumable, deletions applied, a list version at the end.

Every batch the library yields (a `FetchDelta`: upstream key -> record or None, plus a checkpoint) is
applied in one transaction together with that checkpoint, so a crash loses at most the batch in
flight and the next run carries on from the last committed checkpoint; applying a batch twice
changes nothing (records are keyed as upstream keys them). Only a fetch that reached the end
becomes a list version: that version goes live (or shadow) like any list import.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.exchanges import sources
from indexguard.exchanges.sources import Credentials, ExchangeError, SourceConfig
from indexguard.lists.hash_list import HashType, default_severity, normalise_hash
from indexguard.store import audit, lists_repo
from indexguard.store.exchange_models import ExchangeRecord, ExchangeState
from indexguard.store.models import LiveList

LEASE_SECONDS = 900
_BATCH_KEYS = 500


@dataclass(frozen=True)
class FetchOutcome:
    source: str
    ok: bool
    busy: bool = False
    resumed: bool = False
    batches: int = 0
    updated: int = 0
    deleted: int = 0
    records: int = 0
    entries: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # why -> count (unsupported type, invalid hash)
    list_number: int | None = None
    list_version: str | None = None
    created: bool = False
    activated: str = "none"
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def utc(t: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were written as UTC."""
    return None if t is None else (t if t.tzinfo is not None else t.replace(tzinfo=UTC))


def plain_json(obj: Any) -> Any:
    """A library dataclass as JSON-safe data (enums by value, sets as sorted lists, tuples as lists)."""
    return _plain(dataclasses.asdict(obj))


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k.value if isinstance(k, Enum) else k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, set | frozenset):
        return sorted((_plain(x) for x in v), key=str)
    if isinstance(v, Enum):
        return v.value
    return v


def _load(data: Any, cls: type) -> Any:
    dj = sources.module("threatexchange.utils.dataclass_json")
    return dj.dataclass_load_dict(data, cls)


def _key_text(key: Any) -> str:
    return json.dumps(list(key) if isinstance(key, tuple) else key)


def _key_obj(text: str) -> Any:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def _record_cls(cfg: SourceConfig, api: Any) -> type:
    if cfg.api == "ncmec":
        return sources.module("threatexchange.exchanges.clients.ncmec.hash_api").NCMECEntryUpdate  # type: ignore[no-any-return]
    return api.get_record_cls()  # type: ignore[no-any-return]


class _QuietLibrary(logging.Filter):
    # The library logs whole responses at DEBUG and invalid fingerprints at WARNING, hash values
    # included, and urllib3 logs every URL (ThreatExchange puts its token in the URL): while a fetch
    # runs nothing they log leaves the process, and no record carrying a credential does either.
    _NOISY = ("threatexchange", "urllib3", f"{os.sep}requests{os.sep}")

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]
        self._quoted = [quote(s, safe="") for s in self._secrets]

    def filter(self, record: logging.LogRecord) -> bool:
        if any(n in record.pathname for n in self._NOISY):
            return False
        try:
            text = record.getMessage()
        except Exception:
            return False
        return not any(s in text for s in (*self._secrets, *self._quoted))


@contextlib.contextmanager
def quiet_library(secrets: list[str]) -> Iterator[None]:
    f = _QuietLibrary(secrets)
    names = ("", "threatexchange", "urllib3", "urllib3.connectionpool", "requests")
    targets = [logging.getLogger(n) for n in names]
    handlers = {id(h): h for lg in targets for h in lg.handlers}.values()
    for t in targets:
        t.addFilter(f)
    for h in handlers:
        h.addFilter(f)
    try:
        yield
    finally:
        for t in targets:
            t.removeFilter(f)
        for h in handlers:
            h.removeFilter(f)


def claim(s: Session, cfg: SourceConfig, owner: str, now: datetime, lease_seconds: int) -> ExchangeState | None:
    """Take the source's lease (row locked for the check); None when another fetcher holds it."""
    st = s.get(ExchangeState, cfg.name, with_for_update=True)
    if st is None:
        st = ExchangeState(source=cfg.name, api=cfg.api, failures=0, records=0, fetched_total=0, deleted_total=0)
        s.add(st)
    held = utc(st.lease_until)
    if st.lease_owner not in (None, owner) and held is not None and held > now:
        return None
    st.api = cfg.api
    st.lease_owner = owner
    st.lease_until = now + timedelta(seconds=lease_seconds)
    st.last_attempt = now
    st.updated_at = now
    return st


def fetch_source(
    factory: sessionmaker[Session],
    cipher: Cipher,
    cfg: SourceConfig,
    creds: Credentials,
    *,
    owner: str,
    lease_seconds: int = LEASE_SECONDS,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    after_batch: Callable[[int], None] | None = None,
) -> FetchOutcome:
    """Fetch `cfg` from where it left off; on success store (and activate) a new bank version if it changed.

    `after_batch(n)` runs after batch n is committed (tests use it to simulate a crash mid-fetch).
    Errors come back in the outcome (with every credential scrubbed), never as exceptions, except
    ExtraMissing when the library is not installed.
    """
    sources.library()
    with factory() as s, s.begin():
        st = claim(s, cfg, owner, now(), lease_seconds)
        if st is None:
            return FetchOutcome(cfg.name, ok=False, busy=True, error="another fetch holds this source")
        checkpoint_json = st.checkpoint
    try:
        with quiet_library(creds.secrets()):
            return _fetch(factory, cipher, cfg, creds, owner, checkpoint_json, lease_seconds, now, after_batch)
    except sources.ExtraMissing:
        raise
    except Exception as e:
        message = creds.scrub(_describe(e))
        with factory() as s, s.begin():
            st = s.get(ExchangeState, cfg.name, with_for_update=True)
            if st is not None:
                st.last_error = message[:500]
                st.failures = (st.failures or 0) + 1
                st.lease_owner, st.lease_until = None, None
                st.updated_at = now()
        return FetchOutcome(cfg.name, ok=False, error=message)


def _describe(e: Exception) -> str:
    response = getattr(e, "response", None)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return f"authentication failed (HTTP {status}): check the credentials in settings"
    if status is not None:
        return f"upstream answered HTTP {status} (after the client's retries)"
    if isinstance(e, ExchangeError):
        return str(e)
    name, text = type(e).__name__, str(e)
    if name == "RetryError":  # urllib3 gave up: say why, not the URL
        why = re.search(r"too many (\d+) error responses", text)
        return f"upstream kept failing after the client's retries (HTTP {why.group(1)})" if why else name
    if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"):
        return f"cannot reach the upstream ({name})"
    return f"{name}: {text}"


def _fetch(
    factory: sessionmaker[Session],
    cipher: Cipher,
    cfg: SourceConfig,
    creds: Credentials,
    owner: str,
    checkpoint_json: dict[str, Any] | None,
    lease_seconds: int,
    now: Callable[[], datetime],
    after_batch: Callable[[int], None] | None,
) -> FetchOutcome:
    api = sources.make_api(cfg, creds)
    cp_cls = api.get_checkpoint_cls()
    rec_cls = _record_cls(cfg, api)
    checkpoint = None
    resumed = False
    restart = cfg.snapshot
    if checkpoint_json and not cfg.snapshot:
        checkpoint = _load(checkpoint_json["checkpoint"], cp_cls)
        resumed = not checkpoint_json.get("complete", False)
        if checkpoint.is_stale():  # the upstream's own rule: start again from nothing
            checkpoint, resumed, restart = None, False, True
    batches = updated = deleted = 0
    for delta in api.fetch_iter(sources.signal_types(), checkpoint):
        with factory() as s, s.begin():
            if restart:
                s.execute(delete(ExchangeRecord).where(ExchangeRecord.source == cfg.name))
                restart = False
            u, d = _apply(s, cfg.name, api, rec_cls, delta.updates)
            updated, deleted = updated + u, deleted + d
            st = s.get(ExchangeState, cfg.name, with_for_update=True)
            assert st is not None
            st.checkpoint = {"checkpoint": plain_json(delta.checkpoint), "complete": False}
            st.lease_owner, st.lease_until = owner, now() + timedelta(seconds=lease_seconds)
            st.fetched_total = (st.fetched_total or 0) + u
            st.deleted_total = (st.deleted_total or 0) + d
        batches += 1
        if after_batch is not None:
            after_batch(batches)
    with factory() as s, s.begin():
        if restart:  # a snapshot source that yielded nothing: it is empty now
            s.execute(delete(ExchangeRecord).where(ExchangeRecord.source == cfg.name))
        text, entries, skipped = bank_csv(s, cipher, cfg, api, rec_cls)
        info, created, activated = _publish(s, cipher, cfg, text, entries)
        st = s.get(ExchangeState, cfg.name, with_for_update=True)
        assert st is not None
        if st.checkpoint is not None:
            st.checkpoint = {**st.checkpoint, "complete": True}
        records = int(s.scalar(select(func.count()).where(ExchangeRecord.source == cfg.name)) or 0)
        st.records = records
        st.list_number, st.list_version = (info.number, info.version) if info else (None, None)
        st.last_success, st.last_error, st.failures = now(), None, 0
        st.lease_owner, st.lease_until = None, None
        st.updated_at = now()
        if info is not None and created:  # the new bank version and its audit row commit together
            detail = {"source": cfg.name, "number": info.number, "version": info.version, "entries": entries,
                      "updated": updated, "deleted": deleted, "activated": activated}  # fmt: skip
            audit.append_in(s, f"exchange:{cfg.name}", "list.import", cfg.bank, detail)
    return FetchOutcome(
        cfg.name, True, False, resumed, batches, updated, deleted, records, entries, skipped,
        info.number if info else None, info.version if info else None, created, activated,
    )  # fmt: skip


def _publish(
    s: Session, cipher: Cipher, cfg: SourceConfig, text: str, entries: int
) -> tuple[lists_repo.VersionInfo | None, bool, str]:
    """Store the bank as a list version when it changed, and put it live or in shadow as configured.

    indexguard refuses empty lists, so an upstream that holds nothing (yet, or any more) stores no
    version and takes a live bank out of matching: an empty bank matches nothing either way.
    """
    live = s.get(LiveList, cfg.bank)
    if entries == 0:
        if live is not None and live.version_id is not None:
            lists_repo.deactivate(s, cfg.bank)
        return None, False, "none"
    info, created = lists_repo.import_version(s, cipher, cfg.bank, "hash", "csv", text, f"exchange:{cfg.name}")
    # A new version goes live; so does the first one. An unchanged one is left as the operator set it
    # (a rollback or a deactivation stays until upstream changes).
    first = live is None or (live.version_id is None and live.previous_version_id is None)
    if cfg.activate == "live" and not info.live and (created or first):
        return lists_repo.activate(s, cfg.bank, str(info.number)), created, "live"
    if cfg.activate == "shadow" and created and not info.live:
        lists_repo.set_shadow(s, cfg.bank, str(info.number))
        return info, created, "shadow"
    return info, created, "live" if info.live else "none"


def _apply(s: Session, source: str, api: Any, rec_cls: type, updates: dict[Any, Any]) -> tuple[int, int]:
    """Merge one batch with the library's own merge rule (None = the record leaves)."""
    updated = deleted = 0
    items = [(_key_text(k), v) for k, v in updates.items()]
    for i in range(0, len(items), _BATCH_KEYS):
        chunk = items[i : i + _BATCH_KEYS]
        rows = {
            r.key: r
            for r in s.scalars(
                select(ExchangeRecord).where(
                    ExchangeRecord.source == source, ExchangeRecord.key.in_([k for k, _ in chunk])
                )
            )
        }
        for key, value in chunk:
            row = rows.get(key)
            old = _load(row.value, rec_cls) if row is not None else None
            merged = api.fetch_value_merge(old, value) if value is not None else None
            if merged is None:
                if row is not None:
                    s.delete(row)
                    deleted += 1
                continue
            data = plain_json(merged)
            if row is None:
                row = ExchangeRecord(source=source, key=key, value=data)
                s.add(row)
                rows[key] = row
            else:
                row.value = data
            updated += 1
        s.flush()
    return updated, deleted


_CSV_HEADER = ("hash", "type", "id", "category", "source", "severity")


def bank_csv(s: Session, cipher: Cipher, cfg: SourceConfig, api: Any, rec_cls: type) -> tuple[str, int, dict[str, int]]:
    """The bank's CSV (hash,type,id,category,source,severity) built from every record the source holds."""
    stored = s.execute(select(ExchangeRecord.key, ExchangeRecord.value).where(ExchangeRecord.source == cfg.name))
    if cfg.api == "ncmec":  # the stored JSON has all it needs: skip rebuilding a dataclass per record
        rows = _ncmec_rows(cfg, {_key_obj(k): v for k, v in stored})
    else:
        rows = _generic_rows(cipher, cfg, api, {_key_obj(k): _load(v, rec_cls) for k, v in stored})
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_CSV_HEADER)
    skipped: dict[str, int] = {}
    seen: set[str] = set()
    for raw_type, value, entry_id, category, label in rows:
        hash_type = sources.SIGNAL_TO_HASH_TYPE.get(raw_type)
        if hash_type is None:
            skipped[f"unsupported type {raw_type}"] = skipped.get(f"unsupported type {raw_type}", 0) + 1
            continue
        try:
            ht, norm = normalise_hash(value, _as_hash_type(hash_type))
        except ValueError:
            skipped["invalid hash"] = skipped.get("invalid hash", 0) + 1
            continue
        if entry_id in seen:
            continue
        seen.add(entry_id)
        w.writerow((norm, ht, entry_id, category, label, default_severity(ht)))
    return out.getvalue(), len(seen), skipped


def _as_hash_type(name: str) -> HashType:
    return name  # type: ignore[return-value]  # values of SIGNAL_TO_HASH_TYPE are HashType names


# NCMEC fingerprint names onto threatexchange signal names, per entry type. NCMEC's MD5/SHA-1 are of the
# file bytes for images too; indexguard banks both as exact hashes (HMA keeps only video MD5).
_NCMEC_FINGERPRINTS = {
    ("image", "pdq"): "pdq",
    ("image", "md5"): "video_md5",
    ("video", "md5"): "video_md5",
    ("image", "sha1"): "sha1",
    ("video", "sha1"): "sha1",
}


def _ncmec_rows(cfg: SourceConfig, records: dict[Any, dict[str, Any]]) -> Iterator[tuple[str, str, str, str, str]]:
    """Bank rows from stored NCMECEntryUpdate JSON (id, member_id, entry_type, deleted, classification,
    fingerprints, feedback)."""
    only = set(cfg.only_esp_ids)
    exploitative = cfg.environment in sources.NCMEC_EXPLOITATIVE_ENVIRONMENTS
    for key, entry in sorted(records.items(), key=lambda kv: str(kv[0])):
        member = entry.get("member_id")
        if entry.get("deleted") or (only and member not in only):
            continue
        label = entry.get("classification") or ""
        category = "exploitative" if exploitative else sources.NCMEC_CATEGORIES.get(label, cfg.category)
        provenance = f"{cfg.name} esp={member}" + (f" class={label}" if label else "")
        kind = str(entry.get("entry_type", ""))
        for fp_type, value in sorted((entry.get("fingerprints") or {}).items()):
            raw = _NCMEC_FINGERPRINTS.get((kind, fp_type.lower()), fp_type.lower())
            yield raw, value, f"{cfg.name}:{key}:{fp_type.lower()}", category, provenance


def _generic_rows(
    cipher: Cipher, cfg: SourceConfig, api: Any, records: dict[Any, Any]
) -> Iterator[tuple[str, str, str, str, str]]:
    converted = api.naive_convert_to_signal_type(sources.signal_types(), api.collab, records)
    for st, by_value in converted.items():
        name = st.get_name()
        for value, meta in sorted(by_value.items()):
            tags = sorted({t for o in meta.get_as_opinions() for t in (o.tags or ())})
            label = f"{cfg.name}" + (f" tags={','.join(tags)[:200]}" if tags else "")
            digest = cipher.keyed_hash("exchange-entry", name + "\t" + value)[:20]
            entry_id = f"{cfg.name}:{digest}"
            yield name, value, entry_id, cfg.category, label
