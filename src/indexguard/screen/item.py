"""Item: what a site asks about. The JSON shape of DESIGN.md's `screen` input and the service's API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from indexguard.errors import IndexguardError

Kind = Literal["query", "listing", "torrent", "nzb", "image", "url"]
KINDS: tuple[str, ...] = ("query", "listing", "torrent", "nzb", "image", "url")
TEXT_FIELDS: tuple[str, ...] = ("title", "text", "description")
HASH_FIELDS: tuple[str, ...] = ("pdq", "md5", "sha1", "sha256", "infohash")


class ItemError(IndexguardError):
    """An item whose JSON does not have the documented shape."""


@dataclass(slots=True)
class Item:
    id: str
    kind: Kind = "listing"
    title: str | None = None
    text: str | None = None
    description: str | None = None
    files: list[str] = field(default_factory=list)
    magnet: str | None = None
    urls: list[str] = field(default_factory=list)
    hashes: dict[str, list[str]] = field(default_factory=dict)
    raw: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, obj: Any, default_id: str = "") -> Item:
        if not isinstance(obj, dict):
            raise ItemError(f"an item must be a JSON object, not {type(obj).__name__}")
        item_id = obj.get("id", default_id)
        if not isinstance(item_id, str | int):
            raise ItemError("'id' must be a string")
        kind = obj.get("kind", "listing")
        if kind not in KINDS:
            # An unknown kind is a caller's label, not a reason to skip screening: every text field is
            # still screened, as a listing's would be, and the label is kept in `extra`.
            kind = "listing"
        texts = {}
        for name in TEXT_FIELDS:
            v = obj.get(name)
            if v is not None and not isinstance(v, str):
                raise ItemError(f"{name!r} must be a string")
            texts[name] = v
        return cls(
            id=str(item_id),
            kind=kind,
            files=_str_list(obj, "files"),
            magnet=_opt_str(obj, "magnet"),
            urls=_str_list(obj, "urls") + ([u] if (u := _opt_str(obj, "url")) else []),
            hashes={h: _str_list(obj, h) for h in HASH_FIELDS if obj.get(h) is not None},
            title=texts["title"],
            text=texts["text"],
            description=texts["description"],
            extra={k: v for k, v in obj.items() if k not in _KNOWN or (k == "kind" and v not in KINDS)},
        )

    @property
    def uploader(self) -> str | None:
        """The site's account id of whoever uploaded it (`uploader_id`, `uploader` or `uploader.id`),
        looked up in the deny set when a moderator has banned it."""
        v = self.extra.get("uploader_id", self.extra.get("uploader"))
        if isinstance(v, dict):
            v = v.get("id")
        if v is None:
            return None
        return str(v).strip()[:200] or None

    def text_fields(self) -> list[tuple[str, str]]:
        """(field name, text) for every free-text field, files included."""
        out = [(n, v) for n in TEXT_FIELDS if (v := getattr(self, n))]
        out += [(f"files[{i}]", f) for i, f in enumerate(self.files) if f]
        return out


_KNOWN = frozenset(("id", "kind", "files", "magnet", "url", "urls", *TEXT_FIELDS, *HASH_FIELDS))


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    v = obj.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ItemError(f"{key!r} must be a string")
    return v


def _str_list(obj: dict[str, Any], key: str) -> list[str]:
    v = obj.get(key)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ItemError(f"{key!r} must be a string or a list of strings")
    return list(v)
