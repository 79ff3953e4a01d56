"""Payment behaviour: a risk score per customer and a predicted payment date per open invoice.

Pure Python: the Odoo layer gathers each customer's paid history, open items, disputes,
broken promises and credit exposure into the dataclasses below, calls :func:`fit_prior` once
for the whole book, then :func:`assess` per customer, and words the factor codes itself.
No clock reads: ``today`` is passed in.

Delay of an invoice = payment date - due date, in days (negative: paid early).

Score (0 = safest, 100 = riskiest) is a sum of capped components; the caps add up to 100:

===================  ====  ==========================================================
component            max   full at
===================  ====  ==========================================================
avg_days_late         35   60 days late on average (amount- and recency-weighted,
                           shrunk toward the book's average for short histories)
late_share            20   every invoice paid late (recency-weighted share)
trend                 10   paying 30 days later over the last 3 months than before
open_overdue          15   open items 90 days overdue on average (residual-weighted)
broken_promises       10   3 broken payment promises
disputes               5   3 disputed invoices
over_credit_limit      5   exposure at twice the credit limit (starts above 1x)
===================  ====  ==========================================================

Classes: A below 20, B below 40, C below 60, D below 80, E from 80 (see ``CLASS_BOUNDS``).

Prediction (:func:`predict_delay`): the customer's recency-weighted mean delay, shrunk toward
the book's mean by empirical Bayes (a customer with little history looks like the average
customer), plus a damped linear trend and a seasonal (same calendar month) adjustment, then
conditioned on what we already know: an open invoice that is ``d`` days past due is paid
after ``d`` days, so the prediction is the mean of the customer's delay distribution above
``d`` (its own spread mixed with the book's), never before ``today``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

# Upper bounds (exclusive) of the score per class; E takes the rest.
CLASS_BOUNDS = (("A", 20.0), ("B", 40.0), ("C", 60.0), ("D", 80.0))
CLASSES = ("A", "B", "C", "D", "E")

# Component caps (points) and the value at which each cap is reached.
WEIGHTS = {
    "avg_days_late": (35.0, 60.0),
    "late_share": (20.0, 1.0),
    "trend": (10.0, 30.0),
    "open_overdue": (15.0, 90.0),
    "broken_promises": (10.0, 3.0),
    "disputes": (5.0, 3.0),
    "over_credit_limit": (5.0, 1.0),  # measured as ratio - 1
}

HALF_LIFE_DAYS = 180.0  # a payment a half-life old weighs half as much as today's
PREDICTION_HALF_LIFE_DAYS = 365.0  # the trend term follows drifts; the level can use more history
TREND_RECENT_DAYS = 91  # "the last 3 months" of the trend factor
TREND_WINDOW_DAYS = 365  # the earlier period it is compared with ends a year back
TOLERANCE_DAYS = 0  # paid after the due date + this = late


@dataclass(frozen=True)
class PaidInvoice:
    invoice_date: date
    due_date: date
    paid_date: date
    amount: float

    @property
    def delay(self) -> int:
        return (self.paid_date - self.due_date).days


@dataclass(frozen=True)
class OpenItem:
    key: object  # the caller's id of the invoice
    invoice_date: date
    due_date: date
    residual: float


@dataclass(frozen=True)
class Customer:
    key: object
    paid: Sequence[PaidInvoice] = ()
    open_items: Sequence[OpenItem] = ()
    disputes: int = 0
    broken_promises: int = 0
    exposure: float = 0.0
    credit_limit: float | None = None  # None or 0: no limit set


@dataclass(frozen=True)
class Prior:
    """What the book as a whole says, for customers with little history of their own."""

    mean_delay: float = 0.0
    strength: float = 3.0  # pseudo-invoices of the book's mean mixed into each customer
    residuals: tuple[float, ...] = (-5.0, 0.0, 5.0)  # quantiles of delays around a customer mean


@dataclass(frozen=True)
class Assessment:
    key: object
    score: float
    risk_class: str
    factors: tuple[tuple[str, float], ...]  # by weight in the score, heaviest first
    avg_days_late: float
    late_share: float
    trend: float
    predictions: dict = field(default_factory=dict)  # open item key -> predicted pay date
    history_size: int = 0


def risk_class(score: float) -> str:
    for name, bound in CLASS_BOUNDS:
        if score < bound:
            return name
    return CLASSES[-1]


def _recency_weight(age_days: float, half_life: float = HALF_LIFE_DAYS) -> float:
    return 0.5 ** (max(age_days, 0.0) / half_life)


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    total = weight = 0.0
    for value, w in pairs:
        total += value * w
        weight += w
    return total / weight if weight > 0 else None


def _history(paid: Sequence[PaidInvoice], today: date) -> list[PaidInvoice]:
    """Only what was known on ``today``: payments made on or before it."""
    return [p for p in paid if p.paid_date <= today]


def days_late_stats(paid: Sequence[PaidInvoice], today: date) -> tuple[float, float]:
    """(weighted average days late, weighted share paid late); amount x recency weights.

    Early payments count as 0 days late. Amounts weigh by their square root, so one huge
    invoice does not hide twenty small late ones.
    """
    pairs = []
    for p in _history(paid, today):
        w = math.sqrt(max(abs(p.amount), 1.0)) * _recency_weight((today - p.paid_date).days)
        pairs.append((p, w))
    if not pairs:
        return 0.0, 0.0
    avg = _weighted_mean((max(p.delay, 0), w) for p, w in pairs)
    share = _weighted_mean((1.0 if p.delay > TOLERANCE_DAYS else 0.0, w) for p, w in pairs)
    return avg, share


def trend(paid: Sequence[PaidInvoice], today: date) -> float:
    """Mean delay of the last 3 months' payments minus that of the 9 months before (days).

    Positive = paying later than before. 0 without at least two payments in each period.
    """
    recent_from = today - timedelta(days=TREND_RECENT_DAYS)
    earlier_from = today - timedelta(days=TREND_WINDOW_DAYS)
    recent = [p.delay for p in _history(paid, today) if p.paid_date > recent_from]
    earlier = [p.delay for p in paid if earlier_from < p.paid_date <= recent_from]
    if len(recent) < 2 or len(earlier) < 2:
        return 0.0
    return sum(recent) / len(recent) - sum(earlier) / len(earlier)


def _open_overdue_days(open_items: Sequence[OpenItem], today: date) -> float:
    """Residual-weighted days past due of the open items (not yet due counts as 0)."""
    pairs = [
        (max((today - o.due_date).days, 0), max(abs(o.residual), 0.0)) for o in open_items
    ]
    return _weighted_mean(pairs) or 0.0


def _component(code: str, value: float) -> float:
    cap, full_at = WEIGHTS[code]
    return cap * min(max(value, 0.0) / full_at, 1.0)


# ------------------------------------------------------------------ prediction model


@dataclass(frozen=True)
class _DelayModel:
    mean: float  # shrunk, trend- and season-free level of the customer's delay
    slope: float  # days of delay per day of due date (damped)
    pivot: date  # the due date at which ``mean`` holds
    month_effect: dict  # calendar month -> shrunk extra delay
    residuals: tuple[tuple[float, float], ...]  # (residual, weight), customer's + book's


def _fit_customer(paid: Sequence[PaidInvoice], prior: Prior, today: date) -> _DelayModel:
    history = sorted(_history(paid, today), key=lambda p: p.due_date)
    weighted = [
        (p, _recency_weight((today - p.paid_date).days, PREDICTION_HALF_LIFE_DAYS))
        for p in history
    ]
    n_eff = sum(w for _p, w in weighted)
    own = _weighted_mean((p.delay, w) for p, w in weighted)
    # Empirical Bayes: the customer's mean counts as n_eff observations, the book's as strength.
    if own is None:
        mean = prior.mean_delay
    else:
        mean = (n_eff * own + prior.strength * prior.mean_delay) / (n_eff + prior.strength)

    pivot = today
    slope = 0.0
    if len(history) >= 4:
        # Weighted least squares of delay on due date, damped by the amount of evidence and
        # capped, so an erratic payer does not get a wild slope.
        xs = [((p.due_date - today).days, p.delay, w) for p, w in weighted]
        sw = sum(w for *_r, w in xs)
        mx = sum(x * w for x, _y, w in xs) / sw
        my = sum(y * w for _x, y, w in xs) / sw
        sxx = sum(w * (x - mx) ** 2 for x, _y, w in xs)
        if sxx > 0:
            raw = sum(w * (x - mx) * (y - my) for x, y, w in xs) / sxx
            # Evidence: a slope whose t-ratio is small is mostly noise.
            resid = sum(w * (y - my - raw * (x - mx)) ** 2 for x, y, w in xs) / sw
            se = math.sqrt(resid / sxx) if resid > 0 else 0.0
            t2 = (raw / se) ** 2 if se > 0 else 100.0
            slope = max(min(raw * t2 / (t2 + 4.0), 0.5), -0.5)
            # ``mean`` is the delay at the weighted mean due date of the history.
            pivot = today + timedelta(days=round(mx))

    month_effect: dict[int, float] = {}
    if len(history) >= 12 and (history[-1].due_date - history[0].due_date).days >= 300:
        detrended = [
            (p, p.delay - slope * (p.due_date - pivot).days, w) for p, w in weighted
        ]
        base = _weighted_mean((d, w) for _p, d, w in detrended)
        by_month: dict[int, list[float]] = {}
        for p, d, _w in detrended:
            by_month.setdefault(p.due_date.month, []).append(d - base)
        for month, values in by_month.items():
            # Shrunk toward 0: two invoices in a month say little.
            month_effect[month] = sum(values) / (len(values) + 2.0)

    residuals: list[tuple[float, float]] = []
    for p, w in weighted:
        fitted = mean + slope * (p.due_date - pivot).days + month_effect.get(p.due_date.month, 0.0)
        residuals.append((p.delay - fitted, max(w, 0.05)))
    book_weight = prior.strength / max(len(prior.residuals), 1)
    residuals.extend((r, book_weight) for r in prior.residuals)
    return _DelayModel(mean, slope, pivot, month_effect, tuple(residuals))


def _expected_delay(model: _DelayModel, due: date, elapsed: int) -> float:
    """Mean delay of this invoice given that it is still unpaid ``elapsed`` days after due."""
    centre = model.mean + model.slope * (due - model.pivot).days
    centre += model.month_effect.get(due.month, 0.0)
    # Keep the extrapolated trend within reason: no more than 60 days beyond the level.
    centre = min(max(centre, model.mean - 60.0), model.mean + 60.0)
    above = sorted((centre + r, w) for r, w in model.residuals if centre + r >= elapsed)
    if not above:
        # Later than anything seen: expect it within the next fortnight, at the earliest today.
        return elapsed + 14.0
    # The median, not the mean: it minimises the error in days, and one very late payment
    # does not drag every prediction.
    half = sum(w for _d, w in above) / 2.0
    running = 0.0
    for delay, w in above:
        running += w
        if running >= half:
            return delay
    return above[-1][0]


def predict_delay(
    paid: Sequence[PaidInvoice], item: OpenItem, prior: Prior, today: date
) -> float:
    """Expected delay (days after due) of one open item; see the module docstring."""
    model = _fit_customer(paid, prior, today)
    return _expected_delay(model, item.due_date, (today - item.due_date).days)


def predict_pay_date(delay: float, item: OpenItem, today: date) -> date:
    return max(item.due_date + timedelta(days=round(delay)), today)


def naive_delay(paid: Sequence[PaidInvoice], today: date) -> float:
    """The baseline: the customer's plain average delay (0 without history)."""
    history = _history(paid, today)
    return sum(p.delay for p in history) / len(history) if history else 0.0


