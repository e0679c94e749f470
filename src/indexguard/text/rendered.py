"""A text derived from another (rendered markup, display order, transliteration) with, for each of its
characters, the index of the source character it shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rendered:
    """`offsets[i]`..`ends[i]` is the source span character i shows (a decoded `&#98;` shows five)."""

    text: str
    offsets: list[int]
    ends: list[int]

    @classmethod
    def of(cls, text: str, offsets: list[int]) -> Rendered:
        """Each character shows exactly one source character."""
        return cls(text, offsets, [o + 1 for o in offsets])

    def after(self, source: Rendered | None) -> Rendered:
        """This rendering of `source.text`, re-indexed to `source`'s own source."""
        if source is None:
            return self
        return Rendered(self.text, [source.offsets[i] for i in self.offsets], [source.ends[e - 1] for e in self.ends])

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The smallest source span holding characters start..end; reordering views may scatter them."""
        if start >= end:
            pos = self.offsets[start] if start < len(self.offsets) else (self.ends[-1] if self.ends else 0)
            return (pos, pos)
        return (min(self.offsets[start:end]), max(self.ends[start:end]))
