"""Collection KPIs: aging, DSO (count-back), CEI, overdue rate, collections, reminder effect.

Pure functions over plain data (dataclasses, ``Decimal``, ``date``); no clock reads: the
caller passes ``today`` (the end of the period). Every figure is documented with its formula
so that the cockpit, the monthly report and the README say the same thing.

Amounts are in the company currency. Money is rounded to cents, ratios to one decimal.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
HUNDRED = Decimal("100")

#: Aging buckets in display order: (code, first overdue day, last overdue day or None).
BUCKETS = (
    ("not_due", None, 0),
    ("1_30", 1, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)
BUCKET_CODES = tuple(code for code, _first, _last in BUCKETS)

#: A reminder "worked" when its invoice was paid within this many days after it was sent.
EFFECT_WINDOW_DAYS = 7

#: Key used for money collected without any reminder sent before it.
NO_REMINDER = "none"


@dataclass(frozen=True)
class OpenItem:
    """An open receivable item as at ``today``: its residual and when it is due / expected."""

    residual: Decimal
    due_date: date
    predicted_date: date | None = None


@dataclass(frozen=True)
class Dispatch:
    """A reminder sent: invoice × level × channel, on ``sent_date``.

    ``level_rank`` orders levels (a higher rank is a later level); ``level`` is its label.
    """

    invoice_id: int
    level: str
    channel: str
    sent_date: date
    level_rank: int = 0


@dataclass(frozen=True)
class Collection:
    """Money applied to an invoice (a partial reconciliation) on ``paid_date``."""

    invoice_id: int
    amount: Decimal
    paid_date: date


def _money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(value):
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------- aging


def days_overdue(due_date, today):
    """Days past the due date (0 or negative: not due yet)."""
    return (today - due_date).days


def bucket_of(due_date, today):
    """Aging bucket code of an item due on ``due_date``, seen on ``today``."""
    late = days_overdue(due_date, today)
    for code, _first, last in BUCKETS:
        if last is None or late <= last:
            return code
    raise AssertionError("unreachable: the last bucket has no upper bound")


def aging(items, today):
    """Sum of residuals per bucket: ``{code: Decimal}`` with every bucket present.

    Bucket by days overdue = today − due date: not due (≤ 0), 1-30, 31-60, 61-90, > 90.
    Credits (negative residuals, e.g. unapplied payments) count in their own bucket, so the
    buckets add up to the open balance.
    """
    totals = dict.fromkeys(BUCKET_CODES, ZERO)
    for item in items:
        totals[bucket_of(item.due_date, today)] += item.residual
    return {code: _money(amount) for code, amount in totals.items()}


def overdue_amount(items, today):
    """Sum of positive residuals (open invoices) whose due date is before ``today``."""
    return sum(
        (i.residual for i in items if i.residual > 0 and days_overdue(i.due_date, today) > 0),
        ZERO,
    )


def overdue_rate(items, today):
    """Overdue amount / amount of open invoices × 100 (None when no invoice is open).

    Only positive residuals (invoices) count, on both sides: an unapplied payment or credit
    note is not "not due" money and would push the rate past 100 %.
    """
    items = list(items)
    total = sum((i.residual for i in items if i.residual > 0), ZERO)
    if total <= 0:
        return None
    return _ratio(overdue_amount(items, today) / total * HUNDRED)


# ---------------------------------------------------------------------------------- DSO


def dso_count_back(receivables, months):
    """Days sales outstanding by the count-back method.

    ``receivables``: the receivables balance at the end of the period.
    ``months``: ``(sales, days_in_month)`` pairs, most recent month first.

    Walk back month by month: while the remaining balance covers the month's sales, add the
    month's days and subtract its sales; for the month that exhausts the balance add
    ``days × remaining / sales``. Example: balance 1 500, sales 1 000 (30 days) then 1 000
    (31 days) → 30 + 31 × 500 / 1 000 = 45.5 days. If the history runs out before the balance
    does, the days of the whole history are returned (the DSO is at least that).
    Zero or negative balance → 0.
    """
    remaining = Decimal(receivables)
    days = ZERO
    if remaining <= 0:
        return ZERO.quantize(TENTH)
    for sales, month_days in months:
        sales = Decimal(sales)
        if sales > 0 and remaining <= sales:
            days += Decimal(month_days) * remaining / sales
            remaining = ZERO
            break
        days += Decimal(month_days)
        remaining -= max(sales, ZERO)
    return _ratio(days)


def month_starts_back(period_end, count):
    """First days of the ``count`` months ending with ``period_end``'s month, latest first."""
    starts = []
    current = period_end.replace(day=1)
    for _i in range(count):
        starts.append(current)
        current = (current - timedelta(days=1)).replace(day=1)
    return starts


