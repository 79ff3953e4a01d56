from odoo import fields, models


class CollectionMatchAllocation(models.Model):
    """How much of a transfer goes to one invoice.

    While its match is not booked yet, the amount counts as paid for the next decisions and
    the invoice is not chased."""

    _name = "collection.match.allocation"
    _description = "Bank Transfer Allocation"
    _order = "match_id, id"

    match_id = fields.Many2one(
        "collection.match", required=True, ondelete="cascade", index=True, readonly=True
    )
    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, ondelete="cascade", index=True,
        readonly=True,
    )
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one(related="match_id.currency_id")
    invoice_date_due = fields.Date(related="move_id.invoice_date_due")
    amount_residual = fields.Monetary(
        related="move_id.amount_residual", string="Still Due", currency_field="currency_id"
    )
