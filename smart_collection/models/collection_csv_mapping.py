from odoo import fields, models

from ..services import bank_statement

COLUMN_FIELDS = {
    "date": "col_date",
    "value_date": "col_value_date",
    "amount": "col_amount",
    "credit": "col_credit",
    "debit": "col_debit",
    "name": "col_name",
    "iban": "col_iban",
    "credited_iban": "col_credited_iban",
    "reference": "col_reference",
    "text": "col_text",
    "end_to_end_id": "col_end_to_end_id",
    "bank_reference": "col_bank_reference",
    "currency": "col_currency",
}


class CollectionCsvMapping(models.Model):
    """How a bank's CSV export is laid out, saved once and reused for every import."""

    _name = "collection.csv.mapping"
    _description = "Bank CSV Layout"

    name = fields.Char(required=True)
    delimiter = fields.Char(default=";", required=True, size=1)
    encoding = fields.Char(default="utf-8", required=True)
    decimal_separator = fields.Selection(
        [(",", "Comma (1 234,56)"), (".", "Point (1,234.56)")], default=",", required=True
    )
    date_format = fields.Char(default="%d/%m/%Y", required=True, help="Python date format.")
    skip_rows = fields.Integer(string="Lines Before the Header", default=0)
    col_date = fields.Char(string="Date Column", required=True)
    col_value_date = fields.Char(string="Value Date Column")
    col_amount = fields.Char(string="Amount Column", help="Signed amount; or use credit/debit.")
    col_credit = fields.Char(string="Credit Column")
    col_debit = fields.Char(string="Debit Column")
    col_name = fields.Char(string="Counterparty Column")
    col_iban = fields.Char(string="Counterparty IBAN Column")
    col_credited_iban = fields.Char(string="Credited Account Column")
    col_reference = fields.Char(string="Reference Column")
    col_text = fields.Char(string="Remittance Text Column")
    col_end_to_end_id = fields.Char(string="End-to-end Id Column")
    col_bank_reference = fields.Char(string="Bank Reference Column")
    col_currency = fields.Char(string="Currency Column")

    def _collection_mapping(self, currency, account_iban):
        self.ensure_one()
        return bank_statement.CsvMapping(
            delimiter=self.delimiter,
            encoding=self.encoding,
            decimal=self.decimal_separator,
            date_format=self.date_format,
            skip_rows=self.skip_rows,
            columns={key: self[fname] for key, fname in COLUMN_FIELDS.items() if self[fname]},
            default_currency=currency,
            account_iban=account_iban or "",
        )
