"""What a moderator may see of an item: its metadata with every list match masked.

A field a reason points at is shown with the matched span replaced by "█"; a field that matched
without a span (a URL-list or hash-list hit) is withheld whole. So no case page, API answer or
stored case row ever carries list text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.screen.extract import Extracted, extract
from indexguard.screen.item import Item

MASK = "█"
WITHHELD = "[withheld: matched a list]"
MAX_FIELD = 2_000
MAX_FIELDS = 500
_UPLOADER_KEYS = ("uploader", "uploader_id", "uploader_name", "uploader_facts", "site", "category")
_IDENTITY_FIELDS = ("identities", "pdq", "md5", "sha1", "sha256", "infohash")
# Screens a free-text value the core does not (uploader facts): the spans to mask, or None to withhold.
TextScreen = Callable[[str], list[tuple[int, int]] | None]


_INFOHASH_KINDS = ("infohash_v1", "infohash_v2", "infohash_v2_trunc", "infohash", "btih")


@dataclass(frozen=True, slots=True)
class MetaField:
    """One shown field: its name, its text (masked where a list matched), and whether a list matched."""

    name: str
    text: str
    matched: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "matched": self.matched}

    @classmethod
    def from_json(cls, obj: Any) -> MetaField | None:
        if not isinstance(obj, dict):
            return None
        # Rows stored before this type wrote the flag as the string "True"/"False".
        return cls(str(obj.get("name", "")), str(obj.get("text", "")), obj.get("matched") in (True, "True", "true"))


@dataclass(frozen=True)
class CaseMeta:
    """What a case may show of its item, every list match masked; shared by screening, reports,
    cases and hotline reports, stored as `to_json()` in the case row."""

    kind: str = "listing"
    fields: tuple[MetaField, ...] = ()
    urls: tuple[MetaField, ...] = ()
    identities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    uploader: Mapping[str, str] = field(default_factory=dict)  # facts as the site sent them, masked
    uploader_id: str | None = None
    errors: tuple[str, ...] = ()
    # URL-valued fields' exact text, sealed (indexguard.cases.private_urls), by field name: opened
    # only for hotline reports and evidence; never shown (`remask` drops it).
    sealed: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "fields": [f.to_json() for f in self.fields],
            "urls": [u.to_json() for u in self.urls],
            "identities": {k: list(v) for k, v in self.identities.items()},
            "uploader": dict(self.uploader),
            "uploader_id": self.uploader_id,
            "errors": list(self.errors),
        }
        if self.sealed:
            out["sealed"] = dict(self.sealed)
        return out

    @classmethod
    def from_json(cls, obj: Any) -> CaseMeta:
        """Tolerant of rows written by older versions and of anything malformed (dropped)."""
        if not isinstance(obj, dict):
            return cls()
        ids = obj.get("identities")
        up = obj.get("uploader")
        uid = obj.get("uploader_id")
        sealed = obj.get("sealed")
        return cls(
            kind=str(obj.get("kind") or "listing"),
            fields=_fields(obj.get("fields")),
            urls=_fields(obj.get("urls")),
            identities={str(k): tuple(str(x) for x in v) for k, v in ids.items() if isinstance(v, list)}
            if isinstance(ids, dict) else {},
            uploader={str(k): str(v) for k, v in up.items()} if isinstance(up, dict) else {},
            uploader_id=str(uid) if uid not in (None, "") else None,
            errors=tuple(str(x) for x in obj.get("errors") or [] if isinstance(obj.get("errors"), list)),
            sealed={str(k): str(v) for k, v in sealed.items()} if isinstance(sealed, dict) else {},
        )  # fmt: skip

    def by_name(self) -> dict[str, str]:
        return {f.name: f.text for f in self.fields}

    def infohashes(self) -> tuple[str, ...]:
        """Every infohash the case holds, whatever the identity type was called."""
        return tuple(dict.fromkeys(v for k in _INFOHASH_KINDS for v in self.identities.get(k, ())))


def _fields(rows: Any) -> tuple[MetaField, ...]:
    if not isinstance(rows, list):
        return ()
    return tuple(f for f in (MetaField.from_json(r) for r in rows) if f is not None)


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


def masked_fields(fields: list[tuple[str, str]], reasons: list[dict[str, Any]]) -> list[MetaField]:
    spans, whole = _spans(reasons)
    out = []
    for name, text in fields[:MAX_FIELDS]:
        shown = WITHHELD if name in whole else mask(text, spans.get(name, []))
        out.append(MetaField(name, shown[:MAX_FIELD], name in whole or name in spans))
    return out


def item_meta(
    item: Item,
    reasons: list[dict[str, Any]],
    screen_text: TextScreen | None = None,
    extracted: Extracted | None = None,
) -> CaseMeta:
    """The case's view of an item: masked text fields (file tree included), identities, uploader facts.
    `extracted` is what the Screener already extracted (Screener.examine); without it the item is
    parsed here."""
    try:
        ex = extracted if extracted is not None else extract(item)
        fields, identities, errors = ex.text_fields, ex.identities, list(ex.errors)
    except IndexguardError as e:
        fields, identities, errors = item.text_fields(), {}, [str(e)[:300]]
    hash_hit = any(str(r.get("field", "")) in _IDENTITY_FIELDS for r in reasons)
    ids = {k: (("[withheld: matched a hash list]",) if hash_hit else tuple(v[:50]))
           for k, v in identities.items() if v and k != "url"}  # URLs are in the fields, masked there  # fmt: skip
    return CaseMeta(
        kind=item.kind,
        fields=tuple(masked_fields(fields, reasons)),
        urls=tuple(masked_fields([(f"urls[{i}]", u) for i, u in enumerate(item.urls)], reasons)),
        identities=ids,
        uploader=_uploader(item.extra, screen_text),
        uploader_id=item.uploader,
        errors=tuple(errors[:20]),
    )


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


def again(text: str, screen_text: TextScreen) -> str:
    """Mask a stored text once more against the lists live now (withheld if it cannot be screened)."""
    if not text or text == WITHHELD:
        return text
    spans = screen_text(text)
    return WITHHELD if spans is None else mask(text, spans)


def remask(meta: CaseMeta, screen_text: TextScreen) -> CaseMeta:
    """Stored metadata as it may be shown now: masked when stored, masked again on every read, so a
    list loaded later, or a case written by another module, still never shows list text."""
    return replace(
        meta,
        fields=tuple(replace(f, text=again(f.text, screen_text)) for f in meta.fields),
        urls=tuple(replace(u, text=again(u.text, screen_text)) for u in meta.urls),
        identities={k: tuple(again(v, screen_text) for v in vals) for k, vals in meta.identities.items()},
        uploader={k: again(v, screen_text) for k, v in meta.uploader.items()},
        uploader_id=again(meta.uploader_id, screen_text) if meta.uploader_id else meta.uploader_id,
        errors=tuple(again(x, screen_text) for x in meta.errors),
        sealed={},
    )