def fit_prior(customers: Iterable[Customer], today: date) -> Prior:
    """Book-wide mean delay, shrinkage strength and residual spread (method of moments)."""
    return fit_prior_from_delays(
        [p.delay for p in _history(customer.paid, today)] for customer in customers
    )


def fit_prior_from_delays(delays_per_customer: Iterable[Sequence[float]]) -> Prior:
    """:func:`fit_prior` from each customer's list of known delays (days)."""
    means, sizes, within_sq, residuals = [], [], [], []
    for delays in delays_per_customer:
        if not delays:
            continue
        m = sum(delays) / len(delays)
        means.append(m)
        sizes.append(len(delays))
        within_sq.extend((d - m) ** 2 for d in delays)
        if len(delays) >= 2:
            # Unbiased spread of a customer's delays around its own mean.
            scale = math.sqrt(len(delays) / (len(delays) - 1))
            residuals.extend((d - m) * scale for d in delays)
    if not means:
        return Prior()
    grand = sum(means) / len(means)
    dof = sum(sizes) - len(sizes)
    within = sum(within_sq) / dof if dof > 0 else 25.0
    between = sum((m - grand) ** 2 for m in means) / max(len(means) - 1, 1)
    between -= within * sum(1.0 / n for n in sizes) / len(sizes)
    between = max(between, 1.0)
    strength = min(max(within / between, 0.5), 20.0)
    residuals.sort()
    if residuals:
        quantiles = tuple(
            residuals[min(int((i + 0.5) / 20 * len(residuals)), len(residuals) - 1)]
            for i in range(20)
        )
    else:
        quantiles = Prior().residuals
    return Prior(mean_delay=grand, strength=strength, residuals=quantiles)


