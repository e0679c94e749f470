"""Which source columns become which Item fields (`--field SRC[:DEST]`, `--id-field`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.screen.item import HASH_FIELDS, TEXT_FIELDS

ITEM_KEYS: tuple[str, ...] = ("kind", *TEXT_FIELDS, "files", "magnet", "url", "urls", *HASH_FIELDS)
# Fields whose presence means an item needs the full per-item path (parsing, identities, URLs).
COMPLEX_KEYS: frozenset[str] = frozenset(("files", "magnet", "url", "urls", *HASH_FIELDS))


@dataclass(frozen=True, slots=True)
class FieldMap:
    """`pairs` is None for the documented Item shape (every Item key under its own name)."""

    id_field: str = "id"
    pairs: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def parse(cls, specs: Sequence[str], id_field: str = "id") -> FieldMap:
        if not specs:
            return cls(id_field)
        pairs: list[tuple[str, str]] = []
        free = [f for f in TEXT_FIELDS]
        for spec in specs:
            src, _, dest = spec.partition(":")
            if not src:
                raise IndexguardError(f"--field {spec!r}: empty column name")
            if not dest:
                dest = src if src in ITEM_KEYS else (free[0] if free else "")
            if dest not in ITEM_KEYS:
                raise IndexguardError(f"--field {spec!r}: {dest or 'no free text field'} is not an item field "
                                      f"(one of {', '.join(ITEM_KEYS)})")
            if dest in (d for _, d in pairs):
                raise IndexguardError(f"--field {spec!r}: item field {dest!r} is given twice")
            if dest in free:
                free.remove(dest)
            pairs.append((src, dest))
        return cls(id_field, tuple(pairs))

    def columns(self, available: Sequence[str]) -> list[tuple[str, str]]:
        """(source column, item field) pairs present in `available`."""
        if self.pairs is None:
            return [(c, c) for c in available if c in ITEM_KEYS]
        return [(s, d) for s, d in self.pairs if s in available]

    def apply(self, row: dict[str, Any], default_id: str) -> dict[str, Any]:
        """A source row as the JSON object Item.from_json reads."""
        if self.pairs is None and self.id_field == "id":
            # The documented Item shape passes through untouched, so a sweep decides exactly as `screen`.
            obj = dict(row)
            if isinstance(obj.get("id"), bytes | bytearray | memoryview):
                obj["id"] = bytes(obj["id"]).hex()
            return obj
        obj = {d: row[s] for s, d in self.columns(list(row))}
        if self.pairs is None:
            obj.update({k: v for k, v in row.items() if k not in ITEM_KEYS and k not in ("id", self.id_field)})
        ident = row.get(self.id_field)
        if isinstance(ident, bytes | bytearray | memoryview):
            ident = bytes(ident).hex()
        obj["id"] = default_id if ident is None else ident
        return obj
