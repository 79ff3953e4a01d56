"""Instalment plans: schedules, policy checks and allocation of payments."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from smart_collection.services import instalments as inst

TODAY = date(2026, 1, 31)
POLICY = inst.Policy(max_count=6, min_amount=Decimal(50), max_span_days=180)


def test_equal_parts_remainder_on_last():
    schedule = inst.propose(Decimal("100.00"), 3, TODAY, POLICY)
    assert [amount for _, amount in schedule] == [
        Decimal("33.33"), Decimal("33.33"), Decimal("33.34")
    ]


def test_monthly_dates_clamp_to_month_end():
    dates = [d for d, _ in inst.propose(Decimal(400), 4, TODAY, POLICY)]
    assert dates == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_every_k_days_with_first_offset():
    policy = inst.Policy(first_due_offset_days=7, spacing_days=14)
    dates = [d for d, _ in inst.propose(Decimal(300), 3, TODAY, policy)]
    assert dates == [date(2026, 2, 7), date(2026, 2, 21), date(2026, 3, 7)]


def test_zero_decimal_currency():
    schedule = inst.propose(Decimal(1000), 3, TODAY, POLICY, decimals=0)
    assert [a for _, a in schedule] == [Decimal(333), Decimal(333), Decimal(334)]


def test_validate_codes():
    assert inst.validate(Decimal(600), 3, TODAY, POLICY) == []
    assert inst.validate(Decimal(0), 3, TODAY, POLICY) == [inst.NOTHING_TO_SPLIT]
    # Seven monthly parts would also run past 180 days: every broken rule is reported.
    assert inst.validate(Decimal(600), 7, TODAY, POLICY) == [
        inst.COUNT_TOO_HIGH, inst.SPAN_TOO_LONG
    ]
    assert inst.validate(Decimal(120), 3, TODAY, POLICY) == [inst.BELOW_MINIMUM]
    assert inst.validate(Decimal(600), 1, TODAY, POLICY) == [inst.COUNT_TOO_LOW]
    short = inst.Policy(max_count=12, min_amount=Decimal(1), max_span_days=60)
    # 4 monthly parts end 3 months later: 89 days > 60.
    assert inst.validate(Decimal(400), 4, TODAY, short) == [inst.SPAN_TOO_LONG]


def test_allowed_counts():
    assert inst.allowed_counts(Decimal(600), TODAY, POLICY) == [2, 3, 4, 5, 6]
    assert inst.allowed_counts(Decimal(160), TODAY, POLICY) == [2, 3]
    assert inst.allowed_counts(Decimal(80), TODAY, POLICY) == []
    # 90 days: the 5th monthly part (4 months out) is too far.
    span = inst.Policy(max_count=12, min_amount=Decimal(1), max_span_days=90)
    assert inst.allowed_counts(Decimal(1000), TODAY, span) == [2, 3, 4]


def test_allocate_paid_in_order():
    schedule = inst.propose(Decimal("100.00"), 3, TODAY, POLICY)
    status = inst.allocate_paid(schedule, Decimal("40"))
    assert [line.state for line in status.lines] == ["paid", "partial", "open"]
    assert status.lines[1].paid == Decimal("6.67")
    assert status.next_sequence == 2
    assert status.next_due_date == schedule[1][0]
    assert status.next_amount_due == Decimal("26.66")
    done = inst.allocate_paid(schedule, Decimal("100.00"))
    assert done.next_sequence is None and done.next_due_date is None
    assert all(line.state == "paid" for line in done.lines)
    assert inst.allocate_paid(schedule, Decimal(0)).next_sequence == 1


@given(
    cents=st.integers(min_value=1, max_value=10**9),
    count=st.integers(min_value=1, max_value=24),
    spacing=st.integers(min_value=0, max_value=45),
    offset=st.integers(min_value=0, max_value=30),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
)
def test_schedule_properties(cents, count, spacing, offset, start):
    residual = Decimal(cents).scaleb(-2)
    policy = inst.Policy(
        max_count=24, min_amount=Decimal(0), max_span_days=3650,
        first_due_offset_days=offset, spacing_days=spacing,
    )
    schedule = inst.propose(residual, count, start, policy)
    assert len(schedule) == count
    assert sum(amount for _, amount in schedule) == residual
    dates = [d for d, _ in schedule]
    assert dates == sorted(set(dates))
    assert dates[0] == start + timedelta(days=offset)
    if not inst.validate(residual, count, start, policy):
        assert (dates[-1] - start).days <= policy.max_span_days
        assert all(amount >= policy.min_amount for _, amount in schedule)
