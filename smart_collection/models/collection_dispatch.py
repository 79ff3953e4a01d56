from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

CHANNELS = [
    ("email", "E-mail"),
    ("sms", "SMS"),
    ("letter", "Letter"),
    ("call", "Phone call"),
    ("formal_notice", "Formal notice"),
]


class CollectionDispatch(models.Model):
    """The ledger of collection actions: one row per invoice × level × channel.

    Rows are written (state ``planned``) and committed before anything is sent, then each
    customer's group is sent and marked in one transaction: a run killed half-way resumes
    without sending anything twice.
    """

    _name = "collection.dispatch"
    _description = "Collection Dispatch"
    _order = "id desc"
    _rec_name = "invoice_id"

    invoice_id = fields.Many2one(
        "account.move", required=True, ondelete="cascade", readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    level_id = fields.Many2one(
        "collection.scenario.level", required=True, ondelete="restrict", readonly=True
    )
    scenario_id = fields.Many2one(related="level_id.scenario_id", store=True)
    channel = fields.Selection(CHANNELS, required=True, readonly=True)
    state = fields.Selection(
        [
            ("planned", "Planned"),
            ("to_print", "To Print"),
            ("sent", "Sent"),
            ("failed", "Failed"),
            ("skipped", "Skipped"),
        ],
        default="planned",
        required=True,
        readonly=True,
    )
    reason = fields.Char(
        string="Reason Code", readonly=True, help="Machine code of the planner's decision."
    )
    reason_text = fields.Char(string="Reason", compute="_compute_reason_text")
    substitute_call = fields.Boolean(
        readonly=True, help="Contact data was missing: a call task replaces this message."
    )
    planned_date = fields.Date(required=True, readonly=True)
    scheduled_at = fields.Datetime(
        string="Not Before", readonly=True, help="SMS wait for the customer's daytime hours."
    )
    group_key = fields.Char(readonly=True, index="btree_not_null")
    sent_at = fields.Datetime(readonly=True)
    error = fields.Text(readonly=True)
    amount_residual = fields.Monetary(
        string="Amount Due", currency_field="currency_id", readonly=True
    )
    currency_id = fields.Many2one(related="invoice_id.currency_id")
    mail_message_id = fields.Many2one("mail.message", readonly=True, ondelete="set null")
    sms_id = fields.Many2one("sms.sms", string="SMS", readonly=True, ondelete="set null")
    activity_id = fields.Many2one("mail.activity", readonly=True, ondelete="set null")
    attachment_id = fields.Many2one(
        "ir.attachment", string="Letter", readonly=True, ondelete="set null"
    )
    tracking_number = fields.Char(help="Registered-letter tracking number.")
    acknowledged_date = fields.Date(string="Acknowledged On", help="Date on the return receipt.")

    _sql_constraints = [
        (
            "invoice_level_channel_uniq",
            "UNIQUE(invoice_id, level_id, channel)",
            "An invoice gets each level on each channel once.",
        ),
    ]

    def init(self):
        # The sender claims planned work by group; keep that lookup off the full ledger.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS collection_dispatch_planned_idx"
                " ON collection_dispatch (group_key) WHERE state = 'planned'"
            )
        )

    @api.depends("reason")
    def _compute_reason_text(self):
        texts = self._collection_reason_texts()
        for dispatch in self:
            dispatch.reason_text = texts.get(dispatch.reason, dispatch.reason or "")

    def _collection_reason_texts(self):
        """Reason sentences in the user's language (the planner's codes are stable data)."""
        _ = self.env._
        return {
            "due": _("Level reached"),
            "promise_broken": _("Promised date passed without payment"),
            "opted_out": _("Customer opted out of this channel"),
            "missing_email": _("No e-mail address: call task created instead"),
            "missing_mobile": _("No valid mobile number: call task created instead"),
            "missing_address": _("No postal address: call task created instead"),
            "quiet_hours": _("Outside SMS hours in the customer's time zone: deferred"),
            "condition": _("Level conditions not met (amount, customer type or tag)"),
            "superseded": _("A later level was already reached"),
            "manual_skip": _("Level skipped by a collector"),
            "manual_send": _("Sent on request of a collector"),
            "render_failed": _("The message could not be rendered"),
            "send_failed": _("The message could not be queued"),
        } | self._collection_status_texts()

    @api.model
    def _collection_status_texts(self):
        _ = self.env._
        return {
            "paid": _("Invoice paid"),
            "payment_pending": _("A payment is pending"),
            "disputed": _("Invoice disputed by the customer"),
            "promised": _("Payment promised, promise date not passed"),
            "excluded": _("Invoice excluded from collection"),
            "on_hold": _("Customer on hold"),
            "legal": _("Customer in legal follow-up: reminders stopped"),
            "no_scenario": _("No collection scenario applies"),
            "net_balance": _("Customer's net balance is not positive after credit notes"),
            "gap": _("Too soon after the previous reminder"),
            "not_yet": _("Next level not reached yet"),
            "done": _("Last level of the scenario already sent"),
            "partner_company": _("The customer belongs to another company"),
        }

    # ------------------------------------------------------------------ actions

    def action_retry(self):
        """Send failed rows again with the next run of the sender."""
        failed = self.filtered(lambda d: d.state == "failed")
        if not failed:
            raise UserError(self.env._("Only failed dispatches can be retried."))
        failed.write({"state": "planned", "error": False, "scheduled_at": False})
        self.env["collection.engine"]._collection_send_groups(failed._collection_group_keys())
        return True

    def action_mark_printed(self):
        """The collector printed and posted the letters."""
        to_print = self.filtered(lambda d: d.state == "to_print")
        to_print.write({"state": "sent", "sent_at": fields.Datetime.now()})
        return True

    def action_open_letter(self):
        self.ensure_one()
        if not self.attachment_id:
            raise UserError(self.env._("No letter was generated for this dispatch."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self.attachment_id.id}?download=true",
            "target": "self",
        }

    def _collection_group_keys(self):
        return sorted(set(self.mapped("group_key")) - {False})

