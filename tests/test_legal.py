"""Statutory recovery indemnity and late-payment interest (France L441-10, Spain Ley 3/2004).

Expected figures are worked out by hand in the comments: interest = amount x annual rate % x
days / 36500 per half-year slice, the total rounded half up to the cent once.
"""

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smart_collection.services import legal
from smart_collection.services.legal import (
    RULES,
    CountryRule,
    EcbRate,
    MissingRate,
    half_year_label,
    half_year_start,
    late_interest,
    recovery_indemnity,
)

D = Decimal
DATA_FILE = (
    Path(__file__).resolve().parent.parent
    / "smart_collection"
    / "data"
    / "collection_ecb_rate_data.xml"
)

# ECB main refinancing rate for each half-year (rate in force on 1 January / 1 July).
TABLE = {
    **{date(y, m, 1): D("0.00") for y in range(2019, 2023) for m in (1, 7)},
    date(2023, 1, 1): D("2.50"),
    date(2023, 7, 1): D("4.00"),
    date(2024, 1, 1): D("4.50"),
    date(2024, 7, 1): D("4.25"),
    date(2025, 1, 1): D("3.15"),
    date(2025, 7, 1): D("2.15"),
    date(2026, 1, 1): D("2.15"),
}
RATES = [EcbRate(start, rate) for start, rate in TABLE.items()]


def fr(amount, due, until, rates=RATES, contract_rate=None):
    return late_interest("FR", True, D(amount), due, until, rates, contract_rate)


def es(amount, due, until, rates=RATES, contract_rate=None):
    return late_interest("ES", True, D(amount), due, until, rates, contract_rate)


# --- half-years ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, start, label",
    [
        (date(2025, 1, 1), date(2025, 1, 1), "2025 H1"),
        (date(2025, 6, 30), date(2025, 1, 1), "2025 H1"),
        (date(2025, 7, 1), date(2025, 7, 1), "2025 H2"),
        (date(2025, 12, 31), date(2025, 7, 1), "2025 H2"),
        (datetime(2024, 2, 29, 23, 59), date(2024, 1, 1), "2024 H1"),
    ],
)
def test_half_year(day, start, label):
    assert half_year_start(day) == start
    assert half_year_label(day) == label


# --- worked examples -------------------------------------------------------------------------


def test_france_worked_example_split_at_1_july():
    # EUR 1,000 due 15 May 2025, computed on 31 August 2025: 108 days late.
    #   16 May - 30 June 2025: 16 + 30 = 46 days at 3.15 + 10 = 13.15 %
    #       1000 x 13.15 x 46 / 36500 = 604900 / 36500 = 16.5726...
    #   1 July - 31 August 2025: 31 + 31 = 62 days at 2.15 + 10 = 12.15 %
    #       1000 x 12.15 x 62 / 36500 = 753300 / 36500 = 20.6383...
    #   total 37.2109... -> 37.21
    result = fr("1000", date(2025, 5, 15), date(2025, 8, 31))
    assert result.amount == D("37.21")
    assert result.code == "statutory_rate"
    assert result.codes == ("statutory_rate",)
    assert result.days == 108
    assert [(s.start, s.end, s.days, s.annual_rate_percent) for s in result.slices] == [
        (date(2025, 5, 16), date(2025, 6, 30), 46, D("13.15")),
        (date(2025, 7, 1), date(2025, 8, 31), 62, D("12.15")),
    ]
    assert result.slices[0].amount.quantize(D("1E-20")) == D("16.57260273972602739726")
    assert [s.amount_rounded for s in result.slices] == [D("16.57"), D("20.64")]
    assert "L441-10" in result.reason and "37.21" in result.reason
    assert "+ 10 points" in result.reason and "108 days" in result.reason


