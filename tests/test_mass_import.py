"""Spreadsheets of amounts due: readers, column mapping, row validation."""

import codecs
import io
import tracemalloc
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from smart_collection.services import mass_import as mi
from smart_collection.services.mass_import import ImportFileError, RowValidator, Rules

HEADER = ["Customer ID", "Name", "Email", "Mobile", "Country", "Invoice Number",
          "Invoice Date", "Due Date", "Amount", "Currency"]
RULES = Rules(
    today=date(2026, 1, 15),
    currencies={"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3},
    default_currency="EUR",
    countries={"fr": "FR", "france": "FR", "es": "ES", "spain": "ES", "espana": "ES"},
    default_country="FR",
    scenarios=frozenset({"standard", "gentle"}),
)


def rows_of(data, filename="x.csv"):
    return list(mi.iter_rows(data, filename))


def csv_bytes(rows, delimiter=",", encoding="utf-8"):
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    return text.encode(encoding)


# ----------------------------------------------------------------------------- CSV reader

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters(delimiter):
    data = csv_bytes([["Name", "Amount"], ["Martin", "12.50"], ["Dubois", "3"]], delimiter)
    assert rows_of(data) == [(1, ["Name", "Amount"]), (2, ["Martin", "12.50"]),
                             (3, ["Dubois", "3"])]


def test_csv_delimiter_ignores_quoted_text():
    data = b'"Name, full";Amount\r\n"Martin, SARL";"1 234,56"\r\n'
    assert rows_of(data)[1] == (2, ["Martin, SARL", "1 234,56"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_csv_encodings(encoding):
    data = csv_bytes([["Nom", "Montant"], ["Société Générale Crème", "12,50 €"]], ";", encoding)
    assert rows_of(data)[1][1] == ["Société Générale Crème", "12,50 €"]


def test_utf8_bom_is_not_part_of_the_first_header():
    data = codecs.BOM_UTF8 + b"Name,Amount\nA,1\n"
    headers, _rows = mi.read_table(data, "x.csv")
    assert headers == ["Name", "Amount"]


def test_blank_lines_and_trailing_empty_cells_are_skipped():
    data = b"\r\n\r\nName,Amount,,\r\n\r\nA,1,,\r\n,,,\r\n"
    assert rows_of(data) == [(3, ["Name", "Amount"]), (5, ["A", "1"])]


def test_multiline_cell_keeps_the_row_number_of_its_end():
    data = b'Name,Label\r\nA,"two\nlines"\r\nB,x\r\n'
    rows = rows_of(data)
    assert rows[1][1] == ["A", "two\nlines"]
    assert rows[2][1] == ["B", "x"]


@pytest.mark.parametrize(
    "data, filename, code",
    [
        (b"", "x.csv", "empty"),
        (b"  \r\n\r\n", "x.csv", "empty"),
        (codecs.BOM_UTF8, "x.csv", "empty"),
        (b"\x00\x01\x02binary\x00", "x.csv", "not_tabular"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "x.xls", "old_spreadsheet"),
        (b"Name,Amount\n", "x.ods", "old_spreadsheet"),
        (b"not a zip", "x.xlsx", "bad_xlsx"),
        (b"PK\x03\x04garbage", "x.xlsx", "bad_xlsx"),
        (b"Name,Amount\n\x81\x8d\x8f\x90\x9d,1\n", "x.csv", "undecodable"),
    ],
)
def test_file_errors(data, filename, code):
    with pytest.raises(ImportFileError) as info:
        mi.read_table(data, filename)
    assert info.value.code == code


def test_no_header():
    with pytest.raises(ImportFileError) as info:
        mi.read_table(b"12.50,2026-01-01\n13,2026-01-02\n", "x.csv")
    assert info.value.code == "no_header"


def test_too_many_columns():
    data = (",".join(f"c{i}" for i in range(mi.MAX_COLUMNS + 1)) + "\n").encode()
    with pytest.raises(ImportFileError) as info:
        rows_of(data)
    assert info.value.code == "too_many_columns"
    assert info.value.params["row"] == 1


def test_cell_too_long():
    data = b"Name\n" + b"x" * (mi.MAX_CELL + 1) + b"\n"
    with pytest.raises(ImportFileError) as info:
        rows_of(data)
    assert info.value.code in ("cell_too_long", "bad_csv")


def test_utf16_bom_with_bad_bytes_is_undecodable():
    with pytest.raises(ImportFileError) as info:
        rows_of(codecs.BOM_UTF16_LE + b"N\x00a\x00\x00\xd8")
    assert info.value.code == "undecodable"


# ----------------------------------------------------------------------------- XLSX reader

def xlsx_bytes(rows, extra=None):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if extra:
        extra(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_values_dates_numbers_formulas_and_merged_cells():
    def merge(sheet):
        sheet.merge_cells("A3:A4")

    data = xlsx_bytes(
        [
            ["Name", "Amount", "Invoice Date", "Mobile", "Label"],
            ["Martin", 1234.56, datetime(2026, 1, 31), 612345678, "Rent"],
            ["Dubois", "=B2*2", datetime(2026, 2, 1, 10, 30), None, 0.1 + 0.2],
            [None, 7, None, None, True],
        ],
        merge,
    )
    rows = rows_of(data, "amounts.xlsx")
    assert rows[0] == (1, ["Name", "Amount", "Invoice Date", "Mobile", "Label"])
    assert rows[1] == (2, ["Martin", "1234.56", "2026-01-31", "612345678", "Rent"])
    assert rows[2] == (3, ["Dubois", "=B2*2", "2026-02-01 10:30:00", "", "0.3"])
    # merged cells come out empty (read-only mode keeps only the top-left value)
    assert rows[3] == (4, ["", "7", "", "", "TRUE"])


def test_xlsx_detected_by_content_whatever_the_name():
    data = xlsx_bytes([["Name", "Amount"], ["A", 1]])
    assert rows_of(data, "export.csv")[1] == (2, ["A", "1"])


def test_xlsx_formula_row_is_refused_others_kept():
    data = xlsx_bytes([HEADER, ["C1", "Martin", "", "", "", "F1", "", "", 10, "EUR"],
                       ["C2", "Dubois", "", "", "", "F2", "", "", "=SUM(I2:I2)", "EUR"]])
    headers, _rows = mi.read_table(data, "x.xlsx")
    mapping = mi.guess_mapping(headers)
    results = list(mi.read_and_validate(data, "x.xlsx", mapping, RULES))
    assert results[0][2] is not None
    assert results[1][2] is None
    assert [e.code for e in results[1][3]] == ["formula"]


def test_xlsx_empty_workbook():
    with pytest.raises(ImportFileError) as info:
        mi.read_table(xlsx_bytes([]), "x.xlsx")
    assert info.value.code == "empty"


def test_xlsx_cells_text():
    assert mi.xlsx_cell_text(None) == ""
    assert mi.xlsx_cell_text(12.0) == "12"
    assert mi.xlsx_cell_text(1e-7) == "0.0000001"
    assert mi.xlsx_cell_text(1e20) == "100000000000000000000"
    assert mi.xlsx_cell_text(float("nan")) == ""
    assert mi.xlsx_cell_text(date(2026, 1, 2)) == "2026-01-02"
    assert mi.xlsx_cell_text(Decimal("1.50")) == "1.50"


# ----------------------------------------------------------------------------- mapping

def test_guess_mapping_in_three_languages():
    en = mi.guess_mapping(HEADER + ["Label", "VAT", "Street", "Zip", "City", "Scenario"])
    assert set(en) == set(mi.FIELDS)
    fr = mi.guess_mapping(["Réf. client", "Raison sociale", "Courriel", "Portable", "N° TVA",
                           "Adresse", "Code postal", "Ville", "Pays", "N° facture",
                           "Date facture", "Échéance", "Montant TTC", "Devise", "Libellé",
                           "Scénario de relance"])
    assert fr == {target: i for i, target in enumerate(mi.FIELDS)}
    es = mi.guess_mapping(["Código cliente", "Razón social", "Correo electrónico", "Móvil",
                           "NIF", "Dirección", "Código postal", "Ciudad", "País", "Nº factura",
                           "Fecha factura", "Fecha de vencimiento", "Importe", "Moneda",
                           "Concepto", "Escenario"])
    assert es == {target: i for i, target in enumerate(mi.FIELDS)}


def test_guess_mapping_partial_headers_and_one_column_per_field():
    mapping = mi.guess_mapping(["Montant TTC (EUR)", "Nom", "Foo", "Nom"])
    assert mapping == {"amount": 0, "name": 1}
    assert mi.missing_required(mapping) == ["invoice_number"]


def test_mapping_from_template_names():
    mapping, missing = mi.mapping_from_names(
        ["Client", "Montant", "Facture"],
        {"name": "client", "amount": "MONTANT", "invoice_number": "Facture", "email": "Mail"},
    )
    assert mapping == {"name": 0, "amount": 1, "invoice_number": 2}
    assert missing == ["email"]


# ----------------------------------------------------------------------------- validation

def good(**values):
    row = {"name": "Martin SARL", "invoice_number": "F-1", "amount": "100"}
    row.update(values)
    return row


def codes(values, rules=RULES):
    row, errors = mi.validate_row(values, rules, 2)
    assert (row is None) == bool(errors)
    return [error.code for error in errors]


def test_good_row_is_normalised():
    row, errors = mi.validate_row(
        good(customer_ref=" C1 ", email="Compta@Martin.EXAMPLE", mobile="06 12 34 56 78",
             vat="fr 12 345.678-901", country="France", invoice_date="31/12/2025",
             due_date="31.01.2026", amount="1 234,56 €", currency="eur", label="Rent",
             scenario="Gentle"),
        RULES, 7,
    )
    assert errors == []
    assert row.row_number == 7
    assert row.customer_ref == "C1"
    assert row.email == "Compta@martin.example"
    assert row.mobile == "+33612345678"
    assert row.vat == "FR12345678901"
    assert row.country == "FR"
    assert row.invoice_date == date(2025, 12, 31)
    assert row.due_date == date(2026, 1, 31)
    assert row.amount == Decimal("1234.56")
    assert row.currency == "EUR"
    assert row.as_dict()["amount"] == "1234.56"


def test_defaults_today_currency_country():
    row, _errors = mi.validate_row(good(mobile="612345678"), RULES)
    assert (row.invoice_date, row.due_date, row.currency, row.country) == (
        RULES.today, RULES.today, "EUR", "FR")
    assert row.mobile == "+33612345678"


@pytest.mark.parametrize("text, expected", [
    ("1 234,56", "1234.56"), ("1,234.56", "1234.56"), ("€ 12", "12"), ("12 €", "12"),
    ("1.234,56", "1234.56"), ("1\u202f234,5", "1234.5"), ("1'234.50", "1234.50"),
    ("EUR 12,50", "12.50"), ("12.50 EUR", "12.50"), ("1,234,567", "1234567"), ("0,125", None),
])
def test_amounts(text, expected):
    if expected is None:
        assert codes(good(amount=text)) == ["amount_precision"]
    else:
        row, errors = mi.validate_row(good(amount=text), RULES)
        assert errors == [] and row.amount == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "12..5", "1,234", "1.234", "1,23,4", "1e5", "--3",
                                  "١٢", "12 34"])
def test_unreadable_amounts(text):
    assert codes(good(amount=text)) == ["bad_amount"]


@pytest.mark.parametrize("text", ["-12", "0", "0,00", "(12.00)", "12-"])
def test_negative_or_zero_amounts(text):
    assert codes(good(amount=text)) == ["amount_not_positive"]


def test_three_decimal_currency_reads_one_separator_as_decimal():
    row, _errors = mi.validate_row(good(amount="1,234", currency="KWD"), RULES)
    assert row.amount == Decimal("1.234")
    assert codes(good(amount="12.5", currency="JPY")) == ["amount_precision"]


@pytest.mark.parametrize("text, expected", [
    ("2026-01-31", date(2026, 1, 31)), ("31/01/2026", date(2026, 1, 31)),
    ("31.01.2026", date(2026, 1, 31)), ("31-01-2026", date(2026, 1, 31)),
    ("2026-01-31 00:00:00", date(2026, 1, 31)), ("1/2/2026", date(2026, 2, 1)),
    ("31/01/26", date(2026, 1, 31)), ("2026/01/31", date(2026, 1, 31)),
])
def test_dates(text, expected):
    row, errors = mi.validate_row(good(invoice_date=text, due_date=text), RULES)
    assert errors == [] and row.invoice_date == expected


@pytest.mark.parametrize("text", ["2026-02-30", "31/13/2026", "tomorrow", "01/31/2026",
                                  "2026-1-1x", "45322"])
def test_bad_dates(text):
    assert codes(good(due_date=text)) == ["bad_date"]


def test_due_before_invoice_date():
    assert codes(good(invoice_date="2026-01-10", due_date="09/01/2026")) == [
        "due_before_invoice"]


@pytest.mark.parametrize("email", ["no-at.example", "a@b", "a b@c.example", "a@@c.example",
                                   "a@c..example", "a@c.example; b@d.example"])
def test_bad_email(email):
    assert codes(good(email=email)) == ["bad_email"]


@pytest.mark.parametrize("mobile, country, reason", [
    ("01 23 45 67 89", "FR", "not_mobile"), ("12", "FR", "invalid"),
    ("912 34 56 78", "Spain", "not_mobile"), ("hello", "ES", "unparsable"),
])
def test_bad_mobile_for_its_country(mobile, country, reason):
    row, errors = mi.validate_row(good(mobile=mobile, country=country), RULES)
    assert [e.code for e in errors] == ["bad_mobile"]
    assert errors[0].params["reason"] in (reason, "invalid", "unparsable")


def test_mobile_read_in_the_rows_country():
    row, _errors = mi.validate_row(good(mobile="612 34 56 78", country="ES"), RULES)
    assert row.mobile == "+34612345678"


def test_unknown_currency_and_country_and_scenario():
    assert codes(good(currency="XYZ")) == ["unknown_currency"]
    assert codes(good(country="Atlantis")) == ["unknown_country"]
    assert codes(good(scenario="Brutal")) == ["unknown_scenario"]
    assert codes(good(currency="$")) == []


def test_missing_required_values():
    assert sorted(codes({"name": " ", "invoice_number": "", "amount": ""})) == [
        "missing", "missing", "missing"]
    no_default = Rules(today=RULES.today, currencies={"EUR": 2})
    assert codes(good(), no_default) == ["missing"]


def test_formula_text_is_refused():
    row, errors = mi.validate_row(good(amount="=1+1", label="=HYPERLINK(\"x\")"), RULES)
    assert row is None
    assert [(e.code, e.field) for e in errors] == [("formula", "amount"), ("formula", "label")]


def test_several_errors_reported_together():
    assert sorted(codes(good(email="x", amount="-1", currency="ZZZ"))) == [
        "amount_not_positive", "bad_email", "unknown_currency"]


def test_duplicate_invoice_number_within_the_file():
    validator = RowValidator(RULES)
    assert validator.validate(2, good(invoice_number="F-1"))[1] == []
    assert validator.validate(3, good(invoice_number="F-2"))[1] == []
    row, errors = validator.validate(4, good(invoice_number=" f-1 "))
    assert row is None
    assert errors[0].code == "duplicate_in_file" and errors[0].params["row"] == 2


# ----------------------------------------------------------------------------- streaming

def _big_csv(rows):
    lines = [",".join(HEADER)]
    lines += [f"C{i},Customer {i},c{i}@example.com,+33612345678,FR,INV-{i},2026-01-01,"
              f"2026-02-01,{i % 900 + 1}.50,EUR" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _peak(data):
    headers, _rows = mi.read_table(data, "x.csv")
    mapping = mi.guess_mapping(headers)
    tracemalloc.start()
    count = sum(1 for _ in mi.read_and_validate(data, "x.csv", mapping, RULES))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_memory_stays_flat_with_the_number_of_rows():
    small, big = _big_csv(1_000), _big_csv(10_000)
    count_small, peak_small = _peak(small)
    count_big, peak_big = _peak(big)
    assert (count_small, count_big) == (1_000, 10_000)
    # The duplicate-number set grows a little; ten times the rows is far from ten times memory.
    assert peak_big < peak_small * 3 + 2_000_000
