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


# ------------------------------------------------------------------ overlapping ranges


def test_nested_prefixes_of_the_same_bank_overlap():
    inside = vi.AccountRange("FR", "30004", branch_code="00001", prefix="000091", width=5)
    beside = vi.AccountRange("FR", "30004", branch_code="00001", prefix="00008", width=6)
    other_bank = vi.AccountRange("FR", "30066", branch_code="00001", prefix="00009", width=6)
    shorter = vi.AccountRange("FR", "30004", branch_code="00001", prefix="0009", width=6)
    assert vi.ranges_overlap(FR, FR)
    assert vi.ranges_overlap(FR, inside) and vi.ranges_overlap(inside, FR)
    assert not vi.ranges_overlap(FR, beside)
    assert not vi.ranges_overlap(FR, other_bank)
    assert not vi.ranges_overlap(FR, shorter)  # other account-code length: never the same IBAN


# ---------------------------------------------------------------- who an IBAN is for


def test_holder_scope():
    assert vi.Holder(7).scope == "customer"
    assert vi.Holder(7, invoice_id=3).scope == "invoice"
    assert vi.Holder(7, point_of_sale_id=9).scope == "point_of_sale"


def test_point_of_sale_is_a_child_of_the_customer():
    customer = 1
    shop = vi.Contact(10, customer)
    buyer = vi.Contact(11, customer)
    itself = vi.Contact(customer, customer)
    stranger = vi.Contact(20, 2)
    assert vi.point_of_sale(customer, shop, itself) == 10
    assert vi.point_of_sale(customer, shop, buyer) == 10  # the delivery address first
    assert vi.point_of_sale(customer, itself, buyer) == 11
    assert vi.point_of_sale(customer, None, buyer) == 11
    assert vi.point_of_sale(customer, itself, itself) is None
    assert vi.point_of_sale(customer, stranger, itself) is None


def test_stripe_customer_key_changes_with_each_reassignment():
    holder = vi.Holder(7, invoice_id=3)
    first = vi.stripe_customer_key("db-uuid", 5, holder, 0)
    assert first == "db-uuid-vib5-p7-i3-s0-g0"
    assert vi.stripe_customer_key("db-uuid", 5, holder, 1) != first
    assert vi.stripe_customer_key("db-uuid", 5, vi.Holder(7), 0) != first


# ------------------------------------------------------------------ Stripe's answer

STRIPE_IBAN = str(IBAN.generate("FR", bank_code="20041", branch_code="01005",
                                account_code="00000007001").compact)


def _instructions(*addresses):
    return {"object": "funding_instructions",
            "bank_transfer": {"type": "eu_bank_transfer", "financial_addresses": list(addresses)}}


def test_funding_iban_reads_the_iban_address():
    sort_code = {"type": "sort_code", "sort_code": {"account_number": "1", "sort_code": "2"}}
    iban = {"type": "iban", "iban": {"iban": STRIPE_IBAN, "bic": "SXPYFRP1XXX",
                                     "account_holder_name": "Test SAS", "country": "FR"}}
    funded = vi.funding_iban(_instructions(sort_code, iban))
    assert funded == vi.FundedIban(STRIPE_IBAN, "SXPYFRP1XXX", "Test SAS")


def test_funding_iban_refuses_missing_or_invalid_ibans():
    with pytest.raises(vi.VirtualIbanError, match="no IBAN"):
        vi.funding_iban(_instructions())
    with pytest.raises(vi.VirtualIbanError, match="no IBAN"):
        vi.funding_iban({})
    broken = STRIPE_IBAN[:-1] + str((int(STRIPE_IBAN[-1]) + 1) % 10)
    with pytest.raises(vi.VirtualIbanError, match="invalid IBAN"):
        vi.funding_iban(_instructions({"type": "iban", "iban": {"iban": broken}}))


# ------------------------------------------------------------- list sent by the bank

LISTED = [vi.generate(FR, n) for n in range(3)]


def _pretty(value):
    return IBAN(value).formatted


def test_list_with_header_bic_and_spaces():
    text = "IBAN;BIC\n" + "\n".join(f"{_pretty(v)};BNPAFRPPXXX" for v in LISTED) + "\n"
    listed = vi.parse_iban_list(text.encode("utf-8-sig"))
    assert [item.iban for item in listed] == LISTED
    assert [item.row for item in listed] == [2, 3, 4]
    assert {item.bic for item in listed} == {"BNPAFRPPXXX"}


def test_list_without_header_any_delimiter_and_blank_lines():
    assert [i.iban for i in vi.parse_iban_list("\n".join(LISTED))] == LISTED
    tabbed = "\n\n".join(f"{v}\tBNPAFRPP" for v in LISTED)
    listed = vi.parse_iban_list(tabbed)
    assert [i.row for i in listed] == [1, 3, 5]
    assert listed[0].bic == "BNPAFRPP"
    columns = "Account holder,Virtual IBAN\nShop 1," + LISTED[0]
    assert vi.parse_iban_list(columns)[0].iban == LISTED[0]


def test_every_bad_row_is_reported_and_nothing_returned():
    wrong_check = LISTED[1][:2] + "00" + LISTED[1][4:]
    text = "\n".join(["IBAN,BIC", LISTED[0], wrong_check, LISTED[2] + "1", ",BNPAFRPP",
                      LISTED[0], f"{LISTED[1]},NOTABIC!", "FR12"])
    with pytest.raises(vi.IbanListError) as caught:
        vi.parse_iban_list(text)
    codes = [(e.row, e.code) for e in caught.value.errors]
    assert codes == [(3, "checksum"), (4, "length"), (5, "missing"), (6, "duplicate"),
                     (7, "bic"), (8, "structure")]
    assert caught.value.errors[3].detail == "row 2"
    assert "row 3" in str(caught.value) and wrong_check in str(caught.value)


def _with_iso_check_digits(country, bban):
    """An IBAN whose ISO 7064 check digits are right, whatever the BBAN holds."""
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


def test_national_check_digits_are_checked():
    bban = LISTED[0][4:]
    assert _with_iso_check_digits("FR", bban) == LISTED[0]
    wrong_key = bban[:-2] + ("00" if bban[-2:] != "00" else "01")  # French RIB key
    with pytest.raises(vi.IbanListError) as caught:
        vi.parse_iban_list(_with_iso_check_digits("FR", wrong_key))
    assert caught.value.errors[0].code == "bban_checksum"


def test_file_level_errors():
    for data, code in ((b"\xff\xfe\x00bad", "encoding"), (b"", "empty"), (b"\n \n", "empty"),
                       (b"name;bank\nx;y", "no_iban_column"), (b"IBAN\n", "empty")):
        with pytest.raises(vi.IbanListError) as caught:
            vi.parse_iban_list(data)
        assert caught.value.errors[0].code == code, data
    assert all(code in vi.ROW_ERRORS for code in
               ("encoding", "empty", "no_iban_column", "missing", "checksum", "bban_checksum",
                "length", "country", "structure", "invalid", "bic", "duplicate", "known"))
