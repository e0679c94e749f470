"""What a moderator may see of an item: its metadata with every list match masked.

A field a reason points at is shown with the matched span replaced by "█"; a field that matched
without a span (a URL-list or hash-list hit) is withheld whole. So no case page, API answer or
stored case row ever carries list text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.screen.extract import extract
from indexguard.screen.item import Item

MASK = "█"
WITHHELD = "[withheld: matched a list]"
MAX_FIELD = 2_000
MAX_FIELDS = 500
_UPLOADER_KEYS = ("uploader", "uploader_id", "uploader_name", "uploader_facts", "site", "category")
_IDENTITY_FIELDS = ("identities", "pdq", "md5", "sha1", "sha256", "infohash")
# Screens a free-text value the core does not (uploader facts): the spans to mask, or None to withhold.
TextScreen = Callable[[str], list[tuple[int, int]] | None]


def _spans(reasons: list[dict[str, Any]]) -> tuple[dict[str, list[tuple[int, int]]], set[str]]:
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    whole: set[str] = set()
    for r in reasons:
        f = str(r.get("field", ""))
        sp = r.get("span")
        if isinstance(sp, list | tuple) and len(sp) == 2 and all(isinstance(x, int) for x in sp):
            spans[f].append((int(sp[0]), int(sp[1])))
        elif f:
            whole.add(f)
    return spans, whole


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(max(a, 0), min(b, len(chars))):
            chars[i] = MASK
    return "".join(chars)


def masked_fields(fields: list[tuple[str, str]], reasons: list[dict[str, Any]]) -> list[dict[str, str]]:
    spans, whole = _spans(reasons)
    out = []
    for name, text in fields[:MAX_FIELDS]:
        shown = WITHHELD if name in whole else mask(text, spans.get(name, []))
        out.append({"name": name, "text": shown[:MAX_FIELD], "matched": str(name in whole or name in spans)})
    return out


def item_meta(item: Item, reasons: list[dict[str, Any]], screen_text: TextScreen | None = None) -> dict[str, Any]:
    """The case's view of an item: masked text fields (file tree included), identities, uploader facts."""
    try:
        ex = extract(item)
        fields, identities, errors = ex.text_fields, ex.identities, list(ex.errors)
    except IndexguardError as e:
        fields, identities, errors = item.text_fields(), {}, [str(e)[:300]]
    hash_hit = any(str(r.get("field", "")) in _IDENTITY_FIELDS for r in reasons)
    ids = {k: (["[withheld: matched a hash list]"] if hash_hit else v[:50]) for k, v in identities.items() if v}
    ids.pop("url", None)  # URLs are in the fields, masked there when they matched
    return {
        "kind": item.kind,
        "fields": masked_fields(fields, reasons),
        "urls": masked_fields([(f"urls[{i}]", u) for i, u in enumerate(item.urls)], reasons),
        "identities": ids,
        "uploader": _uploader(item.extra, screen_text),
        "errors": errors[:20],
    }


def _uploader(extra: dict[str, Any], screen_text: TextScreen | None) -> dict[str, str]:
    """Uploader facts as the site sent them, each screened like a title (withheld if it cannot be)."""
    out: dict[str, str] = {}
    for k in _UPLOADER_KEYS:
        v = extra.get(k)
        if isinstance(v, dict):
            out.update({f"{k}.{kk}"[:64]: str(vv)[:200] for kk, vv in list(v.items())[:20]})
        elif v is not None:
            out[k] = str(v)[:200]
    shown: dict[str, str] = {}
    for k, v in out.items():
        spans = screen_text(v) if screen_text is not None else None
        shown[k] = WITHHELD if spans is None else mask(v, spans)
    return shown


def uploader_id(extra: dict[str, Any]) -> str | None:
    v = extra.get("uploader_id", extra.get("uploader"))
    if isinstance(v, dict):
        v = v.get("id")
    return str(v)[:200] if v not in (None, "") else None


def again(text: str, screen_text: TextScreen) -> str:
    """Mask a stored text once more against the lists live now (withheld if it cannot be screened)."""
    if not text or text == WITHHELD:
        return text
    spans = screen_text(text)
    return WITHHELD if spans is None else mask(text, spans)


def remask(meta: dict[str, Any], screen_text: TextScreen) -> dict[str, Any]:
    """Stored metadata as it may be shown now: masked when stored, masked again on every read, so a
    list loaded later, or a case written by another module, still never shows list text."""
    out = dict(meta)
    for key in ("fields", "urls"):
        rows = [f for f in meta.get(key) or [] if isinstance(f, dict)]
        out[key] = [{**f, "text": again(str(f.get("text", "")), screen_text)} for f in rows]
    ids = meta.get("identities") or {}
    out["identities"] = {
        str(k): [again(str(v), screen_text) for v in vals] for k, vals in ids.items() if isinstance(vals, list)
    }
    out["uploader"] = {str(k): again(str(v), screen_text) for k, v in (meta.get("uploader") or {}).items()}
    if out.get("uploader_id"):
        out["uploader_id"] = again(str(out["uploader_id"]), screen_text)
    out["errors"] = [again(str(x), screen_text) for x in meta.get("errors") or []]
    return out
