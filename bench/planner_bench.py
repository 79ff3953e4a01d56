"""Time the collection planner on a synthetic book of open invoices.

Usage: python bench/planner_bench.py [--invoices 100000] [--customers 30000] [--seed 1]
       [--repeat 3]

The book is deterministic for a seed: one default ladder (-7 e-mail, +3 e-mail, +10 e-mail and
SMS, +20 call, +30 letter, +45 formal notice for companies with a 7-day gap), customers with
holds, legal follow-up, credits, opt-outs and missing contact data, invoices with disputes,
pending payments and promises, and a ledger of the reminders of earlier runs. Prints the
best of ``--repeat`` timings of ``plan()``.
"""

import argparse
import random
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The add-on's __init__ imports odoo: load only the pure core, as the tests do.
import conftest  # noqa: E402, F401
from smart_collection.services.planner import (  # noqa: E402
    Dispatch,
    Invoice,
    Level,
    Partner,
    Policy,
    Scenario,
    ScenarioRule,
    plan,
)

TODAY = date(2025, 3, 27)  # a Thursday, days before Paris and Madrid change clocks
NOW = datetime(2025, 3, 27, 8, 15, tzinfo=timezone.utc)  # before SMS hours in New York
ZONES = ("Europe/Paris", "Europe/Paris", "Europe/Madrid", "America/New_York", "UTC", "Bad/Zone")

LADDER = Scenario(
    1,
    (
        Level(1, 10, -7, frozenset({"email"})),
        Level(2, 20, 3, frozenset({"email"})),
        Level(3, 30, 10, frozenset({"email", "sms"})),
        Level(4, 40, 20, frozenset({"call"})),
        Level(5, 50, 30, frozenset({"letter"})),
        Level(
            6, 60, 45, frozenset({"formal_notice"}), customer_type="company", min_gap_days=7
        ),
    ),
)
# A gentler ladder for customers tagged as key accounts.
KEY_ACCOUNTS = Scenario(
    2,
    (
        Level(21, 10, 5, frozenset({"email"})),
        Level(22, 20, 25, frozenset({"call"}), min_amount=Decimal(500)),
    ),
)


def _maybe(rng, chance, value):
    return value if rng.random() < chance else None


def make_book(n_invoices, n_customers, seed):
    rng = random.Random(seed)
    partners = {}
    for pid in range(1, n_customers + 1):
        partners[pid] = Partner(
            pid,
            is_company=rng.random() < 0.6,
            scenario_id=1 if rng.random() < 0.02 else None,
            category_ids=frozenset({7}) if rng.random() < 0.05 else frozenset(),
            hold_until=_maybe(rng, 0.03, TODAY + timedelta(days=rng.randint(-10, 30))),
            legal=rng.random() < 0.01,
            opt_out=frozenset(
                channel for channel, chance in (("sms", 0.05), ("email", 0.02))
                if rng.random() < chance
            ),  # fmt: skip
            has_email=rng.random() < 0.95,
            mobile=f"+336{pid:08d}" if rng.random() < 0.7 else None,
            has_address=rng.random() < 0.97,
            tz=rng.choice(ZONES),
            credit=Decimal(rng.randint(0, 200_000)) / 100 if rng.random() < 0.1 else Decimal(0),
        )

    levels = sorted(LADDER.levels, key=lambda lv: (lv.offset_days, lv.sequence))
    invoices, ledger = [], []
    for iid in range(1, n_invoices + 1):
        due = TODAY - timedelta(days=rng.randint(-40, 150))
        residual = Decimal(0) if rng.random() < 0.02 else Decimal(rng.randint(1_000, 900_000)) / 100
        invoices.append(
            Invoice(
                iid,
                rng.randint(1, n_customers),
                1,
                due,
                residual,
                excluded=rng.random() < 0.01,
                disputed=rng.random() < 0.03,
                payment_pending=rng.random() < 0.02,
                promise_date=_maybe(rng, 0.05, TODAY + timedelta(days=rng.randint(-20, 20))),
            )
        )
        # Earlier runs: most invoices were followed up to a few days ago.
        if rng.random() < 0.7:
            last_run = TODAY - timedelta(days=rng.randint(1, 12))
            for level in levels:
                on = due + timedelta(days=level.offset_days)
                if on > last_run:
                    break
                for channel in sorted(level.channels):
                    state = "failed" if rng.random() < 0.01 else "sent"
                    ledger.append(Dispatch(iid, level.id, channel, state, on))
        # A collector's manual reminder last week: the formal notice waits for its gap.
        if rng.random() < 0.05:
            on = TODAY - timedelta(days=rng.randint(0, 6))
            ledger.append(Dispatch(iid, 1, "email", "sent", on))

    scenarios = {1: LADDER, 2: KEY_ACCOUNTS}
    policy = Policy(default_scenario_id=1, rules=(ScenarioRule(10, 2, frozenset({7})),))
    return invoices, partners, scenarios, ledger, policy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    invoices, partners, scenarios, ledger, policy = make_book(
        args.invoices, args.customers, args.seed
    )
    built = time.perf_counter() - started

    best = best_cpu = float("inf")
    result = None
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = plan(invoices, partners, scenarios, ledger, policy, TODAY, NOW)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)

    kinds = Counter(action.kind for action in result.actions)
    reasons = Counter(status.reason for status in result.statuses)
    print(f"invoices   {len(invoices)}")
    print(f"customers  {len(partners)}")
    print(f"ledger     {len(ledger)} rows")
    by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    print(f"actions    {len(result.actions)} ({by_kind})")
    print(f"statuses   {', '.join(f'{code} {n}' for code, n in reasons.most_common())}")
    print(f"book built in {built:.2f} s")
    print(f"seconds    {best:.3f} (best of {args.repeat}; CPU {best_cpu:.3f})")


if __name__ == "__main__":
    main()
