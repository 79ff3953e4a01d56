from datetime import date, datetime
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..services import kpi

#: Months of sales read for the DSO count-back.
DSO_MONTHS = 24
RISKY_LIMIT = 10


class CollectionCockpit(models.AbstractModel):
    """The one computation behind the cockpit, the monthly report and the analysis.

    ``_collection_kpis`` reads the ledger with a few set-based queries and hands plain data to
    ``services.kpi``: the dashboard and the PDF report both call it, so their figures match.
    Amounts are in company currency; only the user's allowed companies are read.
    """

    _name = "collection.cockpit"
    _description = "Collection Cockpit"

    # ------------------------------------------------------------------ filters

    @api.model
    def _collection_companies(self, company_ids=None):
        """Requested companies, never beyond the user's allowed ones (``env.companies``)."""
        allowed = self.env.companies
        if company_ids:
            allowed = allowed.filtered(lambda c: c.id in set(company_ids))
        return allowed

    @api.model
    def _collection_line_filter(self, companies, user_id=None, category_id=None):
        """WHERE clause on posted receivable lines ``l`` (move ``m``, customer ``cp``)."""
        clauses = [
            SQL("l.parent_state = 'posted'"),
            SQL("a.account_type = 'asset_receivable'"),
            SQL("l.company_id IN %s", tuple(companies.ids) or (0,)),
        ]
        if user_id:
            clauses.append(SQL("COALESCE(m.invoice_user_id, cp.user_id) = %s", int(user_id)))
        if category_id:
            clauses.append(
                SQL(
                    "EXISTS (SELECT 1 FROM res_partner_res_partner_category_rel r"
                    " WHERE r.partner_id = cp.id AND r.category_id = %s)",
                    int(category_id),
                )
            )
        return SQL(" AND ").join(clauses)

    _LINES_FROM = SQL(
        "account_move_line l"
        " JOIN account_account a ON a.id = l.account_id"
        " JOIN account_move m ON m.id = l.move_id"
        " LEFT JOIN res_partner p ON p.id = l.partner_id"
        " LEFT JOIN res_partner cp ON cp.id = COALESCE(p.commercial_partner_id, p.id)"
    )

    # ------------------------------------------------------------------ gathering

    def _collection_balances(self, where, date_from, date_to):
        """Receivables balance before and at the end of the period, and credit sales in it.

        One scan: invoices less credit notes dated in the period are the credit sales.
        """
        self.env.cr.execute(
            SQL(
                """
                SELECT (COALESCE(SUM(l.balance) FILTER (WHERE l.date < %(start)s), 0))::text,
                       (COALESCE(SUM(l.balance), 0))::text,
                       (COALESCE(SUM(l.balance) FILTER (
                            WHERE l.date >= %(start)s
                              AND m.move_type IN ('out_invoice', 'out_refund')), 0))::text
                  FROM %(lines)s
                 WHERE %(where)s AND l.date <= %(end)s
                """,
                start=date_from, end=date_to, lines=self._LINES_FROM, where=where,
            )
        )
        return tuple(Decimal(value) for value in self.env.cr.fetchone())

    def _collection_open_items(self, where, at):
        """Open items as at ``at``: today's residual plus the partials dated after ``at``.

        Partials dated later are few (none when ``at`` is today), so this reads the open lines
        and a handful of partials instead of every partial of the ledger.
        """
        self.env.cr.execute(
            SQL(
                """
                WITH later AS (
                    SELECT line_id, SUM(amount) AS amount FROM (
                        SELECT pr.debit_move_id AS line_id, pr.amount
                          FROM account_partial_reconcile pr WHERE pr.max_date > %(at)s
                        UNION ALL
                        SELECT pr.credit_move_id, -pr.amount
                          FROM account_partial_reconcile pr WHERE pr.max_date > %(at)s
                    ) moves GROUP BY line_id
                )
                SELECT l.id, cp.id,
                       (l.amount_residual + COALESCE(later.amount, 0))::text,
                       COALESCE(l.date_maturity, l.date), m.collection_predicted_pay_date
                  FROM %(lines)s
                  LEFT JOIN later ON later.line_id = l.id
                 WHERE %(where)s AND l.date <= %(at)s
                   AND (NOT l.reconciled OR later.line_id IS NOT NULL)
                """,
                at=at, lines=self._LINES_FROM, where=where,
            )
        )
        rows = [
            (line, partner, Decimal(residual), due, predicted)
            for line, partner, residual, due, predicted in self.env.cr.fetchall()
        ]
        return [row for row in rows if row[2]]

    def _collection_sales_by_month(self, where, date_to):
        """Credit sales (invoices less credit notes) per month, for the DSO count-back."""
        start = kpi.month_starts_back(date_to, DSO_MONTHS)[-1]
        self.env.cr.execute(
            SQL(
                "SELECT date_trunc('month', l.date)::date, SUM(l.balance)::text FROM %s"
                " WHERE %s AND m.move_type IN ('out_invoice', 'out_refund')"
                " AND l.date BETWEEN %s AND %s GROUP BY 1",
                self._LINES_FROM, where, start, date_to,
            )
        )
        return {month: Decimal(v) for month, v in self.env.cr.fetchall()}

    def _collection_collections(self, where, date_from, date_to):
        """Money applied to invoices in the period (credit notes are not cash)."""
        self.env.cr.execute(
            SQL(
                """
                SELECT m.id, pr.amount::text, pr.max_date
                  FROM account_partial_reconcile pr
                  JOIN account_move_line l ON l.id = pr.debit_move_id
                  JOIN account_move_line cl ON cl.id = pr.credit_move_id
                  JOIN account_move cm ON cm.id = cl.move_id
                  JOIN account_account a ON a.id = l.account_id
                  JOIN account_move m ON m.id = l.move_id
                  LEFT JOIN res_partner p ON p.id = l.partner_id
                  LEFT JOIN res_partner cp ON cp.id = COALESCE(p.commercial_partner_id, p.id)
                 WHERE %s AND m.move_type = 'out_invoice' AND cm.move_type != 'out_refund'
                   AND pr.max_date BETWEEN %s AND %s
                """,
                where, date_from, date_to,
            )
        )
        return [
            kpi.Collection(invoice, Decimal(amount), paid)
            for invoice, amount, paid in self.env.cr.fetchall()
        ]

    def _collection_dispatches(self, companies, where, date_from, date_to):
        """Reminders sent in the period, for invoices matching the filters."""
        self.env.cr.execute(
            SQL(
                """
                SELECT d.invoice_id, d.level_id, d.channel, d.sent_at::date
                  FROM collection_dispatch d
                 WHERE d.state = 'sent' AND d.company_id IN %s
                   AND d.sent_at::date BETWEEN %s AND %s
                   AND d.invoice_id IN (SELECT l.move_id FROM %s WHERE %s)
                """,
                tuple(companies.ids) or (0,), date_from, date_to, self._LINES_FROM, where,
            )
        )
        rows = self.env.cr.fetchall()
        levels = self.env["collection.scenario.level"].sudo().browse({r[1] for r in rows})
        ranked = levels.sorted(lambda lv: (lv.offset_days, lv.sequence, lv.id))
        rank = {lv.id: n for n, lv in enumerate(ranked, start=1)}
        label = {lv.id: lv.name for lv in levels}
        return [
            kpi.Dispatch(inv, label[lvl], channel, sent, rank[lvl])
            for inv, lvl, channel, sent in rows
        ]

    def _collection_paid_dates(self, invoice_ids):
        """Invoices paid in full: the date of their last reconciliation."""
        if not invoice_ids:
            return {}
        self.env.cr.execute(
            SQL(
                """
                SELECT m.id, MAX(pr.max_date)
                  FROM account_move m
                  JOIN account_move_line l ON l.move_id = m.id
                  JOIN account_account a ON a.id = l.account_id
                  JOIN account_partial_reconcile pr ON pr.debit_move_id = l.id
                 WHERE m.id IN %s AND a.account_type = 'asset_receivable'
                   AND m.payment_state IN ('paid', 'in_payment')
                 GROUP BY m.id
                """,
                tuple(invoice_ids),
            )
        )
        return dict(self.env.cr.fetchall())

    def _collection_riskiest(self, open_rows, date_to):
        """Top customers with open items, riskiest first (risk score, then overdue amount)."""
        overdue, open_total = {}, {}
        for _line, partner_id, residual, due, _predicted in open_rows:
            if not partner_id:
                continue
            open_total[partner_id] = open_total.get(partner_id, Decimal(0)) + residual
            if due < date_to:
                overdue[partner_id] = overdue.get(partner_id, Decimal(0)) + residual
        candidates = [pid for pid, amount in open_total.items() if amount > 0]
        if not candidates:
            return []
        # Scores in one query: reading them through the ORM costs a record per customer.
        self.env["res.partner"].flush_model(["collection_risk_score", "collection_risk_class"])
        self.env.cr.execute(
            SQL(
                "SELECT id, COALESCE(collection_risk_score, 0), collection_risk_class"
                " FROM res_partner WHERE id = ANY(%s)",
                candidates,
            )
        )
        scores = {pid: (score, risk_class) for pid, score, risk_class in self.env.cr.fetchall()}
        top = sorted(candidates, key=lambda pid: (-scores[pid][0], -overdue.get(pid, 0), pid))
        partners = self.env["res.partner"].sudo().browse(top[:RISKY_LIMIT])
        return [
            {
                "partner_id": p.id,
                "name": p.display_name,
                "score": scores[p.id][0],
                "risk_class": scores[p.id][1] or None,
                "overdue": kpi._money(overdue.get(p.id, 0)),
                "open": kpi._money(open_total[p.id]),
            }
            for p in partners
        ]

    # ------------------------------------------------------------------ the computation

    @api.model
    def _collection_kpis(self, date_from, date_to, company_ids=None, user_id=None,
                         category_id=None, summary=False):
        """All figures for ``[date_from, date_to]``; the cockpit and the report use only this.

        ``summary``: leave out the reminder figures, riskiest customers and tasks (the report's
        monthly trend needs only DSO, CEI, overdue rate and money collected).
        """
        date_from, date_to = fields.Date.to_date(date_from), fields.Date.to_date(date_to)
        if not date_from or not date_to or date_from > date_to:
            raise UserError(self.env._("Choose a period whose start is before its end."))
        companies = self._collection_companies(company_ids)
        self.env.flush_all()  # the queries below read the tables directly
        where = self._collection_line_filter(companies, user_id, category_id)
        open_rows = self._collection_open_items(where, date_to)
        dispatches = (
            [] if summary
            else self._collection_dispatches(companies, where, date_from, date_to)
        )
        opening, closing, credit_sales = self._collection_balances(where, date_from, date_to)
        data = kpi.KpiInput(
            date_from=date_from,
            date_to=date_to,
            open_items=tuple(kpi.OpenItem(r[2], r[3], r[4]) for r in open_rows),
            opening_receivables=opening,
            closing_receivables=closing,
            credit_sales=credit_sales,
            sales_by_month=self._collection_sales_by_month(where, date_to),
            collections=tuple(self._collection_collections(where, date_from, date_to)),
            dispatches=tuple(dispatches),
            paid_dates=self._collection_paid_dates({d.invoice_id for d in dispatches}),
        )
        result = kpi.compute(data)
        result["riskiest"] = [] if summary else self._collection_riskiest(open_rows, date_to)
        result["tasks"] = 0 if summary else self.env["collection.todo"].search_count(
            [("company_id", "in", companies.ids),
             ("date", "<=", fields.Date.context_today(self))]
        )
        result["company_ids"] = companies.ids
        result["currency"] = companies[:1].currency_id.name or ""
        # Amounts are summed in company currency: say so when companies differ.
        result["mixed_currencies"] = len(companies.currency_id) > 1
        return result

    # ------------------------------------------------------------------ the client

    @api.model
    def _collection_check_access(self):
        if not self.env.user.has_group("smart_collection.group_collection_user"):
            raise AccessError(self.env._("Only collection users can see the cockpit."))

    @api.model
    def _collection_jsonable(self, value):
        """Decimals as numbers, dates as ISO strings: what the dashboard and tests compare."""
        if isinstance(value, dict):
            return {str(k): self._collection_jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._collection_jsonable(v) for v in value]
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return value

    @api.model
    def collection_cockpit_data(self, date_from, date_to, company_ids=None, user_id=None,
                                category_id=None):
        """Figures and labels for the dashboard (called by the OWL client action)."""
        self._collection_check_access()
        figures = self._collection_kpis(date_from, date_to, company_ids, user_id, category_id)
        return {
            "kpis": self._collection_jsonable(figures),
            "labels": self._collection_labels(),
            "filters": self._collection_filter_options(),
        }

    @api.model
    def _collection_labels(self):
        _ = self.env._
        channels = dict(self.env["collection.dispatch"]._fields["channel"].selection)
        return {
            "buckets": {
                "not_due": _("Not due"),
                "1_30": _("1-30 days"),
                "31_60": _("31-60 days"),
                "61_90": _("61-90 days"),
                "over_90": _("Over 90 days"),
            },
            "channels": {**channels, kpi.NO_REMINDER: _("No reminder")},
            "none": _("No reminder"),
            "later": _("Later"),
        }

    @api.model
    def _collection_filter_options(self):
        users = self.env["res.users"].search(
            [("share", "=", False), ("company_ids", "in", self.env.companies.ids)]
        )
        categories = self.env["res.partner.category"].search([])
        return {
            "companies": [{"id": c.id, "name": c.name} for c in self.env.companies],
            "users": [{"id": u.id, "name": u.name} for u in users],
            "categories": [{"id": c.id, "name": c.display_name} for c in categories],
        }

    @api.model
    def collection_print_report(self, date_from, date_to, company_ids=None, user_id=None,
                                category_id=None):
        """The monthly report for the dashboard's filters, as a report action."""
        self._collection_check_access()
        wizard = self.env["collection.report.wizard"].create(
            {
                "date_from": date_from,
                "date_to": date_to,
                "company_ids": [(6, 0, self._collection_companies(company_ids).ids)],
                "user_id": user_id or False,
                "category_id": category_id or False,
            }
        )
        return wizard.action_print()
