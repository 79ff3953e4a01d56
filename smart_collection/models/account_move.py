import logging
from datetime import datetime, time, timedelta, timezone

from markupsafe import Markup
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import epc_qr, legal, matching, pay_tokens, references

_logger = logging.getLogger(__name__)


class AccountMove(models.Model):
    _inherit = "account.move"

    collection_reference = fields.Char(
        string="Collection Reference",
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="Reference the customer quotes on a transfer; unique per company.",
    )
    collection_number_key = fields.Char(
        string="Number Key",
        compute="_compute_collection_number_key",
        store=True,
        index="btree_not_null",
        help="The invoice number without separators, as payers write it in transfer texts.",
    )
    collection_token_nonce = fields.Char(copy=False, groups="base.group_system")
    collection_link_expiry = fields.Datetime(
        string="Pay Link Expires", copy=False, readonly=True
    )
    collection_pay_url = fields.Char(
        string="Pay Link", compute="_compute_collection_pay_url", compute_sudo=True
    )
    collection_link_state = fields.Selection(
        [
            ("none", "No link"),
            ("active", "Active"),
            ("expired", "Expired"),
            ("paid", "Paid"),
        ],
        string="Pay Link Status",
        compute="_compute_collection_pay_url",
        compute_sudo=True,
    )
    collection_thanked = fields.Boolean(copy=False, readonly=True)
    collection_excluded = fields.Boolean(
        string="Excluded from Collection",
        copy=False,
        tracking=True,
        help="No reminder is ever sent for this invoice.",
    )
    collection_disputed = fields.Boolean(
        string="Disputed", copy=False, tracking=True, help="Reminders pause while disputed."
    )
    collection_dispute_note = fields.Char(string="Dispute Reason", copy=False)
    collection_promise_date = fields.Date(
        string="Payment Promised For",
        copy=False,
        tracking=True,
        help="Reminders pause until the day after this date.",
    )
    collection_level_id = fields.Many2one(
        "collection.scenario.level", string="Collection Level", compute="_compute_collection_status"
    )
    collection_next_level_id = fields.Many2one(
        "collection.scenario.level", string="Next Level", compute="_compute_collection_status"
    )
    collection_next_action_date = fields.Date(
        string="Next Reminder", compute="_compute_collection_status"
    )
    collection_status = fields.Char(
        string="Collection Status Code", compute="_compute_collection_status"
    )
    collection_status_text = fields.Char(
        string="Collection Status", compute="_compute_collection_status_text"
    )
    collection_dispatch_ids = fields.One2many(
        "collection.dispatch", "invoice_id", string="Reminders Sent"
    )
    collection_predicted_pay_date = fields.Date(
        string="Predicted Payment Date",
        copy=False,
        readonly=True,
        index=True,
        help="When this open invoice is expected to be paid, from the customer's payment "
        "history. Recomputed every day by the payment-behaviour job.",
    )
    collection_indemnity_move_id = fields.Many2one(
        "account.move",
        string="Recovery Indemnity Invoiced On",
        copy=False,
        readonly=True,
        help="The fixed recovery indemnity is charged once per late invoice.",
    )

    def init(self):
        super().init()
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS account_move_collection_reference_company_uniq"
                " ON account_move (company_id, collection_reference)"
                " WHERE collection_reference IS NOT NULL"
            )
        )
        # The scenario run reads every open customer invoice of a company each day.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS account_move_collection_open_idx"
                " ON account_move (company_id, commercial_partner_id)"
                " WHERE move_type = 'out_invoice' AND state = 'posted'"
                " AND payment_state IN ('not_paid', 'partial')"
            )
        )
        # The payment-behaviour job reads each batch of customers' invoices, paid or not.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS account_move_collection_customer_history_idx"
                " ON account_move (commercial_partner_id, invoice_date_due)"
                " WHERE move_type = 'out_invoice'"
            )
        )

    def _compute_collection_status(self):
        statuses = {
            st.invoice_id.id: st
            for st in self.env["collection.invoice.status"].sudo().search(
                [("invoice_id", "in", self.ids)]
            )
        }
        for move in self:
            status = statuses.get(move.id)
            move.collection_level_id = status.level_id if status else False
            move.collection_next_level_id = status.next_level_id if status else False
            move.collection_next_action_date = status.next_date if status else False
            move.collection_status = status.status if status else False

    @api.depends("collection_status")
    def _compute_collection_status_text(self):
        texts = self.env["collection.dispatch"]._collection_reason_texts()
        for move in self:
            move.collection_status_text = texts.get(
                move.collection_status, move.collection_status or ""
            )

    # ------------------------------------------------------------------ links

    def _collection_is_payable_invoice(self):
        self.ensure_one()
        return self.move_type == "out_invoice" and self.state == "posted"

    @api.depends(
        "state",
        "move_type",
        "payment_state",
        "amount_residual",
        "collection_link_expiry",
        "collection_token_nonce",
    )
    def _compute_collection_pay_url(self):
        now = fields.Datetime.now()
        for move in self:
            if (
                not move._origin.id
                or not move._collection_is_payable_invoice()
                or not move.collection_token_nonce
            ):
                move.collection_pay_url = False
                move.collection_link_state = "none"
                continue
            move.collection_pay_url = f"{move.get_base_url()}/pay/{move._collection_pay_token()}"
            if move.currency_id.is_zero(move.amount_residual):
                move.collection_link_state = "paid"
            elif move.collection_link_expiry and move.collection_link_expiry <= now:
                move.collection_link_state = "expired"
            else:
                move.collection_link_state = "active"

    @api.model
    def _collection_secret(self):
        return self.env["ir.config_parameter"].sudo().get_param("database.secret")

    def _collection_pay_token(self):
        self.ensure_one()
        move = self._origin.sudo()
        expiry = move.collection_link_expiry.replace(tzinfo=timezone.utc)
        return pay_tokens.sign(
            self._collection_secret(),
            move.id,
            move.company_id.id,
            int(expiry.timestamp()),
            move.collection_token_nonce,
        )

    def _collection_compute_expiry(self, from_today=False):
        """End of the day, ``validity`` days after the due date (or the invoice date).

        ``from_today``: a reissued link gets the full period from the later of today and that date.
        """
        self.ensure_one()
        today = fields.Date.context_today(self)
        base = self.invoice_date_due or self.invoice_date or today
        if from_today:
            base = max(base, today)
        days = max(self.company_id.collection_link_validity_days, 1)
        return datetime.combine(base + timedelta(days=days), time(23, 59, 59))

    def _collection_rf_reference(self):
        """The invoice's RF reference: its database id, zero-padded, with check digits."""
        self.ensure_one()
        return references.make_rf(f"{self.id:010d}")

    def _collection_make_reference(self):
        self.ensure_one()
        if self.company_id.collection_reference_mode == "odoo" and self.payment_reference:
            taken = self.search_count(
                [
                    ("company_id", "=", self.company_id.id),
                    ("collection_reference", "=", self.payment_reference),
                    ("id", "!=", self.id),
                ],
                limit=1,
            )
            if not taken:
                return self.payment_reference
        return self._collection_rf_reference()

    LINK_FIELDS = ("collection_reference", "collection_token_nonce", "collection_link_expiry")

    def _collection_init_links(self):
        """Give every posted customer invoice its reference, link nonce and expiry.

        One UPDATE for the whole batch: these columns are the add-on's own and nothing stored
        depends on them, while a write per invoice runs account.move's whole write machinery
        (a tenth of the time of a spreadsheet import of a thousand invoices)."""
        moves = self.sudo().filtered(lambda m: m._collection_is_payable_invoice())
        rows = []
        for move in moves:
            if move.collection_reference and move.collection_token_nonce:
                continue
            nonce, expiry = move.collection_token_nonce, move.collection_link_expiry
            if not nonce:
                nonce, expiry = pay_tokens.new_nonce(), move._collection_compute_expiry()
            reference = move.collection_reference or move._collection_make_reference()
            rows.append(SQL("(%s, %s, %s, %s::timestamp)", move.id, reference, nonce, expiry))
        if not rows:
            return
        moves.flush_recordset(self.LINK_FIELDS)
        self.env.execute_query(SQL(
            """
            UPDATE account_move m
               SET collection_reference = v.reference, collection_token_nonce = v.nonce,
                   collection_link_expiry = v.expiry
              FROM (VALUES %s) AS v(id, reference, nonce, expiry)
             WHERE m.id = v.id
            """,
            SQL(", ").join(rows),
        ))
        moves.invalidate_recordset(self.LINK_FIELDS)
        moves.modified(self.LINK_FIELDS)

    def _get_invoice_computed_reference(self):
        if (
            self.move_type == "out_invoice"
            and self.company_id.collection_reference_mode == "rf"
            and self.id
        ):
            return self.collection_reference or self._collection_rf_reference()
        return super()._get_invoice_computed_reference()

    @api.depends("name", "move_type")
    def _compute_collection_number_key(self):
        for move in self:
            key = matching.normalise_number(move.name) if move.move_type == "out_invoice" else ""
            move.collection_number_key = key if len(key) >= 3 else False

    def _post(self, soft=True):
        self._collection_assign_virtual_iban()
        posted = super()._post(soft=soft)
        posted._collection_init_links()
        return posted

    def _collection_assign_virtual_iban(self):
        """Customer invoices carry their payer's own IBAN when the company uses them.

        Per customer, invoice or point of sale (company setting). A source that cannot give one
        (used up, Stripe error) never blocks posting: the company account is printed and the
        invoice says why. Another payer's virtual IBAN is never left on an invoice.
        """
        Viban = self.env["collection.virtual.iban"].sudo()
        failed = {}  # a failing source is not asked again for the rest of the batch
        for move in self.filtered(lambda m: m.move_type == "out_invoice"):
            try:
                viban = Viban._collection_for_invoice(move, failed)
            except UserError as exc:
                viban = Viban
                move.message_post(
                    body=_("No virtual IBAN for this invoice, the company account is printed: %s",
                           exc.args[0])
                )
            if viban:
                move.partner_bank_id = viban.bank_account_id
                continue
            fallback = Viban._collection_fallback_account(move)
            if fallback is not None:
                move.partner_bank_id = fallback

    def action_collection_regenerate_link(self):
        """Revoke the current pay link and issue a new one with a fresh validity period."""
        for move in self:
            if not move._collection_is_payable_invoice():
                raise UserError(_("Only posted customer invoices have a pay link."))
            move.sudo().write(
                {
                    "collection_token_nonce": pay_tokens.new_nonce(),
                    "collection_link_expiry": move._collection_compute_expiry(from_today=True),
                }
            )
            move.message_post(
                body=_("A new pay link was issued; the previous link no longer works."),
                subtype_xmlid="mail.mt_note",
            )
        return True

    # ------------------------------------------------------------ QR and bank

    def _collection_pay_qr_data_uri(self):
        """QR code of the pay link, inline so the PDF renderer fetches nothing."""
        self.ensure_one()
        if not self.collection_pay_url:
            return False
        return epc_qr.qr_data_uri(self.collection_pay_url, box_size=3)

    def _collection_bank_account(self):
        """The invoice's account; else an IBAN of the company (transfers need one)."""
        self.ensure_one()
        if self.partner_bank_id.acc_type == "iban":
            return self.partner_bank_id
        ibans = self.company_id.partner_id.bank_ids.filtered(lambda b: b.acc_type == "iban")
        return ibans[:1] or self.partner_bank_id or self.company_id.partner_id.bank_ids[:1]

    def _collection_transfer_details(self, amount=None):
        """Bank details for paying ``amount`` (default: all due) by transfer, EPC QR if SEPA."""
        self.ensure_one()
        bank = self._collection_bank_account()
        if not bank:
            return False
        amount = self.amount_residual if amount is None else amount
        details = {
            "holder": bank.partner_id.name or self.company_id.name,
            "account": bank.acc_number,
            "bic": bank.bank_bic or "",
            "reference": self.payment_reference or self.collection_reference or self.name,
            "amount": amount,
            "currency": self.currency_id,
            "epc_qr": False,
        }
        if self.currency_id.name == "EUR" and bank.acc_type == "iban":
            try:
                payload = epc_qr.epc_payload(
                    details["holder"],
                    bank.acc_number,
                    details["bic"],
                    amount,
                    "EUR",
                    reference=details["reference"],
                    text=self.name,
                )
                details["epc_qr"] = epc_qr.qr_data_uri(payload)
            except epc_qr.EpcError as exc:
                _logger.info("no EPC QR for %s: %s", self.name, exc)
        return details

    # ------------------------------------------------------------- messages

    def _notify_get_recipients_groups(self, message, model_description, msg_vals=None):
        """The customer's button in invoice e-mails opens the pay link, not the portal."""
        groups = super()._notify_get_recipients_groups(
            message, model_description, msg_vals=msg_vals
        )
        if not self or self.move_type != "out_invoice" or self.state != "posted":
            return groups
        if self.currency_id.is_zero(self.amount_residual) or not self.collection_pay_url:
            return groups
        for group_name, _group_func, group_data in groups:
            if group_name in ("portal_customer", "additional_intended_recipient", "customer"):
                group_data["has_button_access"] = True
                group_data["button_access"] = {
                    "url": self.collection_pay_url,
                    "title": _("Pay now"),
                }
        return groups

    def _invoice_paid_hook(self):
        res = super()._invoice_paid_hook()
        self._collection_send_thank_you()
        return res

    def _collection_send_thank_you(self):
        template = self.env.ref(
            "smart_collection.mail_template_collection_thank_you", raise_if_not_found=False
        )
        if not template:
            return
        to_thank = self.filtered(
            lambda m: m.move_type == "out_invoice"
            and m.state == "posted"
            and m.payment_state in ("paid", "in_payment")
            and not m.collection_thanked
            and m.company_id.collection_thank_you
            and m.partner_id.email
        )
        for move in to_thank:
            move.with_context(mail_notify_force_send=False).message_post_with_source(
                template,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        to_thank.sudo().write({"collection_thanked": True})

    def action_collection_send_payment_request(self):
        invoices = self.filtered(lambda m: m.move_type == "out_invoice")
        if not invoices:
            raise UserError(_("Select at least one customer invoice."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Send Payment Request"),
            "res_model": "collection.payment.request",
            "view_mode": "form",
            "target": "new",
            "context": {"default_invoice_ids": [(6, 0, invoices.ids)]},
        }

    # ------------------------------------------------------------------ legal fees

    @api.model
    def _collection_open_invoices_domain(self, partner, company):
        """A customer's posted customer invoices still to be paid, in one company."""
        return [
            ("commercial_partner_id", "=", partner.commercial_partner_id.id),
            ("company_id", "=", company.id),
            ("move_type", "=", "out_invoice"),
            ("state", "=", "posted"),
            ("payment_state", "in", ("not_paid", "partial")),
        ]

    def _collection_fee_lines(self, until):
        """Statutory indemnity and late interest per invoice, under the creditor's law."""
        rates = [
            legal.EcbRate(rate.date_from, rate.rate)
            for rate in self.env["collection.ecb.rate"].sudo().search([])
        ]
        eur = self.env.ref("base.EUR")  # the statutory indemnity is fixed in euros
        lines = []
        for invoice in self:
            company = invoice.company_id
            country = company.account_fiscal_country_id.code or company.country_id.code
            customer = invoice.commercial_partner_id
            indemnity = legal.recovery_indemnity(
                country, customer.is_company, bool(invoice.collection_indemnity_move_id)
            )
            try:
                interest = legal.late_interest(
                    country,
                    customer.is_company,
                    invoice.amount_residual,
                    invoice.invoice_date_due,
                    until,
                    rates,
                    contract_rate=customer.with_company(company).collection_contract_rate or None,
                )
            except legal.MissingRate as exc:
                raise UserError(
                    self.env._(
                        "%(error)s Add it under Collection > Configuration > ECB Rates.",
                        error=exc,
                    )
                )
            indemnity_amount = eur._convert(
                float(indemnity.amount), invoice.currency_id, company, until
            )
            lines.append(
                {
                    "invoice": invoice,
                    "indemnity": indemnity,
                    "indemnity_amount": invoice.currency_id.round(indemnity_amount),
                    "interest": interest,
                    "interest_amount": float(interest.amount),
                    "total": invoice.currency_id.round(
                        invoice.amount_residual + indemnity_amount + float(interest.amount)
                    ),
                }
            )
        return lines

    # ------------------------------------------------------------------ self-service

    collection_dispute_ids = fields.One2many(
        "collection.dispute", "invoice_id", string="Disputes"
    )
    collection_dispute_count = fields.Integer(compute="_compute_collection_dispute_count")

    @api.depends("collection_dispute_ids")
    def _compute_collection_dispute_count(self):
        counts = dict(
            self.env["collection.dispute"]._read_group(
                [("invoice_id", "in", self.ids)], ["invoice_id"], ["__count"]
            )
        )
        for move in self:
            move.collection_dispute_count = counts.get(move._origin, 0)

    def action_collection_disputes(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Disputes"),
            "res_model": "collection.dispute",
            "view_mode": "list,form",
            "domain": [("invoice_id", "=", self.id)],
            "context": {"default_invoice_id": self.id},
        }

    def _collection_collector_user(self):
        """Who handles what the customer asks: the customer's collector, else the invoice's
        salesperson, else the company's default collector (as for call tasks)."""
        self.ensure_one()
        move = self.sudo().with_company(self.company_id)
        partner = move.commercial_partner_id
        return (
            partner.collection_collector_id
            or move.invoice_user_id
            or move.env["collection.engine"]._collection_collector(partner)
        )

    def _collection_self_service_open(self):
        """Disputes, promises and requests are for posted customer invoices still due."""
        self.ensure_one()
        return (
            self.move_type == "out_invoice"
            and self.state == "posted"
            and self.payment_state in ("not_paid", "partial")
        )

    def _collection_customer_request(self, kind, message, author=None):
        """A copy of the invoice or a credit note asked by the customer: log it, tell the
        collector. ``self`` sudo'ed."""
        self.ensure_one()
        title = {
            "copy": self.env._("The customer asks for a copy of the invoice."),
            "credit_note": self.env._("The customer asks for a credit note."),
        }[kind]
        body = Markup("<p><strong>%s</strong></p>") % title
        if message:
            body += Markup("<p>%s</p>") % message
        self.with_context(mail_notify_force_send=False).message_post(
            body=body,
            author_id=(author or self.partner_id).id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return self.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=fields.Date.context_today(self),
            summary=title,
            note=Markup("<p>%s</p>") % (message or title),
            user_id=self._collection_collector_user().id,
        )

    # ------------------------------------------------------------------ instalment plans

    collection_instalment_plan_ids = fields.One2many(
        "collection.instalment.plan", "invoice_id", string="Instalment Plans"
    )
    collection_instalment_plan_id = fields.Many2one(
        "collection.instalment.plan", compute="_compute_collection_instalment_plan_id",
        string="Active Instalment Plan",
    )
    collection_instalment_plan_count = fields.Integer(
        compute="_compute_collection_instalment_plan_id"
    )

    @api.depends("collection_instalment_plan_ids.state")
    def _compute_collection_instalment_plan_id(self):
        for move in self:
            plans = move.collection_instalment_plan_ids
            move.collection_instalment_plan_id = plans.filtered(
                lambda p: p.state == "active"
            )[:1]
            move.collection_instalment_plan_count = len(plans)

    def action_collection_instalment_wizard(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Instalment Plan"),
            "res_model": "collection.instalment.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_invoice_id": self.id},
        }

    def action_collection_instalment_cancel(self):
        self.collection_instalment_plan_id.action_cancel()

    def action_collection_instalment_plans(self):
        self.ensure_one()
        plans = self.collection_instalment_plan_ids
        action = {
            "type": "ir.actions.act_window",
            "name": self.env._("Instalment Plans"),
            "res_model": "collection.instalment.plan",
            "view_mode": "list,form",
            "domain": [("invoice_id", "=", self.id)],
        }
        if len(plans) == 1:
            action.update(view_mode="form", res_id=plans.id)
        return action
