"""Collection KPIs on hand-computed examples."""

from datetime import date
from decimal import Decimal as D

from smart_collection.services import kpi
from smart_collection.services.kpi import Collection, Dispatch, OpenItem

TODAY = date(2026, 3, 31)


def test_bucket_boundaries():
    assert kpi.bucket_of(date(2026, 3, 31), TODAY) == "not_due"  # due today: not late
    assert kpi.bucket_of(date(2026, 4, 30), TODAY) == "not_due"
    assert kpi.bucket_of(date(2026, 3, 30), TODAY) == "1_30"
    assert kpi.bucket_of(date(2026, 3, 1), TODAY) == "1_30"  # 30 days
    assert kpi.bucket_of(date(2026, 2, 28), TODAY) == "31_60"  # 31 days
    assert kpi.bucket_of(date(2026, 1, 30), TODAY) == "31_60"  # 60 days
    assert kpi.bucket_of(date(2026, 1, 29), TODAY) == "61_90"  # 61 days
    assert kpi.bucket_of(date(2025, 12, 31), TODAY) == "61_90"  # 90 days
    assert kpi.bucket_of(date(2025, 12, 30), TODAY) == "over_90"


def test_aging_sums_and_credits():
    items = [
        OpenItem(D("100"), date(2026, 4, 10)),
        OpenItem(D("200"), date(2026, 3, 20)),
        OpenItem(D("50.5"), date(2026, 3, 15)),
        OpenItem(D("300"), date(2026, 2, 1)),
        OpenItem(D("400"), date(2026, 1, 1)),
        OpenItem(D("500"), date(2025, 6, 1)),
        OpenItem(D("-80"), date(2026, 3, 31)),  # an unapplied payment
    ]
    buckets = kpi.aging(items, TODAY)
    assert buckets == {
        "not_due": D("20.00"), "1_30": D("250.50"), "31_60": D("300.00"),
        "61_90": D("400.00"), "over_90": D("500.00"),
    }
    assert sum(buckets.values()) == D("1470.50")
    # overdue 1 450.50 of 1 550.50 invoiced and open (the payment is left out)
    assert kpi.overdue_rate(items, TODAY) == D("93.6")
    assert kpi.overdue_amount(items, TODAY) == D("1450.50")


def test_overdue_rate_nothing_open():
    assert kpi.overdue_rate([], TODAY) is None


def test_dso_count_back():
    # 1 500 receivable; March sales 1 000 over 31 days, February 1 000 over 28 days:
    # 31 + 28 × 500 / 1 000 = 45.0
    assert kpi.dso_count_back(D("1500"), [(D("1000"), 31), (D("1000"), 28)]) == D("45.0")
    # Balance inside the first month: 31 × 250 / 1 000 = 7.75 → 7.8
    assert kpi.dso_count_back(D("250"), [(D("1000"), 31)]) == D("7.8")
    # Exactly one month of sales: 31 days
    assert kpi.dso_count_back(D("1000"), [(D("1000"), 31), (D("500"), 28)]) == D("31.0")
    # A month without sales is passed through whole: 31 + 28 + 31 × 100 / 400 = 66.75
    assert kpi.dso_count_back(
        D("300"), [(D("200"), 31), (D("0"), 28), (D("400"), 31)]
    ) == D("66.8")
    # History exhausted: the whole history's days
    assert kpi.dso_count_back(D("5000"), [(D("1000"), 31), (D("1000"), 28)]) == D("59.0")
    assert kpi.dso_count_back(D("0"), [(D("1000"), 31)]) == D("0.0")


def test_month_sales_history_counts_days_elapsed_in_the_current_month():
    history = kpi.month_sales_history(
        date(2026, 3, 15), {date(2026, 3, 1): D("300"), date(2026, 2, 1): D("900")}, count=3
    )
    assert history == [(D("300"), 15), (D("900"), 28), (D("0"), 31)]
    # 600 receivable: 15 days (300) + 28 × 300 / 900 = 24.33 → 24.3
    assert kpi.dso_count_back(D("600"), history) == D("24.3")


def test_cei():
    # opening 10 000, sales 5 000, closing 6 000 of which 4 000 not due:
    # (10 000 + 5 000 − 6 000) / (10 000 + 5 000 − 4 000) = 9 000 / 11 000 = 81.8 %
    assert kpi.cei(D("10000"), D("5000"), D("6000"), D("4000")) == D("81.8")
    # everything collectable collected
    assert kpi.cei(D("1000"), D("0"), D("0"), D("0")) == D("100.0")
    assert kpi.cei(D("0"), D("0"), D("0"), D("0")) is None


