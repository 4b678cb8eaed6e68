"""Account Health Action Engine.

    from skill import assess
    run = assess("accounts.csv", as_of=date(2026, 11, 23))
    for assessment in run.assessments:
        print(assessment.name, assessment.score, [a.status for a in assessment.actions])

Exports resolve lazily so the CLI's cold start imports only what a command needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skill import native

native.install()  # the engine's compiled modules, when built for these sources

__version__ = "0.1.0"
__all__ = [
    "AccountRecord",
    "Assessment",
    "AssessmentRun",
    "AutomationLevel",
    "Policy",
    "assess",
    "assess_account",
    "load_policy",
]

if TYPE_CHECKING:
    from skill.api import assess
    from skill.assessment import Assessment, AssessmentRun
    from skill.engine import assess_account
    from skill.policy import Policy, load_policy
    from skill.record import AccountRecord
    from skill.vocabulary import AutomationLevel

_EXPORTS = {
    "AccountRecord": "skill.record",
    "Assessment": "skill.assessment",
    "AssessmentRun": "skill.assessment",
    "AutomationLevel": "skill.vocabulary",
    "Policy": "skill.policy",
    "assess": "skill.api",
    "assess_account": "skill.engine",
    "load_policy": "skill.policy",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skill' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
