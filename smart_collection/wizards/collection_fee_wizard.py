from odoo import api, fields, models
from odoo.exceptions import UserError


class CollectionFeeWizard(models.TransientModel):
    """Compute the statutory recovery indemnity and late interest, and optionally invoice them."""

    _name = "collection.fee.wizard"
    _description = "Late Payment Fees"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    date = fields.Date(
        string="Interest Until", required=True, default=fields.Date.context_today
    )
    line_ids = fields.One2many("collection.fee.wizard.line", "wizard_id")
    currency_id = fields.Many2one(related="company_id.currency_id")
    total_fees = fields.Monetary(compute="_compute_total_fees", currency_field="currency_id")

    @api.model
    def _collection_open(self, partners):
        wizard = self.create({"partner_id": partners[:1].commercial_partner_id.id})
        wizard._collection_compute_lines()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Late Payment Fees"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.depends("line_ids.indemnity", "line_ids.interest")
    def _compute_total_fees(self):
        for wizard in self:
            wizard.total_fees = sum(wizard.line_ids.mapped("indemnity")) + sum(
                wizard.line_ids.mapped("interest")
            )

    def _collection_late_invoices(self):
        Move = self.env["account.move"]
        return Move.search(
            Move._collection_open_invoices_domain(self.partner_id, self.company_id)
            + [("invoice_date_due", "<", self.date)],
            order="invoice_date_due, id",
        )

    def _collection_compute_lines(self):
        for wizard in self:
            wizard.line_ids = [fields.Command.clear()] + [
                fields.Command.create(
                    {
                        "invoice_id": line["invoice"].id,
                        "indemnity": line["indemnity_amount"],
                        "interest": line["interest_amount"],
                        "reason": f"{line['indemnity'].reason} {line['interest'].reason}",
                    }
                )
                for line in wizard._collection_late_invoices()._collection_fee_lines(wizard.date)
            ]

    def action_recompute(self):
        self._collection_compute_lines()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_create_invoice(self):
        """Invoice the fees to the customer as a separate invoice."""
        self.ensure_one()
        lines = self.line_ids.filtered(lambda ln: ln.indemnity or ln.interest)
        if not lines:
            raise UserError(self.env._("There are no fees to invoice."))
        product = self.company_id.collection_fee_product_id
        invoice_lines = []
        for line in lines:
            for label, amount in (
                (self.env._("Recovery indemnity, invoice %s", line.invoice_id.name),
                 line.indemnity),
                (self.env._("Late interest until %(date)s, invoice %(name)s",
                            date=fields.Date.to_string(self.date), name=line.invoice_id.name),
                 line.interest),
            ):
                if amount:
                    invoice_lines.append(
                        fields.Command.create(
                            {
                                "product_id": product.id or False,
                                "name": label,
                                "quantity": 1,
                                "price_unit": amount,
                                # Statutory fees are outside the scope of VAT.
                                "tax_ids": [fields.Command.clear()],
                            }
                        )
                    )
        fee_move = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.partner_id.id,
                "company_id": self.company_id.id,
                "currency_id": lines[:1].currency_id.id,
                "invoice_line_ids": invoice_lines,
                "invoice_origin": ", ".join(lines.invoice_id.mapped("name")),
            }
        )
        lines.filtered("indemnity").invoice_id.write({"collection_indemnity_move_id": fee_move.id})
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": fee_move.id,
            "view_mode": "form",
        }


class CollectionFeeWizardLine(models.TransientModel):
    _name = "collection.fee.wizard.line"
    _description = "Late Payment Fee Line"

    wizard_id = fields.Many2one("collection.fee.wizard", required=True, ondelete="cascade")
    invoice_id = fields.Many2one("account.move", required=True, readonly=True)
    currency_id = fields.Many2one(related="invoice_id.currency_id")
    amount_residual = fields.Monetary(related="invoice_id.amount_residual")
    invoice_date_due = fields.Date(related="invoice_id.invoice_date_due")
    indemnity = fields.Monetary(string="Recovery Indemnity")
    interest = fields.Monetary(string="Late Interest")
    reason = fields.Text(readonly=True)
