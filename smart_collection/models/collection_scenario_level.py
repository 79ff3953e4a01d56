from odoo import api, fields, models
from odoo.exceptions import ValidationError

CHANNEL_FIELDS = {
    "email": "use_email",
    "sms": "use_sms",
    "letter": "use_letter",
    "call": "use_call",
    "formal_notice": "use_formal_notice",
}


class CollectionScenarioLevel(models.Model):
    """One step of a scenario: when (days from the due date), how, and for whom."""

    _name = "collection.scenario.level"
    _description = "Collection Scenario Level"
    _order = "scenario_id, offset_days, sequence, id"

    scenario_id = fields.Many2one(
        "collection.scenario", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="scenario_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    offset_days = fields.Integer(
        string="Days from Due Date",
        required=True,
        help="Negative: before the due date (courtesy notice). Positive: days late.",
    )
    min_gap_days = fields.Integer(
        string="Minimum Days after Previous Reminder",
        help="Wait at least this many days after the previous reminder on the same invoice.",
    )
    use_email = fields.Boolean(string="E-mail")
    mail_template_id = fields.Many2one(
        "mail.template",
        string="E-mail Template",
        domain=[("model", "=", "res.partner")],
        help="Rendered on the customer; the template receives the invoices of the step.",
    )
    use_sms = fields.Boolean(string="SMS")
    sms_template_id = fields.Many2one(
        "sms.template", string="SMS Template", domain=[("model", "=", "res.partner")]
    )
    use_letter = fields.Boolean(string="Letter")
    use_call = fields.Boolean(string="Phone Call Task")
    call_note = fields.Html(
        string="Call Instructions", translate=True, help="Shown in the collector's call task."
    )
    use_formal_notice = fields.Boolean(
        string="Formal Notice",
        help="Registered letter with legal fees and interest; afterwards the customer is "
        "flagged for legal follow-up and reminders stop.",
    )
    letter_text = fields.Html(translate=True, help="Body of the letter or formal notice.")
    min_amount = fields.Monetary(
        string="Minimum Overdue Amount",
        currency_field="currency_id",
        help="Skip this level when the customer's overdue total is below this amount.",
    )
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.company.currency_id, required=True
    )
    customer_type = fields.Selection(
        [("all", "All customers"), ("company", "Companies"), ("person", "Individuals")],
        default="all",
        required=True,
    )
    partner_category_ids = fields.Many2many(
        "res.partner.category", string="Only Customers Tagged"
    )

    _sql_constraints = [
        (
            "min_gap_positive",
            "CHECK(min_gap_days >= 0)",
            "The minimum days after the previous reminder cannot be negative.",
        ),
    ]

    @api.constrains(*CHANNEL_FIELDS.values(), "mail_template_id", "sms_template_id")
    def _check_channels(self):
        for level in self:
            if not level._collection_channels():
                raise ValidationError(
                    self.env._("Level “%s” needs at least one channel.", level.name)
                )
            if level.use_email and not level.mail_template_id:
                raise ValidationError(
                    self.env._("Level “%s” sends e-mails: choose an e-mail template.", level.name)
                )
            if level.use_sms and not level.sms_template_id:
                raise ValidationError(
                    self.env._("Level “%s” sends SMS: choose an SMS template.", level.name)
                )

    def _collection_channels(self):
        self.ensure_one()
        return frozenset(ch for ch, fname in CHANNEL_FIELDS.items() if self[fname])
