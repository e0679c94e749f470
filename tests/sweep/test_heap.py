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



def test_the_collector_is_paused_while_lists_load_and_restored_after() -> None:
    import gc

    from indexguard.sweep.heap import collector_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a load that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks")
def test_forked_workers_inherit_the_lists_out_of_the_collectors_reach() -> None:
    import gc
    import multiprocessing as mp

    from indexguard.sweep.heap import frozen_for_fork

    held = [[i] for i in range(50_000)]  # long-lived objects, as compiled lists are
    ctx = mp.get_context("fork")
    gc.unfreeze()  # as in a sweep process (a test before this one may have frozen objects)
    before = gc.get_freeze_count()
    with frozen_for_fork():
        reader, writer = ctx.Pipe(duplex=False)
        child = ctx.Process(target=lambda: writer.send(gc.get_freeze_count()))
        child.start()
    try:
        frozen_in_child = reader.recv()
    finally:
        child.join(30)
    assert frozen_in_child >= len(held)  # a collection in the worker never walks (or copies) them
    assert gc.get_freeze_count() == before  # the parent collects as it did


def test_a_process_that_froze_objects_itself_keeps_them_frozen() -> None:
    import gc

    from indexguard.sweep.heap import frozen_for_fork

    gc.freeze()  # what a service does after start-up
    try:
        frozen = gc.get_freeze_count()
        with frozen_for_fork():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
