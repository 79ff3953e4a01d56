"""Statutory recovery indemnity and late-payment interest between businesses (France, Spain).

Pure Python: the Odoo layer passes the customer's country, whether the customer is a company,
the amount due, the dates and the ECB rate table (``collection.ecb.rate``), and shows the
returned reasons to the accountant. No clock reads: the computation date is passed in.

Every result carries machine codes (for filters and translations) and a sentence in English
that names the article of law, because the accountant has to be able to justify the figure.

Public API: :class:`EcbRate`, :class:`CountryRule`, :data:`RULES`, :func:`recovery_indemnity`,
:func:`late_interest`, :func:`half_year_start`, :func:`half_year_label`, :class:`MissingRate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_IN_YEAR = 365  # both laws count actual days over 365, leap years included


@dataclass(frozen=True)
class CountryRule:
    """What the law of one country grants a creditor when a business customer pays late."""

    name: str
    indemnity: Decimal  # fixed amount in EUR, once per late invoice
    margin_points: Decimal  # added to the half-year's ECB main refinancing rate
    indemnity_law: str
    interest_law: str


# Keyed by ISO 3166 country code of the customer. Adding a country is adding a row, as long as
# its statutory rate is "ECB rate of the half-year + fixed points" (the EU Late Payment
# Directive 2011/7/EU pattern).
RULES: dict[str, CountryRule] = {
    # Code de commerce L441-10 II: indemnity fixed by decree (D441-5: EUR 40); interest at the
    # rate of the ECB's most recent refinancing operation + 10 points, the rate in force on
    # 1 January for the first half-year and on 1 July for the second, unless the contract
    # sets another rate.
    "FR": CountryRule(
        name="France",
        indemnity=Decimal("40.00"),
        margin_points=Decimal("10"),
        indemnity_law="Code de commerce, art. L441-10 II and D441-5",
        interest_law="Code de commerce, art. L441-10 II",
    ),
    # Ley 3/2004 art. 8: EUR 40 per invoice; art. 7.2: rate of the ECB's most recent main
    # refinancing operation before the first day of the half-year + 8 points, unless agreed.
    "ES": CountryRule(
        name="Spain",
        indemnity=Decimal("40.00"),
        margin_points=Decimal("8"),
        indemnity_law="Ley 3/2004, art. 8",
        interest_law="Ley 3/2004, art. 7",
    ),
}


class MissingRate(ValueError):
    """No ECB rate is recorded for a half-year nor for any half-year before it."""

    def __init__(self, half_year):
        self.half_year = half_year
        super().__init__(
            f"No ECB main refinancing rate is recorded for {half_year_label(half_year)} "
            f"(from {_long_date(half_year)}) or any earlier half-year: add the rate in force "
            f"on {_long_date(half_year)} to the ECB rate table."
        )


@dataclass(frozen=True)
class EcbRate:
    """ECB main refinancing rate, in percent, applicable to the half-year starting ``start``.

    ``start`` must be 1 January or 1 July. For France it is the rate in force on that day, for
    Spain the rate of the last main refinancing operation before it: the two have been the
    same figure since the rule exists, as the ECB has never changed its rate on those days.
    """

    start: date
    rate: Decimal

    def __post_init__(self):
        start = _as_date(self.start)
        if (start.month, start.day) not in ((1, 1), (7, 1)):
            raise ValueError(f"an ECB rate applies from 1 January or 1 July, not {start}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "rate", _decimal(self.rate, "ECB rate"))


@dataclass(frozen=True)
class Fee:
    """A fixed fee: ``amount`` in EUR (0 when not due), ``code`` and the ``reason`` sentence.

    Codes: ``due``, ``already_charged``, ``individual``, ``country_not_covered``.
    """

    amount: Decimal
    code: str
    reason: str


@dataclass(frozen=True)
class Reason:
    """One reason behind a result; ``half_year`` is set for ``rate_carried_forward``."""

    code: str
    text: str
    half_year: date | None = None


@dataclass(frozen=True)
class Slice:
    """Days of one half-year at one annual rate. ``amount`` is unrounded, for the total."""

    start: date
    end: date  # inclusive
    days: int
    annual_rate_percent: Decimal
    amount: Decimal

    @property
    def amount_rounded(self) -> Decimal:
        """The slice's interest in cents, for display only (the total is not their sum)."""
        return self.amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Interest:
    """Late-payment interest: total ``amount`` in cents, the ``slices`` and the ``reasons``.

    ``code`` is the outcome: ``statutory_rate``, ``contract_rate``, ``not_late``,
    ``nothing_due``, ``individual`` or ``country_not_covered``. ``reasons`` starts with that
    outcome and may go on with warnings, e.g. ``rate_carried_forward`` for each half-year
    whose ECB rate is still missing from the table.
    """

    amount: Decimal
    code: str
    reasons: tuple[Reason, ...]
    slices: tuple[Slice, ...] = ()

    @property
    def reason(self) -> str:
        """Every reason as one paragraph, for the accountant."""
        return " ".join(r.text for r in self.reasons)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def days(self) -> int:
        return sum(s.days for s in self.slices)


