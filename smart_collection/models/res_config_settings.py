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
    collection_scenario_id = fields.Many2one(
        related="company_id.collection_scenario_id", readonly=False
    )
    collection_collector_id = fields.Many2one(
        related="company_id.collection_collector_id", readonly=False
    )
    collection_sms_hours = fields.Char(related="company_id.collection_sms_hours", readonly=False)
    collection_letter_snailmail = fields.Boolean(
        related="company_id.collection_letter_snailmail", readonly=False
    )
    collection_notice_days = fields.Integer(
        related="company_id.collection_notice_days", readonly=False
    )
    collection_fee_product_id = fields.Many2one(
        related="company_id.collection_fee_product_id", readonly=False
    )
    collection_match_threshold = fields.Integer(
        related="company_id.collection_match_threshold", readonly=False
    )
    collection_match_subset_items = fields.Integer(
        related="company_id.collection_match_subset_items", readonly=False
    )
    collection_writeoff_tolerance = fields.Monetary(
        related="company_id.collection_writeoff_tolerance", readonly=False
    )
    collection_writeoff_account_id = fields.Many2one(
        related="company_id.collection_writeoff_account_id", readonly=False
    )
    collection_virtual_iban_mode = fields.Selection(
        related="company_id.collection_virtual_iban_mode", readonly=False
    )
    collection_promise_max_days = fields.Integer(
        related="company_id.collection_promise_max_days", readonly=False
    )
    collection_instalment_enabled = fields.Boolean(
        related="company_id.collection_instalment_enabled", readonly=False
    )
    collection_instalment_max_count = fields.Integer(
        related="company_id.collection_instalment_max_count", readonly=False
    )
    collection_instalment_min_amount = fields.Monetary(
        related="company_id.collection_instalment_min_amount", readonly=False
    )
    collection_instalment_max_span_days = fields.Integer(
        related="company_id.collection_instalment_max_span_days", readonly=False
    )
    collection_instalment_first_offset_days = fields.Integer(
        related="company_id.collection_instalment_first_offset_days", readonly=False
    )
    collection_instalment_spacing_days = fields.Integer(
        related="company_id.collection_instalment_spacing_days", readonly=False
    )
    collection_instalment_sepa = fields.Boolean(
        related="company_id.collection_instalment_sepa", readonly=False
    )
