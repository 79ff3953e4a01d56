from odoo import fields, models


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