def test_spain_worked_example_split_at_1_july():
    # Same invoice under Ley 3/2004 art. 7: ECB rate + 8 points.
    #   46 days at 3.15 + 8 = 11.15 %: 1000 x 11.15 x 46 / 36500 = 512900 / 36500 = 14.0520...
    #   62 days at 2.15 + 8 = 10.15 %: 1000 x 10.15 x 62 / 36500 = 629300 / 36500 = 17.2410...
    #   total 31.2931... -> 31.29
    result = es("1000", date(2025, 5, 15), date(2025, 8, 31))
    assert result.amount == D("31.29")
    assert [s.annual_rate_percent for s in result.slices] == [D("11.15"), D("10.15")]
    assert [s.amount_rounded for s in result.slices] == [D("14.05"), D("17.24")]
    assert "Ley 3/2004, art. 7" in result.reason and "+ 8 points" in result.reason


@pytest.mark.parametrize("country", ["FR", "ES"])
def test_contract_rate_overrides_the_statutory_rate(country):
    # 12 % a year agreed in the contract, 108 days, still split at 1 July for the display:
    #   1000 x 12 x 46 / 36500 = 15.1232...; 1000 x 12 x 62 / 36500 = 20.3835...
    #   total 1000 x 12 x 108 / 36500 = 1296000 / 36500 = 35.5068... -> 35.51
    # No ECB rate is needed, so an empty table is fine.
    result = late_interest(
        country, True, D("1000"), date(2025, 5, 15), date(2025, 8, 31), [], D("12")
    )
    assert result.amount == D("35.51")
    assert result.code == "contract_rate"
    assert [s.annual_rate_percent for s in result.slices] == [D("12"), D("12")]
    assert [s.amount_rounded for s in result.slices] == [D("15.12"), D("20.38")]
    assert "contract rate of 12% a year" in result.reason


def test_contract_rate_of_zero_waives_the_interest():
    result = fr("1000", date(2025, 5, 15), date(2025, 8, 31), contract_rate=D("0"))
    assert (result.amount, result.code) == (D("0.00"), "contract_rate")


def test_negative_contract_rate_is_refused():
    with pytest.raises(ValueError, match="negative"):
        fr("1000", date(2025, 5, 15), date(2025, 8, 31), contract_rate=D("-1"))


def test_year_boundary():
    # EUR 2,500 due 20 December 2024, computed on 10 January 2025: 21 days.
    #   21 - 31 December 2024: 11 days at 4.25 + 10 = 14.25 % -> 14.25 x 11 = 156.75
    #   1 - 10 January 2025: 10 days at 3.15 + 10 = 13.15 %  -> 13.15 x 10 = 131.50
    #   2500 x 288.25 / 36500 = 720625 / 36500 = 19.7431... -> 19.74
    result = fr("2500", date(2024, 12, 20), date(2025, 1, 10))
    assert result.amount == D("19.74")
    assert [(s.start, s.end, s.days) for s in result.slices] == [
        (date(2024, 12, 21), date(2024, 12, 31), 11),
        (date(2025, 1, 1), date(2025, 1, 10), 10),
    ]


def test_leap_day_still_counts_over_365():
    # EUR 10,000 due 27 February 2024, computed on 1 March 2024: 28 Feb, 29 Feb, 1 Mar = 3 days
    # at 4.50 + 10 = 14.5 %: 10000 x 14.5 x 3 / 36500 = 435000 / 36500 = 11.9178... -> 11.92
    # (over 366 it would be 11.89).
    result = fr("10000", date(2024, 2, 27), date(2024, 3, 1))
    assert result.amount == D("11.92")
    assert result.days == 3


def test_whole_leap_year():
    # EUR 1,000 due 31 December 2023, computed on 31 December 2024: 366 days.
    #   1 January - 30 June 2024: 182 days at 14.50 % -> 14.5 x 182 = 2639
    #   1 July - 31 December 2024: 184 days at 14.25 % -> 14.25 x 184 = 2622
    #   1000 x 5261 / 36500 = 144.1369... -> 144.14
    result = fr("1000", date(2023, 12, 31), date(2024, 12, 31))
    assert result.amount == D("144.14")
    assert [s.days for s in result.slices] == [182, 184]


