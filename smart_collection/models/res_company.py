from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..services import instalments, sms_hours


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_reference_mode = fields.Selection(
        [
            ("rf", "Structured creditor reference (ISO 11649 RF)"),
            ("odoo", "Odoo's own reference (journal setting)"),
        ],
        string="Payment Reference",
        default="rf",
        required=True,
        help="RF references carry check digits, so a bank transfer with a typo in the "
        "reference can still be matched to its invoice.",
    )
    collection_link_validity_days = fields.Integer(
        string="Pay Link Validity (days after due date)",
        default=60,
        help="A pay link stops working this many days after the invoice's due date. "
        "The collector can issue a new link at any time.",
    )
    collection_thank_you = fields.Boolean(
        string="Thank-you Message",
        default=True,
        help="Send a thank-you e-mail when a customer invoice becomes fully paid.",
    )
    collection_scenario_id = fields.Many2one(
        "collection.scenario",
        string="Default Collection Scenario",
        default=lambda self: self.env.ref(
            "smart_collection.collection_scenario_standard", raise_if_not_found=False
        ),
        help="Followed by customers with no scenario of their own and no matching tag rule.",
    )
    collection_collector_id = fields.Many2one(
        "res.users",
        string="Default Collector",
        help="Receives phone-call tasks for customers without a collector.",
    )
    collection_sms_hours = fields.Char(
        string="SMS Hours",
        default="Mon-Fri 10:00-13:00, 14:00-20:00",
        required=True,
        help="When reminder SMS may reach customers, in their own time zone. Public holidays "
        "of the company's working calendar are excluded.",
    )
    collection_letter_snailmail = fields.Boolean(
        string="Post Letters with Snailmail",
        help="Send reminder letters and formal notices through Odoo's paid postal service "
        "(IAP credits). Otherwise they wait in the print queue for the collector.",
    )
    collection_virtual_iban_mode = fields.Selection(
        [
            ("none", "Company account"),
            ("customer", "One virtual IBAN per customer"),
            ("invoice", "One virtual IBAN per invoice"),
            ("point_of_sale", "One virtual IBAN per point of sale"),
        ],
        string="IBAN on Invoices",
        default="none",
        required=True,
        help="With a virtual IBAN source (a bank's range, a list from the bank, Stripe), the "
        "credited account identifies the payer whatever the reference. Per customer: given on "
        "the first invoice. Per invoice: each posted invoice gets its own. Per point of sale: "
        "one per delivery address (or contact) of the customer, else per customer.",
    )
    collection_notice_days = fields.Integer(
        string="Formal Notice Deadline (days)",
        default=8,
        help="Days the customer is given in the formal notice to pay before legal action.",
    )
    collection_fee_product_id = fields.Many2one(
        "product.product",
        string="Late Fee Product",
        help="Used on the customer invoices of recovery indemnities and late interest.",
    )
    collection_match_threshold = fields.Integer(
        string="Automatic Matching Score",
        default=90,
        help="Transfers scoring at least this much (out of 100), with only one way to book "
        "them, are reconciled without review.",
    )
    collection_match_subset_items = fields.Integer(
        string="Invoices Tried in Combinations",
        default=12,
        help="When one transfer pays several invoices, combinations of this many oldest open "
        "invoices of the customer are tried (at most 24).",
    )
    collection_writeoff_tolerance = fields.Monetary(
        string="Write-off Tolerance",
        currency_field="currency_id",
        help="A difference up to this amount between a transfer and the invoices it pays is "
        "written off instead of leaving a few cents open.",
    )
    collection_writeoff_account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        check_company=True,
        help="Receives the small differences written off when matching transfers.",
    )

    collection_promise_max_days = fields.Integer(
        string="Promise to Pay: Longest Delay (days)",
        default=30,
        help="On the portal and pay links, customers may promise to pay from tomorrow up to "
        "this many days from today.",
    )

    @api.constrains("collection_match_threshold", "collection_match_subset_items",
                    "collection_writeoff_tolerance")
    def _check_collection_matching(self):
        for company in self:
            if not 0 <= company.collection_match_threshold <= 100:
                raise ValidationError(self.env._("The automatic matching score is out of 100."))
            if not 0 <= company.collection_match_subset_items <= 24:
                raise ValidationError(
                    self.env._("Between 0 and 24 invoices can be tried in combinations.")
                )
            if company.collection_writeoff_tolerance < 0:
                raise ValidationError(self.env._("The write-off tolerance cannot be negative."))

    @api.constrains("collection_sms_hours")
    def _check_collection_sms_hours(self):
        for company in self:
            try:
                sms_hours.parse(company.collection_sms_hours)
            except ValueError as exc:
                raise ValidationError(
                    self.env._("SMS hours “%(hours)s”: %(error)s",
                               hours=company.collection_sms_hours, error=exc)
                )

    @api.model
    def _collection_set_default_scenario(self):
        """Give every company without one the shipped standard scenario."""
        scenario = self.env.ref(
            "smart_collection.collection_scenario_standard", raise_if_not_found=False
        )
        if scenario:
            self.search([("collection_scenario_id", "=", False)]).write(
                {"collection_scenario_id": scenario.id}
            )

    # ------------------------------------------------------------------ instalment plans

    collection_instalment_enabled = fields.Boolean(
        string="Instalment Plans",
        help="Customers may choose to pay an invoice in several instalments from the pay page "
        "and the customer portal, within the limits below.",
    )
    collection_instalment_max_count = fields.Integer(
        string="Maximum Instalments", default=6,
        help="A customer may split an invoice into 2 up to this many instalments.",
    )
    collection_instalment_min_amount = fields.Monetary(
        string="Minimum Instalment", default=50.0, currency_field="currency_id",
        help="No instalment may be smaller than this amount (company currency).",
    )
    collection_instalment_max_span_days = fields.Integer(
        string="Maximum Plan Length (days)", default=180,
        help="The last instalment falls at most this many days after the plan is chosen.",
    )
    collection_instalment_first_offset_days = fields.Integer(
        string="First Instalment After (days)", default=0,
        help="Days between choosing the plan and the first instalment's due date.",
    )
    collection_instalment_spacing_days = fields.Integer(
        string="Days Between Instalments", default=0,
        help="0: one instalment a month, on the same day of the month. Otherwise, this many "
        "days apart.",
    )
    collection_instalment_sepa = fields.Boolean(
        string="SEPA Direct Debit for Instalments",
        help="Offer SEPA Direct Debit first when a customer pays an instalment, when the Stripe "
        "provider has that payment method enabled.",
    )

    @api.constrains(
        "collection_instalment_max_count", "collection_instalment_min_amount",
        "collection_instalment_max_span_days", "collection_instalment_first_offset_days",
        "collection_instalment_spacing_days",
    )
    def _check_collection_instalment_policy(self):
        for company in self:
            if company.collection_instalment_max_count < 2:
                raise ValidationError(
                    self.env._("An instalment plan has at least 2 instalments: set the maximum "
                               "to 2 or more.")
                )
            if (
                company.collection_instalment_min_amount < 0
                or company.collection_instalment_max_span_days < 0
                or company.collection_instalment_first_offset_days < 0
                or company.collection_instalment_spacing_days < 0
            ):
                raise ValidationError(
                    self.env._("Instalment amounts and days cannot be negative.")
                )

    def _collection_instalment_policy(self, currency=None, day=None):
        """The company's instalment rules, the minimum converted to ``currency``."""
        self.ensure_one()
        minimum = self.collection_instalment_min_amount
        if currency and currency != self.currency_id:
            minimum = self.currency_id._convert(
                minimum, currency, self, day or fields.Date.context_today(self)
            )
        return instalments.Policy(
            max_count=self.collection_instalment_max_count,
            min_amount=Decimal(str(minimum)),
            max_span_days=self.collection_instalment_max_span_days,
            first_due_offset_days=self.collection_instalment_first_offset_days,
            spacing_days=self.collection_instalment_spacing_days,
        )
