from odoo import api, models


class PaymentMethod(models.Model):
    """Changing a payment method changes what pay pages offer (see ``_collection_pay_options``)."""

    _inherit = "payment.method"

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
