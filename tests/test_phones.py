"""Mobile numbers normalised to E.164."""

import pytest

from smart_collection.services.phones import InvalidPhone, first_mobile, normalize_mobile


@pytest.mark.parametrize(
    "number, country, expected",
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0612345678", "fr", "+33612345678"),
        ("07 51 23 45 67", "FR", "+33751234567"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("+34 612 34 56 78", "", "+34612345678"),
        ("+34 612 34 56 78", "FR", "+34612345678"),  # international wins over country
        ("0033 6 12 34 56 78", "FR", "+33612345678"),
        ("  +44 7400 123456 ", None, "+447400123456"),
    ],
)
def test_normalises_mobiles_to_e164(number, country, expected):
    assert normalize_mobile(number, country) == expected


def _code(number, country=None):
    with pytest.raises(InvalidPhone) as info:
        normalize_mobile(number, country)
    assert str(info.value)  # a message for people
    return info.value.code


@pytest.mark.parametrize(
    "number, country", [("01 23 45 67 89", "FR"), ("+33 1 23 45 67 89", None)]
)
def test_fixed_line_is_not_mobile(number, country):
    assert _code(number, country) == "not_mobile"


@pytest.mark.parametrize("number", ["", "   ", None])
def test_missing(number):
    assert _code(number, "FR") == "missing"


@pytest.mark.parametrize(
    "number, country",
    [("abc", "FR"), ("hello world", None), ("12", "FR"), ("+33 6 12", None), ("+999 123", None)],
)
def test_garbage(number, country):
    assert _code(number, country) in {"unparsable", "invalid"}


def test_national_number_without_country_is_unparsable():
    assert _code("06 12 34 56 78") == "unparsable"


def test_invalid_phone_is_a_value_error():
    assert issubclass(InvalidPhone, ValueError)


def test_first_mobile_skips_fixed_lines_and_blanks():
    numbers = (None, "01 23 45 67 89", "06 12 34 56 78")
    assert first_mobile(numbers, "FR") == "+33612345678"
    assert first_mobile(("01 23 45 67 89", ""), "FR") is None
    assert first_mobile((), "FR") is None
