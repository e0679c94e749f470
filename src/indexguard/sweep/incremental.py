"""Incremental re-sweeps: when a list gets a new version, search only for the entries that are new or
changed (same id with a different term, mode, severity or category), and report the entries that were
removed, with the items previously flagged only by removed or changed entries (candidates to un-hide).

Cost: the bulk scan is dominated by reading and compacting titles, so a sweep with a small delta list
is cheaper mostly because far fewer titles are flagged for the per-item path, and because the delta
compiles in milliseconds; the measured figures are in docs/sweep.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from indexguard.lists.terms import TermEntry, TermList
from indexguard.sweep.bundle import ListText


@dataclass(frozen=True, slots=True)
class ListDelta:
    name: str
    old_version: str
    new_version: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int

    @property
    def searched(self) -> frozenset[str]:
        return frozenset(self.added + self.changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "list": self.name, "old_version": self.old_version, "new_version": self.new_version,
            "added": len(self.added), "changed": len(self.changed), "removed": len(self.removed),
            "unchanged": self.unchanged, "removed_entries": list(self.removed),
            "changed_entries": list(self.changed),
        }


def _key(e: TermEntry) -> tuple[str, str, str, str]:
    return (e.term, e.mode, e.severity, e.category)


def diff(old: TermList, new: TermList) -> ListDelta:
    before = {e.id: _key(e) for e in old.entries}
    after = {e.id: _key(e) for e in new.entries}
    added = tuple(i for i in after if i not in before)
    changed = tuple(i for i in after if i in before and before[i] != after[i])
    removed = tuple(i for i in before if i not in after)
    unchanged = len(after) - len(added) - len(changed)
    return ListDelta(new.name, old.version, new.version, added, changed, removed, unchanged)


def delta_list(new: ListText, old: ListText) -> tuple[ListText, ListDelta]:
    """The new list restricted to its added and changed entries, named and versioned as the new list."""
    delta = diff(old.parse(), new.parse())
    subset = ListText(new.name, new.text, new.fmt, new.source, new.allowlist, delta.searched)
    return subset, delta


def unhide(previous: Iterable[dict[str, Any]], delta: ListDelta, flagged_now: set[str]) -> list[dict[str, Any]]:
    """Items of a previous sweep's output whose every reason came from a removed or changed entry of
    this list and that this sweep did not flag again: their hiding no longer has a basis."""
    gone = set(delta.removed) | set(delta.changed)
    out = []
    for rec in previous:
        reasons = rec.get("reasons") or []
        if not reasons or rec.get("id") in flagged_now:
            continue
        if all(r.get("list") == delta.name and r.get("entry") in gone for r in reasons):
            out.append({"id": rec.get("id"), "source": rec.get("source"), "row": rec.get("row"),
                        "entries": sorted({r["entry"] for r in reasons})})
    return out
