"""Simulated account histories with hidden churn mechanisms, one world per mechanism.

    from worlds import WORLDS, simulate
    history = simulate(WORLDS["usage"], accounts=1000, seed=11)
    history.snapshots   # {date: [row dict in the input contract, ...]}
    history.outcomes    # [(account_id, outcome, date), ...]

Each account carries five hidden traits in [0, 1], higher meaning healthier:
engagement (how much its users use the product), breadth (how many features it
uses), relationship (champion strength, responsiveness), support (freedom from
ticket pain) and payment (paying on time). A world's churn hazard reads only the
traits it names; every other signal varies but predicts nothing. The engine never
sees the traits, only noisy monthly observations of them in the input contract.

The traps are deliberate and shared by every world:
- small plans fill their seats (the team is bigger than the plan) yet use the
  product least, so seat utilisation points the wrong way;
- monthly and annual contracts: a monthly one always renews within a month; an
  annual account can only leave at its renewal date;
- sources that are simply not connected (product-analytics-only worlds have no
  support or CRM column at all);
- small accounts give small, noisy counts (logins 3 vs 1);
- most customers are stable: their traits never change, only the noise does. A
  minority ("changers") see one trait fall from a random month on.

Deterministic: `random.Random(seed)` is the only randomness; there is no clock.
Imports nothing from `skill`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

TRAITS = ("engagement", "breadth", "relationship", "support", "payment")
START = date(2026, 1, 31)
SNAPSHOT_DAYS = 30
FEATURES_TOTAL = 20


@dataclass(frozen=True)
class World:
    name: str
    description: str
    drivers: dict[str, float]  # trait -> weight in the churn hazard (weights sum to 1)
    sources: frozenset[str]  # product, support, crm: connected in this world's exports


WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        World(
            "usage",
            "churn follows how much users use the product (logins, weekly activity); "
            "product analytics only",
            {"engagement": 1.0},
            frozenset({"product"}),
        ),
        World(
            "breadth",
            "churn follows how many features the account uses; product analytics only",
            {"breadth": 1.0},
            frozenset({"product"}),
        ),
        World(
            "relationship",
            "churn follows the relationship (silence, a weak or departed champion); "
            "product analytics and CRM",
            {"relationship": 1.0},
            frozenset({"product", "crm"}),
        ),
        World(
            "support",
            "churn follows support pain (open tickets, escalations, severity-1); "
            "product analytics and support platform",
            {"support": 1.0},
            frozenset({"product", "support"}),
        ),
        World(
            "payment",
            "churn follows billing trouble (overdue or failed payments); product analytics and CRM",
            {"payment": 1.0},
            frozenset({"product", "crm"}),
        ),
        World(
            "mix",
            "churn follows all five traits at once; every source connected",
            {
                "engagement": 0.25,
                "breadth": 0.25,
                "relationship": 0.2,
                "support": 0.15,
                "payment": 0.15,
            },
            frozenset({"product", "support", "crm"}),
        ),
    )
}


@dataclass
class Account:
    account_id: str
    segment: str
    seats: int
    team: int
    monthly: bool
    renewal: date
    arr: int
    traits: dict[str, float]
    change_at: int | None  # snapshot index from which one trait falls
    change_trait: str | None
    change_size: float
    churned_on: date | None = None
    prev_logins: int | None = None
    prev_tickets: int | None = None
    escalations: list[int] = field(default_factory=list)

    def trait(self, name: str, t: int) -> float:
        value = self.traits[name]
        if self.change_at is not None and name == self.change_trait and t >= self.change_at:
            value = max(0.02, value - self.change_size)
        return value


@dataclass
class History:
    world: World
    dates: list[date]
    snapshots: dict[date, list[dict[str, object]]]
    outcomes: list[tuple[str, str, date]]
    churn_dates: dict[str, date]
    stable: frozenset[str]
    changers: dict[str, date]  # account_id -> first snapshot date after its change
    changed_traits: dict[str, str]  # account_id -> the trait that fell
    end: date


def _beta(rng: random.Random, mean: float, strength: float = 6.0) -> float:
    mean = min(max(mean, 0.03), 0.97)
    return rng.betavariate(mean * strength, (1 - mean) * strength)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _new_account(i: int, rng: random.Random, world: World) -> Account:
    size = rng.random()
    if size < 0.5:
        segment, seats = "smb", rng.randint(3, 10)
        team = seats + rng.randint(1, 8)  # small plans: more people than seats
        engagement_mean, price = 0.35, 300
    elif size < 0.85:
        segment, seats = "mid_market", rng.randint(20, 120)
        team = int(seats * rng.uniform(0.5, 1.1))
        engagement_mean, price = 0.55, 500
    else:
        segment, seats = "enterprise", rng.randint(150, 1500)
        team = int(seats * rng.uniform(0.4, 0.9))
        engagement_mean, price = 0.6, 800
    monthly = rng.random() < (0.7 if segment == "smb" else 0.2)
    traits = {
        "engagement": _beta(rng, engagement_mean),
        "breadth": _beta(rng, 0.5),
        "relationship": _beta(rng, 0.6),
        "support": _beta(rng, 0.7),
        "payment": _beta(rng, 0.85, 8),
    }
    change_at = change_trait = None
    change_size = 0.0
    if rng.random() < 0.2:
        change_at = rng.randint(3, 8)
        drivers = list(world.drivers)
        change_trait = rng.choice(drivers) if rng.random() < 0.7 else rng.choice(TRAITS)
        change_size = rng.uniform(0.3, 0.6)
    renewal = START + timedelta(days=rng.randint(1, 365)) if not monthly else START
    return Account(
        account_id=f"{world.name[:3].upper()}-{i:05d}",
        segment=segment,
        seats=seats,
        team=max(team, 1),
        monthly=monthly,
        renewal=renewal,
        arr=seats * price * 12 // 10 * 10,
        traits=traits,
        change_at=change_at,
        change_trait=change_trait,
        change_size=change_size,
    )


def _risk(account: Account, world: World, t: int) -> float:
    """0 (no risk) to 1: the world's drivers, read from the hidden traits."""
    return sum(w * (1 - account.trait(name, t)) for name, w in world.drivers.items())


