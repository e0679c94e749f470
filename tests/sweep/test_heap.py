"""Screening processes keep freed heap memory: a fresh process that allocates and frees chunk-sized
buffers over and over page-faults them back in every time unless glibc is told to keep them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from indexguard.sweep.heap import keep_freed_memory

_LOOP = """
import resource, sys
if sys.argv[1] == "keep":
    from indexguard.sweep.heap import keep_freed_memory
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):  # what a chunk does: a few buffers of about its size, filled, then all freed
    bufs = [b"x" * (2 << 20) for _ in range(4)]
    del bufs
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _LOOP, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not keep_freed_memory(), reason="needs glibc's mallopt")
def test_a_screening_process_stops_faulting_its_chunk_buffers_back_in() -> None:
    kept, default = _faults("keep"), _faults("default")
    assert default > 40 * 1024  # 40 rounds of 8 MB: at least a page fault per 4 KiB page, every round
    assert kept < default / 5, (kept, default)

