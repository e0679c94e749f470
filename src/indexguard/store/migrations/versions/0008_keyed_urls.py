"""Item URLs keyed at rest (issue 14): stored rows are converted, no schema change.

- deny_set: a `url` row's value becomes the keyed digest of its canonical URL (duplicates that
  meet on one digest are merged into the oldest row);
- decisions: each `url` identity becomes its digest, with a `url_shown` pair (scheme and host);
- cases and queued case work (record_queue): URL-valued metadata is shown by host, sealed in full,
  and the item's URL digests join its identities;
- abuse_reports: a reported URL stored before reports were sealed is sealed.
See indexguard.cases.private_urls. The digests and seals need the service key: `indexguard serve`
and `indexguard db upgrade` hand it in. Without the key an empty database migrates as usual, and
one with rows to convert stops with an error that says so (nothing is half converted).

Revision ID: 0008_keyed_urls
Revises: 0007_record_queue
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from indexguard.cases.meta import WITHHELD, CaseMeta
from indexguard.cases.private_urls import SEALED_PREFIX, SHOWN, UrlKeys, looks_like_url, seal
from indexguard.crypto import Cipher
from indexguard.errors import IndexguardError
from indexguard.screen.deny_set import DenySetError, is_url_digest, normalize_identities

revision = "0008_keyed_urls"
down_revision: str | None = "0007_record_queue"
branch_labels = None
depends_on = None

_CHUNK = 500
_URLISH = ("%://%", "%urls[%")  # metadata with an address in it, or with the item's URLs
_deny = sa.table("deny_set", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("value", sa.String))
_decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("identities", sa.JSON))
_cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("item_id", sa.String), sa.column("meta", sa.JSON))
_decision_items = sa.table("decisions", sa.column("id", sa.Integer), sa.column("item_id", sa.String),
                           sa.column("identities", sa.JSON))  # fmt: skip
_queue = sa.table("record_queue", sa.column("id", sa.Integer), sa.column("payload", sa.JSON))
_reports = sa.table("abuse_reports", sa.column("id", sa.Integer), sa.column("url", sa.String))


class NeedsKey(IndexguardError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"migration 0008_keyed_urls must key the URLs stored in {what} and needs the service key: "
            "run `indexguard db upgrade` (or `indexguard serve`) with INDEXGUARD_KEY / INDEXGUARD_KEY_FILE set"
        )


def upgrade() -> None:
    cipher = context.config.attributes.get("cipher")
    keys = UrlKeys(cipher) if isinstance(cipher, Cipher) else None
    conn = op.get_bind()
    _deny_set(conn, keys)
    _case_rows(conn, keys)  # before the decisions: a URL the case withheld is sealed from its decision's copy
    _rows(conn, _decisions, _decisions.c.identities, ('%"url"%',), keys, _pairs, "decisions")
    _rows(conn, _queue, _queue.c.payload, _URLISH, keys, _payload, "record_queue")
    _report_urls(conn, cipher if keys is not None else None)


def downgrade() -> None:
    pass  # digests cannot be turned back into addresses; the rows stay keyed


def _deny_set(conn: sa.Connection, keys: UrlKeys | None) -> None:
    q = sa.select(_deny.c.id, _deny.c.value).where(_deny.c.kind == "url", ~_deny.c.value.like("k1:%"))
    rows = [(i, v) for i, v in conn.execute(q.order_by(_deny.c.id)) if not is_url_digest(v)]
    if not rows:
        return
    if keys is None:
        raise NeedsKey("deny_set")
    keyed = sa.select(_deny.c.value).where(_deny.c.kind == "url", _deny.c.value.like("k1:%"))
    taken = {v for (v,) in conn.execute(keyed)}
    for row_id, value in rows:
        digest = _deny_digest(keys, value)
        if digest is None or digest in taken:
            conn.execute(sa.delete(_deny).where(_deny.c.id == row_id))  # unreadable, or the same address again
            continue
        taken.add(digest)
        conn.execute(sa.update(_deny).where(_deny.c.id == row_id).values(value=digest))


def _deny_digest(keys: UrlKeys, value: str) -> str | None:
    try:
        canonical = normalize_identities({"url": [value]}).get("url", ())
    except DenySetError:
        return None
    return keys.digest(canonical[0]) if canonical and not is_url_digest(canonical[0]) else None


def _chunks(conn: sa.Connection, table: Any, col: Any, patterns: tuple[str, ...]) -> Iterator[list[tuple[int, Any]]]:
    last = 0
    text = sa.cast(col, sa.Text)
    while True:
        q = sa.select(table.c.id, col).where(table.c.id > last, sa.or_(*(text.like(p) for p in patterns)))
        rows = [(i, _json(v)) for i, v in conn.execute(q.order_by(table.c.id).limit(_CHUNK))]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def _rows(
    conn: sa.Connection, table: Any, col: Any, patterns: tuple[str, ...], keys: UrlKeys | None, fix: Any, what: str
) -> None:
    for rows in _chunks(conn, table, col, patterns):
        for row_id, value in rows:
            new = fix(keys, value)
            if new is None:
                continue
            if keys is None:
                raise NeedsKey(what)
            conn.execute(sa.update(table).where(table.c.id == row_id).values({col.name: new}))


def _case_rows(conn: sa.Connection, keys: UrlKeys | None) -> None:
    last = 0
    text = sa.cast(_cases.c.meta, sa.Text)
    while True:
        q = sa.select(_cases.c.id, _cases.c.item_id, _cases.c.meta).where(
            _cases.c.id > last, sa.or_(*(text.like(p) for p in _URLISH))
        )
        rows = list(conn.execute(q.order_by(_cases.c.id).limit(_CHUNK)))
        if not rows:
            return
        last = rows[-1][0]
        for row_id, item_id, raw in rows:
            meta = _json(raw)
            if not isinstance(meta, dict):
                continue
            if keys is None:
                if _meta(None, meta) is not None:
                    raise NeedsKey("cases")
                continue
            old = CaseMeta.from_json(meta)
            new = keys.meta(old, _withheld_originals(conn, item_id, old))
            if new != old:
                conn.execute(sa.update(_cases).where(_cases.c.id == row_id).values(meta=new.to_json()))


def _withheld_originals(conn: sa.Connection, item_id: str, meta: CaseMeta) -> dict[str, str]:
    """The exact URLs of the case's `urls[i]` a list matched (withheld from view, so not in the case
    row): decision records kept the item's URLs in order, so when their count matches, by position."""
    if not any(u.text == WITHHELD for u in meta.urls):
        return {}
    q = sa.select(_decision_items.c.identities).where(_decision_items.c.item_id == item_id)
    for (raw,) in conn.execute(q.order_by(_decision_items.c.id.desc())):
        pairs = _json(raw)
        urls = [str(p[1]) for p in pairs or [] if isinstance(p, list | tuple) and len(p) == 2 and p[0] == "url"]
        if urls and not any(is_url_digest(u) for u in urls) and len(urls) == len(meta.urls):
            return {u.name: urls[i] for i, u in enumerate(meta.urls) if u.text == WITHHELD}
    return {}


