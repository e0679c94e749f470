"""The squeezed view: letters held for emphasis (`biiiizuuu`) read as one.

A reader reads a letter typed three or more times in a row as that letter stretched, not as a new word.
Two readings, because the stretched letter may stand for one letter or a double one (`hagosssssozu`):
each run of three or more squeezed to one, and to two. Runs of two are left alone: doubling a letter
is a different word (a near miss), not emphasis.
"""

from __future__ import annotations

import re

from indexguard.text.rendered import Rendered

_RUN = re.compile(r"([^\W\d_])\1{2,}", re.IGNORECASE)
# Any character three times, on lower-cased text: several times faster than _RUN, which then confirms.
_ANY_RUN = re.compile(r"(.)\1\1")

# The bulk path's pre-check: a letter three times (any case) sends the line to the full path.
REPEAT_LITERALS: tuple[bytes, ...] = tuple((c * 3).encode("ascii") for c in "abcdefghijklmnopqrstuvwxyz")


def may_have_repeats(text: str) -> bool:
    """The cheap pre-check (it also passes `...` and `---`; squeezed() looks at letters only)."""
    return _ANY_RUN.search(text.lower()) is not None


def squeezed(text: str) -> list[Rendered]:
    """`text` with every run of three or more of one letter kept once, and kept twice; empty when
    there is no such run."""
    if not may_have_repeats(text):
        return []
    runs = [m.span() for m in _RUN.finditer(text)]
    return [_squeeze(text, runs, keep) for keep in (1, 2)] if runs else []


def _squeeze(text: str, runs: list[tuple[int, int]], keep: int) -> Rendered:
    parts: list[str] = []
    offsets: list[int] = []
    ends: list[int] = []
    pos = 0
    for start, end in [*runs, (len(text), len(text))]:
        parts.append(text[pos:start])
        offsets.extend(range(pos, start))
        ends.extend(range(pos + 1, start + 1))
        if start < end:
            parts.append(text[start : start + keep])
            offsets.extend(range(start, start + keep))
            # The last kept letter stands for the rest of the run.
            ends.extend([*range(start + 1, start + keep), end])
        pos = end
    return Rendered("".join(parts), offsets, ends)
