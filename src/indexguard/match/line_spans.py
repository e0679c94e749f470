"""Lines of a newline-separated buffer, located from a few offsets only.

The bulk path finds a handful of hits in megabytes of titles. Building the offsets of every newline to
place them cost as much as a Hyperscan scan, so a hit is placed by searching for the newlines around it
(memchr speed, a line's length), lines are known by the offset where they start, and line numbers are
counted only for the lines that come out flagged, in one pass that also counts the lines.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Bytes compared per numpy call: the scratch arrays are reused, where a temporary the size of an 8 MiB
# chunk costs fresh pages (page faults) on every call. 1 MiB: 17 % less than 256 KiB per 8 MiB chunk
# (fewer numpy calls; the arrays still stay in a core's cache).
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class LineScan:
    count: int  # lines in the buffer, a last one without its newline included
    numbers: list[int]  # 0-based numbers of the lines starting at the offsets asked for
    blank: frozenset[int]  # where the lines holding only whitespace start (of those asked about)


def line_start(buf: bytes, pos: int) -> int:
    """Offset where the line holding byte `pos` starts."""
    return buf.rfind(b"\n", 0, max(pos, 0)) + 1


def line_end(buf: bytes, start: int) -> int:
    """Offset of the newline ending the line that starts at `start` (the buffer's length for the last)."""
    end = buf.find(b"\n", start)
    return len(buf) if end < 0 else end


def scan_lines(
    buf: bytes, starts: Sequence[int] = (), *, heads: Collection[int] = (), block: int = _BLOCK
) -> LineScan:
    """One pass of vector compares over `buf`, `block` bytes at a time: its line count and the numbers
    of the lines starting at `starts` (ascending offsets of line starts). `heads`: the starts of lines
    that may be blank (the bulk path's raw scan finds every line that begins with whitespace, the only
    lines that can be); those holding only whitespace come back as `blank`."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    size = len(arr)
    newline = np.empty(min(size, block), dtype=bool)
    total, k, numbers = 0, 0, []
    for at in range(0, size, block):
        seg = arr[at : at + block]
        nl = newline[: len(seg)]
        np.equal(seg, 10, out=nl)
        done, counted = 0, total  # newlines up to offset at + done
        while k < len(starts) and starts[k] < at + len(seg):
            # From the previous start on, so that each byte is counted once however many lines are asked.
            counted += int(np.count_nonzero(nl[done : starts[k] - at]))
            done = starts[k] - at
            numbers.append(counted)
            k += 1
        total += int(np.count_nonzero(nl))
    numbers += [total] * (len(starts) - k)
    count = total + (0 if not buf or buf.endswith(b"\n") else 1)
    return LineScan(count, numbers, _blank(buf, heads))


def _blank(buf: bytes, heads: Collection[int]) -> frozenset[int]:
    """Of the lines starting at `heads`, those holding only whitespace."""
    return frozenset(s for s in heads if not buf[s : line_end(buf, s)].strip())


def line_numbers(buf: bytes, starts: Sequence[int], newlines: Any = None) -> list[int]:
    """0-based numbers of the lines starting at `starts` (ascending). `newlines`: the offsets of every
    b"\\n" in `buf` (a numpy array), when the caller has them anyway."""
    if newlines is not None:
        return [int(n) for n in np.searchsorted(newlines, np.asarray(starts, dtype=np.int64))]
    return scan_lines(buf, starts).numbers
