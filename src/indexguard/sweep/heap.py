"""How screening processes hold their memory: the heap memory a chunk frees is kept for the next
chunk, and the compiled lists' objects are kept out of the cyclic collector's way (below).

A chunk allocates a few buffers of about its own size (the bytes read, the lower-cased views, NumPy
masks and offsets) and frees them when it is done. glibc hands freed memory at the top of the heap
back to the system once it exceeds M_TRIM_THRESHOLD, which starts at 128 KiB and only grows as large
blocks are freed; a fresh pool worker therefore page-faulted about 5 MB back in for every 1.8 MB
chunk: 344,000 minor faults and 0.67 s of system time per 10M titles, 40 % more CPU per chunk than
the same code in a process whose heap had already grown. Dask's nanny sets MALLOC_TRIM_THRESHOLD_ to
64 KiB in its workers on purpose, which is worse still for this workload.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_BYTES = 128 << 20  # freed memory kept for reuse before any goes back to the system
MMAP_BYTES = 32 << 20  # blocks below this come from the heap (glibc's largest allowed value on 64-bit)


@functools.cache
def keep_freed_memory() -> bool:
    """Once per process: raise glibc's trim and mmap thresholds. False where there is no glibc
    `mallopt` that accepts them (other platforms and C libraries keep their own behaviour)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while compiled lists are built or loaded. They are some
    170,000 long-lived objects (10,000 terms); with the collector on, every 700 new objects start a
    collection that walks all the young ones again: half of a 0.06 s load, 0.04-0.15 s of a compile."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@contextmanager
def frozen_for_fork() -> Iterator[None]:
    """Around forking workers that inherit the compiled lists: everything this process holds is moved
    out of the collector's reach (gc.freeze) first, so that a collection in a worker neither walks those
    objects again nor writes to their headers, which would copy every page they sit on into each worker.
    The parent's own collector is as before afterwards, unless the process had frozen objects itself
    (a service does, after start-up): its policy then covers these too, and nothing is unfrozen."""
    ours = gc.get_freeze_count() == 0
    gc.freeze()  # O(1); no gc.collect() first, which would walk them all once more (tens of ms)
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()
