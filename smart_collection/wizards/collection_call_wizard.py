from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError


class CollectionCallWizard(models.TransientModel):
    """Log the outcome of a collection call; a promise pauses reminders until the day after."""

    _name = "collection.call.wizard"
    _description = "Log a Collection Call"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    invoice_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain="[('commercial_partner_id', '=', partner_id), ('move_type', '=', 'out_invoice'),"
        " ('state', '=', 'posted'), ('payment_state', 'in', ('not_paid', 'partial'))]",
    )
    outcome = fields.Selection(
        [
            ("promise", "Promise to pay"),
            ("dispute", "Disputes an invoice"),
            ("no_answer", "No answer"),
            ("wrong_number", "Wrong number"),
            ("note", "Other (note only)"),
        ],
        required=True,
        default="promise",
    )
    promise_date = fields.Date()
    promise_amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.company.currency_id
    )
    note = fields.Text()

    @api.model
    def _collection_open(self, partners):
        partner = partners[:1].commercial_partner_id
        Move = self.env["account.move"]
        open_invoices = Move.search(
            Move._collection_open_invoices_domain(partner, self.env.company)
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Log a Call"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_partner_id": partner.id,
                "default_invoice_ids": open_invoices.ids,
                "default_promise_amount": sum(open_invoices.mapped("amount_residual_signed")),
            },
        }

    def action_confirm(self):
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        today = fields.Date.context_today(self)
        outcome = dict(self._fields["outcome"]._description_selection(self.env))[self.outcome]
        if self.outcome == "promise":
            if not self.promise_date or self.promise_date < today:
                raise UserError(self.env._("Give the date the customer promised to pay."))
            self.env["collection.promise"].create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company_id.id,
                    "invoice_ids": [fields.Command.set(self.invoice_ids.ids)],
                    "date": self.promise_date,
                    "amount": self.promise_amount,
                    "currency_id": self.currency_id.id,
                    "source": "call",
                    "note": self.note,
                }
            )
            # The whole customer pauses until the day after the promised date.
            partner.with_company(self.company_id).write(
                {
                    "collection_hold_until": self.promise_date + timedelta(days=1),
                    "collection_hold_reason": "promise",
                    "collection_hold_note": self.note or False,
                }
            )
        elif self.outcome == "dispute":
            if not self.invoice_ids:
                raise UserError(self.env._("Select the disputed invoices."))
            self.invoice_ids.write(
                {"collection_disputed": True, "collection_dispute_note": self.note or outcome}
            )
        # The call task of the day is done, whatever the outcome.
        call_type = self.env.ref("mail.mail_activity_data_call")
        activities = self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", partner.id),
                ("activity_type_id", "=", call_type.id),
            ]
        )
        feedback = "%s%s" % (outcome, f": {self.note}" if self.note else "")
        if activities:
            activities.action_feedback(feedback=feedback)
        else:
            partner.message_post(body=self.env._("Collection call: %s", feedback))
        return {"type": "ir.actions.act_window_close"}
