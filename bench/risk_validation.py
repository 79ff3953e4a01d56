"""Does the predicted payment date beat "due date + the customer's average delay"?

Usage: python bench/risk_validation.py [--customers 60] [--seed 7] [--cutoffs 3]

A deterministic synthetic book (seeded): customers with known behaviours (punctual, chronic
late, drifting worse, erratic, new with few invoices, seasonal, big-invoice late payers)
receive an invoice every 10-40 days from 2024-01 to 2026-06, 30-day terms, and pay after a
delay drawn from their behaviour. At each cutoff, the model sees only the payments made on or
before it, predicts the payment date of every invoice open on that day, and we compare with
the actual payment date: mean absolute error in days, per behaviour and overall, for our
model, the naive baseline (due + plain average delay, 0 without history) and the naive
baseline clamped to the cutoff (an open invoice is not paid in the past). Also prints the
risk-class distribution per behaviour at the last cutoff.
"""

import argparse
import random
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
import conftest  # noqa: E402, F401
from smart_collection.services.risk import (  # noqa: E402
    Customer,
    OpenItem,
    PaidInvoice,
    assess,
    fit_prior,
    naive_delay,
)

START = date(2024, 1, 1)
END = date(2026, 6, 30)
CUTOFFS = (date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31))
BEHAVIOURS = ("punctual", "chronic_late", "drifting", "erratic", "new", "seasonal", "big_late")


def _delay(rng, behaviour, params, due, amount):
    if behaviour == "punctual":
        return round(rng.gauss(params["base"], 2.0))
    if behaviour == "chronic_late":
        return round(rng.gauss(params["base"], 6.0))
    if behaviour == "drifting":
        months = (due - START).days / 30.4
        return round(params["base"] + params["drift"] * months + rng.gauss(0, 4.0))
    if behaviour == "erratic":
        if rng.random() < 0.4:
            return round(rng.gauss(45.0, 15.0))
        return round(rng.gauss(2.0, 4.0))
    if behaviour == "new":
        return round(rng.gauss(params["base"], 5.0))
    if behaviour == "seasonal":
        extra = 25.0 if due.month in (7, 8, 12) else 0.0
        return round(params["base"] + extra + rng.gauss(0, 3.0))
    if behaviour == "big_late":
        return round(params["base"] + (20.0 if amount > 5000 else 0.0) + rng.gauss(0, 3.0))
    raise ValueError(behaviour)


def generate(customers=60, seed=7):
    """[(behaviour, [(invoice_date, due_date, paid_date, amount)])], deterministic per seed."""
    rng = random.Random(seed)
    book = []
    for i in range(customers):
        behaviour = BEHAVIOURS[i % len(BEHAVIOURS)]
        params = {
            "punctual": {"base": rng.choice((-3, -1, 0, 1))},
            "chronic_late": {"base": rng.uniform(18, 40)},
            "drifting": {"base": rng.uniform(0, 6), "drift": rng.uniform(1.0, 2.5)},
            "erratic": {},
            "new": {"base": rng.uniform(-2, 35)},
            "seasonal": {"base": rng.uniform(0, 8)},
            "big_late": {"base": rng.uniform(0, 6)},
        }[behaviour]
        start = START + timedelta(days=rng.randrange(0, 40))
        if behaviour == "new":
            # Starts shortly before a cutoff: one or two payments known when predicting.
            start = rng.choice(CUTOFFS) - timedelta(days=rng.randrange(35, 80))
        invoices = []
        day = start
        while day <= END:
            due = day + timedelta(days=30)
            amount = round(rng.lognormvariate(7.5, 0.8), 2)
            paid = due + timedelta(days=_delay(rng, behaviour, params, due, amount))
            invoices.append((day, due, max(paid, day), amount))
            day += timedelta(days=rng.randrange(10, 41))
        book.append((behaviour, invoices))
    return book


def snapshot(book, cutoff):
    """Customers as known on ``cutoff`` and the actual payment date of their open invoices."""
    customers, truth = [], {}
    for index, (behaviour, invoices) in enumerate(book):
        paid, open_items = [], []
        for n, (inv_date, due, paid_date, amount) in enumerate(invoices):
            if inv_date > cutoff:
                continue
            if paid_date <= cutoff:
                paid.append(PaidInvoice(inv_date, due, paid_date, amount))
            else:
                key = (index, n)
                open_items.append(OpenItem(key, inv_date, due, amount))
                truth[key] = (behaviour, paid_date)
        customers.append(
            Customer(key=(index, behaviour), paid=tuple(paid), open_items=tuple(open_items))
        )
    return customers, truth


def evaluate(book, cutoffs=CUTOFFS):
    """{behaviour or "overall": {"n", "ours", "naive", "naive_clamped"}} mean absolute errors."""
    errors = defaultdict(lambda: defaultdict(list))
    classes = defaultdict(Counter)
    for cutoff in cutoffs:
        customers, truth = snapshot(book, cutoff)
        prior = fit_prior(customers, cutoff)
        for customer in customers:
            result = assess(customer, prior, cutoff)
            classes[customer.key[1]][result.risk_class] += 1
            base = naive_delay(customer.paid, cutoff)
            for item in customer.open_items:
                behaviour, actual = truth[item.key]
                naive = item.due_date + timedelta(days=round(base))
                for name, predicted in (
                    ("ours", result.predictions[item.key]),
                    ("naive", naive),
                    ("naive_clamped", max(naive, cutoff)),
                ):
                    err = abs((predicted - actual).days)
                    errors[behaviour][name].append(err)
                    errors["overall"][name].append(err)
    report = {}
    for group, by_model in errors.items():
        report[group] = {"n": len(by_model["ours"])}
        for name, values in by_model.items():
            report[group][name] = sum(values) / len(values)
    return report, classes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=210)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    book = generate(args.customers, args.seed)
    report, classes = evaluate(book)
    print(f"customers={args.customers} seed={args.seed} cutoffs={', '.join(map(str, CUTOFFS))}")
    print(f"{'behaviour':<14}{'open':>6}{'ours':>8}{'naive':>8}{'clamped':>9}{'gain':>8}")
    for group in (*BEHAVIOURS, "overall"):
        r = report.get(group)
        if not r:
            continue
        gain = 1 - r["ours"] / r["naive_clamped"] if r["naive_clamped"] else 0.0
        print(
            f"{group:<14}{r['n']:>6}{r['ours']:>8.1f}{r['naive']:>8.1f}"
            f"{r['naive_clamped']:>9.1f}{gain:>8.0%}"
        )
    print("risk classes over the cutoffs (A..E):")
    for behaviour in BEHAVIOURS:
        counts = classes[behaviour]
        print(f"  {behaviour:<14}" + " ".join(f"{c}:{counts[c]:>3}" for c in "ABCDE"))


if __name__ == "__main__":
    main()