BASE_MONTHLY_HAZARD = 0.008  # an account of the world's average risk
RISK_SLOPE = 8.0  # log-odds of leaving per unit of risk above the world's average


def _monthly_hazard(risk: float, mean_risk: float) -> float:
    base = math.log(BASE_MONTHLY_HAZARD / (1 - BASE_MONTHLY_HAZARD))
    return 1 / (1 + math.exp(-(base + RISK_SLOPE * (risk - mean_risk))))


def _observe(account: Account, world: World, t: int, day: date, rng: random.Random) -> dict:
    a = account
    engagement, breadth = a.trait("engagement", t), a.trait("breadth", t)
    relationship, support = a.trait("relationship", t), a.trait("support", t)
    payment = a.trait("payment", t)
    renewal = a.renewal
    if a.monthly:
        renewal = day + timedelta(days=rng.randint(1, 30))
    else:
        while renewal <= day:
            renewal = renewal.replace(year=renewal.year + 1)
    row: dict[str, object] = {
        "account_id": a.account_id,
        "name": f"{world.name.title()} Account {a.account_id[-5:]}",
        "segment": a.segment,
        "lifecycle": "active",
        "owner": f"csm-{int(a.account_id[-5:]) % 12:02d}",
        "arr": a.arr,
        "renewal_date": renewal.isoformat(),
        "contract_term": "monthly" if a.monthly else "annual",
        "as_of": day.isoformat(),
    }
    # Product analytics: connected in every world.
    active = sum(rng.random() < min(0.95, 0.25 + engagement) for _ in range(min(a.team, 400)))
    if a.team > 400:
        active = round(active * a.team / 400)
    active = min(active, a.seats)
    logins = _poisson(rng, active * 18 * engagement)
    weekly = [round(min(100.0, max(0.0, rng.gauss(100 * engagement, 12))), 1) for _ in range(4)]
    features = sum(rng.random() < breadth for _ in range(FEATURES_TOTAL))
    row.update(
        active_users=active,
        licensed_seats=a.seats,
        logins_30d=logins,
        logins_prev_30d=a.prev_logins if a.prev_logins is not None else "",
        weekly_activity=";".join(f"{w:g}" for w in weekly),
        features_adopted=features,
        features_total=FEATURES_TOTAL,
        product_synced_at=day.isoformat(),
    )
    a.prev_logins = logins
    if "support" in world.sources:
        scale = 1 + math.log10(max(a.seats, 1))
        tickets = _poisson(rng, (1 - support) * 4 * scale)
        escalated = _poisson(rng, max(0.0, 0.6 - support) * 1.5)
        a.escalations = [*a.escalations[-2:], escalated]
        row.update(
            open_tickets=_poisson(rng, (1 - support) * 3 * scale),
            tickets_30d=tickets,
            tickets_prev_30d=a.prev_tickets if a.prev_tickets is not None else "",
            escalations_90d=sum(a.escalations),
            sev1_open=int(rng.random() < max(0.0, 0.45 - support)),
            support_synced_at=day.isoformat(),
        )
        a.prev_tickets = tickets
    if "crm" in world.sources:
        if relationship > 0.7:
            champion = "strong"
        elif relationship > 0.45:
            champion = "weak"
        elif relationship > 0.2:
            champion = "none"
        else:
            champion = "departed"
        if rng.random() < 0.15:  # the CRM field is often out of date
            champion = rng.choice(["strong", "weak", "none"])
        reply_days = int(rng.expovariate(1 / (5 + 60 * (1 - relationship))))
        exec_days = int(rng.expovariate(1 / (30 + 150 * (1 - relationship))))
        late = rng.random() < (1 - payment) * 0.9
        failed = late and rng.random() < 0.3
        row.update(
            csat=round(min(5.0, max(1.0, rng.gauss(3.2 + 1.2 * relationship, 0.6))), 1),
            nps_response=min(10, max(0, round(rng.gauss(5 + 4 * relationship, 1.8)))),
            last_survey_date=(day - timedelta(days=rng.randint(5, 90))).isoformat(),
            payment_status="failed" if failed else ("overdue" if late else "current"),
            days_overdue=rng.randint(5, 30 + int(80 * (1 - payment))) if late else 0,
            last_exec_touch_date=(day - timedelta(days=exec_days)).isoformat(),
            champion=champion,
            last_customer_reply_date=(day - timedelta(days=reply_days)).isoformat(),
            qbr_attended="true" if rng.random() < 0.3 + 0.6 * relationship else "false",
            crm_synced_at=day.isoformat(),
        )
    return row


