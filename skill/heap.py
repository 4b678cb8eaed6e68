"""Keep the cyclic garbage collector out of a long run's way.

A run builds and drops some thousand container objects per account, so the
collector runs every account or two, and its full collections walk everything
alive: the policy, the imported modules, the engine's memo tables, tens of
thousands of objects that live as long as the run. Freezing them (`gc.freeze`)
takes them out of every collection until the run ends; nothing is kept longer
than it would be, since `gc.unfreeze` hands them back afterwards.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Objects alive now are left out of garbage collection until the block ends.

    Nested or concurrent uses leave it to the outermost: only the block that froze
    the heap unfreezes it.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_lock = threading.Lock()
_runs = 0
_threshold_before: tuple[int, ...] = ()


@contextmanager
def fewer_collections(every: int) -> Iterator[None]:
    """The youngest generation collected every `every` allocations (at least) in the block.

    For a run that holds many small objects a while (`run` holds each batch until its
    commit). The threshold is process-wide, so blocks at the same time (uploads in the
    web workspace) share it: the first to start saves it and the last to end puts it back.
    """
    global _runs, _threshold_before
    with _lock:
        if _runs == 0:
            _threshold_before = gc.get_threshold()
            gc.set_threshold(max(_threshold_before[0], every), *_threshold_before[1:])
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_threshold_before)
