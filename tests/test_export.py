"""Exports cannot carry spreadsheet formulas."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smart_collection.services import export

DANGEROUS = tuple(export.DANGEROUS_PREFIXES)

cells = st.one_of(
    st.text(),
    st.sampled_from(DANGEROUS).flatmap(lambda p: st.text().map(lambda t: p + t)),
    st.integers(),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.none(),
)


@given(st.lists(cells, max_size=12))
def test_neutralised_rows_are_safe(row):
    out = export.neutralise_row(row)
    for before, after in zip(row, out, strict=True):
        if isinstance(before, str):
            assert not after.startswith(DANGEROUS)
            if before.startswith(DANGEROUS):
                assert after == "'" + before
            else:
                assert after == before  # safe text unchanged
        else:
            assert after is before  # numbers, dates, empty cells untouched


@given(st.lists(st.lists(cells, min_size=1, max_size=5), max_size=5))
def test_csv_cells_never_start_with_a_formula(rows):
    text = export.csv_bytes(["a", "b"], rows).decode("utf-8").lstrip("\ufeff")
    for parsed, row in zip(list(csv.reader(io.StringIO(text, newline="")))[1:], rows,
                           strict=True):
        for cell, value in zip(parsed, row, strict=True):
            if isinstance(value, str):
                assert not cell.startswith(DANGEROUS)


def test_examples():
    assert export.neutralise('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert export.neutralise("-5") == "'-5"
    assert export.neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert export.neutralise("\tx") == "'\tx"
    assert export.neutralise("ACME SA") == "ACME SA"
    assert export.neutralise(-5) == -5
    assert export.neutralise(Decimal("-5.10")) == Decimal("-5.10")


def test_csv_formats_dates_and_amounts():
    data = export.csv_bytes(
        ["Invoice", "Date", "Amount", "Customer"],
        [["INV/1", date(2026, 3, 1), Decimal("-12.50"), "=1+1"]],
    )
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8").lstrip("\ufeff").splitlines()
    assert lines[1] == "INV/1,2026-03-01,-12.50,'=1+1"


def test_xlsx_cells_are_text_not_formulas():
    pytest.importorskip("xlsxwriter")
    openpyxl = pytest.importorskip("openpyxl")
    data = export.xlsx_bytes(
        [("Open items", ["Customer", "Amount", "Due"],
          [["=HYPERLINK(\"http://evil\",\"x\")", Decimal("10.5"), date(2026, 3, 1)]])]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 10.5
    assert sheet["C2"].value.date() == date(2026, 3, 1)
