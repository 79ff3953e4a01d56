"""Collection planner: who gets which reminder today, and why the others do not."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smart_collection.services.planner import (
    CHANNELS,
    DEFAULT_SMS_WINDOWS,
    REASONS,
    Dispatch,
    Invoice,
    Level,
    Partner,
    Policy,
    Scenario,
    ScenarioRule,
    SmsWindow,
    next_sms_slot,
    plan,
    planned_dispatches,
    reason_text,
    resolve_scenario,
)

UTC = timezone.utc
TODAY = date(2025, 6, 11)  # a Wednesday
NOW = datetime(2025, 6, 11, 10, 30, tzinfo=UTC)  # inside the default SMS hours in UTC and Paris

LADDER = Scenario(
    1,
    (
        Level(1, 10, -7, frozenset({"email"})),
        Level(2, 20, 3, frozenset({"email"})),
        Level(3, 30, 10, frozenset({"email", "sms"})),
        Level(4, 40, 20, frozenset({"call"})),
        Level(5, 50, 30, frozenset({"letter"})),
        Level(6, 60, 45, frozenset({"formal_notice"}), customer_type="company", min_gap_days=7),
    ),
)
SCENARIOS = {1: LADDER}
POLICY = Policy(default_scenario_id=1)


def customer(pid=1, **values):
    values.setdefault("is_company", True)
    values.setdefault("mobile", "+33612345678")
    return Partner(pid, **values)


def invoice(iid, late, residual="100", partner=1, **values):
    """An invoice ``late`` days past its due date (negative: not due yet)."""
    return Invoice(iid, partner, 1, TODAY - timedelta(days=late), Decimal(residual), **values)


def sent(iid, level_id, days_ago=30, state="sent", channel="email"):
    return Dispatch(iid, level_id, channel, state, TODAY - timedelta(days=days_ago))


def run(invoices, partners=None, ledger=(), policy=POLICY, scenarios=None, today=TODAY, now=NOW):
    if partners is None:
        partners = [customer()]
    partners = {p.id: p for p in partners}
    return plan(invoices, partners, scenarios or SCENARIOS, ledger, policy, today, now)


def status_of(result, iid):
    (status,) = [s for s in result.statuses if s.invoice_id == iid]
    return status


def action_map(result):
    return {(a.partner_id, a.channel): a for a in result.actions}


# --- scenario resolution ------------------------------------------------------------------


RULES = (
    ScenarioRule(20, 30, frozenset({7})),
    ScenarioRule(10, 20, frozenset({7, 8})),
    ScenarioRule(5, 40, frozenset({9})),
)


@pytest.mark.parametrize(
    "partner, expected",
    [
        (customer(scenario_id=99, category_ids=frozenset({7})), 99),  # explicit wins
        (customer(category_ids=frozenset({7})), 20),  # first rule by sequence, not input order
        (customer(category_ids=frozenset({8, 9})), 40),
        (customer(category_ids=frozenset({1})), 5),  # no rule matches: default
        (customer(), 5),
    ],
)
def test_scenario_resolution_order(partner, expected):
    assert resolve_scenario(partner, Policy(default_scenario_id=5, rules=RULES)) == expected


def test_no_scenario_at_all():
    assert resolve_scenario(customer(), Policy()) is None
    assert resolve_scenario(customer(scenario_id=False), Policy()) is None


@pytest.mark.parametrize("policy", [Policy(), Policy(default_scenario_id=77)])
def test_no_scenario_means_no_action(policy):
    result = run([invoice(1, 40)], policy=policy)
    assert result.actions == ()
    status = status_of(result, 1)
    assert (status.reason, status.scenario_id, status.level_id) == ("no_scenario", None, None)


def test_category_rule_picks_the_customers_scenario():
    other = Scenario(2, (Level(21, 1, 0, frozenset({"letter"})),))
    policy = Policy(default_scenario_id=1, rules=(ScenarioRule(1, 2, frozenset({7})),))
    result = run(
        [invoice(1, 5), invoice(2, 5, partner=2)],
        partners=[customer(1, category_ids=frozenset({7})), customer(2)],
        policy=policy,
        scenarios={1: LADDER, 2: other},
    )
    assert [(a.partner_id, a.channel, a.level_id) for a in result.actions] == [
        (1, "letter", 21),
        (2, "email", 2),
    ]
    assert status_of(result, 1).scenario_id == 2
    assert status_of(result, 2).scenario_id == 1


# --- invoices left alone ------------------------------------------------------------------


@pytest.mark.parametrize("residual", ["0", "-5"])
def test_paid_invoice_gets_paid_status_and_no_action(residual):
    result = run([invoice(1, 40, residual=residual)])
    assert result.actions == ()
    assert status_of(result, 1).reason == "paid"


@pytest.mark.parametrize(
    "invoice_values, partner_values, reason",
    [
        ({"excluded": True}, {}, "excluded"),
        ({}, {"legal": True}, "legal"),
        ({}, {"hold_until": TODAY}, "on_hold"),
        ({}, {"hold_until": TODAY + timedelta(days=30)}, "on_hold"),
        ({"disputed": True}, {}, "disputed"),
        ({"payment_pending": True}, {}, "payment_pending"),
        ({"promise_date": TODAY}, {}, "promised"),
        ({"promise_date": TODAY + timedelta(days=3)}, {}, "promised"),
        ({}, {"credit": Decimal(100)}, "net_balance"),
        # precedence
        ({"excluded": True, "disputed": True}, {"legal": True}, "excluded"),
        ({"disputed": True}, {"legal": True, "hold_until": TODAY}, "legal"),
        ({"disputed": True, "payment_pending": True}, {"hold_until": TODAY}, "on_hold"),
        ({"disputed": True, "payment_pending": True}, {}, "disputed"),
        ({"payment_pending": True, "promise_date": TODAY}, {}, "payment_pending"),
        ({"promise_date": TODAY}, {"credit": Decimal(500)}, "promised"),
    ],
)
def test_blocked_invoices_get_no_action(invoice_values, partner_values, reason):
    result = run([invoice(1, 25, **invoice_values)], partners=[customer(**partner_values)])
    assert result.actions == ()
    status = status_of(result, 1)
    assert status.reason == reason
    assert status.scenario_id == 1


def test_hold_ended_yesterday_is_chased():
    result = run([invoice(1, 5)], partners=[customer(hold_until=TODAY - timedelta(days=1))])
    assert status_of(result, 1).reason == "due"
    assert [a.channel for a in result.actions] == ["email"]


def test_blocked_status_shows_next_level_after_hold_or_promise():
    result = run([invoice(1, 5)], partners=[customer(hold_until=TODAY + timedelta(days=10))])
    status = status_of(result, 1)
    assert (status.level_id, status.next_level_id) == (None, 1)
    assert status.next_date == TODAY + timedelta(days=11)  # level 1 was due, hold pushes it

    later = TODAY + timedelta(days=2)
    result = run([invoice(1, -30, promise_date=later)], ledger=[sent(1, 1)])
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("promised", 1, 2)
    assert status.next_date == TODAY + timedelta(days=33)  # nominal date is after the promise


def test_broken_promise_resumes_with_its_own_reason():
    yesterday = TODAY - timedelta(days=1)
    result = run([invoice(1, 12, promise_date=yesterday)], ledger=[sent(1, 2, days_ago=9)])
    status = status_of(result, 1)
    assert (status.reason, status.level_id) == ("promise_broken", 3)
    actions = action_map(result)
    assert actions[(1, "email")].reason == "promise_broken"
    assert actions[(1, "sms")].kind == "send"
    assert actions[(1, "sms")].reason == "promise_broken"


def test_broken_promise_reason_on_the_shared_message():
    yesterday = TODAY - timedelta(days=1)
    result = run([invoice(1, 5), invoice(2, 5, promise_date=yesterday)])
    (action,) = result.actions
    assert action.reason == "promise_broken"
    assert status_of(result, 1).reason == "due"
    assert status_of(result, 2).reason == "promise_broken"


def test_net_balance_counts_every_invoice_given_and_the_credit():
    invoices = [invoice(1, 5, "100"), invoice(2, 5, "300", disputed=True), invoice(3, 5, "-50")]
    # 100 + 300 - 50 = 350 owed
    result = run(invoices, partners=[customer(credit=Decimal(350))])
    assert status_of(result, 1).reason == "net_balance"
    result = run(invoices, partners=[customer(credit=Decimal("349.99"))])
    assert status_of(result, 1).reason == "due"
    assert status_of(result, 2).reason == "disputed"
    assert status_of(result, 3).reason == "paid"


# --- the ladder ---------------------------------------------------------------------------


def test_not_yet_before_the_first_level():
    result = run([invoice(1, -10)])
    assert result.actions == ()
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("not_yet", None, 1)
    assert status.next_date == TODAY + timedelta(days=3)  # due in 10 days, level at -7


def test_level_date_reached_today_is_due():
    result = run([invoice(1, -7)])
    assert [(a.channel, a.level_id) for a in result.actions] == [("email", 1)]
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("due", 1, 2)
    assert status.next_date == TODAY + timedelta(days=10)


def test_not_yet_between_levels():
    result = run([invoice(1, 5)], ledger=[sent(1, 1, days_ago=12), sent(1, 2, days_ago=2)])
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("not_yet", 2, 3)
    assert status.next_date == TODAY + timedelta(days=5)


def test_done_when_the_scenario_is_exhausted():
    ledger = [sent(1, level.id) for level in LADDER.levels]
    result = run([invoice(1, 200)], ledger=ledger)
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id, status.next_date) == (
        "done",
        6,
        None,
        None,
    )


@pytest.mark.parametrize("state", ["planned", "sent", "failed", "skipped"])
def test_a_ledger_row_in_any_state_marks_the_level_reached(state):
    result = run([invoice(1, 5)], ledger=[sent(1, 2, days_ago=1, state=state)])
    assert result.actions == ()
    assert status_of(result, 1).level_id == 2


def test_ledger_rows_of_other_scenarios_are_ignored():
    result = run([invoice(1, 5)], ledger=[sent(1, 999, days_ago=1)])
    assert [a.level_id for a in result.actions] == [2]


def test_levels_are_climbed_by_offset_then_sequence():
    shuffled = Scenario(
        1,
        (
            Level(13, 2, 5, frozenset({"letter"})),
            Level(11, 9, -1, frozenset({"email"})),
            Level(12, 1, 5, frozenset({"sms"})),
        ),
    )
    result = run([invoice(1, 1)], scenarios={1: shuffled})
    assert [a.level_id for a in result.actions] == [11]
    assert status_of(result, 1).next_level_id == 12
    result = run([invoice(1, 6)], ledger=[sent(1, 11)], scenarios={1: shuffled})
    assert [a.level_id for a in result.actions] == [13]
    assert status_of(result, 1).skipped_reasons == ((12, "superseded"),)


def test_catch_up_sends_only_the_latest_level():
    result = run([invoice(1, 25)])
    assert [(a.channel, a.level_id) for a in result.actions] == [("call", 4)]
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("due", 4, 5)
    assert status.skipped_level_ids == (1, 2, 3)
    assert status.skipped_reasons == ((1, "superseded"), (2, "superseded"), (3, "superseded"))


def test_catch_up_starts_after_the_last_level_reached():
    result = run([invoice(1, 25)], ledger=[sent(1, 2, days_ago=20)])
    assert status_of(result, 1).skipped_level_ids == (3,)
    assert status_of(result, 1).level_id == 4


# --- level conditions ---------------------------------------------------------------------


def test_company_only_level_skipped_for_a_person():
    result = run([invoice(1, 50)], partners=[customer(is_company=False)])
    assert [(a.channel, a.level_id) for a in result.actions] == [("letter", 5)]
    status = status_of(result, 1)
    assert status.skipped_reasons == (
        (1, "superseded"),
        (2, "superseded"),
        (3, "superseded"),
        (4, "superseded"),
        (6, "condition"),
    )
    assert status.next_level_id == 6


def test_condition_when_every_due_level_fails():
    person_only = Scenario(
        1,
        (
            Level(1, 1, 0, frozenset({"email"}), customer_type="person"),
            Level(2, 2, 5, frozenset({"email"}), category_ids=frozenset({3})),
            Level(3, 3, 30, frozenset({"letter"})),
        ),
    )
    result = run([invoice(1, 10)], scenarios={1: person_only})
    assert result.actions == ()
    status = status_of(result, 1)
    assert (status.reason, status.level_id) == ("condition", None)
    assert status.skipped_reasons == ((1, "condition"), (2, "condition"))
    assert (status.next_level_id, status.next_date) == (3, TODAY + timedelta(days=20))
    # with the category, level 2 applies and level 1 is superseded
    result = run(
        [invoice(1, 10)],
        partners=[customer(category_ids=frozenset({3, 4}))],
        scenarios={1: person_only},
    )
    assert [a.level_id for a in result.actions] == [2]
    assert status_of(result, 1).skipped_reasons == ((1, "condition"),)


def test_person_level_skipped_for_a_company():
    scenario = Scenario(1, (Level(1, 1, 0, frozenset({"sms"}), customer_type="person"),))
    assert run([invoice(1, 1)], scenarios={1: scenario}).actions == ()
    result = run([invoice(1, 1)], partners=[customer(is_company=False)], scenarios={1: scenario})
    assert [a.channel for a in result.actions] == ["sms"]


def test_min_amount_uses_the_customers_overdue_total():
    scenario = Scenario(1, (Level(1, 1, 1, frozenset({"letter"}), min_amount=Decimal(150)),))
    invoices = [
        invoice(1, 5, "100"),
        invoice(2, 3, "40", disputed=True),  # overdue, counts even if it is not chased
        invoice(3, 0, "500"),  # due today: not overdue yet
        invoice(4, 30, "0"),  # paid
        invoice(5, 30, "20", partner=2),  # another customer
    ]
    partners = [customer(1), customer(2)]
    result = run(invoices, partners=partners, scenarios={1: scenario})
    assert status_of(result, 1).reason == "condition"
    result = run(invoices + [invoice(6, 1, "10")], partners=partners, scenarios={1: scenario})
    assert [(a.partner_id, a.invoice_levels) for a in result.actions] == [(1, ((1, 1), (6, 1)))]


# --- minimum gap --------------------------------------------------------------------------


def test_gap_holds_the_level_back():
    ledger = [sent(1, level_id, days_ago=40) for level_id in (1, 2, 3, 4)]
    ledger.append(sent(1, 5, days_ago=3, channel="letter"))
    result = run([invoice(1, 50)], ledger=ledger)
    assert result.actions == ()
    status = status_of(result, 1)
    assert (status.reason, status.level_id, status.next_level_id) == ("gap", 5, 6)
    assert status.next_date == TODAY + timedelta(days=4)


def test_gap_counts_any_dispatch_of_the_invoice():
    # the only recent row is a failed one of a level outside the scenario
    ledger = [sent(1, 5, days_ago=20), sent(1, 999, days_ago=1, state="failed")]
    result = run([invoice(1, 50)], ledger=ledger)
    assert status_of(result, 1).reason == "gap"
    assert status_of(result, 1).next_date == TODAY + timedelta(days=6)


def test_gap_ignores_levels_passed_over():
    # yesterday's run passed over level 5 (skipped row): nothing reached the customer
    ledger = [sent(1, 4, days_ago=30), sent(1, 5, days_ago=1, state="skipped")]
    result = run([invoice(1, 50)], ledger=ledger)
    assert [(a.channel, a.level_id) for a in result.actions] == [("formal_notice", 6)]


def test_gap_lists_only_failed_levels_below_the_held_one():
    scenario = Scenario(
        1,
        (
            Level(1, 1, 0, frozenset({"letter"}), customer_type="company"),
            Level(2, 2, 3, frozenset({"email"}), min_gap_days=10),
            Level(3, 3, 5, frozenset({"letter"}), customer_type="company"),
        ),
    )
    result = run(
        [invoice(1, 6)],
        partners=[customer(is_company=False)],
        ledger=[sent(1, 999, days_ago=2)],
        scenarios={1: scenario},
    )
    status = status_of(result, 1)
    assert (status.reason, status.next_level_id) == ("gap", 2)
    assert status.skipped_reasons == ((1, "condition"),)  # level 3 stays open


def test_gap_elapsed_exactly_lets_the_level_go():
    result = run([invoice(1, 50)], ledger=[sent(1, 5, days_ago=7)])
    assert [(a.channel, a.level_id) for a in result.actions] == [("formal_notice", 6)]


def test_gap_without_previous_dispatch_does_not_block():
    result = run([invoice(1, 50)])
    assert [(a.channel, a.level_id) for a in result.actions] == [("formal_notice", 6)]


# --- grouping -----------------------------------------------------------------------------


def test_one_action_per_customer_and_channel():
    invoices = [
        invoice(7, 12),  # level 3: email + sms
        invoice(3, 4),  # level 2: email
        invoice(5, -7),  # level 1: email
        invoice(9, 4, partner=2),
    ]
    result = run(invoices, partners=[customer(1), customer(2)])
    assert [(a.partner_id, a.channel, a.level_id, a.invoice_levels) for a in result.actions] == [
        (1, "email", 3, ((3, 2), (5, 1), (7, 3))),
        (1, "sms", 3, ((7, 3),)),
        (2, "email", 2, ((9, 2),)),
    ]
    assert all(a.kind == "send" and a.reason == "due" for a in result.actions)


def test_actions_follow_channel_order():
    scenario = Scenario(1, (Level(1, 1, 0, frozenset(CHANNELS)),))
    result = run([invoice(1, 1)], scenarios={1: scenario})
    assert tuple(a.channel for a in result.actions) == CHANNELS


def test_statuses_one_per_invoice_sorted_by_id():
    invoices = [invoice(5, 1), invoice(2, 1, residual="0"), invoice(9, 1, excluded=True)]
    result = run(invoices)
    assert [s.invoice_id for s in result.statuses] == [2, 5, 9]


# --- channel substitution and opt-out ------------------------------------------------------


@pytest.mark.parametrize(
    "late, channel, partner_values, reason",
    [
        (5, "email", {"has_email": False}, "missing_email"),
        (12, "sms", {"mobile": None}, "missing_mobile"),
        (12, "sms", {"mobile": ""}, "missing_mobile"),
        (35, "letter", {"has_address": False}, "missing_address"),
        (50, "formal_notice", {"has_address": False}, "missing_address"),
    ],
)
def test_missing_contact_becomes_a_task(late, channel, partner_values, reason):
    result = run([invoice(1, late)], partners=[customer(**partner_values)])
    action = action_map(result)[(1, channel)]
    assert (action.kind, action.reason, action.channel) == ("task", reason, channel)
    assert status_of(result, 1).reason == "due"


def test_call_needs_no_contact_data():
    bare = customer(has_email=False, mobile=None, has_address=False)
    (action,) = run([invoice(1, 25)], partners=[bare]).actions
    assert (action.channel, action.kind) == ("call", "send")


def test_opted_out_channel_is_skipped():
    result = run([invoice(1, 12)], partners=[customer(opt_out=frozenset({"sms"}))])
    actions = action_map(result)
    assert (actions[(1, "sms")].kind, actions[(1, "sms")].reason) == ("skip", "opted_out")
    assert actions[(1, "email")].kind == "send"


def test_opt_out_wins_over_missing_contact():
    partner = customer(opt_out=frozenset({"email"}), has_email=False)
    (action,) = run([invoice(1, 5)], partners=[partner]).actions
    assert (action.kind, action.reason) == ("skip", "opted_out")


@pytest.mark.parametrize("late, channel", [(25, "call"), (50, "formal_notice")])
def test_call_and_formal_notice_cannot_be_opted_out(late, channel):
    partner = customer(opt_out=frozenset(CHANNELS))
    (action,) = run([invoice(1, late)], partners=[partner]).actions
    assert (action.channel, action.kind, action.reason) == (channel, "send", "due")


# --- SMS quiet hours in plan() --------------------------------------------------------------


def test_sms_outside_hours_is_deferred():
    evening = datetime(2025, 6, 11, 19, 30, tzinfo=UTC)  # 21:30 in Paris
    result = run([invoice(1, 12)], partners=[customer(tz="Europe/Paris")], now=evening)
    actions = action_map(result)
    sms = actions[(1, "sms")]
    assert (sms.kind, sms.reason) == ("defer", "quiet_hours")
    assert sms.not_before == datetime(2025, 6, 12, 8, 0, tzinfo=UTC)  # 10:00 Paris summer
    assert (actions[(1, "email")].kind, actions[(1, "email")].not_before) == ("send", None)


def test_sms_inside_hours_is_sent_now():
    result = run([invoice(1, 12)], partners=[customer(tz="Europe/Paris")])
    sms = action_map(result)[(1, "sms")]
    assert (sms.kind, sms.reason, sms.not_before) == ("send", "due", None)


def test_sms_with_unknown_time_zone_uses_utc():
    at_nine = datetime(2025, 6, 11, 9, 0, tzinfo=UTC)
    result = run([invoice(1, 12)], partners=[customer(tz="Mars/Olympus")], now=at_nine)
    sms = action_map(result)[(1, "sms")]
    assert (sms.kind, sms.not_before) == ("defer", datetime(2025, 6, 11, 10, 0, tzinfo=UTC))


def test_sms_hours_follow_the_policy_holidays():
    policy = Policy(default_scenario_id=1, holidays=frozenset({TODAY}))
    result = run([invoice(1, 12)], policy=policy)
    sms = action_map(result)[(1, "sms")]
    assert sms.not_before == datetime(2025, 6, 12, 10, 0, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------


def test_reason_text():
    assert reason_text("gap") == REASONS["gap"]
    assert reason_text("no_such_code") == "no_such_code"


def test_every_reason_has_a_text():
    # the property tests check that every code plan() gives is one of these
    assert all(isinstance(text, str) and text for text in REASONS.values())
    assert all(reason_text(code) == text for code, text in REASONS.items())


def test_unknown_channel_is_refused():
    scenario = Scenario(1, (Level(1, 1, 0, frozenset({"fax"})),))
    with pytest.raises(ValueError, match="fax"):
        run([invoice(1, 1)], scenarios={1: scenario})


def test_rerun_with_the_written_ledger_sends_nothing_again():
    invoices = [invoice(1, 12), invoice(2, 50), invoice(3, -7)]
    partner = customer(opt_out=frozenset({"sms"}))
    first = run(invoices, partners=[partner])
    rows = planned_dispatches(first, TODAY)
    assert {(r.invoice_id, r.level_id, r.channel, r.state) for r in rows} == {
        (1, 3, "email", "planned"),
        (1, 3, "sms", "skipped"),
        (2, 6, "formal_notice", "planned"),
        (3, 1, "email", "planned"),
    }
    second = run(invoices, partners=[partner], ledger=rows)
    assert second.actions == ()
    assert [s.reason for s in second.statuses] == ["not_yet", "done", "not_yet"]


# --- next_sms_slot ------------------------------------------------------------------------


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "now, tz, expected",
    [
        # inside a window: now
        (utc(2025, 6, 11, 8, 0), "Europe/Paris", utc(2025, 6, 11, 8, 0)),
        (utc(2025, 1, 15, 9, 0), "Europe/Paris", utc(2025, 1, 15, 9, 0)),
        (utc(2025, 1, 15, 18, 59, 59), "Europe/Paris", utc(2025, 1, 15, 18, 59, 59)),
        # 20:00 is the end: closed
        (utc(2025, 1, 15, 19, 0), "Europe/Paris", utc(2025, 1, 16, 9, 0)),
        # lunch break
        (utc(2025, 1, 15, 12, 30), "Europe/Paris", utc(2025, 1, 15, 13, 0)),
        (utc(2025, 6, 11, 11, 30), "Europe/Paris", utc(2025, 6, 11, 12, 0)),
        # early morning, winter / summer
        (utc(2025, 1, 15, 6, 0), "Europe/Paris", utc(2025, 1, 15, 9, 0)),
        (utc(2025, 6, 11, 6, 0), "Europe/Paris", utc(2025, 6, 11, 8, 0)),
        # the local date is already tomorrow
        (utc(2025, 1, 15, 23, 30), "Europe/Paris", utc(2025, 1, 16, 9, 0)),
        # week-end skipped
        (utc(2025, 1, 17, 20, 0), "Europe/Paris", utc(2025, 1, 20, 9, 0)),
        (utc(2025, 1, 18, 12, 0), "Europe/Paris", utc(2025, 1, 20, 9, 0)),
        # Paris springs forward on Sunday 30 March 2025: Friday evening CET -> Monday CEST
        (utc(2025, 3, 28, 19, 30), "Europe/Paris", utc(2025, 3, 31, 8, 0)),
        (utc(2025, 3, 30, 1, 30), "Europe/Paris", utc(2025, 3, 31, 8, 0)),
        # Paris falls back on Sunday 26 October 2025: Friday evening CEST -> Monday CET
        (utc(2025, 10, 24, 19, 0), "Europe/Paris", utc(2025, 10, 27, 9, 0)),
        (utc(2025, 10, 26, 0, 30), "Europe/Paris", utc(2025, 10, 27, 9, 0)),
        # New York springs forward on Sunday 9 March 2025: EST -> EDT
        (utc(2025, 3, 8, 1, 0), "America/New_York", utc(2025, 3, 10, 14, 0)),
        (utc(2025, 3, 10, 14, 0), "America/New_York", utc(2025, 3, 10, 14, 0)),
        (utc(2025, 3, 10, 13, 59), "America/New_York", utc(2025, 3, 10, 14, 0)),
        # New York falls back on Sunday 2 November 2025: EDT -> EST
        (utc(2025, 11, 1, 0, 0), "America/New_York", utc(2025, 11, 3, 15, 0)),
        (utc(2025, 11, 3, 14, 30), "America/New_York", utc(2025, 11, 3, 15, 0)),
        (utc(2025, 10, 31, 14, 30), "America/New_York", utc(2025, 10, 31, 14, 30)),
        # UTC and unknown zones
        (utc(2025, 1, 15, 9, 0), "UTC", utc(2025, 1, 15, 10, 0)),
        (utc(2025, 1, 15, 9, 0), "Not/AZone", utc(2025, 1, 15, 10, 0)),
        (utc(2025, 1, 15, 9, 0), "", utc(2025, 1, 15, 10, 0)),
        # east of UTC enough that the local date differs
        (utc(2025, 1, 16, 23, 0), "Asia/Tokyo", utc(2025, 1, 17, 1, 0)),
    ],
)
def test_next_sms_slot(now, tz, expected):
    slot = next_sms_slot(now, tz, DEFAULT_SMS_WINDOWS, frozenset())
    assert slot == expected
    assert slot.utcoffset() == timedelta(0)


def test_sms_slot_skips_holidays_in_local_dates():
    easter_monday = date(2025, 4, 21)
    friday_evening = utc(2025, 4, 18, 18, 30)  # 20:30 in Paris
    assert next_sms_slot(
        friday_evening, "Europe/Paris", DEFAULT_SMS_WINDOWS, {easter_monday}
    ) == utc(2025, 4, 22, 8, 0)
    # inside the window but a holiday
    assert next_sms_slot(
        utc(2025, 4, 21, 9, 0), "Europe/Paris", DEFAULT_SMS_WINDOWS, [easter_monday]
    ) == utc(2025, 4, 22, 8, 0)
    # Thanksgiving and the day after, then the week-end
    holidays = {date(2025, 11, 27), date(2025, 11, 28)}
    assert next_sms_slot(
        utc(2025, 11, 27, 1, 30), "America/New_York", DEFAULT_SMS_WINDOWS, holidays
    ) == utc(2025, 12, 1, 15, 0)


def test_sms_slot_on_a_sunday_window_across_dst_days():
    sunday = [SmsWindow(frozenset({6}), time(10, 0), time(12, 0))]
    assert next_sms_slot(utc(2025, 3, 29, 12, 0), "Europe/Paris", sunday) == utc(
        2025, 3, 30, 8, 0
    )
    assert next_sms_slot(utc(2025, 10, 25, 12, 0), "Europe/Paris", sunday) == utc(
        2025, 10, 26, 9, 0
    )
    assert next_sms_slot(utc(2025, 3, 8, 12, 0), "America/New_York", sunday) == utc(
        2025, 3, 9, 14, 0
    )
    assert next_sms_slot(utc(2025, 11, 1, 12, 0), "America/New_York", sunday) == utc(
        2025, 11, 2, 15, 0
    )


def test_sms_slot_starting_inside_the_skipped_hour():
    # 02:30 does not exist in Paris on 30 March 2025: the window opens when clocks jump to 03:00
    night = [SmsWindow(frozenset({6}), time(2, 30), time(4, 0))]
    assert next_sms_slot(utc(2025, 3, 29, 12, 0), "Europe/Paris", night) == utc(2025, 3, 30, 1, 0)
    # 02:30 happens twice on 26 October 2025: both openings count
    short = [SmsWindow(frozenset({6}), time(2, 30), time(2, 45))]
    assert next_sms_slot(utc(2025, 10, 26, 0, 0), "Europe/Paris", short) == utc(2025, 10, 26, 0, 30)
    assert next_sms_slot(utc(2025, 10, 26, 0, 50), "Europe/Paris", short) == utc(
        2025, 10, 26, 1, 30
    )
    assert next_sms_slot(utc(2025, 10, 26, 1, 35), "Europe/Paris", short) == utc(
        2025, 10, 26, 1, 35
    )


def test_sms_slot_naive_now_is_read_as_utc():
    assert next_sms_slot(datetime(2025, 1, 15, 9, 0), "UTC", DEFAULT_SMS_WINDOWS) == utc(
        2025, 1, 15, 10, 0
    )


@pytest.mark.parametrize(
    "windows",
    [
        (),
        (SmsWindow(frozenset(), time(10, 0), time(12, 0)),),
        (SmsWindow(frozenset({0}), time(12, 0), time(10, 0)),),
    ],
)
def test_sms_slot_without_windows_raises(windows):
    with pytest.raises(ValueError):
        next_sms_slot(utc(2025, 1, 15, 9, 0), "Europe/Paris", windows)


def test_sms_slot_gives_up_when_every_day_is_a_holiday():
    start = date(2025, 1, 15)
    holidays = {start + timedelta(days=n) for n in range(500)}
    with pytest.raises(ValueError):
        next_sms_slot(utc(2025, 1, 15, 9, 0), "UTC", DEFAULT_SMS_WINDOWS, holidays)


ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]


def _inside(moment, zone, windows, holidays):
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    return local.date() not in holidays and any(
        local.weekday() in w.weekdays and w.start <= clock < w.end for w in windows
    )


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(ZONES),
    holiday_offsets=st.sets(st.integers(0, 10), max_size=4),
)
def test_sms_slot_is_the_first_moment_inside_a_window(now, tz, holiday_offsets):
    zone = ZoneInfo(tz)
    holidays = {now.astimezone(zone).date() + timedelta(days=n) for n in holiday_offsets}
    slot = next_sms_slot(now, tz, DEFAULT_SMS_WINDOWS, holidays)
    assert slot >= now
    assert _inside(slot, zone, DEFAULT_SMS_WINDOWS, holidays)
    if slot > now:
        assert not _inside(now, zone, DEFAULT_SMS_WINDOWS, holidays)
        assert not _inside(slot - timedelta(seconds=1), zone, DEFAULT_SMS_WINDOWS, holidays)


# --- properties of plan() -----------------------------------------------------------------


_INTEGERS = {}


def pick(draw, low, high):
    """An integer in [low, high]; strategies are built once, drawing stays cheap."""
    strategy = _INTEGERS.get((low, high))
    if strategy is None:
        strategy = _INTEGERS[(low, high)] = st.integers(low, high)
    return draw(strategy)


def choose(draw, options):
    return options[pick(draw, 0, len(options) - 1)]


def one_in(draw, n):
    """True about one time in ``n``, shrinking towards False.

    Hypothesis favours the ends of a range, so the value that means True sits inside it.
    """
    return pick(draw, 0, n) == 1


def subset(draw, items, min_size=0, max_size=None):
    """A sub-tuple of ``items`` from one bit mask: far cheaper to draw than ``st.sets``."""
    mask = pick(draw, 1 if min_size else 0, 2 ** len(items) - 1)
    chosen = tuple(item for bit, item in enumerate(items) if mask >> bit & 1)
    return chosen[:max_size] if max_size else chosen


def maybe_day(draw, chance):
    """Around today (from 5 days before to 5 after) one time in ``chance``, else None."""
    if not one_in(draw, chance):
        return None
    return TODAY + timedelta(days=pick(draw, -5, 5))


@st.composite
def worlds(draw):
    """Small books of invoices mixing every state, with scenarios, rules and a ledger."""
    next_level_id = iter(range(1, 1000))
    scenarios = {}
    for sid in range(1, pick(draw, 1, 2) + 1):
        levels = tuple(
            Level(
                next(next_level_id),
                pick(draw, 0, 3),
                pick(draw, -10, 60),
                frozenset(subset(draw, CHANNELS, min_size=1, max_size=3)),
                min_amount=Decimal(choose(draw, (0, 50, 300))),
                customer_type=choose(draw, ("all", "company", "person", "all")),
                category_ids=frozenset(subset(draw, (1, 2), max_size=1)),
                min_gap_days=choose(draw, (0, 3, 10, 0)),
            )
            for _ in range(pick(draw, 1, 5))
        )
        scenarios[sid] = Scenario(sid, levels)
    level_ids = [lv.id for sc in scenarios.values() for lv in sc.levels]
    partners = {}
    for pid in range(1, pick(draw, 1, 4) + 1):
        partners[pid] = Partner(
            pid,
            is_company=one_in(draw, 2),
            scenario_id=choose(draw, (None, 1, 2, None, 3, None)),
            category_ids=frozenset(subset(draw, (1, 2))),
            hold_until=maybe_day(draw, 6),
            legal=one_in(draw, 12),
            opt_out=frozenset(subset(draw, CHANNELS, max_size=2)),
            has_email=not one_in(draw, 5),
            mobile=None if one_in(draw, 3) else "+33612345678",
            has_address=not one_in(draw, 5),
            tz=choose(draw, ZONES),
            credit=Decimal(choose(draw, (0, 80, 0, 1000, 0))),
        )
    invoices, ledger = [], []
    for iid in range(1, pick(draw, 0, 12) + 1):
        invoices.append(
            Invoice(
                iid,
                pick(draw, 1, len(partners)),
                1,
                TODAY - timedelta(days=pick(draw, -20, 90)),
                Decimal(choose(draw, ("100", "1000", "10", "0", "250", "100", "-20", "40", "100"))),
                excluded=one_in(draw, 12),
                disputed=one_in(draw, 10),
                payment_pending=one_in(draw, 12),
                promise_date=maybe_day(draw, 5),
            )
        )
        for _ in range(pick(draw, 0, 2)):
            ledger.append(
                Dispatch(
                    iid,
                    choose(draw, level_ids),
                    choose(draw, CHANNELS),
                    choose(draw, ("sent", "planned", "failed", "skipped")),
                    TODAY - timedelta(days=pick(draw, 0, 40)),
                )
            )
    rules = tuple(
        ScenarioRule(pick(draw, 0, 3), pick(draw, 1, 2), frozenset({category}))
        for category in subset(draw, (1, 2))
    )
    policy = Policy(default_scenario_id=choose(draw, (1, 2, None, 1)), rules=rules)
    now = datetime.combine(TODAY, time(pick(draw, 0, 23), 0), UTC)
    return invoices, partners, scenarios, ledger, policy, now


def _never_chased(invoice, partner, today):
    return (
        invoice.residual <= 0
        or invoice.excluded
        or invoice.disputed
        or invoice.payment_pending
        or partner.legal
        or (partner.hold_until is not None and partner.hold_until >= today)
        or (invoice.promise_date is not None and invoice.promise_date >= today)
    )


def _check(result, invoices, partners, scenarios, today):
    by_id = {inv.id: inv for inv in invoices}
    level_channels = {lv.id: lv.channels for sc in scenarios.values() for lv in sc.levels}
    keys = [(a.partner_id, a.channel) for a in result.actions]
    assert len(keys) == len(set(keys))  # one action per customer and channel
    assert keys == sorted(keys, key=lambda k: (k[0], CHANNELS.index(k[1])))
    for channel in CHANNELS:
        ids = [iid for a in result.actions if a.channel == channel for iid, _ in a.invoice_levels]
        assert len(ids) == len(set(ids))  # an invoice in at most one action per channel
    for action in result.actions:
        assert action.kind in {"send", "defer", "task", "skip"}
        assert action.reason in REASONS
        ids = [iid for iid, _ in action.invoice_levels]
        assert ids == sorted(ids)
        assert action.level_id in {level_id for _, level_id in action.invoice_levels}
        assert (action.kind == "defer") == (action.not_before is not None)
        for iid, level_id in action.invoice_levels:
            invoice = by_id[iid]
            assert invoice.partner_id == action.partner_id
            assert not _never_chased(invoice, partners[invoice.partner_id], today)
            assert action.channel in level_channels[level_id]
    assert [s.invoice_id for s in result.statuses] == sorted(by_id)
    acted = {iid for a in result.actions for iid, _ in a.invoice_levels}
    for status in result.statuses:
        assert status.reason in REASONS
        if status.invoice_id in acted:
            assert status.reason in {"due", "promise_broken"}


@settings(max_examples=200, deadline=None)
@given(world=worlds(), later=st.integers(0, 60))
def test_plan_properties_and_idempotence(world, later):
    invoices, partners, scenarios, ledger, policy, now = world
    first = plan(invoices, partners, scenarios, ledger, policy, TODAY, now)
    _check(first, invoices, partners, scenarios, TODAY)

    # the order the Odoo layer reads records in does not change the plan
    shuffled = {
        sid: replace(sc, levels=tuple(reversed(sc.levels))) for sid, sc in scenarios.items()
    }
    assert first == plan(
        list(reversed(invoices)), partners, shuffled, list(reversed(ledger)), policy, TODAY, now
    )

    # the same run again with its own rows written: nothing sent twice, today or later
    extended = list(ledger) + list(planned_dispatches(first, TODAY))
    done = {
        (iid, level_id, a.channel) for a in first.actions for iid, level_id in a.invoice_levels
    }
    assert not plan(invoices, partners, scenarios, extended, policy, TODAY, now).actions
    day = TODAY + timedelta(days=later)
    again = plan(invoices, partners, scenarios, extended, policy, day, now)
    _check(again, invoices, partners, scenarios, day)
    repeated = {
        (iid, level_id, a.channel) for a in again.actions for iid, level_id in a.invoice_levels
    }
    assert not repeated & done
