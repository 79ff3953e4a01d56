from odoo import api, fields, models


class CollectionInstalmentWizard(models.TransientModel):
    """The collector sets up an instalment plan agreed with the customer (company policy)."""

    _name = "collection.instalment.wizard"
    _description = "Create an Instalment Plan"

    invoice_id = fields.Many2one("account.move", required=True, readonly=True)
    currency_id = fields.Many2one(related="invoice_id.currency_id")
    count = fields.Integer(string="Number of Instalments", default=2, required=True)
    allowed_counts = fields.Char(compute="_compute_preview", string="Allowed")
    preview = fields.Html(compute="_compute_preview", sanitize=False)
    error = fields.Text(compute="_compute_preview")

    @api.depends("invoice_id", "count")
    def _compute_preview(self):
        Plan = self.env["collection.instalment.plan"]
        messages = Plan._collection_error_messages()
        for wizard in self:
            counts = Plan._collection_allowed_counts(wizard.invoice_id)
            wizard.allowed_counts = ", ".join(str(c) for c in counts) or self.env._("none")
            errors, schedule = Plan._collection_schedule(wizard.invoice_id, wizard.count)
            wizard.error = "\n".join(messages.get(code, code) for code in errors) or False
            wizard.preview = self.env["ir.qweb"]._render(
                "smart_collection.instalment_schedule_table",
                {"schedule": schedule, "currency": wizard.invoice_id.currency_id},
            ) if schedule else False

    def action_confirm(self):
        self.ensure_one()
        self.env["collection.instalment.plan"]._collection_create_plan(
            self.invoice_id, self.count, source="backend"
        )
        return {"type": "ir.actions.act_window_close"}
