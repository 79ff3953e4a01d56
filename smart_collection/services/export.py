"""Spreadsheet exports that cannot run formulas: injection neutralisation, CSV and XLSX rows.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can be
read as a formula by a spreadsheet (CSV injection: ``=HYPERLINK(...)``, ``=cmd|...``).
As OWASP recommends, such a cell is prefixed with a single quote, which makes it plain text.
Numbers, dates and empty cells are written as they are, so accounting can still add them up.
"""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The cell value safe for a spreadsheet: dangerous text gets a leading ``'``.

    Non-text values (numbers, dates, None, booleans) are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def neutralise_row(row):
    return [neutralise(value) for value in row]


def _csv_cell(value):
    if value is None or value is False:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def csv_bytes(header, rows, delimiter=","):
    """UTF-8 CSV (with BOM, so spreadsheets detect the encoding): dates ISO, amounts with '.'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(neutralise_row(header))
    for row in rows:
        writer.writerow([_csv_cell(value) for value in neutralise_row(row)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx_rows(worksheet, header, rows, date_format=None, header_format=None):
    """Write a header and rows on an ``xlsxwriter`` worksheet, each cell by its type.

    Text always goes through ``write_string`` (``write`` would turn ``=...`` into a formula),
    numbers through ``write_number``, dates with ``date_format``. Returns the rows written.
    """
    for col, title in enumerate(header):
        worksheet.write_string(0, col, str(neutralise(title)), header_format)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, value in enumerate(neutralise_row(row)):
            if value is None or value is False:
                worksheet.write_blank(count, col, None)
            elif isinstance(value, bool):
                worksheet.write_boolean(count, col, value)
            elif isinstance(value, (int, float, Decimal)):
                worksheet.write_number(count, col, float(value))
            elif isinstance(value, datetime):
                worksheet.write_datetime(count, col, value, date_format)
            elif isinstance(value, date):
                worksheet.write_datetime(
                    count, col, datetime(value.year, value.month, value.day), date_format
                )
            else:
                worksheet.write_string(count, col, str(value))
    return count


def xlsx_bytes(sheets):
    """An XLSX workbook from ``[(sheet_name, header, rows), ...]`` (needs ``xlsxwriter``)."""
    import xlsxwriter  # noqa: PLC0415 - only the XLSX export needs it

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    header_format = workbook.add_format({"bold": True})
    for name, header, rows in sheets:
        worksheet = workbook.add_worksheet(name[:31])
        write_xlsx_rows(worksheet, header, rows, date_format, header_format)
        worksheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
