import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..services import bank_statement

# Up to this many new lines are matched while the user waits; more go to the cron.
MATCH_NOW = 500


class CollectionStatementImport(models.TransientModel):
    """Import a CAMT.053/054 or CSV bank statement: all of it or nothing, never twice."""

    _name = "collection.statement.import"
    _description = "Import Bank Statement"

    journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        required=True,
        domain=[("type", "=", "bank")],
        default=lambda self: self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    data_file = fields.Binary(string="Statement File", required=True)
    filename = fields.Char()
    file_kind = fields.Selection(
        [("camt", "ISO 20022 CAMT.053 / CAMT.054 (XML)"), ("csv", "CSV")],
        compute="_compute_file_kind",
        store=True,
        readonly=False,
    )
    csv_mapping_id = fields.Many2one("collection.csv.mapping", string="CSV Layout")

    @api.depends("filename")
    def _compute_file_kind(self):
        for wizard in self:
            name = (wizard.filename or "").lower()
            wizard.file_kind = "csv" if name.endswith((".csv", ".txt")) else "camt"

    def _collection_journal_account(self):
        """The currency and the account number the journal's statements must have."""
        journal = self.journal_id
        currency = journal.currency_id or journal.company_id.currency_id
        return currency, (journal.bank_account_id.acc_number or "").replace(" ", "").upper()

    def _collection_parse(self):
        data = base64.b64decode(self.data_file or b"")
        journal_currency, bank_iban = self._collection_journal_account()
        try:
            if self.file_kind == "csv":
                if not self.csv_mapping_id:
                    raise UserError(self.env._("Choose the CSV layout of this bank's files."))
                mapping = self.csv_mapping_id._collection_mapping(journal_currency.name, bank_iban)
                return bank_statement.parse_csv(data, mapping)
            return bank_statement.parse(data)
        except bank_statement.StatementError as exc:
            raise UserError(
                self.env._(
                    "The file was not imported, nothing was changed.\n%(where)s: %(what)s",
                    where=exc.where,
                    what=exc.what,
                )
            )

    def _collection_check(self, statements):
        journal = self.journal_id
        journal_currency, bank_iban = self._collection_journal_account()
        for statement in statements:
            if bank_iban and statement.account_iban and statement.account_iban != bank_iban:
                raise UserError(
                    self.env._(
                        "Statement %(id)s is for account %(account)s, but journal %(journal)s "
                        "is account %(bank)s. Nothing was imported.",
                        id=statement.id,
                        account=statement.account_iban,
                        journal=journal.display_name,
                        bank=bank_iban,
                    )
                )
            for line in statement.lines:
                if line.currency and line.currency != journal_currency.name:
                    raise UserError(
                        self.env._(
                            "Statement %(id)s has a line in %(currency)s; journal %(journal)s "
                            "holds %(held)s. Nothing was imported.",
                            id=statement.id,
                            currency=line.currency,
                            journal=journal.display_name,
                            held=journal_currency.name,
                        )
                    )

    def action_import(self):
        self.ensure_one()
        statements = self._collection_parse()
        self._collection_check(statements)
        Line = self.env["account.bank.statement.line"]
        lines = [
            (statement, line)
            for statement in statements
            for line in statement.lines
            # Pending and information-only entries are not booked yet.
            if line.status in ("", "BOOK")
        ]
        uids = [line.unique_id for _statement, line in lines]
        known = set(
            Line.search(
                [("journal_id", "=", self.journal_id.id), ("collection_import_uid", "in", uids)]
            ).mapped("collection_import_uid")
        )
        vals_list = []
        for statement, line in lines:
            if line.unique_id in known:  # imported before, or a statement repeated in the file
                continue
            known.add(line.unique_id)
            vals_list.append(self._collection_line_vals(statement, line))
        # Statement lines need Odoo's full accounting group, which a Community invoicing
        # administrator or a collector does not have: the collection group is the right here,
        # on a journal the user can read.
        self.journal_id.check_access("read")
        created = Line.sudo().create(vals_list).sudo(False) if vals_list else Line
        message = self.env._(
            "%(new)s line(s) imported, %(known)s already imported before.",
            new=len(created),
            known=len(lines) - len(vals_list),
        )
        if len(created) <= MATCH_NOW:
            decisions = self.env["collection.matcher"].sudo()._collection_match(created.ids)
            booked = sum(1 for d in decisions if d.state == "auto")
            message += " " + self.env._(
                "%(booked)s booked on invoices, %(review)s to review.",
                booked=booked,
                review=sum(1 for d in decisions if d.state in ("review", "unmatched")),
            )
        else:
            # A large file is matched in the background, in committed batches.
            self.env.ref("smart_collection.ir_cron_collection_match_statement_lines")._trigger()
            message += " " + self.env._("Matching runs in the background.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if created else "warning",
                "message": message,
                "sticky": False,
                "next": self.env["ir.actions.act_window"]._for_xml_id(
                    "smart_collection.action_collection_match"
                ),
            },
        }

    def _collection_line_vals(self, statement, line):
        text = " ".join(
            part for part in (line.structured_reference, line.remittance_text,
                              line.additional_info) if part
        )
        return {
            "journal_id": self.journal_id.id,
            "date": line.booking_date,
            "amount": float(line.amount),
            "payment_ref": text or line.bank_reference or statement.id,
            "partner_name": line.counterparty_name or False,
            "account_number": line.counterparty_iban or False,
            "transaction_type": line.transaction_code or False,
            "collection_credited_iban": line.credited_iban or False,
            "collection_structured_ref": line.structured_reference or False,
            "collection_end_to_end_id": line.end_to_end_id or False,
            "collection_bank_ref": line.bank_reference or False,
            "collection_tx_code": line.transaction_code or False,
            "collection_reversal": line.reversal,
            "collection_returned": line.returned,
            "collection_import_uid": line.unique_id,
        }
