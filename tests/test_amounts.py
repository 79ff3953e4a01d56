"""Server-side check of the amount typed on a pay link."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smart_collection.services.amounts import AmountError, check_pay_amount


def _code(requested, residual, decimals=2):
    with pytest.raises(AmountError) as info:
        check_pay_amount(requested, residual, decimals)
    assert str(info.value)
    return info.value.code


@pytest.mark.parametrize("requested", [None, "", "   "])
def test_nothing_typed_means_the_residual(requested):
    result = check_pay_amount(requested, Decimal("120.5"))
    assert result == Decimal("120.50")
    assert isinstance(result, Decimal)
    assert str(result) == "120.50"


@pytest.mark.parametrize(
    "requested, expected",
    [
        ("12,50", "12.50"),
        ("12.5", "12.50"),
        (" 12.5 ", "12.50"),
        (12.5, "12.50"),
        (Decimal("12.5"), "12.50"),
        (12, "12.00"),
        ("12.345", "12.35"),  # half up
        ("12.344", "12.34"),
        ("0.005", "0.01"),
        ("100.004", "100.00"),  # rounds down to exactly the residual
        ("100", "100.00"),
    ],
)
def test_partial_amounts(requested, expected):
    result = check_pay_amount(requested, 100)
    assert str(result) == expected
    assert result == Decimal(expected)


@pytest.mark.parametrize("requested", ["1 000,00", "1\u00a0000,00", " 1 000.00 "])
def test_space_thousand_separators(requested):
    assert str(check_pay_amount(requested, 5000)) == "1000.00"


def test_residual_is_rounded_too():
    assert str(check_pay_amount(None, "100.005")) == "100.01"
    assert str(check_pay_amount("100.01", "100.005")) == "100.01"


def test_currency_without_decimals():
    assert str(check_pay_amount(None, 1500, decimals=0)) == "1500"
    assert str(check_pay_amount("12.5", 1500, decimals=0)) == "13"
    assert str(check_pay_amount("12,4", 1500, decimals=0)) == "12"
    assert _code("0.4", 1500, decimals=0) == "not_positive"
    assert _code("1500.5", 1500, decimals=0) == "above_residual"


def test_currency_with_three_decimals():
    assert str(check_pay_amount("1,2345", 10, decimals=3)) == "1.235"


@pytest.mark.parametrize("requested", ["0", "0,00", "-1", "-0.01", "0.004", "-0", 0])
def test_not_positive(requested):
    assert _code(requested, 100) == "not_positive"


@pytest.mark.parametrize("requested", ["100.01", "100,005", "1000", "1E+3"])
def test_above_residual(requested):
    assert _code(requested, 100) == "above_residual"


@pytest.mark.parametrize(
    "requested",
    ["abc", "nan", "NaN", "inf", "-inf", "Infinity", "sNaN", "12.3.4", "1,234.56", "12€", "1e30"],
)
def test_invalid(requested):
    assert _code(requested, 100) == "invalid"


@pytest.mark.parametrize("residual", [0, "0", "0.004", -10])
def test_nothing_due(residual):
    assert _code(None, residual) == "nothing_due"
    assert _code("1", residual) == "nothing_due"


def test_amount_error_is_a_value_error():
    assert issubclass(AmountError, ValueError)


@settings(max_examples=100, deadline=None)
@given(
    residual=st.integers(1, 10**9).map(lambda cents: Decimal(cents).scaleb(-2)),
    data=st.data(),
)
def test_any_amount_between_a_cent_and_the_residual_is_accepted(residual, data):
    cents = data.draw(st.integers(1, int(residual * 100)))
    requested = Decimal(cents).scaleb(-2)
    assert check_pay_amount(str(requested).replace(".", ","), residual) == requested
    assert check_pay_amount(str(requested), residual) == requested
    with pytest.raises(AmountError):
        check_pay_amount(str(residual + Decimal("0.01")), residual)
