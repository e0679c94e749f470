"""Export bundle of confirmed cases for hotline portals (IWF, INHOPE members, other hotlines).

A bundle is a directory:

- `cases.json`: one record per confirmed case: case id, kind, category, times, the listing's page,
  URLs, infohashes v1/v2, magnets, NZB ids.
- `cases.csv`: the same cases one row each, with identifier counts.
- `identifiers.csv`: one row per identifier (`type` is listing_url | url | infohash_v1 | infohash_v2 |
  magnet | nzb_id), the form most portals take for bulk upload.
- `manifest.json`: format, period, counts, and the SHA-256 and size of every other file.

What is never in a bundle: titles, descriptions, file names, magnet display names, list entries,
term text, image bytes. Magnets are rebuilt from the infohashes alone (a display name carries the
title). Values come from the case store: the case's masked metadata where it is intact, its sealed
URLs opened with the service key (indexguard.cases.private_urls: a hotline needs the exact address,
which is kept nowhere else in clear), and the identities of the item's decision records and deny-set
entries (hashes; their URLs are keyed digests and never exported).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases.meta import CaseMeta
from indexguard.cases.private_urls import full_fields, full_urls
from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError, LimitExceeded, ParseError
from indexguard.store import audit
from indexguard.store.models import Case, DecisionRecord, DenyEntry

FORMAT = "indexguard-hotline-export/1"
JSON_FILE, CASES_CSV, IDS_CSV, MANIFEST = "cases.json", "cases.csv", "identifiers.csv", "manifest.json"
ID_TYPES: tuple[str, ...] = ("listing_url", "url", "infohash_v1", "infohash_v2", "magnet", "nzb_id")
CASE_COLUMNS: tuple[str, ...] = (
    "case_id", "kind", "category", "opened_at", "hidden_at", "confirmed_at", "removed_at", "reported_at",
    "listing_url", "url_count", "infohash_v1_count", "infohash_v2_count", "magnet_count", "nzb_id_count",
)  # fmt: skip
ID_COLUMNS: tuple[str, ...] = ("case_id", "kind", "category", "type", "value", "confirmed_at", "removed_at")
MAX_CASES = 100_000
MAX_VALUES = 200  # per identifier type per case
MAX_VALUE = 2_048
MAX_BUNDLE_FILE = 512 << 20
_CHUNK = 500
_MASK, _WITHHELD = "█", "[withheld"
_HEX40, _HEX64 = re.compile(r"^[0-9a-f]{40}$"), re.compile(r"^[0-9a-f]{64}$")
_BTIH = re.compile(r"xt=urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})(?![0-9A-Za-z])")
_BTMH = re.compile(r"xt=urn:btmh:1220([0-9a-fA-F]{64})(?![0-9A-Za-z])")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{1,15}://\S+$")
_V1_KINDS = frozenset({"infohash", "infohash_v1", "btih"})
_V2_KINDS = frozenset({"infohash", "infohash_v2", "btmh"})
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class ExportError(IndexguardError):
    """An export that cannot be written or a bundle that does not check out."""


@dataclass(frozen=True)
class ExportCase:
    case_id: int
    kind: str
    category: str
    opened_at: str
    hidden_at: str | None
    confirmed_at: str | None
    removed_at: str | None
    reported_at: str | None
    listing_url: str | None
    urls: tuple[str, ...] = ()
    infohashes_v1: tuple[str, ...] = ()
    infohashes_v2: tuple[str, ...] = ()
    magnets: tuple[str, ...] = ()
    nzb_ids: tuple[str, ...] = ()

    def identifiers(self) -> Iterator[tuple[str, str]]:
        if self.listing_url:
            yield "listing_url", self.listing_url
        for name, values in (
            ("url", self.urls), ("infohash_v1", self.infohashes_v1), ("infohash_v2", self.infohashes_v2),
            ("magnet", self.magnets), ("nzb_id", self.nzb_ids),
        ):  # fmt: skip
            for v in values:
                yield name, v

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @staticmethod
    def from_json(d: dict[str, Any]) -> ExportCase:
        def many(k: str) -> tuple[str, ...]:
            return tuple(str(x) for x in d[k])

        def opt(k: str) -> str | None:
            return None if d[k] is None else str(d[k])

        try:
            return ExportCase(
                int(d["case_id"]), str(d["kind"]), str(d["category"]), str(d["opened_at"]), opt("hidden_at"),
                opt("confirmed_at"), opt("removed_at"), opt("reported_at"), opt("listing_url"), many("urls"),
                many("infohashes_v1"), many("infohashes_v2"), many("magnets"), many("nzb_ids"),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            raise ParseError("hotline export", f"malformed case record ({type(e).__name__}: {e})") from None


@dataclass(frozen=True)
class Period:
    since: datetime | None
    until: datetime

    def to_json(self) -> dict[str, str | None]:
        return {"since": None if self.since is None else _iso(self.since), "until": _iso(self.until)}


@dataclass(frozen=True)
class Bundle:
    directory: Path
    manifest: dict[str, Any]
    cases: list[ExportCase] = field(default_factory=list)
    identifiers: list[dict[str, str]] = field(default_factory=list)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else _aware(t).astimezone(UTC).isoformat()


# --- collecting: case rows -> ExportCase --------------------------------------------------------


def collect(s: Session, period: Period, max_cases: int = MAX_CASES, cipher: Cipher | None = None) -> list[ExportCase]:
    """Confirmed cases decided in the period, oldest decision first; URLs only with the `cipher`
    that opens the cases' sealed copies."""
    q = select(Case).where(Case.status == "confirmed", Case.decided_at.is_not(None), Case.decided_at < period.until)
    if period.since is not None:
        q = q.where(Case.decided_at >= period.since)
    rows = list(s.scalars(q.order_by(Case.decided_at, Case.id).limit(max_cases + 1)).all())
    if len(rows) > max_cases:
        raise LimitExceeded(
            "hotline export", f"more than {max_cases} confirmed cases in the period; export a shorter one"
        )
    out: list[ExportCase] = []
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        ids = _stored_identities(s, [c.item_id for c in chunk])
        out += [_export_case(c, ids.get(c.item_id, []), cipher) for c in chunk]
    return out


