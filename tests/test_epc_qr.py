"""EPC069-12 SEPA credit transfer QR payloads and PNG rendering."""

import base64
import io
from decimal import Decimal

import pytest
from PIL import Image

from smart_collection.services import epc_qr
from smart_collection.services.epc_qr import EpcError, epc_payload

NAME = "Max Mustermann"
IBAN = "DE89370400440532013000"
BIC = "COBADEFFXXX"


def _lines(payload):
    return payload.split("\n")


def test_known_example_exact_lines():
    payload = epc_payload(NAME, IBAN, BIC, "12.30", "EUR", "RF18539007547034")
    assert _lines(payload) == [
        "BCD",
        "002",
        "1",
        "SCT",
        "COBADEFFXXX",
        "Max Mustermann",
        "DE89370400440532013000",
        "EUR12.30",
        "",
        "RF18539007547034",
    ]
    assert not payload.endswith("\n")


def test_inputs_are_normalised():
    payload = epc_payload(
        "  Max \t Mustermann ", "de89 3704 0044 0532 0130 00", "cobadeffxxx", 12.3, "eur",
        "rf18 5390 0754 7034",
    )
    assert payload == epc_payload(NAME, IBAN, BIC, "12.30", "EUR", "RF18539007547034")


def test_bic_is_optional_in_version_002():
    lines = _lines(epc_payload(NAME, IBAN, None, 5, "EUR"))
    assert lines[4] == ""
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[5:8] == [NAME, IBAN, "EUR5.00"]
    assert lines[8:] == []  # trailing empty elements are left out


def test_rf_reference_goes_to_the_structured_line_and_text_is_dropped():
    lines = _lines(epc_payload(NAME, IBAN, BIC, 1, "EUR", "RF18539007547034", "thanks"))
    assert lines[9] == "RF18539007547034"
    assert len(lines) == 10  # no unstructured remittance next to a structured one


@pytest.mark.parametrize(
    "reference, text, expected",
    [
        ("INV/2024/0001", None, "INV/2024/0001"),
        ("INV/2024/0001", "thank  you", "INV/2024/0001 thank you"),
        (None, "Invoice 12", "Invoice 12"),
        ("RF19539007547034", None, "RF19539007547034"),  # bad check digits: not structured
    ],
)
def test_other_references_go_to_the_unstructured_line(reference, text, expected):
    lines = _lines(epc_payload(NAME, IBAN, BIC, 1, "EUR", reference, text))
    assert len(lines) == 11
    assert lines[9] == ""
    assert lines[10] == expected


def test_unstructured_line_is_cut_at_140_characters():
    lines = _lines(epc_payload(NAME, IBAN, BIC, 1, "EUR", "X" * 200))
    assert lines[10] == "X" * 140


def test_name_is_cut_at_70_characters():
    lines = _lines(epc_payload("N" * 100, IBAN, BIC, 1, "EUR"))
    assert lines[5] == "N" * 70


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("12.3", "EUR12.30"),
        (12.3, "EUR12.30"),
        (Decimal("12.345"), "EUR12.35"),
        ("0.005", "EUR0.01"),
        (7, "EUR7.00"),
        ("0.01", "EUR0.01"),
        ("999999999.99", "EUR999999999.99"),
    ],
)
def test_amount_is_rounded_to_cents(amount, expected):
    assert _lines(epc_payload(NAME, IBAN, BIC, amount, "EUR"))[7] == expected


@pytest.mark.parametrize("currency", ["CHF", "USD", "", None])
def test_refuses_other_currencies(currency):
    with pytest.raises(EpcError, match="EUR"):
        epc_payload(NAME, IBAN, BIC, 1, currency)


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013001", "DE8937040044053201300", "XX00", "", None]
)
def test_refuses_bad_iban(iban):
    with pytest.raises(EpcError, match="IBAN"):
        epc_payload(NAME, iban, BIC, 1, "EUR")


@pytest.mark.parametrize(
    "amount", [0, "0", "0.004", -5, "1000000000", "999999999.995", "abc", "", "inf", "nan", None]
)
def test_refuses_amounts_out_of_range_or_not_numbers(amount):
    with pytest.raises(EpcError, match="amount"):
        epc_payload(NAME, IBAN, BIC, amount, "EUR")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_refuses_empty_name(name):
    with pytest.raises(EpcError, match="name"):
        epc_payload(name, IBAN, BIC, 1, "EUR")


@pytest.mark.parametrize("bic", ["INVALID", "COBADEF", "XXXXXX12", "COBADEFFXXXX"])
def test_refuses_bad_bic(bic):
    with pytest.raises(EpcError, match="BIC"):
        epc_payload(NAME, IBAN, bic, 1, "EUR")


def test_refuses_payload_over_331_bytes():
    with pytest.raises(EpcError, match="331"):
        epc_payload("€" * 70, IBAN, BIC, 1, "EUR", "€" * 140)


def test_epc_error_is_a_value_error():
    assert issubclass(EpcError, ValueError)


def test_qr_png_returns_png_bytes():
    payload = epc_payload(NAME, IBAN, BIC, "12.30", "EUR", "RF18539007547034")
    png = epc_qr.qr_png(payload)
    assert isinstance(png, bytes)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width == image.height
    assert image.width % 6 == 0  # box_size 6


def test_qr_png_box_size_scales_the_image():
    small = Image.open(io.BytesIO(epc_qr.qr_png("hello", box_size=2, border=0)))
    big = Image.open(io.BytesIO(epc_qr.qr_png("hello", box_size=4, border=0)))
    assert big.width == 2 * small.width


def test_qr_data_uri():
    uri = epc_qr.qr_data_uri("hello")
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    png = base64.b64decode(uri[len(prefix):], validate=True)
    assert png.startswith(b"\x89PNG")
    assert png == epc_qr.qr_png("hello", box_size=4)
