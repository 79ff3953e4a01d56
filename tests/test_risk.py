"""Payment-behaviour score and predicted payment dates, on hand-computed examples."""

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from smart_collection.services import risk
from smart_collection.services.planner import Partner, Policy, ScenarioRule, resolve_scenario
from smart_collection.services.risk import Customer, OpenItem, PaidInvoice, Prior

TODAY = date(2025, 6, 30)
NO_PRIOR = Prior(mean_delay=0.0, strength=0.0, residuals=(0.0,))


def paid(delay, amount=100.0, paid_days_ago=0):
    """An invoice paid ``paid_days_ago`` days before TODAY, ``delay`` days after its due date."""
    paid_on = TODAY - timedelta(days=paid_days_ago)
    due = paid_on - timedelta(days=delay)
    return PaidInvoice(due - timedelta(days=30), due, paid_on, amount)


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, "A"), (19.9, "A"), (20, "B"), (39.9, "B"), (40, "C"), (60, "D"), (79.9, "D"),
     (80, "E"), (100, "E")],
)
def test_class_thresholds(score, expected):
    assert risk.risk_class(score) == expected


def test_days_late_weighs_amounts_by_square_root_and_counts_early_as_on_time():
    # sqrt(100) = 10 and sqrt(400) = 20: (10 x 10 + 0 x 20) / 30 = 3.33 days, 1/3 paid late.
    avg, share = risk.days_late_stats([paid(10, 100.0), paid(-2, 400.0)], TODAY)
    assert avg == pytest.approx(10 / 3)
    assert share == pytest.approx(1 / 3)


def test_days_late_halves_the_weight_of_a_payment_a_half_life_old():
    # Weights 1 (today, 0 days late) and 0.5 (180 days ago, 30 late): 15 / 1.5 = 10 days.
    avg, share = risk.days_late_stats([paid(0), paid(30, paid_days_ago=180)], TODAY)
    assert avg == pytest.approx(10.0)
    assert share == pytest.approx(1 / 3)


def test_payments_after_today_are_not_known_yet():
    future = PaidInvoice(date(2025, 5, 1), date(2025, 6, 1), TODAY + timedelta(days=1), 100.0)
    assert risk.days_late_stats([future], TODAY) == (0.0, 0.0)


def test_trend_compares_last_three_months_with_the_nine_before():
    history = [
        paid(10, paid_days_ago=10), paid(12, paid_days_ago=40),  # recent: mean 11
        paid(2, paid_days_ago=120), paid(4, paid_days_ago=200),  # earlier: mean 3
        paid(50, paid_days_ago=400),  # older than a year: ignored
    ]
    assert risk.trend(history, TODAY) == pytest.approx(8.0)


def test_trend_needs_two_payments_on_each_side():
    assert risk.trend([paid(10, paid_days_ago=10), paid(2, paid_days_ago=120)], TODAY) == 0.0


def test_score_sums_capped_components_and_lists_factors_heaviest_first():
    customer = Customer(
        key=1, paid=[paid(30) for _i in range(4)], broken_promises=3, disputes=1,
        exposure=1500.0, credit_limit=1000.0,
    )
    result = risk.assess(customer, NO_PRIOR, TODAY)
    # late share 1 -> 20, 30 days late -> 35 x 30/60 = 17.5, 3 broken promises -> 10,
    # 1 dispute -> 5/3, exposure 1.5x the limit -> 5 x 0.5 = 2.5.
    assert result.score == pytest.approx(round(20 + 17.5 + 10 + 5 / 3 + 2.5, 1))
    assert result.risk_class == "C"
    assert result.factors == (
        ("late_share", 1.0),
        ("avg_days_late", 30.0),
        ("broken_promises", 3),
        ("over_credit_limit", 1.5),
        ("disputes", 1),
    )
    assert result.avg_days_late == 30.0


def test_punctual_customer_scores_zero_and_class_a():
    result = risk.assess(Customer(key=1, paid=[paid(-1) for _i in range(5)]), NO_PRIOR, TODAY)
    assert (result.score, result.risk_class, result.factors) == (0.0, "A", ())


def test_open_overdue_items_weigh_by_residual():
    items = [
        OpenItem(1, TODAY - timedelta(days=120), TODAY - timedelta(days=90), 300.0),
        OpenItem(2, TODAY - timedelta(days=10), TODAY + timedelta(days=20), 100.0),
    ]
    # (90 x 300 + 0 x 100) / 400 = 67.5 days -> 15 x 67.5 / 90 = 11.25 points.
    customer = Customer(key=1, paid=[paid(0) for _i in range(3)], open_items=items)
    result = risk.assess(customer, NO_PRIOR, TODAY)
    assert result.factors == (("open_overdue", 67.5),)
    assert result.score == pytest.approx(11.2)


def test_short_history_leans_toward_the_book_and_says_so():
    prior = Prior(mean_delay=10.0, strength=3.0, residuals=(0.0,))
    result = risk.assess(Customer(key=1, paid=[paid(40)]), prior, TODAY)
    # Days late for the score: (1 x 40 + 3 x 10) / 4 = 17.5 -> 35 x 17.5 / 60; late share 1.
    assert result.score == pytest.approx(round(35 * 17.5 / 60 + 20, 1))
    assert result.avg_days_late == 40.0  # shown as measured
    assert result.factors[-1] == ("little_history", 1)


