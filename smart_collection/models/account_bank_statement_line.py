from odoo import fields, models
from odoo.tools import SQL


class AccountBankStatementLine(models.Model):
    """What a bank statement says about a transfer, kept for matching it to invoices."""

    _inherit = "account.bank.statement.line"

    collection_credited_iban = fields.Char(
        string="Credited Account",
        index="btree_not_null",
        readonly=True,
        help="The account the money was paid to, e.g. a customer's virtual IBAN.",
    )
    collection_structured_ref = fields.Char(
        string="Structured Reference", index="btree_not_null", readonly=True
    )
    collection_end_to_end_id = fields.Char(string="End-to-end Id", readonly=True)
    collection_bank_ref = fields.Char(string="Bank Reference", readonly=True)
    collection_tx_code = fields.Char(string="Bank Transaction Code", readonly=True)
    collection_reversal = fields.Boolean(string="Reversal", readonly=True)
    collection_returned = fields.Boolean(string="Returned Transfer", readonly=True)
    collection_import_uid = fields.Char(
        string="Import Key",
        readonly=True,
        copy=False,
        help="Identifies the line in the bank's files: importing it again creates nothing.",
    )

    def init(self):
        super().init()
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS account_bank_statement_line_collection_uid_uniq"
                " ON account_bank_statement_line (journal_id, collection_import_uid)"
                " WHERE collection_import_uid IS NOT NULL"
            )
        )
