from odoo import api, fields, models


class CollectionInstalment(models.Model):
    """One dated part of an instalment plan; paid as the invoice's payments reach it."""

    _name = "collection.instalment"
    _description = "Instalment"
    _order = "plan_id, sequence"

    plan_id = fields.Many2one(
        "collection.instalment.plan", required=True, index=True, ondelete="cascade"
    )
    invoice_id = fields.Many2one(related="plan_id.invoice_id", store=True, index=True)
    currency_id = fields.Many2one(related="plan_id.currency_id")
    sequence = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    amount = fields.Monetary(currency_field="currency_id", required=True)
    # Sum of this instalment and the ones before it: lets the reminder SQL find the first
    # instalment not covered by the payments without a window function.
    cumulative_amount = fields.Monetary(currency_field="currency_id", required=True)
    amount_paid = fields.Monetary(compute="_compute_paid", currency_field="currency_id")
    amount_due = fields.Monetary(compute="_compute_paid", currency_field="currency_id")
    state = fields.Selection(
        [("open", "Open"), ("paid", "Paid"), ("overdue", "Overdue")], compute="_compute_paid"
    )

    _sql_constraints = [
        ("sequence_unique", "UNIQUE (plan_id, sequence)",
         "Instalment numbers are unique in a plan."),
    ]

    @api.depends("plan_id.invoice_id.amount_residual", "plan_id.state", "amount", "due_date")
    def _compute_paid(self):
        today = fields.Date.context_today(self)
        for plan in self.plan_id:
            lines, status = plan._collection_status()
            by_sequence = {a.sequence: a for a in status.lines}
            for line in lines & self:
                allocation = by_sequence[line.sequence]
                line.amount_paid = float(allocation.paid)
                line.amount_due = float(allocation.amount - allocation.paid)
                if allocation.state == "paid":
                    line.state = "paid"
                elif line.due_date < today:
                    line.state = "overdue"
                else:
                    line.state = "open"
