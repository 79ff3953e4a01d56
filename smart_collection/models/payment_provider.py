from odoo import api, models, tools


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    @api.model
    @tools.ormcache("company_id", "country_id", "currency_id", "amount", "today", "internal")
    def _collection_pay_options(
        self, company_id, country_id, currency_id, amount, today, internal, partner_id
    ):
        """Provider and payment method ids a pay page offers, cached per country and amount.

        Odoo's compatibility rules look at the payer's country only, so every pay page of the
        same company, country, currency and amount offers the same options: computing them once
        saves a dozen queries on each visit. Any change to a provider or a payment method
        clears the cache. ``internal`` is part of the key because Odoo shows unpublished
        providers to internal users only.
        """
        providers = self.sudo()._get_compatible_providers(
            company_id, partner_id, amount, currency_id=currency_id
        )
        methods = self.env["payment.method"].sudo()._get_compatible_payment_methods(
            providers.ids, partner_id, currency_id=currency_id
        )
        return tuple(providers.ids), tuple(methods.ids)

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