def test_total_rounds_half_up():
    # EUR 100.25 at a contract rate of 10 %, due 1 January 2025, computed 15 March 2025:
    # 30 + 28 + 15 = 73 days: 100.25 x 10 x 73 / 36500 = 2.005 exactly -> 2.01 (not 2.00).
    result = fr("100.25", date(2025, 1, 1), date(2025, 3, 15), contract_rate=D("10"))
    assert result.slices[0].amount == D("2.005")
    assert result.amount == D("2.01")


def test_zero_ecb_rate_years_still_bear_the_points():
    # 2021: ECB rate 0.00 %, so 10 % in France. EUR 3,650 for 10 days: 3650 x 10 x 10 / 36500
    # = 10.00 exactly.
    assert fr("3650", date(2021, 3, 1), date(2021, 3, 11)).amount == D("10.00")


def test_float_amount_from_odoo_is_read_as_typed():
    result = late_interest("FR", True, 1000.0, date(2025, 5, 15), date(2025, 8, 31), RATES)
    assert result.amount == D("37.21")


# --- no interest -----------------------------------------------------------------------------


@pytest.mark.parametrize("until", [date(2025, 5, 15), date(2025, 5, 1)])
def test_not_late_yet(until):
    result = fr("1000", date(2025, 5, 15), until)
    assert (result.amount, result.code, result.slices) == (D("0.00"), "not_late", ())
    assert "Not late" in result.reason


def test_one_day_late():
    # 1 day at 13.15 %: 1000 x 13.15 / 36500 = 0.3602... -> 0.36
    result = fr("1000", date(2025, 5, 15), date(2025, 5, 16))
    assert result.amount == D("0.36")
    assert "for 1 day " in result.reason


@pytest.mark.parametrize("amount", ["0", "-50"])
def test_nothing_due(amount):
    result = fr(amount, date(2025, 5, 15), date(2025, 8, 31))
    assert (result.amount, result.code) == (D("0.00"), "nothing_due")


@pytest.mark.parametrize("country", ["FR", "ES"])
def test_individuals_never_owe_the_statutory_amounts(country):
    interest = late_interest(country, False, D("1000"), date(2025, 5, 15), date(2025, 8, 31), [])
    assert (interest.amount, interest.code, interest.slices) == (D("0.00"), "individual", ())
    assert "individual" in interest.reason
    fee = recovery_indemnity(country, False, False)
    assert (fee.amount, fee.code) == (D("0.00"), "individual")
    assert "individual" in fee.reason


@pytest.mark.parametrize("country", ["DE", "BE", "", None, False])
def test_other_countries_are_not_covered(country):
    interest = late_interest(country, True, D("1000"), date(2025, 5, 15), date(2025, 8, 31), [])
    assert (interest.amount, interest.code) == (D("0.00"), "country_not_covered")
    fee = recovery_indemnity(country, True, False)
    assert (fee.amount, fee.code) == (D("0.00"), "country_not_covered")
    assert "ES, FR" in fee.reason


def test_country_code_is_normalised():
    result = late_interest(" fr ", True, D("1000"), date(2025, 5, 15), date(2025, 8, 31), RATES)
    assert result == fr("1000", date(2025, 5, 15), date(2025, 8, 31))


def test_a_new_country_is_one_row_in_the_table(monkeypatch):
    # A fictitious country "ZZ" granting EUR 50 and ECB + 7 points.
    monkeypatch.setitem(
        RULES, "ZZ", CountryRule("Zedland", D("50"), D("7"), "Act 1, s. 2", "Act 1, s. 3")
    )
    # 46 days at 10.15 % and 62 days at 9.15 %: (466.9 + 567.3) x 1000 / 36500 = 28.3342 -> 28.33
    result = late_interest("ZZ", True, D("1000"), date(2025, 5, 15), date(2025, 8, 31), RATES)
    assert result.amount == D("28.33")
    assert recovery_indemnity("ZZ", True, False).amount == D("50.00")


