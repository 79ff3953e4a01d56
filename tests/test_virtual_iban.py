import pytest
from schwifty import IBAN

from smart_collection.services import virtual_iban as vi

FR = vi.AccountRange("FR", "30004", branch_code="00001", prefix="00009", width=6)


def test_french_range_gives_valid_ibans_with_rib_key():
    first, second = vi.generate(FR, 0), vi.generate(FR, 1)
    assert first != second
    for value in (first, second):
        iban = IBAN(value)
        assert iban.country_code == "FR"
        assert iban.bank_code == "30004"
        assert iban.branch_code == "00001"
    assert IBAN(first).account_code.startswith("00009000000")


def test_spanish_and_german_ranges():
    es = vi.AccountRange("ES", "2100", branch_code="0418", prefix="45", width=8)
    de = vi.AccountRange("DE", "37040044", prefix="9", width=6)
    assert IBAN(vi.generate(es, 42)).country_code == "ES"
    assert IBAN(vi.generate(de, 42)).bank_code == "37040044"


def test_numbers_outside_the_range_are_refused():
    with pytest.raises(vi.VirtualIbanError, match="outside the range"):
        vi.generate(FR, FR.capacity)
    with pytest.raises(vi.VirtualIbanError, match="outside the range"):
        vi.generate(FR, -1)


def test_a_range_that_cannot_give_an_iban_says_why():
    too_long = vi.AccountRange("FR", "30004", branch_code="00001", prefix="000090000", width=6)
    with pytest.raises(vi.VirtualIbanError, match="30004"):
        vi.generate(too_long, 1)
    with pytest.raises(vi.VirtualIbanError):
        vi.generate(vi.AccountRange("XX", "1"), 1)


def test_every_number_gives_a_distinct_valid_iban():
    small = vi.AccountRange("FR", "30004", branch_code="00001", prefix="000090000", width=2)
    ibans = {vi.generate(small, n) for n in range(small.capacity)}
    assert len(ibans) == 100
    assert all(IBAN(value).is_valid for value in ibans)
