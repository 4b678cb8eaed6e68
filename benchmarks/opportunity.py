"""How many accounts get an opportunity play, per tier: a report, not a test.

    python benchmarks/opportunity.py                       # 5,000 synthetic + the mix world
    python benchmarks/opportunity.py --accounts 20000 --seed 3 --level aggressive

A play on every healthy account is noise: an opportunity play should go to the
accounts whose own signals say so. This assesses two inputs the engine was not
tuned to, with the default policy:

- `synthetic.py`: seeded accounts covering every input field, a latent health
  per account (thriving, steady, at risk, critical);
- the `mix` world of `worlds.py` (every source connected, five hidden traits),
  its last monthly snapshot.

Printed per input and tier: accounts; the share with each opportunity flag;
the share given any opportunity play that is not blocked, and each play's share
(blocked ones are counted apart: a stop rule held them); then the queue: how
many of the run's pending approvals are opportunity plays. Exit status 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from synthetic import AS_OF, write_accounts_csv
from worlds import WORLDS, simulate

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from skill.api import assess  # noqa: E402
from skill.assessment import Assessment  # noqa: E402
from skill.policy import load_policy  # noqa: E402
from skill.vocabulary import (  # noqa: E402
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    OpportunityCode,
    Tier,
)


def pct(part: int, whole: int) -> str:
    return "-" if not whole else f"{100 * part / whole:.1f}%"


def report(title: str, assessments: list[Assessment], plays: list[str]) -> None:
    by_tier: dict[str, list[Assessment]] = defaultdict(list)
    for a in assessments:
        by_tier[a.tier.value].append(a)
    tiers = [t.value for t in Tier if by_tier.get(t.value)]
    print(f"\n## {title}: {len(assessments):,} accounts\n")
    flags = [c.value for c in OpportunityCode]
    header = ["tier", "accounts", *flags, "any play", *plays, "blocked plays"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for tier in [*tiers, "all"]:
        group = assessments if tier == "all" else by_tier[tier]
        n = len(group)
        flagged = Counter(o.code.value for a in group for o in a.opportunities)
        live = [
            {
                x.action
                for x in a.actions
                if x.purpose is ActionPurpose.OPPORTUNITY and x.status is not ActionStatus.BLOCKED
            }
            for a in group
        ]
        blocked = sum(
            1
            for a in group
            for x in a.actions
            if x.purpose is ActionPurpose.OPPORTUNITY and x.status is ActionStatus.BLOCKED
        )
        cells = [tier, f"{n:,}", *(pct(flagged[f], n) for f in flags)]
        cells.append(pct(sum(1 for s in live if s), n))
        cells += [pct(sum(1 for s in live if p in s), n) for p in plays]
        cells.append(str(blocked))
        print("| " + " | ".join(cells) + " |")
    pending = [
        x for a in assessments for x in a.actions if x.status is ActionStatus.APPROVAL_REQUIRED
    ]
    opportunity = [x for x in pending if x.purpose is ActionPurpose.OPPORTUNITY]
    print(
        f"\nWaiting for approval: {len(pending):,} actions, of which {len(opportunity):,} "
        f"opportunity plays ({pct(len(opportunity), len(pending))})."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--level", default="balanced", choices=[lv.value for lv in AutomationLevel])
    args = parser.parse_args(argv)
    policy = load_policy()
    catalogue = policy.actions.catalogue
    plays = [a for a, entry in catalogue.items() if entry.purpose is ActionPurpose.OPPORTUNITY]
    print(f"# Opportunity plays per tier (level {args.level}, policy {policy.version})")
    with tempfile.TemporaryDirectory() as folder:
        path = write_accounts_csv(Path(folder) / "accounts.csv", args.accounts, seed=args.seed)
        run = assess(path, as_of=AS_OF, level=args.level, policy=policy)
    report(f"synthetic.py (seed {args.seed})", run.assessments, plays)
    history = simulate(WORLDS["mix"], accounts=args.accounts, seed=args.seed)
    last = history.dates[-1]
    run = assess(history.snapshots[last], as_of=last, level=args.level, policy=policy)
    report(f"worlds.py mix, snapshot {last}", run.assessments, plays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
