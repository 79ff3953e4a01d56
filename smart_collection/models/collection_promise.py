from datetime import timedelta

from odoo import api, fields, models


class CollectionPromise(models.Model):
    """A customer's promise to pay: reminders pause until the day after the promised date."""

    _name = "collection.promise"
    _description = "Payment Promise"
    _order = "date desc, id desc"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    invoice_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain=[("move_type", "=", "out_invoice"), ("state", "=", "posted")],
    )
    date = fields.Date(string="Promised Date", required=True)
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    source = fields.Selection(
        [("call", "Phone call"), ("portal", "Customer portal"), ("manual", "Manual")],
        default="manual",
        required=True,
    )
    state = fields.Selection(
        [("open", "Open"), ("kept", "Kept"), ("broken", "Broken"), ("cancel", "Cancelled")],
        compute="_compute_state",
        store=True,
        readonly=False,
    )
    user_id = fields.Many2one("res.users", default=lambda self: self.env.user)
    note = fields.Text()

    @api.depends("date", "invoice_ids.payment_state")
    def _compute_state(self):
        today = fields.Date.context_today(self)
        for promise in self:
            if promise.state == "cancel":
                continue
            invoices = promise.invoice_ids
            if invoices and all(inv.payment_state in ("paid", "reversed") for inv in invoices):
                promise.state = "kept"
            elif promise.date and promise.date < today:
                promise.state = "broken"
            else:
                promise.state = "open"

    @api.model_create_multi
    def create(self, vals_list):
        promises = super().create(vals_list)
        promises._collection_apply()
        return promises

    def _collection_apply(self):
        """Pause the promised invoices (or the whole customer) until the day after the date."""
        for promise in self:
            if promise.invoice_ids:
                promise.invoice_ids.write({"collection_promise_date": promise.date})
            else:
                promise.partner_id.commercial_partner_id.write(
                    {
                        "collection_hold_until": promise.date + timedelta(days=1),
                        "collection_hold_reason": "promise",
                    }
                )

    def action_cancel(self):
        self.write({"state": "cancel"})
        self.invoice_ids.filtered(
            lambda inv: inv.collection_promise_date in self.mapped("date")
        ).write({"collection_promise_date": False})

    @api.model
    def _cron_check_promises(self):
        """Recompute the state of open promises whose date has passed."""
        today = fields.Date.context_today(self)
        due = self.search([("state", "=", "open"), ("date", "<", today)])
        due._compute_state()