def half_year_start(d: date) -> date:
    """1 January or 1 July on or before ``d``: the half-year whose ECB rate applies on ``d``."""
    d = _as_date(d)
    return date(d.year, 1 if d.month <= 6 else 7, 1)


def half_year_label(d: date) -> str:
    """``2025 H2`` for any day of the second half of 2025."""
    d = _as_date(d)
    return f"{d.year} H{1 if d.month <= 6 else 2}"


def recovery_indemnity(country: str | None, is_company: bool, already_charged: bool) -> Fee:
    """Fixed indemnity for recovery costs, due once per late invoice to a business customer.

    The law grants it as soon as the invoice is late, without a reminder (Code de commerce
    L441-10 II; Ley 3/2004 art. 8), so the caller charges it once and then passes
    ``already_charged=True``.
    """
    rule, refusal = _rule_for(country, is_company, "recovery indemnity", "indemnity_law")
    if refusal:
        return Fee(ZERO, refusal.code, refusal.text)
    if already_charged:
        return Fee(
            ZERO,
            "already_charged",
            f"The recovery indemnity of EUR {_money(rule.indemnity)} is due once per invoice "
            f"and was already charged ({rule.indemnity_law}).",
        )
    return Fee(
        rule.indemnity.quantize(CENT, rounding=ROUND_HALF_UP),
        "due",
        f"{rule.name}: fixed indemnity for recovery costs of EUR {_money(rule.indemnity)} per "
        f"late invoice between businesses ({rule.indemnity_law}).",
    )


def late_interest(
    country: str | None,
    is_company: bool,
    amount: Decimal,
    due_date: date,
    until: date,
    rates: Iterable[EcbRate],
    contract_rate: Decimal | None = None,
) -> Interest:
    """Simple interest on ``amount`` for each day after ``due_date`` up to ``until`` included.

    Amounts are in the invoice's currency (the result is in the same one).

    Days are counted as actual days over 365 and split at 1 January and 1 July, each slice at
    its own half-year's rate: ECB rate + the country's points, or ``contract_rate`` (annual
    percent) when the contract sets one, which both laws let the parties do. The total is
    rounded half up to the cent once, from the unrounded slices.

    A half-year missing from ``rates`` borrows the latest earlier rate and says so with a
    ``rate_carried_forward`` reason; with no earlier rate at all, :class:`MissingRate` is raised.
    The contractual floor (France: three times the legal interest rate) is not checked here.
    """
    rule, refusal = _rule_for(country, is_company, "late-payment interest", "interest_law")
    if refusal:
        return Interest(ZERO, refusal.code, (refusal,))
    amount = _decimal(amount, "amount")
    due_date, until = _as_date(due_date), _as_date(until)
    if contract_rate is not None:
        contract_rate = _decimal(contract_rate, "contract rate")
        if contract_rate < 0:
            raise ValueError(f"the contract rate cannot be negative: {contract_rate}")
    if amount <= 0:
        return Interest(
            ZERO, "nothing_due", (Reason("nothing_due", "Nothing is due on this invoice."),)
        )
    if until <= due_date:
        return Interest(
            ZERO,
            "not_late",
            (
                Reason(
                    "not_late",
                    f"Not late on {_long_date(until)}: interest runs from the day after the "
                    f"due date ({_long_date(due_date)}).",
                ),
            ),
        )

    table = _rate_table(rates) if contract_rate is None else {}
    slices = []
    warnings = []
    total_rate_days = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        for start, end in _half_year_periods(due_date + timedelta(days=1), until):
            days = (end - start).days + 1
            if contract_rate is not None:
                annual = contract_rate
            else:
                ecb, carried_from = _ecb_rate(table, start)
                if carried_from is not None:
                    warnings.append(_carried_forward(start, carried_from, ecb))
                annual = ecb + rule.margin_points
            total_rate_days += annual * days
            slice_amount = amount * annual * days / (100 * DAYS_IN_YEAR)
            slices.append(Slice(start, end, days, annual, slice_amount))
        # One division for the total: no rounding of the slices leaks into the cents.
        total = (amount * total_rate_days / (100 * DAYS_IN_YEAR)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )

    days = (until - due_date).days
    if contract_rate is not None:
        code = "contract_rate"
        basis = f"the contract rate of {_percent(contract_rate)}% a year"
    else:
        code = "statutory_rate"
        basis = (
            f"the ECB main refinancing rate + {_percent(rule.margin_points)} points, "
            "half-year by half-year"
        )
    outcome = Reason(
        code,
        f"{rule.name}: late-payment interest of {_money(total)} on {_money(amount)} due "
        f"for {days} day{'s' if days != 1 else ''} ({_long_date(due_date + timedelta(days=1))} "
        f"to {_long_date(until)}) at {basis} ({rule.interest_law}).",
    )
    return Interest(total, code, (outcome, *warnings), tuple(slices))


