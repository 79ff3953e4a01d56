from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import phones, self_service


class CollectionPaymentRequest(models.TransientModel):
    """Send pay links by e-mail and/or SMS; what cannot be sent is listed, the rest goes out."""

    _name = "collection.payment.request"
    _description = "Send Payment Request"

    invoice_ids = fields.Many2many(
        "account.move", string="Invoices", domain=[("move_type", "=", "out_invoice")]
    )
    send_email = fields.Boolean("By e-mail", default=True)
    send_sms = fields.Boolean("By SMS", default=False)
    mail_template_id = fields.Many2one(
        "mail.template",
        string="E-mail Template",
        domain=[("model", "=", "account.move")],
        default=lambda self: self.env.ref(
            "smart_collection.mail_template_collection_payment_request", raise_if_not_found=False
        ),
    )
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain=[("model", "=", "account.move")],
        default=lambda self: self.env.ref(
            "smart_collection.sms_template_collection_payment_request", raise_if_not_found=False
        ),
    )
    group_mail_template_id = fields.Many2one(
        "mail.template",
        string="E-mail Template (several invoices)",
        domain=[("model", "=", "res.partner")],
        help="Used for a customer with several selected invoices; rendered with `invoices`.",
        default=lambda self: self.env.ref(
            "smart_collection.mail_template_collection_payment_request_grouped",
            raise_if_not_found=False,
        ),
    )
    group_sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template (several invoices)",
        domain=[("model", "=", "res.partner")],
        help="Used for a customer with several selected invoices; rendered with `invoices`, "
        "`total` and `link` (the oldest invoice's pay link).",
        default=lambda self: self.env.ref(
            "smart_collection.sms_template_collection_payment_request_grouped",
            raise_if_not_found=False,
        ),
    )
    problem_count = fields.Integer(compute="_compute_problems")
    problems_html = fields.Html(compute="_compute_problems", sanitize=False)
    result_html = fields.Html(readonly=True, sanitize=False)
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")

    @api.depends("invoice_ids", "send_email", "send_sms")
    def _compute_problems(self):
        for wizard in self:
            problems = wizard._collection_problems()
            wizard.problem_count = sum(len(v) for v in problems.values())
            wizard.problems_html = wizard._collection_render(problems)

    def _collection_check(self, invoice):
        """Return ``({channel: target}, [problems])`` for one invoice."""
        targets, problems = {}, []
        if invoice.state != "posted" or invoice.move_type != "out_invoice":
            return targets, [_("not a posted customer invoice")]
        if invoice.currency_id.is_zero(invoice.amount_residual):
            return targets, [_("already paid")]
        if not invoice.collection_pay_url:
            return targets, [_("no pay link")]
        partner = invoice.partner_id
        if self.send_email:
            if partner.email and "@" in partner.email:
                targets["email"] = partner.email
            else:
                problems.append(_("e-mail: missing or invalid address"))
        if self.send_sms:
            number = partner.mobile or partner.phone
            try:
                targets["sms"] = phones.normalize_mobile(number, partner.country_id.code)
            except phones.InvalidPhone as exc:
                problems.append(_("SMS: %s", self._collection_phone_reason(exc.code, number)))
        return targets, problems

    def _collection_phone_reason(self, code, number):
        _ = self.env._
        return {
            "missing": _("no mobile number"),
            "unparsable": _("cannot read the number %s", number),
            "invalid": _("%s is not a valid number for the customer's country", number),
            "not_mobile": _("%s is a fixed line", number),
        }.get(code, _("invalid number"))

    def _collection_problems(self):
        problems = {}
        for invoice in self.invoice_ids._origin:
            _targets, issues = self._collection_check(invoice)
            if issues:
                problems[invoice] = issues
        return problems

    @staticmethod
    def _collection_render(problems):
        if not problems:
            return False
        rows = Markup("").join(
            Markup("<li><strong>%s</strong> (%s): %s</li>")
            % (invoice.name, invoice.partner_id.display_name, "; ".join(issues))
            for invoice, issues in problems.items()
        )
        return Markup("<ul class='mb-0'>%s</ul>") % rows

    def action_send(self):
        """Queue one e-mail and one SMS per customer: a customer with a single selected
        invoice gets the invoice's own request, several invoices are listed in one message."""
        self.ensure_one()
        if not (self.send_email or self.send_sms):
            raise UserError(_("Choose e-mail, SMS or both."))
        if self.send_email and not self.mail_template_id:
            raise UserError(_("Choose an e-mail template."))
        if self.send_sms and not self.sms_template_id:
            raise UserError(_("Choose an SMS template."))
        problems, rows, targets_by_invoice = {}, {"email": [], "sms": []}, {}
        for invoice in self.invoice_ids._origin:
            targets, issues = self._collection_check(invoice)
            if issues:
                problems[invoice] = issues
            targets_by_invoice[invoice] = targets
            for channel in targets:
                rows[channel].append(
                    (invoice.commercial_partner_id, invoice, invoice.invoice_date_due)
                )
        mails = sms_count = 0
        customers = self.env["res.partner"]
        for customer, invoices in self_service.group_by_customer(rows["email"]).items():
            self._collection_send_email(customer, invoices)
            customers |= customer
            mails += 1
        for customer, invoices in self_service.group_by_customer(rows["sms"]).items():
            self._collection_send_sms(customer, invoices, targets_by_invoice[invoices[0]]["sms"])
            customers |= customer
            sms_count += 1
        summary = Markup("<p>%s</p>") % _(
            "%(customers)s customer(s): %(mails)s e-mail(s) and %(sms)s SMS queued for "
            "%(count)s invoice(s).",
            customers=len(customers),
            mails=mails,
            sms=sms_count,
            count=len(self.invoice_ids),
        )
        if problems:
            summary += Markup("<p>%s</p>") % _("Not sent:") + self._collection_render(problems)
        self.write({"state": "done", "result_html": summary})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Payment Requests Sent"),
        }

    def _collection_send_email(self, customer, invoices):
        if len(invoices) == 1:
            invoices[0].with_context(mail_notify_force_send=False).message_post_with_source(
                self.mail_template_id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
            return
        template = self.group_mail_template_id or self.env.ref(
            "smart_collection.mail_template_collection_payment_request_grouped"
        )
        invoices = self.env["account.move"].union(*invoices)
        company = invoices.company_id[:1]
        values = {"invoices": invoices, "company": company}
        customer = customer.with_company(company)
        render = {
            field: template._render_field(
                field, customer.ids, compute_lang=True, add_context=values
            )[customer.id]
            for field in ("subject", "body_html", "email_from")
        }
        recipients = invoices.partner_id.filtered(lambda p: p.email and "@" in p.email)
        customer.with_context(mail_notify_force_send=False).message_post(
            body=render["body_html"],
            subject=render["subject"],
            email_from=render["email_from"] or company.email_formatted,
            author_id=company.partner_id.id,
            partner_ids=recipients.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        for invoice in invoices:
            invoice._message_log(
                body=_("Payment request sent to %s with the customer's other open invoices.",
                       ", ".join(recipients.mapped("email")))
            )

    def _collection_send_sms(self, customer, invoices, number):
        recipient = invoices[0].partner_id
        if len(invoices) == 1:
            invoice = invoices[0]
            body = self.sms_template_id._render_field(
                "body", invoice.ids, compute_lang=True
            )[invoice.id]
            invoice._message_sms(
                body,
                partner_ids=recipient.ids,
                sms_pid_to_number={recipient.id: number},
                put_in_queue=True,
            )
            return
        template = self.group_sms_template_id or self.env.ref(
            "smart_collection.sms_template_collection_payment_request_grouped"
        )
        invoices = self.env["account.move"].union(*invoices)
        totals = {}
        for invoice in invoices:
            totals[invoice.currency_id] = totals.get(invoice.currency_id, 0.0) + (
                invoice.amount_residual
            )
        values = {
            "invoices": invoices,
            "company": invoices.company_id[:1],
            # Oldest due first: its link is the one worth paying now.
            "link": invoices[0].collection_pay_url,
            "total": ", ".join(currency.format(total) for currency, total in totals.items()),
        }
        body = template._render_field(
            "body", customer.ids, compute_lang=True, add_context=values
        )[customer.id]
        customer._message_sms(
            body,
            partner_ids=recipient.ids,
            sms_pid_to_number={recipient.id: number},
            put_in_queue=True,
        )