def test_prediction_shrinks_a_new_customer_toward_the_book():
    prior = Prior(mean_delay=10.0, strength=3.0, residuals=(0.0,))
    item = OpenItem(7, TODAY, TODAY + timedelta(days=30), 500.0)
    result = risk.assess(Customer(key=1, paid=[paid(40)], open_items=[item]), prior, TODAY)
    # Level (1 x 40 + 3 x 10) / 4 = 17.5; delays 17.5 (book weight 3) and 40 (own, weight 1):
    # the weighted median is 17.5 -> 18 days after due.
    assert result.predictions[7] == TODAY + timedelta(days=30 + 18)


def test_naive_uses_the_plain_average():
    assert risk.naive_delay([paid(40), paid(0), paid(-4)], TODAY) == 12.0
    assert risk.naive_delay([], TODAY) == 0.0


def test_overdue_item_is_never_predicted_in_the_past():
    item = OpenItem(1, TODAY - timedelta(days=130), TODAY - timedelta(days=100), 100.0)
    history = [paid(5 + i % 3, paid_days_ago=20 * i) for i in range(8)]
    result = risk.assess(Customer(key=1, paid=history, open_items=[item]), NO_PRIOR, TODAY)
    # 100 days overdue, never seen later than 7: expected within a fortnight from today.
    assert result.predictions[1] == TODAY + timedelta(days=14)


def test_overdue_item_takes_the_later_part_of_the_customers_spread():
    # Pays 0 or 30 days late, half and half; an item 10 days overdue will be a 30-day one.
    history = [paid(0 if i % 2 else 30, paid_days_ago=15 * i) for i in range(10)]
    item = OpenItem(1, TODAY - timedelta(days=40), TODAY - timedelta(days=10), 100.0)
    result = risk.assess(Customer(key=1, paid=history, open_items=[item]), NO_PRIOR, TODAY)
    assert abs((result.predictions[1] - (item.due_date + timedelta(days=30))).days) <= 3


def test_drifting_customer_is_extrapolated():
    # Each month one invoice, one day later than the month before: 0, 1, ... 11 days.
    history = []
    for month in range(12):
        due = TODAY - timedelta(days=30 * (12 - month))
        history.append(PaidInvoice(due - timedelta(days=30), due, due + timedelta(days=month),
                                   100.0))
    item = OpenItem(1, TODAY - timedelta(days=10), TODAY + timedelta(days=20), 100.0)
    result = risk.assess(Customer(key=1, paid=history, open_items=[item]), NO_PRIOR, TODAY)
    predicted_delay = (result.predictions[1] - item.due_date).days
    assert predicted_delay >= 11  # the plain average would say 5.5
    assert result.trend > 0


def test_fit_prior_on_identical_customers_has_a_strong_pull():
    customers = [Customer(key=i, paid=[paid(d) for d in (8, 10, 12)]) for i in range(5)]
    prior = risk.fit_prior(customers, TODAY)
    assert prior.mean_delay == pytest.approx(10.0)
    # Spread within a customer: 5 x (4 + 0 + 4) / (15 - 5) = 4 days²; between customers: 0,
    # floored at 1 day², so each customer's mean is mixed with 4 invoices of the book's.
    assert prior.strength == pytest.approx(4.0)
    assert risk.fit_prior([], TODAY) == Prior()


def _bench():
    root = Path(__file__).resolve().parent.parent
    if str(root / "bench") not in sys.path:
        sys.path.insert(0, str(root / "bench"))
    import risk_validation

    return risk_validation


def test_small_bench_beats_the_naive_baseline():
    bench = _bench()
    book = bench.generate(customers=42, seed=3)
    assert book == bench.generate(customers=42, seed=3)  # deterministic
    report, classes = bench.evaluate(book)
    assert report["overall"]["ours"] < report["overall"]["naive_clamped"] * 0.8
    assert report["overall"]["ours"] < report["overall"]["naive"]
    assert report["drifting"]["ours"] < report["drifting"]["naive_clamped"]
    # Punctual payers land in A; chronic late payers never do.
    assert set(classes["punctual"]) == {"A"}
    assert "A" not in classes["chronic_late"]


# --- scenarios chosen by risk class (the planner's resolution) ----------------------------

CLASS_RULES = Policy(
    default_scenario_id=1,
    rules=(
        ScenarioRule(10, 2, frozenset({7}), frozenset({"D", "E"})),  # tag 7 and class D-E
        ScenarioRule(20, 3, frozenset(), frozenset({"D", "E"})),  # any customer of class D-E
        ScenarioRule(30, 4, frozenset({7})),  # tag 7
    ),
)


@pytest.mark.parametrize(
    ("scenario", "categories", "risk_class", "expected"),
    [
        (9, {7}, "E", 9),  # the customer's own scenario first
        (None, {7}, "E", 2),  # tag and class
        (None, set(), "D", 3),  # class only
        (None, {7}, "B", 4),  # tag only: the class rules do not apply
        (None, set(), "A", 1),  # nothing: the company default
        (None, set(), None, 1),  # not scored yet
    ],
)
def test_scenario_by_risk_class(scenario, categories, risk_class, expected):
    partner = Partner(
        id=1, is_company=True, scenario_id=scenario, category_ids=frozenset(categories),
        risk_class=risk_class,
    )
    assert resolve_scenario(partner, CLASS_RULES) == expected
