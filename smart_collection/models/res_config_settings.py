from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    collection_reference_mode = fields.Selection(
        related="company_id.collection_reference_mode", readonly=False
    )
    collection_link_validity_days = fields.Integer(
        related="company_id.collection_link_validity_days", readonly=False
    )
    collection_thank_you = fields.Boolean(related="company_id.collection_thank_you", readonly=False)