# ------------------------------------------------------------------ assessment


def assess(customer: Customer, prior: Prior, today: date) -> Assessment:
    """Score, class, top factors and predicted payment dates of one customer."""
    history = _history(customer.paid, today)
    avg_late, late_share = days_late_stats(history, today)
    n_eff = sum(_recency_weight((today - p.paid_date).days) for p in history)
    # Short histories lean toward the book: one late invoice does not make a bad payer.
    prior_late = max(prior.mean_delay, 0.0)
    shrunk_late = (n_eff * avg_late + prior.strength * prior_late) / (n_eff + prior.strength)
    drift = trend(history, today)
    overdue = _open_overdue_days(customer.open_items, today)
    ratio = 0.0
    if customer.credit_limit and customer.credit_limit > 0:
        ratio = customer.exposure / customer.credit_limit

    values = {
        "avg_days_late": (shrunk_late, round(avg_late, 1)),
        "late_share": (late_share, round(late_share, 2)),
        "trend": (drift, round(drift, 1)),
        "open_overdue": (overdue, round(overdue, 1)),
        "broken_promises": (customer.broken_promises, customer.broken_promises),
        "disputes": (customer.disputes, customer.disputes),
        "over_credit_limit": (ratio - 1.0, round(ratio, 2)),
    }
    points = {code: _component(code, scored) for code, (scored, _shown) in values.items()}
    score = round(min(sum(points.values()), 100.0), 1)
    factors = tuple(
        (code, values[code][1])
        for code in sorted(points, key=lambda c: (-points[c], list(WEIGHTS).index(c)))
        if points[code] > 0.05
    )
    if len(history) < 3:
        factors += (("little_history", len(history)),)

    model = _fit_customer(history, prior, today)
    predictions = {}
    for item in customer.open_items:
        delay = _expected_delay(model, item.due_date, (today - item.due_date).days)
        predictions[item.key] = predict_pay_date(delay, item, today)
    return Assessment(
        key=customer.key,
        score=score,
        risk_class=risk_class(score),
        factors=factors,
        avg_days_late=round(avg_late, 1),
        late_share=round(late_share, 4),
        trend=round(drift, 1),
        predictions=predictions,
        history_size=len(history),
    )


def assess_book(customers: Sequence[Customer], today: date, prior: Prior | None = None):
    """Assess every customer against a prior fitted on the same book (unless given)."""
    prior = prior or fit_prior(customers, today)
    return [assess(c, prior, today) for c in customers]
