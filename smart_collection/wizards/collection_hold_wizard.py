from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.res_partner import HOLD_REASONS


class CollectionHoldWizard(models.TransientModel):
    """Put customers on hold until a date, with a reason the whole team can see."""

    _name = "collection.hold.wizard"
    _description = "Put Collection on Hold"

    partner_ids = fields.Many2many("res.partner", string="Customers", required=True)
    until = fields.Date(string="On Hold Until", required=True)
    reason = fields.Selection(HOLD_REASONS, required=True, default="manual")
    note = fields.Char()

    @api.model
    def _collection_open(self, partners):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Put on Hold"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_ids": partners.commercial_partner_id.ids},
        }

    def action_confirm(self):
        self.ensure_one()
        if self.until < fields.Date.context_today(self):
            raise UserError(self.env._("The hold date is in the past."))
        self.partner_ids.commercial_partner_id.write(
            {
                "collection_hold_until": self.until,
                "collection_hold_reason": self.reason,
                "collection_hold_note": self.note,
            }
        )
        for partner in self.partner_ids.commercial_partner_id:
            partner.message_post(
                body=self.env._(
                    "Collection on hold until %(date)s (%(reason)s). %(note)s",
                    date=fields.Date.to_string(self.until),
                    reason=dict(self._fields["reason"]._description_selection(self.env))[
                        self.reason
                    ],
                    note=self.note or "",
                )
            )
        return {"type": "ir.actions.act_window_close"}