def _stored_identities(s: Session, item_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    """(kind, value) per item from its decision records and deny-set entries, unmasked."""
    out: dict[str, list[tuple[str, str]]] = {}
    q = select(DecisionRecord.item_id, DecisionRecord.identities).where(DecisionRecord.item_id.in_(item_ids))
    for item_id, identities in s.execute(q.order_by(DecisionRecord.id)):
        for pair in identities or []:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                out.setdefault(item_id, []).append((str(pair[0]), str(pair[1])))
    for item_id, kind, value in s.execute(
        select(DenyEntry.item_id, DenyEntry.kind, DenyEntry.value).where(DenyEntry.item_id.in_(item_ids))
    ):
        out.setdefault(item_id, []).append((kind, value))
    return out


def _intact(text: str) -> bool:
    return bool(text) and _MASK not in text and not text.startswith(_WITHHELD) and text.isprintable()


def _export_case(c: Case, stored: list[tuple[str, str]], cipher: Cipher | None = None) -> ExportCase:
    meta = CaseMeta.from_json(c.meta)
    fields = full_fields(meta, cipher)
    pairs = [(k, v) for k, vs in meta.identities.items() for v in vs]
    pairs += [("url", u) for u in full_urls(meta, cipher)]
    pairs += stored
    v1, v2, urls, nzb = _Bag(), _Bag(), _Bag(), _Bag()
    for kind, value in pairs:
        value = value.strip()
        if not _intact(value) or len(value) > MAX_VALUE:
            continue
        low = value.lower()
        if kind in _V1_KINDS and _HEX40.match(low):
            v1.add(low)
        elif kind in _V2_KINDS and _HEX64.match(low):
            v2.add(low)
        elif kind == "url" and _URL.match(value):
            urls.add(value)
        elif kind == "nzb_id":
            nzb.add(value)
    magnet = fields.get("magnet", "")
    for m in _BTIH.finditer(magnet):
        h = m.group(1)
        v1.add(base64.b32decode(h.upper()).hex() if len(h) == 32 else h.lower())
    for m in _BTMH.finditer(magnet):
        v2.add(m.group(1).lower())
    if _intact(fields.get("nzb_id", "")) and len(fields["nzb_id"]) <= MAX_VALUE:
        nzb.add(fields["nzb_id"].strip())
    listing = fields.get("listing_url") or fields.get("page_url") or ""
    return ExportCase(
        case_id=c.id,
        kind=_kind(c.kind, v1.items or v2.items, nzb.items, magnet),
        category=c.category,
        opened_at=_iso(c.opened_at) or "",
        hidden_at=_iso(c.hidden_at),
        confirmed_at=_iso(c.decided_at),
        removed_at=_iso(c.removed_at),
        reported_at=_iso(c.reported_at),
        listing_url=listing if _intact(listing) and _URL.match(listing) else None,
        urls=tuple(urls.items),
        infohashes_v1=tuple(v1.items),
        infohashes_v2=tuple(v2.items),
        magnets=tuple(magnets(v1.items, v2.items)),
        nzb_ids=tuple(nzb.items),
    )


class _Bag:
    """Ordered, deduplicated, bounded."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._seen: set[str] = set()

    def add(self, v: str) -> None:
        if v not in self._seen and len(self.items) < MAX_VALUES:
            self._seen.add(v)
            self.items.append(v)


def _kind(case_kind: str, hashes: list[str], nzb: list[str], magnet: str) -> str:
    if case_kind in ("torrent", "magnet", "nzb", "url"):
        return case_kind
    if nzb:
        return "nzb"
    if magnet:
        return "magnet"
    return "torrent" if hashes else "url"


def magnets(v1: list[str], v2: list[str]) -> list[str]:
    """Magnets from infohashes only: one hybrid magnet when the item has one of each, else one per hash."""
    if len(v1) == 1 and len(v2) == 1:
        return [f"magnet:?xt=urn:btih:{v1[0]}&xt=urn:btmh:1220{v2[0]}"]
    return [f"magnet:?xt=urn:btih:{h}" for h in v1] + [f"magnet:?xt=urn:btmh:1220{h}" for h in v2]


# --- writing ------------------------------------------------------------------------------------


def _cell(v: object) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: such cells get a leading quote."""
    text = "" if v is None else str(v)
    return "'" + text if text.startswith(_FORMULA) else text


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_cell(x) for x in r])
    return buf.getvalue().encode("utf-8")