# --- missing rates ---------------------------------------------------------------------------


def test_missing_half_year_carries_the_last_rate_forward():
    # 2026 H2 is not in the table: its 10 days use the 2026 H1 rate, 2.15 + 10 = 12.15 %.
    #   1000 x 12.15 x (10 + 10) / 36500 = 243000 / 36500 = 6.6575... -> 6.66
    result = fr("1000", date(2026, 6, 20), date(2026, 7, 10))
    assert result.amount == D("6.66")
    assert result.code == "statutory_rate"
    assert result.codes == ("statutory_rate", "rate_carried_forward")
    warning = result.reasons[1]
    assert warning.half_year == date(2026, 7, 1)
    assert "2026 H2" in warning.text and "2026 H1" in warning.text
    assert "1 July 2026" in warning.text
    assert [s.annual_rate_percent for s in result.slices] == [D("12.15"), D("12.15")]


def test_one_warning_per_missing_half_year():
    result = es("1000", date(2026, 6, 20), date(2027, 2, 10))
    carried = [r.half_year for r in result.reasons if r.code == "rate_carried_forward"]
    assert carried == [date(2026, 7, 1), date(2027, 1, 1)]


def test_gap_in_the_table_carries_the_earlier_rate():
    rates = [r for r in RATES if r.start != date(2025, 7, 1)]
    result = fr("1000", date(2025, 5, 15), date(2025, 8, 31), rates)
    # 2025 H2 borrows 3.15 %: 1000 x 13.15 x 108 / 36500 = 1420200 / 36500 = 38.9095 -> 38.91
    assert result.amount == D("38.91")
    assert result.reasons[1].half_year == date(2025, 7, 1)


def test_no_earlier_rate_raises_missing_rate():
    with pytest.raises(MissingRate) as info:
        fr("1000", date(2018, 12, 1), date(2019, 1, 15))
    assert isinstance(info.value, ValueError)
    assert info.value.half_year == date(2018, 7, 1)
    assert "2018 H2" in str(info.value) and "1 July 2018" in str(info.value)


def test_empty_table_raises_missing_rate():
    with pytest.raises(MissingRate, match="2025 H1"):
        es("1000", date(2025, 5, 15), date(2025, 8, 31), rates=[])


# --- rate table ------------------------------------------------------------------------------


def test_ecb_rate_must_start_a_half_year():
    with pytest.raises(ValueError, match="1 January or 1 July"):
        EcbRate(date(2025, 2, 1), D("2.15"))


def test_ecb_rate_from_odoo_float_is_exact():
    assert EcbRate(date(2025, 7, 1), 2.15).rate == D("2.15")


def test_two_different_rates_for_one_half_year_are_refused():
    same = [EcbRate(date(2025, 7, 1), D("2.15")), EcbRate(date(2025, 7, 1), D("2.150"))]
    assert fr("1000", date(2025, 7, 1), date(2025, 7, 2), same).amount == D("0.33")
    clash = [EcbRate(date(2025, 7, 1), D("2.15")), EcbRate(date(2025, 7, 1), D("2.40"))]
    with pytest.raises(ValueError, match="two ECB rates for 2025 H2"):
        fr("1000", date(2025, 7, 1), date(2025, 7, 2), clash)


def test_data_file_holds_every_half_year_from_2019_to_2026_h1():
    records = ET.parse(DATA_FILE).getroot().find("data")
    assert records.get("noupdate") == "1"
    found = {}
    for record in records.findall("record"):
        assert record.get("model") == "collection.ecb.rate"
        fields = {f.get("name"): f.text for f in record.findall("field")}
        start = date.fromisoformat(fields["date_from"])
        assert record.get("id") == f"ecb_rate_{start.year}_h{1 if start.month == 1 else 2}"
        found[start] = D(fields["rate"])
    assert found == TABLE  # nothing guessed beyond 2026 H1


