from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

HOLD_REASONS = [
    ("manual", "Manual hold"),
    ("promise", "Payment promised"),
    ("dispute", "Dispute"),
    ("pending", "Payment pending"),
    ("negotiation", "Payment plan negotiation"),
]

RISK_CLASSES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E")]


class ResPartner(models.Model):
    _inherit = "res.partner"

    def init(self):
        super().init()
        # Bank matching looks payers up by name, whatever the case they wrote it in.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS res_partner_collection_lower_name_idx"
            " ON res_partner (lower(name)) WHERE parent_id IS NULL"
        ))

    collection_scenario_id = fields.Many2one(
        "collection.scenario",
        string="Collection Scenario",
        company_dependent=True,
        help="Overrides the tag rules and the company's default scenario.",
    )
    collection_collector_id = fields.Many2one(
        "res.users",
        string="Collector",
        company_dependent=True,
        help="Receives the phone-call tasks of this customer.",
    )
    collection_hold_until = fields.Date(
        string="Collection on Hold Until",
        company_dependent=True,
        help="No reminder is sent to this customer until this date included.",
    )
    collection_hold_reason = fields.Selection(
        HOLD_REASONS, string="Hold Reason", company_dependent=True
    )
    collection_hold_note = fields.Char(string="Hold Note", company_dependent=True)
    collection_opt_out_email = fields.Boolean(string="No Reminder E-mails")
    collection_opt_out_sms = fields.Boolean(string="No Reminder SMS")
    collection_opt_out_letter = fields.Boolean(string="No Reminder Letters")
    collection_legal = fields.Boolean(
        string="Legal Follow-up",
        company_dependent=True,
        help="Set when the formal notice is sent: the scenarios stop for this customer.",
    )
    collection_legal_date = fields.Date(string="Formal Notice Date", company_dependent=True)
    collection_contract_rate = fields.Float(
        string="Contractual Late Interest (%)",
        company_dependent=True,
        digits=(5, 3),
        help="Annual late-payment rate agreed with this customer. Leave at 0 for the statutory "
        "rate (ECB rate + 10 points in France, + 8 points in Spain).",
    )
    collection_dispatch_ids = fields.One2many(
        "collection.dispatch", "partner_id", string="Collection Dispatches"
    )
    collection_promise_ids = fields.One2many(
        "collection.promise", "partner_id", string="Payment Promises"
    )
    # Payment behaviour: written in bulk by _cron_compute_collection_risk, never on the fly.
    collection_risk_score = fields.Float(
        string="Payment Risk Score",
        digits=(5, 1),
        readonly=True,
        help="0 = pays on time, 100 = riskiest. Computed daily from the payment history.",
    )
    collection_risk_class = fields.Selection(
        RISK_CLASSES,
        string="Payment Risk Class",
        readonly=True,
        index=True,
        help="A: pays on time (score below 20), B: below 40, C: below 60, D: below 80, "
        "E: 80 and above.",
    )
    collection_risk_factors = fields.Text(
        string="Risk Factors", readonly=True, help="What weighs most in the score, in words."
    )
    collection_avg_days_late = fields.Float(
        string="Average Days Late",
        digits=(6, 1),
        readonly=True,
        help="Days between due date and payment, weighted by amount and recency.",
    )
    collection_risk_date = fields.Date(string="Risk Computed On", readonly=True)
    collection_dispatch_count = fields.Integer(compute="_compute_collection_counts")
    collection_promise_count = fields.Integer(compute="_compute_collection_counts")

    @api.depends("collection_dispatch_ids", "collection_promise_ids")
    def _compute_collection_counts(self):
        dispatches = dict(
            self.env["collection.dispatch"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        promises = dict(
            self.env["collection.promise"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.collection_dispatch_count = dispatches.get(partner, 0)
            partner.collection_promise_count = promises.get(partner, 0)

    # ------------------------------------------------------------------ actions

    def action_collection_release_hold(self):
        self.write(
            {
                "collection_hold_until": False,
                "collection_hold_reason": False,
                "collection_hold_note": False,
            }
        )

    def action_collection_send_now(self):
        """Run today's plan for these customers at once, ignoring the daily schedule."""
        partners = self.commercial_partner_id
        result = self.env["collection.engine"]._collection_run(partner_ids=partners.ids)
        return self._collection_notify_run(result)

    def action_collection_skip_level(self):
        """Record the next level of every open invoice as skipped, so the one after follows."""
        engine = self.env["collection.engine"]
        skipped = engine._collection_skip_next_level(self.commercial_partner_id.ids)
        if not skipped:
            raise UserError(self.env._("No open invoice of this customer has a next level."))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("%s level(s) skipped.", skipped),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_collection_hold(self):
        return self.env["collection.hold.wizard"]._collection_open(self.commercial_partner_id)

    def action_collection_log_call(self):
        return self.env["collection.call.wizard"]._collection_open(self.commercial_partner_id)

    def action_collection_fees(self):
        return self.env["collection.fee.wizard"]._collection_open(self.commercial_partner_id)

    def _collection_notify_run(self, result):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if not result["failed"] else "warning",
                "message": self.env._(
                    "%(sent)s message(s) or task(s) sent, %(failed)s failed, %(planned)s "
                    "waiting for SMS hours.",
                    sent=result["sent"],
                    failed=result["failed"],
                    planned=result["planned"],
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_collection_open_dispatches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "smart_collection.action_collection_dispatch"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action