def days_in_month(first_day):
    nxt = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (nxt - first_day).days


def month_sales_history(period_end, sales_by_month, count=24):
    """``(sales, days)`` pairs for :func:`dso_count_back`, latest month first.

    ``sales_by_month`` maps a month's first day to its credit sales. The month of
    ``period_end`` counts only up to that day (days elapsed), so a DSO taken mid-month does
    not divide by days that have not happened yet.
    """
    history = []
    for start in month_starts_back(period_end, count):
        if start == period_end.replace(day=1):
            month_days = period_end.day
        else:
            month_days = days_in_month(start)
        history.append((Decimal(sales_by_month.get(start, ZERO)), month_days))
    return history


# ---------------------------------------------------------------------------------- CEI


def cei(opening, credit_sales, closing_total, closing_current):
    """Collection effectiveness index, in percent (None when the denominator is not positive).

    CEI = (opening receivables + credit sales − closing total receivables)
        / (opening receivables + credit sales − closing current receivables) × 100

    "Current" receivables are those not yet due at the end of the period. 100 means every
    amount that could be collected in the period was collected.
    """
    opening, credit_sales = Decimal(opening), Decimal(credit_sales)
    collectable = opening + credit_sales - Decimal(closing_current)
    if collectable <= 0:
        return None
    collected = opening + credit_sales - Decimal(closing_total)
    return _ratio(collected / collectable * HUNDRED)


# ------------------------------------------------------------------ collections and reminders


def _last_dispatch_before(dispatches, when):
    """The reminder that came last on or before ``when`` (latest date, then latest level)."""
    best = None
    for dispatch in dispatches:
        if dispatch.sent_date > when:
            continue
        key = (dispatch.sent_date, dispatch.level_rank, dispatch.channel)
        if best is None or key > best[0]:
            best = (key, dispatch)
    return best and best[1]


def collected_by_reminder(collections, dispatches):
    """Money collected per channel and per level: ``(by_channel, by_level)``.

    Each collected amount is credited to the last reminder sent for its invoice on or before
    the payment date (latest date, then latest level; ties between channels of the same day
    go to the channel code that sorts last, so each amount is counted once). Money with no
    reminder before it is counted under ``"none"``. Both dicts add up to the total collected.
    """
    per_invoice = defaultdict(list)
    for dispatch in dispatches:
        per_invoice[dispatch.invoice_id].append(dispatch)
    by_channel, by_level = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for collection in collections:
        last = _last_dispatch_before(per_invoice.get(collection.invoice_id, ()),
                                     collection.paid_date)
        by_channel[last.channel if last else NO_REMINDER] += collection.amount
        by_level[last.level if last else NO_REMINDER] += collection.amount
    return (
        {key: _money(value) for key, value in by_channel.items()},
        {key: _money(value) for key, value in by_level.items()},
    )


