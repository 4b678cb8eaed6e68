"""Keep the cyclic garbage collector off what was alive before a long run began.

A run builds and drops some thousand container objects per account, so the
collector runs every account or two, and its full collections walk everything
alive: the policy, the imported modules, the engine's memo tables, tens of
thousands of objects that live as long as the run. Freezing them (`gc.freeze`)
takes them out of every collection until the run ends; nothing is kept longer
than it would be, since `gc.unfreeze` hands them back afterwards.
"""

from __future__ import annotations

import gc
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
