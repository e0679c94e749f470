"""Lines of a buffer placed from a few offsets (match/line_spans.py): every answer equals the obvious
one computed line by line, whatever the blocks the buffer is compared in."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.match.line_spans import line_end, line_numbers, line_start, scan_lines

LINE = st.lists(st.sampled_from(["a", "Zo", " ", "\t", "\r", "\x0b", "\x0c", "\x1c", "kato", ".", "!"]),
                max_size=5).map("".join)
BUF = st.lists(LINE, max_size=30).flatmap(
    lambda lines: st.booleans().map(lambda end: ("\n".join(lines) + ("\n" if end and lines else "")).encode()))


def _starts(buf: bytes) -> list[int]:
    return [0] + [i + 1 for i, c in enumerate(buf) if c == 10 and i + 1 < len(buf)] if buf else []


@settings(max_examples=300, deadline=None)
@given(BUF, st.sampled_from([1, 2, 3, 7, 64, 1 << 18]), st.data())
def test_scan_lines_counts_numbers_and_finds_blank_lines(buf: bytes, block: int, data: st.DataObject) -> None:
    lines = buf.split(b"\n") if buf else []
    if buf.endswith(b"\n"):
        lines.pop()
    starts = _starts(buf)
    assert len(starts) == len(lines)
    asked = sorted(data.draw(st.sets(st.sampled_from(starts))) if starts else [])
    # The lines that begin with whitespace (what the bulk path's raw scan notes), and any others: only
    # the first can be blank.
    heads = {s for s in starts if buf[s : s + 1].isspace()} | set(asked)
    got = scan_lines(buf, asked, heads=heads, block=block)
    assert got.count == len(lines)
    assert got.numbers == [starts.index(s) for s in asked]
    assert got.blank == {s for s, line in zip(starts, lines, strict=True) if not line.strip()}
    assert scan_lines(buf, asked, block=block).blank == frozenset()
    newlines = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
    assert line_numbers(buf, asked) == line_numbers(buf, asked, newlines) == got.numbers
    for s, line in zip(starts, lines, strict=True):
        assert line_end(buf, s) == s + len(line)
        for pos in range(s, s + len(line)):
            assert line_start(buf, pos) == s


def test_a_chunk_sized_buffer_across_many_blocks() -> None:
    rng = np.random.default_rng(5)
    lines = [b"x" * int(n) for n in rng.integers(0, 90, 40_000)]
    lines[7_000] = b"  \t"
    lines[23_456] = b" y"
    buf = b"\n".join(lines) + b"\n"
    starts = _starts(buf)
    asked = [starts[i] for i in (0, 1, 7_000, 20_000, 39_999)]
    got = scan_lines(buf, asked, heads=[s for s in starts if buf[s : s + 1].isspace()])
    assert got.count == 40_000
    assert got.numbers == [0, 1, 7_000, 20_000, 39_999]
    assert got.blank == {starts[7_000]} | {starts[i] for i, line in enumerate(lines) if not line}