# --- helpers -------------------------------------------------------------------------------


def _rule_for(country, is_company, what, law):
    """The country's rule, or the reason why nothing is due. ``law``: a CountryRule field."""
    code = (country or "").strip().upper() if isinstance(country, str) else ""
    rule = RULES.get(code)
    if rule is None:
        where = f"customers in {code}" if code else "customers without a country"
        return None, Reason(
            "country_not_covered",
            f"No statutory {what} is computed for {where}: only "
            f"{', '.join(sorted(RULES))} are covered.",
        )
    if not is_company:
        return None, Reason(
            "individual",
            f"No statutory {what}: the customer is an individual, and the late-payment rules "
            f"between businesses do not apply to consumers ({getattr(rule, law)}).",
        )
    return rule, None


def _rate_table(rates):
    table = {}
    for item in rates:
        known = table.get(item.start)
        if known is not None and known != item.rate:
            raise ValueError(
                f"two ECB rates for {half_year_label(item.start)}: {known}% and {item.rate}%"
            )
        table[item.start] = item.rate
    return table


def _ecb_rate(table, start):
    """(rate, None) when the half-year is in the table, else (earlier rate, its half-year)."""
    half_year = half_year_start(start)
    if half_year in table:
        return table[half_year], None
    earlier = [d for d in table if d < half_year]
    if not earlier:
        raise MissingRate(half_year)
    latest = max(earlier)
    return table[latest], latest


def _carried_forward(start, carried_from, ecb):
    half_year = half_year_start(start)
    return Reason(
        "rate_carried_forward",
        f"No ECB rate is recorded for {half_year_label(half_year)}: the rate of "
        f"{half_year_label(carried_from)} ({_percent(ecb)}%) was used; add the rate in force on "
        f"{_long_date(half_year)} to the ECB rate table.",
        half_year,
    )


def _half_year_periods(first, last):
    """Consecutive (start, end) periods covering first..last, cut at 1 January and 1 July."""
    start = first
    while start <= last:
        nxt = date(start.year, 7, 1) if start.month <= 6 else date(start.year + 1, 1, 1)
        yield start, min(last, nxt - timedelta(days=1))
        start = nxt


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {value!r}")
    return value


def _decimal(value, what):
    if isinstance(value, bool) or value is None:
        raise ValueError(f"the {what} is not a number: {value!r}")
    try:
        # Floats come from Odoo fields: their shortest repr is the figure the user typed.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"the {what} is not a number: {value!r}")
    if not number.is_finite():
        raise ValueError(f"the {what} is not a number: {value!r}")
    return number


def _money(value):
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), ",.2f")


def _percent(value):
    return format(value.normalize(), "f")


_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _long_date(d):
    # Not strftime: its month names follow the server's locale.
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
