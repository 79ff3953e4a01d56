from odoo import api, fields, models

from ..models.collection_dispatch import CHANNELS


class CollectionRunPreview(models.TransientModel):
    """Dry run: today's decisions, exactly as the cron would take them, without sending."""

    _name = "collection.run.preview"
    _description = "Preview Today's Collection Run"

    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    date = fields.Date(readonly=True)
    line_ids = fields.One2many("collection.run.preview.line", "preview_id", readonly=True)
    action_count = fields.Integer(readonly=True)
    invoice_count = fields.Integer(readonly=True)

    @api.model
    def action_open(self):
        engine = self.env["collection.engine"]
        result = engine._collection_plan()
        plan = result["plan"]
        lines = []
        for action in plan.actions:
            invoices = self.env["account.move"].browse([i for i, _lv in action.invoice_levels])
            lines.append(
                fields.Command.create(
                    {
                        "partner_id": action.partner_id,
                        "channel": action.channel,
                        "kind": action.kind,
                        "level_id": action.level_id,
                        "invoice_ids": [fields.Command.set(invoices.ids)],
                        "reason": action.reason,
                        "not_before": action.not_before
                        and action.not_before.replace(tzinfo=None),
                        "amount": sum(result["invoices"][i.id].residual for i in invoices),
                    }
                )
            )
        preview = self.create(
            {
                "date": result["today"],
                "line_ids": lines,
                "action_count": len(plan.actions),
                "invoice_count": len({i for a in plan.actions for i, _lv in a.invoice_levels}),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Today's Collection Run"),
            "res_model": self._name,
            "res_id": preview.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_run_now(self):
        """Plan and send for real (what the daily cron does)."""
        engine = self.env["collection.engine"]
        written = engine._collection_plan_and_write()
        engine._collection_send_groups(group_keys=written["group_keys"])
        return self.env["ir.actions.act_window"]._for_xml_id(
            "smart_collection.action_collection_dispatch"
        )


class CollectionRunPreviewLine(models.TransientModel):
    _name = "collection.run.preview.line"
    _description = "Collection Run Preview Line"
    _order = "partner_id, channel"

    preview_id = fields.Many2one("collection.run.preview", required=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Customer")
    channel = fields.Selection(CHANNELS)
    kind = fields.Selection(
        [
            ("send", "Send"),
            ("defer", "Deferred (SMS hours)"),
            ("task", "Call task instead"),
            ("skip", "Skipped"),
        ]
    )
    level_id = fields.Many2one("collection.scenario.level", string="Level")
    invoice_ids = fields.Many2many("account.move", string="Invoices")
    reason = fields.Char()
    not_before = fields.Datetime()
    currency_id = fields.Many2one(related="preview_id.company_id.currency_id")
    amount = fields.Monetary(string="Amount Due")
