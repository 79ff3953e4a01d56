from datetime import timedelta

from markupsafe import Markup
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CollectionPromise(models.Model):
    """A customer's promise to pay: reminders pause until the day after the promised date."""

    _name = "collection.promise"
    _description = "Payment Promise"
    _order = "date desc, id desc"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    invoice_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain=[("move_type", "=", "out_invoice"), ("state", "=", "posted")],
    )
    date = fields.Date(string="Promised Date", required=True)
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    source = fields.Selection(
        [("call", "Phone call"), ("portal", "Customer portal"), ("manual", "Manual")],
        default="manual",
        required=True,
    )
    state = fields.Selection(
        [("open", "Open"), ("kept", "Kept"), ("broken", "Broken"), ("cancel", "Cancelled")],
        compute="_compute_state",
        store=True,
        readonly=False,
    )
    user_id = fields.Many2one("res.users", default=lambda self: self.env.user)
    note = fields.Text()
    collection_broken_done = fields.Boolean(
        string="Broken Promise Handled",
        copy=False,
        readonly=True,
        help="Set once reminders resumed and the collector was told the promise was broken.",
    )

    @api.constrains("source", "state", "invoice_ids")
    def _check_one_open_portal_promise(self):
        for promise in self.filtered(lambda p: p.source == "portal" and p.state == "open"):
            for invoice in promise.invoice_ids:
                if self.search_count(
                    [
                        ("id", "!=", promise.id),
                        ("source", "=", "portal"),
                        ("state", "=", "open"),
                        ("invoice_ids", "in", invoice.ids),
                    ]
                ):
                    raise ValidationError(
                        self.env._(
                            "Invoice %s already has an open promise to pay from the customer.",
                            invoice.name,
                        )
                    )

    @api.depends("date", "invoice_ids.payment_state")
    def _compute_state(self):
        today = fields.Date.context_today(self)
        for promise in self:
            if promise.state == "cancel":
                continue
            invoices = promise.invoice_ids
            if invoices and all(inv.payment_state in ("paid", "reversed") for inv in invoices):
                promise.state = "kept"
            elif promise.date and promise.date < today:
                promise.state = "broken"
            else:
                promise.state = "open"

    @api.model_create_multi
    def create(self, vals_list):
        promises = super().create(vals_list)
        promises._collection_apply()
        return promises

    def _collection_apply(self):
        """Pause the promised invoices (or the whole customer) until the day after the date."""
        for promise in self:
            if promise.invoice_ids:
                promise.invoice_ids.write({"collection_promise_date": promise.date})
            else:
                promise.partner_id.commercial_partner_id.write(
                    {
                        "collection_hold_until": promise.date + timedelta(days=1),
                        "collection_hold_reason": "promise",
                    }
                )

    def action_cancel(self):
        self.write({"state": "cancel"})
        self.invoice_ids.filtered(
            lambda inv: inv.collection_promise_date in self.mapped("date")
        ).write({"collection_promise_date": False})

    @api.model
    def _cron_check_promises(self):
        """Recompute the state of open promises whose date has passed; a broken promise
        resumes the reminders it paused and gives the collector a task."""
        today = fields.Date.context_today(self)
        due = self.search([("state", "=", "open"), ("date", "<", today)])
        due._compute_state()
        # A week back: the daily run never misses one, and promises broken long before this
        # check existed do not flood the collectors (their pause already ended with the date).
        self.search(
            [
                ("state", "=", "broken"),
                ("collection_broken_done", "=", False),
                ("date", ">=", today - timedelta(days=7)),
            ]
        )._collection_handle_broken()

    def _collection_handle_broken(self):
        for promise in self:
            promise = promise.with_company(promise.company_id)
            unpaid = promise.invoice_ids.filtered(
                lambda inv: inv.payment_state in ("not_paid", "partial")
            )
            # Only the pause this promise set: a newer promise keeps its own date.
            promised = promise.date
            unpaid.filtered(lambda inv, day=promised: inv.collection_promise_date == day).write(
                {"collection_promise_date": False}
            )
            partner = promise.partner_id.commercial_partner_id
            if (
                not promise.invoice_ids
                and partner.collection_hold_reason == "promise"
                and partner.collection_hold_until == promise.date + timedelta(days=1)
            ):
                partner.write({"collection_hold_until": False, "collection_hold_reason": False})
            promise._collection_notify_broken(unpaid, partner)
            promise.collection_broken_done = True

    def _collection_notify_broken(self, invoices, partner):
        env = self.env
        summary = env._("Broken promise to pay")
        note = Markup("<p>%s</p>") % env._(
            "%(customer)s promised to pay %(amount)s by %(date)s; reminders resumed.",
            customer=partner.display_name,
            amount=self.currency_id.format(self.amount or 0.0),
            date=fields.Date.to_string(self.date),
        )
        record = invoices[:1] or partner
        collector = (
            invoices[:1]._collection_collector_user()
            if invoices
            else env["collection.engine"]._collection_collector(partner)
        )
        record.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=fields.Date.context_today(self),
            summary=summary,
            note=note,
            user_id=collector.id,
        )
        for invoice in invoices:
            invoice._message_log(body=note)

    @api.model
    def _collection_portal_create(self, invoice, day, amount, author=None):
        """A promise the customer made on the portal or a pay link. ``invoice`` sudo'ed."""
        promise = self.create(
            {
                "partner_id": invoice.commercial_partner_id.id,
                "company_id": invoice.company_id.id,
                "invoice_ids": [fields.Command.set(invoice.ids)],
                "date": day,
                "amount": amount,
                "currency_id": invoice.currency_id.id,
                "source": "portal",
                "user_id": invoice._collection_collector_user().id,
            }
        )
        invoice.with_context(mail_notify_force_send=False).message_post(
            body=Markup("<p>%s</p>") % self.env._(
                "Promise to pay %(amount)s by %(date)s.",
                amount=invoice.currency_id.format(amount),
                date=fields.Date.to_string(day),
            ),
            author_id=(author or invoice.partner_id).id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return promise