def reminder_effectiveness(dispatches, paid_dates, window_days=EFFECT_WINDOW_DAYS):
    """Share of reminders followed by payment: per (level, channel).

    ``paid_dates`` maps an invoice to the date it was paid in full (absent: not paid).
    A dispatch counts as effective when ``sent_date ≤ paid date ≤ sent_date + window_days``.
    Returns a list of dicts ``{level, channel, sent, paid, rate}`` (rate in percent), sorted
    by level rank then channel, plus a ``total`` row.
    """
    rows = {}
    for dispatch in dispatches:
        key = (dispatch.level_rank, dispatch.level, dispatch.channel)
        row = rows.setdefault(key, {"sent": 0, "paid": 0})
        row["sent"] += 1
        paid = paid_dates.get(dispatch.invoice_id)
        if paid and dispatch.sent_date <= paid <= dispatch.sent_date + timedelta(window_days):
            row["paid"] += 1
    table = []
    for (_rank, level, channel), row in sorted(rows.items()):
        table.append({"level": level, "channel": channel, **row,
                      "rate": _ratio(Decimal(row["paid"]) / row["sent"] * HUNDRED)})
    sent = sum(r["sent"] for r in table)
    paid = sum(r["paid"] for r in table)
    total = {"sent": sent, "paid": paid,
             "rate": _ratio(Decimal(paid) / sent * HUNDRED) if sent else None}
    return table, total


# ---------------------------------------------------------------------------------- forecast


def iso_week(day):
    """``'2026-W05'``: the ISO year and week of ``day``."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def cash_forecast(items, today, weeks=8):
    """Expected cash per ISO week for the next ``weeks`` weeks, the current one first.

    Each open item with a positive residual is expected on its predicted pay date, or its due
    date when there is no prediction. Dates already past are expected this week (the money is
    late, not lost); dates beyond the horizon are summed in a ``later`` row.
    Returns a list of ``{week, start, amount}`` dicts.
    """
    monday = today - timedelta(days=today.weekday())
    slots = [monday + timedelta(weeks=n) for n in range(weeks)]
    amounts = dict.fromkeys(slots, ZERO)
    later = ZERO
    for item in items:
        if item.residual <= 0:
            continue
        expected = max(item.predicted_date or item.due_date, today)
        slot = expected - timedelta(days=expected.weekday())
        if slot in amounts:
            amounts[slot] += item.residual
        else:
            later += item.residual
    rows = [{"week": iso_week(s), "start": s, "amount": _money(amounts[s])} for s in slots]
    rows.append({"week": "later", "start": None, "amount": _money(later)})
    return rows


# ---------------------------------------------------------------------------------- all


@dataclass(frozen=True)
class KpiInput:
    """Everything the KPIs need for one period ``[date_from, date_to]``, as plain data."""

    date_from: date
    date_to: date
    open_items: tuple  # OpenItem as at date_to
    opening_receivables: Decimal  # balance at the day before date_from
    closing_receivables: Decimal  # balance at date_to
    credit_sales: Decimal  # invoices − credit notes dated in the period
    sales_by_month: dict  # month's first day → credit sales, for the DSO
    collections: tuple  # Collection in the period
    dispatches: tuple  # Dispatch sent in the period
    paid_dates: dict  # invoice → date paid in full


def compute(data):
    """All cockpit / report figures for one period, as a dict of plain values."""
    today = data.date_to
    buckets = aging(data.open_items, today)
    closing_current = buckets["not_due"]
    by_channel, by_level = collected_by_reminder(data.collections, data.dispatches)
    effect_rows, effect_total = reminder_effectiveness(data.dispatches, data.paid_dates)
    open_total = sum(buckets.values(), ZERO)
    return {
        "date_from": data.date_from,
        "date_to": data.date_to,
        "aging": buckets,
        "open_total": _money(open_total),
        "open_invoices_total": _money(sum((i.residual for i in data.open_items
                                           if i.residual > 0), ZERO)),
        "overdue_total": _money(overdue_amount(data.open_items, today)),
        "overdue_rate": overdue_rate(data.open_items, today),
        "dso": dso_count_back(
            data.closing_receivables, month_sales_history(today, data.sales_by_month)
        ),
        "cei": cei(
            data.opening_receivables, data.credit_sales, data.closing_receivables,
            closing_current,
        ),
        "opening_receivables": _money(data.opening_receivables),
        "closing_receivables": _money(data.closing_receivables),
        "credit_sales": _money(data.credit_sales),
        "collected_total": _money(sum((c.amount for c in data.collections), ZERO)),
        "collected_by_channel": by_channel,
        "collected_by_level": by_level,
        "effectiveness": effect_rows,
        "effectiveness_total": effect_total,
        "forecast": cash_forecast(data.open_items, today),
    }
