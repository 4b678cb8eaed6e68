"""The job runner's collector settings: changed while a job streams, restored after."""

from __future__ import annotations

import gc
import io
from datetime import date

import pytest

from skill.demo import demo_file
from skill.pipeline import JOB_GC_THRESHOLDS, fewer_collections, run_assessment
from skill.policy import default_policy
from skill.vocabulary import AutomationLevel


def run_demo() -> str:
    out = io.StringIO()
    code = run_assessment(
        demo_file(),
        output_format="jsonl",
        as_of=date(2026, 11, 23),
        level=AutomationLevel.BALANCED,
        policy=default_policy(),
        out=out,
        err=lambda message: None,
    )
    assert code == 0
    return out.getvalue()


def test_a_job_leaves_the_collector_as_it_found_it() -> None:
    before = gc.get_threshold()

    run_demo()

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_thresholds_are_raised_only_while_the_job_runs() -> None:
    before = gc.get_threshold()

    with fewer_collections():
        assert gc.get_threshold() == JOB_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0

    assert gc.get_threshold() == before


def test_a_hosts_own_freeze_is_kept(request: pytest.FixtureRequest) -> None:
    gc.freeze()
    request.addfinalizer(gc.unfreeze)
    frozen = gc.get_freeze_count()

    run_demo()

    assert gc.get_freeze_count() >= frozen > 0
