"""Instalment plans: split what is left to pay on an invoice into dated parts.

Pure Python: the Odoo layer passes the residual, the company policy and ``today``; this module
proposes schedules, says which counts the policy allows, validates a customer's choice with
reason codes, and tells which instalments a paid amount covers.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal(0)

# Error codes returned by ``validate``.
NOTHING_TO_SPLIT = "nothing_to_split"
COUNT_TOO_LOW = "count_too_low"
COUNT_TOO_HIGH = "count_too_high"
BELOW_MINIMUM = "below_minimum"
SPAN_TOO_LONG = "span_too_long"


@dataclass(frozen=True)
class Policy:
    """A company's rules for plans.

    ``spacing_days`` 0 means monthly (same day of the month, clamped to the month's end);
    otherwise instalments are ``spacing_days`` apart.
    """

    max_count: int = 6
    min_amount: Decimal = Decimal(50)
    max_span_days: int = 180
    first_due_offset_days: int = 0
    spacing_days: int = 0


@dataclass(frozen=True)
class Allocation:
    """One instalment after a paid amount has been spread over the plan in order."""

    sequence: int
    due_date: date
    amount: Decimal
    paid: Decimal
    state: str  # paid / partial / open


@dataclass(frozen=True)
class PaidStatus:
    lines: tuple[Allocation, ...]
    next_sequence: int | None  # first instalment not fully paid, None when all are paid
    next_due_date: date | None
    next_amount_due: Decimal  # what remains on that instalment


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_dates(count: int, today: date, policy: Policy) -> list[date]:
    """The due dates of a ``count``-part plan starting ``today``."""
    first = today + timedelta(days=policy.first_due_offset_days)
    if policy.spacing_days > 0:
        return [first + timedelta(days=policy.spacing_days * i) for i in range(count)]
    return [_add_months(first, i) for i in range(count)]


def _quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def propose(
    residual: Decimal, count: int, today: date, policy: Policy, decimals: int = 2
) -> list[tuple[date, Decimal]]:
    """Equal parts rounded down to the currency, the remainder cents on the last one."""
    if count < 1:
        raise ValueError("count must be at least 1")
    quantum = _quantum(decimals)
    residual = Decimal(residual).quantize(quantum)
    part = (residual / count).quantize(quantum, rounding=ROUND_DOWN)
    amounts = [part] * (count - 1) + [residual - part * (count - 1)]
    return list(zip(due_dates(count, today, policy), amounts, strict=True))


def validate(
    residual: Decimal, count: int, today: date, policy: Policy, decimals: int = 2
) -> list[str]:
    """Error codes for a ``count``-part plan; an empty list means it is allowed."""
    residual = Decimal(residual)
    if residual <= ZERO:
        return [NOTHING_TO_SPLIT]
    errors = []
    if count < 2:
        errors.append(COUNT_TOO_LOW)
    if count > policy.max_count:
        errors.append(COUNT_TOO_HIGH)
    if count >= 1:
        schedule = propose(residual, count, today, policy, decimals)
        if min(amount for _, amount in schedule) < Decimal(policy.min_amount):
            errors.append(BELOW_MINIMUM)
        if (schedule[-1][0] - today).days > policy.max_span_days:
            errors.append(SPAN_TOO_LONG)
    return errors


def allowed_counts(
    residual: Decimal, today: date, policy: Policy, decimals: int = 2
) -> list[int]:
    """Every count from 2 to the policy's maximum that ``validate`` accepts."""
    return [
        count
        for count in range(2, policy.max_count + 1)
        if not validate(residual, count, today, policy, decimals)
    ]


def allocate_paid(
    instalments: list[tuple[date, Decimal]], amount_paid: Decimal
) -> PaidStatus:
    """Spread ``amount_paid`` over the instalments in order (oldest first)."""
    left = max(Decimal(amount_paid), ZERO)
    lines = []
    next_seq = next_due = None
    next_amount = ZERO
    for sequence, (due, amount) in enumerate(instalments, start=1):
        paid = min(left, amount)
        left -= paid
        state = "paid" if paid >= amount else ("partial" if paid > ZERO else "open")
        if state != "paid" and next_seq is None:
            next_seq, next_due, next_amount = sequence, due, amount - paid
        lines.append(Allocation(sequence, due, amount, paid, state))
    return PaidStatus(tuple(lines), next_seq, next_due, next_amount)