def simulate(world: World, accounts: int = 1000, seed: int = 11, snapshots: int = 10) -> History:
    """Monthly snapshots of `accounts` accounts, their churn, and every outcome."""
    rng = random.Random(f"{world.name}:{seed}")
    people = [_new_account(i, rng, world) for i in range(accounts)]
    dates = [START + timedelta(days=SNAPSHOT_DAYS * t) for t in range(snapshots)]
    end = dates[-1] + timedelta(days=SNAPSHOT_DAYS)
    mean_risk = sum(_risk(a, world, 0) for a in people) / len(people)
    rows: dict[date, list[dict[str, object]]] = {d: [] for d in dates}
    outcomes: list[tuple[str, str, date]] = []
    churn_dates: dict[str, date] = {}
    for t, day in enumerate(dates):
        for account in people:
            if account.churned_on is not None:
                continue
            rows[day].append(_observe(account, world, t, day, rng))
            # What happens before the next snapshot.
            hazard = _monthly_hazard(_risk(account, world, t), mean_risk)
            nxt = day + timedelta(days=SNAPSHOT_DAYS)
            if account.monthly:
                leaves = rng.random() < hazard
                when = day + timedelta(days=rng.randint(1, SNAPSHOT_DAYS))
            else:
                renewal = account.renewal
                while renewal <= day:
                    renewal = renewal.replace(year=renewal.year + 1)
                due = renewal <= nxt
                # An annual customer decides at renewal, on a year's worth of hazard.
                leaves = due and rng.random() < 1 - (1 - hazard) ** 12
                when = renewal
                if due and not leaves:
                    outcomes.append((account.account_id, "renewed", renewal))
            if leaves:
                account.churned_on = when
                churn_dates[account.account_id] = when
                outcomes.append((account.account_id, "churned", when))
    for account in people:
        if account.churned_on is None and account.monthly:
            outcomes.append((account.account_id, "renewed", end))
    outcomes.sort(key=lambda o: (o[2], o[0]))
    changers = {
        a.account_id: dates[a.change_at]
        for a in people
        if a.change_at is not None and a.change_at < len(dates)
    }
    changed = {a.account_id: a.change_trait for a in people if a.change_trait is not None}
    stable = frozenset(a.account_id for a in people if a.change_at is None)
    return History(world, dates, rows, outcomes, churn_dates, stable, changers, changed, end)