def _pairs(keys: UrlKeys | None, pairs: Any) -> list[list[str]] | None:
    if not isinstance(pairs, list):
        return None
    good = [(str(p[0]), str(p[1])) for p in pairs if isinstance(p, list | tuple) and len(p) == 2]
    urls = [v for k, v in good if k == "url"]
    if all(is_url_digest(u) for u in urls):
        return None
    if keys is None:
        return []  # work to do: the caller stops for the key
    ids = keys.identities({"url": urls, SHOWN: [v for k, v in good if k == SHOWN]})
    out = [[k, v] for k, v in good if k not in ("url", SHOWN)]
    return out + [["url", d] for d in ids.get("url", [])] + [[SHOWN, x] for x in ids.get(SHOWN, [])]


def _meta(keys: UrlKeys | None, meta: Any) -> dict[str, Any] | None:
    if not isinstance(meta, dict):
        return None
    old = CaseMeta.from_json(meta)
    if keys is None:
        fixed = _unprotected(old)
        return {} if fixed else None
    new = keys.meta(old)
    return new.to_json() if new != old else None


def _unprotected(meta: CaseMeta) -> bool:
    return any(f.name not in meta.sealed and (looks_like_url(f.text) or f in meta.urls)
               for f in (*meta.urls, *meta.fields) if f.text and f.text != WITHHELD)  # fmt: skip


def _payload(keys: UrlKeys | None, payload: Any) -> dict[str, Any] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("meta"), dict):
        return None
    meta = _meta(keys, payload["meta"])
    return None if meta is None else {**payload, "meta": meta}


def _report_urls(conn: sa.Connection, cipher: Cipher | None) -> None:
    q = sa.select(_reports.c.id, _reports.c.url).where(
        _reports.c.url.is_not(None), ~_reports.c.url.like(f"{SEALED_PREFIX}%")
    )
    rows = list(conn.execute(q))
    if rows and cipher is None:
        raise NeedsKey("abuse_reports")
    for row_id, url in rows:
        if url:
            sealed = seal(cipher, url, b"report-url")  # type: ignore[arg-type]
            conn.execute(sa.update(_reports).where(_reports.c.id == row_id).values(url=sealed))
