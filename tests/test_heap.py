"""`skill.heap`: the garbage collector kept out of a long run's way, and put back after."""

from __future__ import annotations

import gc

from skill.heap import fewer_collections

EVERY = 20_000


def test_runs_that_overlap_leave_the_threshold_as_the_first_found_it() -> None:
    """Uploads in the web workspace record at the same time: the threshold is put back
    when the last of them ends, not set to what another run had raised it to."""
    before = gc.get_threshold()
    first, second = fewer_collections(EVERY), fewer_collections(EVERY)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], EVERY)  # the second still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
