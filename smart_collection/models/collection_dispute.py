from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import UserError

DISPUTE_REASONS = [
    ("not_received", "Invoice or goods not received"),
    ("wrong_amount", "Wrong amount"),
    ("already_paid", "Already paid"),
    ("goods_issue", "Problem with the goods or service"),
    ("other", "Other"),
]


class CollectionDispute(models.Model):
    """A customer's objection to an invoice: reminders pause until the collector decides."""

    _name = "collection.dispute"
    _description = "Invoice Dispute"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _rec_name = "invoice_id"

    invoice_id = fields.Many2one(
        "account.move", string="Invoice", required=True, index=True, ondelete="cascade",
        domain=[("move_type", "=", "out_invoice")],
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True
    )
    company_id = fields.Many2one(related="invoice_id.company_id", store=True, index=True)
    reason = fields.Selection(DISPUTE_REASONS, required=True, tracking=True)
    message = fields.Text(string="Customer's Message")
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    source = fields.Selection(
        [("portal", "Customer portal"), ("pay_link", "Pay link"), ("manual", "Manual")],
        default="manual",
        required=True,
    )
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved"), ("rejected", "Rejected")],
        default="open",
        required=True,
        tracking=True,
    )
    resolution_note = fields.Text(
        help="Sent to the customer in the invoice's conversation when you resolve or reject."
    )
    user_id = fields.Many2one("res.users", string="Collector", tracking=True)
    activity_id = fields.Many2one("mail.activity", readonly=True, ondelete="set null")
    amount_residual = fields.Monetary(related="invoice_id.amount_residual")
    currency_id = fields.Many2one(related="invoice_id.currency_id")

    @api.model
    def _collection_open(self, invoice, reason, message, attachments=None, source="portal",
                         author=None):
        """Record a dispute, pause the invoice, tell the collector. ``invoice`` sudo'ed."""
        invoice.ensure_one()
        if invoice.collection_disputed or self.search_count(
            [("invoice_id", "=", invoice.id), ("state", "=", "open")]
        ):
            raise UserError(_("This invoice is already disputed: we are looking into it."))
        attachments = attachments or self.env["ir.attachment"]
        collector = invoice._collection_collector_user()
        reason_label = dict(self._fields["reason"]._description_selection(self.env))[reason]
        dispute = self.create(
            {
                "invoice_id": invoice.id,
                "partner_id": invoice.commercial_partner_id.id,
                "reason": reason,
                "message": message,
                "attachment_ids": [fields.Command.set(attachments.ids)],
                "source": source,
                "user_id": collector.id,
            }
        )
        invoice.write({"collection_disputed": True, "collection_dispute_note": reason_label})
        body = Markup("<p><strong>%s</strong> %s</p>") % (_("Invoice disputed:"), reason_label)
        if message:
            body += Markup("<p>%s</p>") % message
        invoice.with_context(mail_notify_force_send=False).message_post(
            body=body,
            author_id=(author or invoice.partner_id).id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=attachments.ids,
        )
        dispute.activity_id = invoice.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=fields.Date.context_today(self),
            summary=_("Dispute: %s", reason_label),
            note=Markup("<p>%s</p>") % (message or reason_label),
            user_id=collector.id,
        )
        return dispute

    def action_resolve(self):
        self._collection_close("resolved")

    def action_reject(self):
        for dispute in self:
            if not (dispute.resolution_note or "").strip():
                raise UserError(
                    _("Write the reason of the rejection in the note: the customer receives it.")
                )
        self._collection_close("rejected")

    def _collection_close(self, state):
        for dispute in self:
            if dispute.state != "open":
                raise UserError(_("This dispute is already closed."))
            dispute.state = state
            invoice = dispute.invoice_id
            if not self.search_count([("invoice_id", "=", invoice.id), ("state", "=", "open")]):
                # Reminders resume: the engine skips only disputed invoices.
                invoice.write({"collection_disputed": False, "collection_dispute_note": False})
            if state == "resolved":
                head = _("Your dispute about invoice %s is resolved.", invoice.name)
            else:
                head = _("Your dispute about invoice %s was not accepted.", invoice.name)
            body = Markup("<p>%s</p>") % head
            if dispute.resolution_note:
                body += Markup("<p>%s</p>") % dispute.resolution_note
            invoice.with_context(mail_notify_force_send=False).message_post(
                body=body,
                partner_ids=invoice.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
            if dispute.activity_id:
                dispute.activity_id.action_feedback(feedback=head)

    def action_open_invoice(self):
        self.ensure_one()
        return self.invoice_id.get_formview_action()
