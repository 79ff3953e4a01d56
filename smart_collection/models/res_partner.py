import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import risk

_logger = logging.getLogger(__name__)

HOLD_REASONS = [
    ("manual", "Manual hold"),
    ("promise", "Payment promised"),
    ("dispute", "Dispute"),
    ("pending", "Payment pending"),
    ("negotiation", "Payment plan negotiation"),
]

RISK_CLASSES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E")]


class ResPartner(models.Model):
    _inherit = "res.partner"

    def init(self):
        super().init()
        # Bank matching looks payers up by name, whatever the case they wrote it in.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS res_partner_collection_lower_name_idx"
            " ON res_partner (lower(name)) WHERE parent_id IS NULL"
        ))

    collection_scenario_id = fields.Many2one(
        "collection.scenario",
        string="Collection Scenario",
        company_dependent=True,
        help="Overrides the tag rules and the company's default scenario.",
    )
    collection_collector_id = fields.Many2one(
        "res.users",
        string="Collector",
        company_dependent=True,
        help="Receives the phone-call tasks of this customer.",
    )
    collection_hold_until = fields.Date(
        string="Collection on Hold Until",
        company_dependent=True,
        help="No reminder is sent to this customer until this date included.",
    )
    collection_hold_reason = fields.Selection(
        HOLD_REASONS, string="Hold Reason", company_dependent=True
    )
    collection_hold_note = fields.Char(string="Hold Note", company_dependent=True)
    collection_opt_out_email = fields.Boolean(string="No Reminder E-mails")
    collection_opt_out_sms = fields.Boolean(string="No Reminder SMS")
    collection_opt_out_letter = fields.Boolean(string="No Reminder Letters")
    collection_legal = fields.Boolean(
        string="Legal Follow-up",
        company_dependent=True,
        help="Set when the formal notice is sent: the scenarios stop for this customer.",
    )
    collection_legal_date = fields.Date(string="Formal Notice Date", company_dependent=True)
    collection_contract_rate = fields.Float(
        string="Contractual Late Interest (%)",
        company_dependent=True,
        digits=(5, 3),
        help="Annual late-payment rate agreed with this customer. Leave at 0 for the statutory "
        "rate (ECB rate + 10 points in France, + 8 points in Spain).",
    )
    collection_dispatch_ids = fields.One2many(
        "collection.dispatch", "partner_id", string="Collection Dispatches"
    )
    collection_promise_ids = fields.One2many(
        "collection.promise", "partner_id", string="Payment Promises"
    )
    # Payment behaviour: written in bulk by _cron_compute_collection_risk, never on the fly.
    collection_risk_score = fields.Float(
        string="Payment Risk Score",
        digits=(5, 1),
        readonly=True,
        help="0 = pays on time, 100 = riskiest. Computed daily from the payment history.",
    )
    collection_risk_class = fields.Selection(
        RISK_CLASSES,
        string="Payment Risk Class",
        readonly=True,
        index=True,
        help="A: pays on time (score below 20), B: below 40, C: below 60, D: below 80, "
        "E: 80 and above.",
    )
    collection_risk_factors = fields.Text(
        string="Risk Factors", readonly=True, help="What weighs most in the score, in words."
    )
    collection_avg_days_late = fields.Float(
        string="Average Days Late",
        digits=(6, 1),
        readonly=True,
        help="Days between due date and payment, weighted by amount and recency.",
    )
    collection_risk_date = fields.Date(string="Risk Computed On", readonly=True)
    collection_dispatch_count = fields.Integer(compute="_compute_collection_counts")
    collection_promise_count = fields.Integer(compute="_compute_collection_counts")

    @api.depends("collection_dispatch_ids", "collection_promise_ids")
    def _compute_collection_counts(self):
        dispatches = dict(
            self.env["collection.dispatch"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        promises = dict(
            self.env["collection.promise"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.collection_dispatch_count = dispatches.get(partner, 0)
            partner.collection_promise_count = promises.get(partner, 0)

    # ------------------------------------------------------------------ actions

    def action_collection_release_hold(self):
        self.write(
            {
                "collection_hold_until": False,
                "collection_hold_reason": False,
                "collection_hold_note": False,
            }
        )

    def action_collection_send_now(self):
        """Run today's plan for these customers at once, ignoring the daily schedule."""
        partners = self.commercial_partner_id
        result = self.env["collection.engine"]._collection_run(partner_ids=partners.ids)
        return self._collection_notify_run(result)

    def action_collection_skip_level(self):
        """Record the next level of every open invoice as skipped, so the one after follows."""
        engine = self.env["collection.engine"]
        skipped = engine._collection_skip_next_level(self.commercial_partner_id.ids)
        if not skipped:
            raise UserError(self.env._("No open invoice of this customer has a next level."))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("%s level(s) skipped.", skipped),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_collection_hold(self):
        return self.env["collection.hold.wizard"]._collection_open(self.commercial_partner_id)

    def action_collection_log_call(self):
        return self.env["collection.call.wizard"]._collection_open(self.commercial_partner_id)

    def action_collection_fees(self):
        return self.env["collection.fee.wizard"]._collection_open(self.commercial_partner_id)

    def _collection_notify_run(self, result):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if not result["failed"] else "warning",
                "message": self.env._(
                    "%(sent)s message(s) or task(s) sent, %(failed)s failed, %(planned)s "
                    "waiting for SMS hours.",
                    sent=result["sent"],
                    failed=result["failed"],
                    planned=result["planned"],
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_collection_open_dispatches(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "smart_collection.action_collection_dispatch"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------ payment behaviour

    RISK_BATCH = 500  # customers per committed batch
    RISK_HISTORY_DAYS = 730  # payments older than this weigh under 6% and are left out

    @api.model
    def _cron_compute_collection_risk(self, batch_size=None):
        """Daily: score every customer's payment behaviour and predict its open invoices."""
        engine = self.env["collection.engine"]
        partners = self.sudo()
        today = fields.Date.context_today(partners)
        prior = partners._collection_risk_prior(today)
        # Customers already scored today are skipped: a killed run resumes where it stopped.
        todo = partners._collection_risk_todo(today)
        size = batch_size or self.RISK_BATCH
        done = 0
        for start in range(0, len(todo), size):
            ids = todo[start:start + size]
            partners.browse(ids)._collection_compute_risk(today, prior)
            done += len(ids)
            engine._collection_commit()
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(todo) - done)
        _logger.info("collection: payment behaviour of %s customer(s) scored", done)
        return done

    def action_collection_compute_risk(self):
        """Score these customers now (the button on the customer form)."""
        partners = self.commercial_partner_id.sudo()
        today = fields.Date.context_today(self)
        partners._collection_compute_risk(today, partners._collection_risk_prior(today))

    @api.model
    def _collection_risk_since(self, today):
        return today - timedelta(days=self.RISK_HISTORY_DAYS)

    @api.model
    def _collection_risk_todo(self, today):
        """Commercial partners with customer invoices (or an old score) not scored today."""
        self.env["account.move"].flush_model(["commercial_partner_id", "move_type", "state"])
        self.flush_model(["collection_risk_date", "collection_risk_class"])
        rows = self.env.execute_query(SQL(
            """
            SELECT p.id FROM res_partner p
             WHERE (p.collection_risk_date IS NULL OR p.collection_risk_date < %(today)s)
               AND p.id IN (
                    SELECT m.commercial_partner_id FROM account_move m
                     WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
                       AND m.invoice_date_due >= %(since)s
                     UNION
                    SELECT r.id FROM res_partner r WHERE r.collection_risk_class IS NOT NULL)
             ORDER BY p.id
            """,
            today=today,
            since=self._collection_risk_since(today),
        ))
        return [row[0] for row in rows]

    @api.model
    def _collection_risk_paid_rows(self, today, partner_ids=None):
        """(partner, invoice date, due date, paid date, amount) of paid customer invoices.

        The paid date is the latest reconciliation of the invoice's receivable lines.
        """
        for model in ("account.move", "account.move.line", "account.partial.reconcile"):
            self.env[model].flush_model()
        partner_filter = (
            SQL("AND m.commercial_partner_id = ANY(%s)", partner_ids) if partner_ids else SQL()
        )
        return self.env.execute_query(SQL(
            """
            SELECT m.commercial_partner_id, m.invoice_date, m.invoice_date_due,
                   MAX(apr.max_date), ABS(m.amount_total_signed)
              FROM account_move m
              JOIN account_move_line l ON l.move_id = m.id AND l.display_type = 'payment_term'
              JOIN account_partial_reconcile apr ON apr.debit_move_id = l.id
             WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
               AND m.payment_state IN ('paid', 'in_payment')
               AND m.invoice_date_due >= %(since)s %(partners)s
             GROUP BY m.id
            """,
            since=self._collection_risk_since(today),
            partners=partner_filter,
        ))

    @api.model
    def _collection_risk_prior(self, today):
        """What the whole book says, for customers with little history of their own."""
        delays = defaultdict(list)
        for partner_id, _inv_date, due, paid, _amount in self._collection_risk_paid_rows(today):
            if due and paid and paid <= today:
                delays[partner_id].append((paid - due).days)
        return risk.fit_prior_from_delays(delays.values())

    def _collection_risk_customers(self, today):
        """The pure core's view of these commercial partners."""
        ids = self.ids
        paid = defaultdict(list)
        for pid, inv_date, due, paid_on, amount in self._collection_risk_paid_rows(today, ids):
            if due and paid_on:
                paid[pid].append(risk.PaidInvoice(inv_date or due, due, paid_on, amount or 0.0))
        open_items = defaultdict(list)
        open_rows = self.env.execute_query(SQL(
            """
            SELECT m.commercial_partner_id, m.id, m.invoice_date, m.invoice_date_due,
                   m.amount_residual_signed
              FROM account_move m
             WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
               AND m.payment_state IN ('not_paid', 'partial')
               AND m.commercial_partner_id = ANY(%s)
            """,
            ids,
        ))
        for pid, move_id, inv_date, due, residual in open_rows:
            due = due or inv_date or today
            open_items[pid].append(risk.OpenItem(move_id, inv_date or due, due, residual or 0.0))
        disputes = dict(self.env.execute_query(SQL(
            """
            SELECT m.commercial_partner_id, count(*) FROM account_move m
             WHERE m.move_type = 'out_invoice' AND m.state = 'posted' AND m.collection_disputed
               AND m.invoice_date_due >= %s AND m.commercial_partner_id = ANY(%s)
             GROUP BY m.commercial_partner_id
            """,
            self._collection_risk_since(today),
            ids,
        )))
        self.env["collection.promise"].flush_model()
        broken = dict(self.env.execute_query(SQL(
            """
            SELECT COALESCE(p.commercial_partner_id, p.id), count(*)
              FROM collection_promise cp JOIN res_partner p ON p.id = cp.partner_id
             WHERE cp.state = 'broken' AND cp.date >= %s
               AND COALESCE(p.commercial_partner_id, p.id) = ANY(%s)
             GROUP BY 1
            """,
            self._collection_risk_since(today),
            ids,
        )))
        credit = self._collection_risk_credit(ids)
        return [
            risk.Customer(
                key=pid,
                paid=tuple(paid[pid]),
                open_items=tuple(open_items[pid]),
                disputes=disputes.get(pid, 0),
                broken_promises=broken.get(pid, 0),
                exposure=credit.get(pid, (0.0, None))[0],
                credit_limit=credit.get(pid, (0.0, None))[1],
            )
            for pid in ids
        ]

    @api.model
    def _collection_risk_credit(self, ids):
        """{partner: (exposure, credit limit)} in the company where the ratio is highest.

        Only companies that use credit limits count; the limit is the customer's own or the
        company's default one (Odoo's fallback of the company-dependent field).
        """
        result = {}
        companies = self.env["res.company"].search([("account_use_credit_limit", "=", True)])
        for company in companies:
            rows = dict(self.env.execute_query(SQL(
                """
                SELECT COALESCE(p.commercial_partner_id, p.id), SUM(l.amount_residual)
                  FROM account_move_line l
                  JOIN account_account a ON a.id = l.account_id
                  JOIN res_partner p ON p.id = l.partner_id
                 WHERE a.account_type = 'asset_receivable' AND l.parent_state = 'posted'
                   AND l.company_id = %s AND NOT l.reconciled
                   AND COALESCE(p.commercial_partner_id, p.id) = ANY(%s)
                 GROUP BY 1
                """,
                company.id,
                ids,
            )))
            for partner in self.browse(ids).with_company(company):
                limit = partner.credit_limit
                exposure = rows.get(partner.id) or 0.0
                if limit <= 0:
                    continue
                best = result.get(partner.id)
                if best is None or exposure / limit > best[0] / best[1]:
                    result[partner.id] = (exposure, limit)
        return result

    def _collection_compute_risk(self, today, prior):
        """Score these commercial partners and write the results with a few UPDATEs."""
        if not self:
            return
        assessments = [
            risk.assess(customer, prior, today)
            for customer in self._collection_risk_customers(today)
        ]
        # One stored text for everybody: worded in the company's language.
        wording = self.with_context(lang=self.env.company.partner_id.lang or self.env.lang)
        texts = {r.key: wording._collection_risk_factors_text(r.factors) for r in assessments}
        self.env.execute_query(SQL(
            """
            UPDATE res_partner p
               SET collection_risk_score = v.score, collection_risk_class = v.class,
                   collection_risk_factors = v.factors, collection_avg_days_late = v.late,
                   collection_risk_date = %(today)s
              FROM unnest(%(ids)s::int[], %(scores)s::float[], %(classes)s::varchar[],
                          %(factors)s::text[], %(late)s::float[])
                   AS v(id, score, class, factors, late)
             WHERE p.id = v.id
            """,
            today=today,
            ids=[r.key for r in assessments],
            scores=[r.score for r in assessments],
            classes=[r.risk_class for r in assessments],
            factors=[texts[r.key] for r in assessments],
            late=[r.avg_days_late for r in assessments],
        ))
        predictions = [(key, day) for r in assessments for key, day in r.predictions.items()]
        self.env["account.move"].flush_model(["collection_predicted_pay_date"])
        self.env.execute_query(SQL(
            """
            UPDATE account_move m SET collection_predicted_pay_date = NULL
             WHERE m.move_type = 'out_invoice' AND m.commercial_partner_id = ANY(%s)
               AND m.collection_predicted_pay_date IS NOT NULL
               AND NOT (m.id = ANY(%s))
            """,
            self.ids,
            [key for key, _day in predictions],
        ))
        if predictions:
            self.env.execute_query(SQL(
                """
                UPDATE account_move m SET collection_predicted_pay_date = v.day
                  FROM unnest(%s::int[], %s::date[]) AS v(id, day)
                 WHERE m.id = v.id
                """,
                [key for key, _day in predictions],
                [day for _key, day in predictions],
            ))
        self.invalidate_model(
            [
                "collection_risk_score", "collection_risk_class", "collection_risk_factors",
                "collection_avg_days_late", "collection_risk_date",
            ]
        )
        self.env["account.move"].invalidate_model(["collection_predicted_pay_date"])

    @api.model
    def _collection_risk_factors_text(self, factors, limit=4):
        """The heaviest factors in words, one per line, in the context's language."""
        _ = self.env._
        lines = []
        for code, value in factors[:limit]:
            if code == "late_share":
                lines.append(_("%s%% of the invoices paid late", round(value * 100)))
            elif code == "avg_days_late":
                lines.append(_("Pays %s days late on average", value))
            elif code == "trend":
                lines.append(
                    _("Pays %s days later over the last 3 months than in the months before",
                      value)
                )
            elif code == "open_overdue":
                lines.append(_("Open invoices are %s days overdue on average", value))
            elif code == "broken_promises":
                lines.append(_("%s broken payment promise(s)", value))
            elif code == "disputes":
                lines.append(_("%s disputed invoice(s)", value))
            elif code == "over_credit_limit":
                lines.append(_("Owes %s times the credit limit", value))
            elif code == "little_history":
                lines.append(
                    _("Little payment history (%s paid invoice(s)): scored close to the "
                      "average customer", value)
                )
        return "\n".join(lines) or _("Pays on time.")