# --- recovery indemnity ----------------------------------------------------------------------


@pytest.mark.parametrize("country, law", [("FR", "D441-5"), ("ES", "Ley 3/2004, art. 8")])
def test_indemnity_is_40_euros_once_per_invoice(country, law):
    fee = recovery_indemnity(country, True, False)
    assert (fee.amount, fee.code) == (D("40.00"), "due")
    assert law in fee.reason and "40.00" in fee.reason
    again = recovery_indemnity(country, True, True)
    assert (again.amount, again.code) == (D("0.00"), "already_charged")
    assert "once" in again.reason


# --- properties ------------------------------------------------------------------------------

amounts = st.decimals(min_value="0.01", max_value="1000000", places=2)
due_dates = st.dates(min_value=date(2018, 12, 31), max_value=date(2026, 12, 31))
spans = st.integers(min_value=-30, max_value=1200)


def _day_by_day(amount, due, until, margin):
    """Oracle: every late day at the rate of its own half-year, carried forward if missing."""
    rate_days = D(0)  # summed exactly: a sum of 28-digit daily quotients can miss a half cent
    day = due + timedelta(days=1)
    while day <= until:
        known = [s for s in TABLE if s <= half_year_start(day)]
        rate_days += TABLE[max(known)] + margin
        day += timedelta(days=1)
    return (amount * rate_days / D(36500)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@given(amounts, due_dates, spans, st.sampled_from(["FR", "ES"]))
def test_slices_cover_every_late_day_once(amount, due, span, country):
    until = due + timedelta(days=span)
    result = late_interest(country, True, amount, due, until, RATES)
    assert result.amount >= 0
    assert sum(s.days for s in result.slices) == max(0, (until - due).days)
    day = due + timedelta(days=1)
    for s in result.slices:
        assert s.start == day and s.end >= s.start
        assert half_year_start(s.start) == half_year_start(s.end)
        assert s.days == (s.end - s.start).days + 1
        day = s.end + timedelta(days=1)
    if result.slices:
        assert result.slices[-1].end == until
    assert result.amount == sum((s.amount for s in result.slices), D(0)).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )


@given(amounts, due_dates, spans, st.sampled_from(["FR", "ES"]))
@example(D("3.75"), date(2018, 12, 31), 219, "FR")  # exactly half a cent: 0.225 -> 0.23
def test_matches_a_day_by_day_count(amount, due, span, country):
    until = due + timedelta(days=span)
    result = late_interest(country, True, amount, due, until, RATES)
    assert result.amount == _day_by_day(amount, due, until, RULES[country].margin_points)


@given(amounts, due_dates, spans, spans, st.sampled_from(["FR", "ES"]))
def test_monotonic_in_until(amount, due, span_a, span_b, country):
    early, late = sorted([due + timedelta(days=span_a), due + timedelta(days=span_b)])
    first = late_interest(country, True, amount, due, early, RATES)
    second = late_interest(country, True, amount, due, late, RATES)
    assert 0 <= first.amount <= second.amount


@given(amounts, amounts, due_dates, spans, st.one_of(st.none(), amounts))
def test_monotonic_in_amount(amount_a, amount_b, due, span, contract_rate):
    small, large = sorted([amount_a, amount_b])
    until = due + timedelta(days=span)
    first = late_interest("FR", True, small, due, until, RATES, contract_rate)
    second = late_interest("FR", True, large, due, until, RATES, contract_rate)
    assert 0 <= first.amount <= second.amount


def test_module_exports():
    assert legal.MissingRate is MissingRate and set(RULES) == {"FR", "ES"}