def _counts(cases: list[ExportCase]) -> dict[str, int]:
    counts = {"cases": len(cases)} | {t: 0 for t in ID_TYPES}
    for c in cases:
        for t, _v in c.identifiers():
            counts[t] += 1
    return counts


def render(cases: list[ExportCase], period: Period, generated_at: datetime) -> dict[str, bytes]:
    """The bundle's files, name -> bytes (the manifest last, covering the others)."""
    head = {"format": FORMAT, "generated_at": _iso(generated_at), "period": period.to_json()}
    files = {
        JSON_FILE: (
            json.dumps({**head, "cases": [c.to_json() for c in cases]}, indent=1, ensure_ascii=False) + "\n"
        ).encode("utf-8"),
        CASES_CSV: _csv(CASE_COLUMNS, (_case_row(c) for c in cases)),
        IDS_CSV: _csv(
            ID_COLUMNS,
            (
                (c.case_id, c.kind, c.category, t, v, c.confirmed_at, c.removed_at)
                for c in cases
                for t, v in c.identifiers()
            ),
        ),
    }
    rows = {JSON_FILE: len(cases), CASES_CSV: len(cases), IDS_CSV: sum(1 for c in cases for _ in c.identifiers())}
    manifest = {
        **head,
        "counts": _counts(cases),
        "files": [
            {"name": n, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b), "records": rows[n]}
            for n, b in files.items()
        ],
        "excludes": "titles, descriptions, file names, magnet display names, list entries, term text, image bytes",
    }
    files[MANIFEST] = (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def _case_row(c: ExportCase) -> list[object]:
    return [
        c.case_id, c.kind, c.category, c.opened_at, c.hidden_at, c.confirmed_at, c.removed_at, c.reported_at,
        c.listing_url, len(c.urls), len(c.infohashes_v1), len(c.infohashes_v2), len(c.magnets), len(c.nzb_ids),
    ]  # fmt: skip


def write_bundle(files: dict[str, bytes], out: Path) -> None:
    """Into a new or empty directory, owner-only; each file is written whole, then renamed into place."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty directory; choose a new --out")
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, data in files.items():
            tmp = out / f".{name}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(out / name)
    except OSError as e:
        raise ExportError(f"{out}: cannot write the bundle ({e.strerror or e})") from None


def export(
    factory: sessionmaker[Session],
    out: Path,
    since: datetime | None,
    actor: str,
    until: datetime | None = None,
    now: datetime | None = None,
    cipher: Cipher | None = None,
) -> Bundle:
    """Collect, write and audit one bundle; returns what was written (parsed back from the files)."""
    now = _aware(now or datetime.now(UTC))
    period = Period(None if since is None else _aware(since), _aware(until) if until is not None else now)
    if period.since is not None and period.since >= period.until:
        raise ExportError(f"--since {_iso(period.since)} is not before the end of the period {_iso(period.until)}")
    with factory() as s:
        cases = collect(s, period, cipher=cipher)
    files = render(cases, period, now)
    write_bundle(files, out)
    manifest_sha = hashlib.sha256(files[MANIFEST]).hexdigest()
    detail = {"directory": out.name, "cases": len(cases), "manifest_sha256": manifest_sha, **period.to_json()}
    audit.append(factory, actor, "hotline.export", f"export:{out.name}"[:256], detail)
    return read_bundle(out)


# --- reading back -------------------------------------------------------------------------------


def _read(p: Path) -> bytes:
    try:
        if p.stat().st_size > MAX_BUNDLE_FILE:
            raise LimitExceeded("hotline export", f"{p.name} is larger than {MAX_BUNDLE_FILE} bytes")
        return p.read_bytes()
    except OSError as e:
        raise ExportError(f"{p}: cannot read ({e.strerror or e})") from None


def read_bundle(directory: Path) -> Bundle:
    """Parse a bundle and check every file against the manifest's SHA-256 and size."""
    try:
        manifest = json.loads(_read(directory / MANIFEST))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ParseError("hotline export", f"{MANIFEST}: not a {FORMAT} manifest")
        listed = {str(f["name"]): f for f in manifest["files"]}
    except (ValueError, KeyError, TypeError) as e:
        raise ParseError("hotline export", f"{MANIFEST}: malformed ({type(e).__name__}: {e})") from None
    if set(listed) != {JSON_FILE, CASES_CSV, IDS_CSV}:
        raise ParseError("hotline export", f"{MANIFEST}: lists {sorted(listed)}, expected the three bundle files")
    data: dict[str, bytes] = {}
    for name, entry in listed.items():
        data[name] = _read(directory / name)
        if hashlib.sha256(data[name]).hexdigest() != entry.get("sha256") or len(data[name]) != entry.get("bytes"):
            raise ExportError(f"{directory / name}: does not match the manifest (altered or truncated)")
    try:
        doc = json.loads(data[JSON_FILE])
        cases = [ExportCase.from_json(c) for c in doc["cases"]]
        ids = list(csv.DictReader(io.StringIO(data[IDS_CSV].decode("utf-8"), newline="")))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, csv.Error) as e:
        raise ParseError("hotline export", f"malformed bundle file ({type(e).__name__}: {e})") from None
    return Bundle(directory, manifest, cases, ids)
