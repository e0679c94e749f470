"""Running totals of a sweep and the summary written at the end (counts by action, category and list
entry id, throughput, list versions). Totals survive in checkpoints so a resumed sweep reports the
whole sweep, not just its last part."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # screening brings pyarrow; the CLI imports this module at start-up
    from indexguard.sweep.screening import ChunkResult

ACTIONS = ("allow", "warn", "review", "block")


@dataclass(slots=True)
class Totals:
    items: int = 0
    chunks: int = 0
    errors: int = 0
    flagged: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    entries: Counter[str] = field(default_factory=Counter)

    def add(self, r: ChunkResult) -> None:
        self.items += r.items
        self.chunks += 1
        self.errors += r.errors
        self.flagged += r.flagged
        self.actions.update(r.actions)
        self.categories.update(r.categories)
        self.entries.update(r.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "chunks": self.chunks,
            "errors": self.errors,
            "flagged": self.flagged,
            "actions": {a: self.actions.get(a, 0) for a in ACTIONS},
            "categories": dict(sorted(self.categories.items())),
            "entries": dict(sorted(self.entries.items(), key=lambda kv: (-kv[1], kv[0]))),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Totals:
        return cls(
            int(obj["items"]), int(obj["chunks"]), int(obj["errors"]), int(obj["flagged"]),
            Counter({k: int(v) for k, v in obj["actions"].items() if v}),
            Counter({k: int(v) for k, v in obj["categories"].items()}),
            Counter({k: int(v) for k, v in obj["entries"].items()}),
        )


_CACHE_LINES = {
    "hit": "lists loaded from the compiled-list cache in {seconds:.2f} s",
    "stored": "lists compiled in {seconds:.2f} s and kept in the compiled-list cache for the next sweep",
    "unusable": "compiled-list cache not used; lists compiled in {seconds:.2f} s",
}


def human(summary: dict[str, Any]) -> str:
    acts = summary["actions"]
    rate = summary["run"]["items_per_s"]
    line = (f"indexguard: swept {summary['items']:,} items in {summary['run']['seconds']:.1f} s "
            f"({rate:,.0f}/s): block {acts['block']:,}, review {acts['review']:,}, warn {acts['warn']:,}, "
            f"allow {acts['allow']:,}; {summary['errors']:,} unreadable")
    for note in summary["run"].get("notes", []):
        line += f"\nindexguard: {note}"
    cache = summary["run"].get("list_cache")
    if cache and cache["state"] in _CACHE_LINES:
        line += f"\nindexguard: {_CACHE_LINES[cache['state']].format(**cache)}"
        line += f" ({cache['detail']})" if cache.get("detail") else ""
    slow = summary["run"].get("regex_without_bulk_path")
    if slow:
        line += ("\nindexguard: every item took the per-item path (slower) because of regex entries outside "
                 f"the accepted subset (docs/sweep.md): {'; '.join(slow)}")
    return line