def _dispatches():
    return [
        Dispatch(1, "Reminder 1", "email", date(2026, 3, 1), 1),
        Dispatch(1, "Reminder 1", "sms", date(2026, 3, 1), 1),
        Dispatch(1, "Reminder 2", "email", date(2026, 3, 10), 2),
        Dispatch(2, "Reminder 1", "email", date(2026, 3, 1), 1),
        Dispatch(3, "Reminder 1", "email", date(2026, 3, 20), 1),
        Dispatch(3, "Reminder 1", "sms", date(2026, 3, 20), 1),
    ]


def test_reminder_effectiveness():
    # invoice 1 paid on 3-15 (5 days after level 2, 14 days after level 1),
    # invoice 2 paid on 3-08 (7 days after: counts), invoice 3 not paid.
    paid = {1: date(2026, 3, 15), 2: date(2026, 3, 8)}
    rows, total = kpi.reminder_effectiveness(_dispatches(), paid)
    assert rows == [
        {"level": "Reminder 1", "channel": "email", "sent": 3, "paid": 1, "rate": D("33.3")},
        {"level": "Reminder 1", "channel": "sms", "sent": 2, "paid": 0, "rate": D("0.0")},
        {"level": "Reminder 2", "channel": "email", "sent": 1, "paid": 1, "rate": D("100.0")},
    ]
    assert total == {"sent": 6, "paid": 2, "rate": D("33.3")}
    # paid on day 8: too late for level 1
    rows, _total = kpi.reminder_effectiveness(_dispatches()[3:4], {2: date(2026, 3, 9)})
    assert rows[0]["paid"] == 0


def test_collected_by_channel_and_level():
    collections = [
        Collection(1, D("100"), date(2026, 3, 12)),  # after level 2 e-mail
        Collection(1, D("20"), date(2026, 3, 5)),  # after level 1 (email + sms same day)
        Collection(2, D("30"), date(2026, 2, 27)),  # before any reminder
        Collection(3, D("40"), date(2026, 3, 25)),
    ]
    by_channel, by_level = kpi.collected_by_reminder(collections, _dispatches())
    assert by_channel == {"email": D("100.00"), "sms": D("60.00"), "none": D("30.00")}
    assert by_level == {"Reminder 2": D("100.00"), "Reminder 1": D("60.00"),
                        "none": D("30.00")}
    assert sum(by_channel.values()) == sum(by_level.values()) == D("190")


def test_cash_forecast_per_iso_week():
    today = date(2026, 3, 25)  # Wednesday of 2026-W13
    items = [
        OpenItem(D("100"), date(2026, 3, 1)),  # late: this week
        OpenItem(D("200"), date(2026, 3, 1), date(2026, 4, 2)),  # predicted W14
        OpenItem(D("50"), date(2026, 3, 29)),  # Sunday: W13
        OpenItem(D("70"), date(2026, 3, 30)),  # Monday: W14
        OpenItem(D("999"), date(2026, 12, 1)),  # beyond 8 weeks
        OpenItem(D("-10"), date(2026, 3, 30)),  # credits are not cash in
    ]
    rows = kpi.cash_forecast(items, today)
    assert len(rows) == 9
    assert rows[0] == {"week": "2026-W13", "start": date(2026, 3, 23), "amount": D("150.00")}
    assert rows[1] == {"week": "2026-W14", "start": date(2026, 3, 30), "amount": D("270.00")}
    assert rows[-1] == {"week": "later", "start": None, "amount": D("999.00")}
    assert kpi.iso_week(date(2027, 1, 1)) == "2026-W53"


def test_compute_puts_it_together():
    data = kpi.KpiInput(
        date_from=date(2026, 3, 1),
        date_to=TODAY,
        open_items=(OpenItem(D("400"), date(2026, 4, 15)), OpenItem(D("600"), date(2026, 3, 1))),
        opening_receivables=D("2000"),
        closing_receivables=D("1000"),
        credit_sales=D("800"),
        sales_by_month={date(2026, 3, 1): D("800"), date(2026, 2, 1): D("1000")},
        collections=(Collection(1, D("1800"), date(2026, 3, 10)),),
        dispatches=(),
        paid_dates={},
    )
    result = kpi.compute(data)
    assert result["aging"]["not_due"] == D("400.00")
    assert result["aging"]["1_30"] == D("600.00")
    assert result["overdue_rate"] == D("60.0")
    assert result["overdue_total"] == D("600")
    assert result["open_invoices_total"] == D("1000.00")
    # (2000 + 800 − 1000) / (2000 + 800 − 400) = 1800 / 2400 = 75 %
    assert result["cei"] == D("75.0")
    # 31 days (800) + 28 × 200 / 1000 = 36.6
    assert result["dso"] == D("36.6")
    assert result["collected_by_channel"] == {"none": D("1800.00")}
    assert result["effectiveness_total"] == {"sent": 0, "paid": 0, "rate": None}
