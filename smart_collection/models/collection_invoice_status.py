from odoo import fields, models


class CollectionInvoiceStatus(models.Model):
    """Where each open invoice stands in its scenario, as the last run decided.

    A narrow table of its own: the daily run rewrites it for every open invoice, which on
    account_move (a wide, heavily indexed table) would cost several times more.
    """

    _name = "collection.invoice.status"
    _description = "Invoice Collection Status"
    _rec_name = "invoice_id"

    invoice_id = fields.Many2one("account.move", required=True, ondelete="cascade")
    level_id = fields.Many2one("collection.scenario.level", ondelete="set null")
    next_level_id = fields.Many2one("collection.scenario.level", ondelete="set null")
    next_date = fields.Date()
    status = fields.Char(help="Machine code of the planner's decision.")

    _sql_constraints = [
        ("invoice_uniq", "UNIQUE(invoice_id)", "One collection status per invoice."),
    ]
