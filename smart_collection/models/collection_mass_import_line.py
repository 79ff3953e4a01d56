from odoo import fields, models

LINE_STATUSES = [
    ("ok", "Valid"),
    ("error", "Error"),
    ("duplicate", "Duplicate in File"),
    ("imported", "Imported"),
    ("skipped", "Already Imported"),
    ("failed", "Refused at Import"),
]


class CollectionMassImportLine(models.Model):
    """One data row of a spreadsheet of amounts due: its key values, status and outcome."""

    _name = "collection.mass.import.line"
    _description = "Amounts Due Import Row"
    _order = "import_id, row_number"

    import_id = fields.Many2one("collection.mass.import", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="import_id.company_id")
    row_number = fields.Integer(string="Row", required=True)
    customer_ref = fields.Char(string="Customer Ref.")
    customer_name = fields.Char(string="Customer")
    invoice_number = fields.Char()
    amount = fields.Char(help="As written in the file.")
    currency = fields.Char()
    due_date = fields.Char(help="As written in the file.")
    status = fields.Selection(LINE_STATUSES, required=True, default="ok")
    message = fields.Text()
    # The validated row (JSON), what the import creates records from.
    values_json = fields.Text()
    partner_id = fields.Many2one("res.partner", string="Customer Record", ondelete="set null")
    invoice_id = fields.Many2one("account.move", string="Invoice", ondelete="set null")

    def _auto_init(self):
        res = super()._auto_init()
        # The import claims its next rows by (import, status): one index serves every chunk.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS collection_mass_import_line_todo_idx"
            " ON collection_mass_import_line (import_id, status, row_number)"
        )
        return res
