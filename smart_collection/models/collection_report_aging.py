from odoo import fields, models, tools
from odoo.tools import SQL


class CollectionReportAging(models.Model):
    """Open receivable items, one row each, for graph / pivot / list analysis.

    Buckets are days overdue today: not due, 1-30, 31-60, 61-90, over 90 (as in the cockpit).
    The expected date is the predicted pay date when there is one, else the due date.
    """

    _name = "collection.report.aging"
    _description = "Collection Aging Analysis"
    _auto = False
    _order = "date_due, id"
    _rec_name = "move_name"
    # The ORM flushes these before reading the view.
    _depends = {
        "account.move.line": [
            "move_id", "partner_id", "company_id", "company_currency_id", "account_id",
            "date", "date_maturity", "amount_residual", "reconciled", "parent_state",
        ],
        "account.move": [
            "name", "invoice_user_id", "invoice_date", "collection_predicted_pay_date",
        ],
        "account.account": ["account_type"],
        "res.partner": ["commercial_partner_id", "user_id"],
    }

    move_id = fields.Many2one("account.move", string="Entry", readonly=True)
    move_name = fields.Char(string="Number", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    partner_category_ids = fields.Many2many(
        related="partner_id.category_id", string="Customer Tags"
    )
    invoice_date = fields.Date(readonly=True)
    date_due = fields.Date(string="Due Date", readonly=True)
    days_overdue = fields.Integer(readonly=True, aggregator="max")
    bucket = fields.Selection(
        [
            ("not_due", "Not due"),
            ("1_30", "1-30 days"),
            ("31_60", "31-60 days"),
            ("61_90", "61-90 days"),
            ("over_90", "Over 90 days"),
        ],
        string="Aging",
        readonly=True,
    )
    amount_residual = fields.Monetary(
        string="Amount Due", currency_field="currency_id", readonly=True
    )
    predicted_pay_date = fields.Date(readonly=True)
    expected_date = fields.Date(readonly=True, help="Predicted pay date, else the due date.")
    expected_week = fields.Char(readonly=True, help="ISO week of the expected date.")

    partner_risk_class = fields.Selection(related="partner_id.collection_risk_class")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        predicted = SQL("m.collection_predicted_pay_date")
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS (
                SELECT l.id, l.move_id, m.name AS move_name, cp.id AS partner_id,
                       COALESCE(m.invoice_user_id, cp.user_id) AS user_id,
                       l.company_id, l.company_currency_id AS currency_id,
                       m.invoice_date, COALESCE(l.date_maturity, l.date) AS date_due,
                       CURRENT_DATE - COALESCE(l.date_maturity, l.date) AS days_overdue,
                       CASE WHEN CURRENT_DATE - COALESCE(l.date_maturity, l.date) <= 0
                                 THEN 'not_due'
                            WHEN CURRENT_DATE - COALESCE(l.date_maturity, l.date) <= 30
                                 THEN '1_30'
                            WHEN CURRENT_DATE - COALESCE(l.date_maturity, l.date) <= 60
                                 THEN '31_60'
                            WHEN CURRENT_DATE - COALESCE(l.date_maturity, l.date) <= 90
                                 THEN '61_90'
                            ELSE 'over_90' END AS bucket,
                       l.amount_residual,
                       %(predicted)s AS predicted_pay_date,
                       COALESCE(%(predicted)s, l.date_maturity, l.date) AS expected_date,
                       to_char(GREATEST(COALESCE(%(predicted)s, l.date_maturity, l.date),
                                        CURRENT_DATE), 'IYYY-"W"IW') AS expected_week
                  FROM account_move_line l
                  JOIN account_account a ON a.id = l.account_id
                  JOIN account_move m ON m.id = l.move_id
                  LEFT JOIN res_partner p ON p.id = l.partner_id
                  LEFT JOIN res_partner cp ON cp.id = COALESCE(p.commercial_partner_id, p.id)
                 WHERE l.parent_state = 'posted' AND a.account_type = 'asset_receivable'
                   AND NOT l.reconciled AND l.amount_residual != 0
                )
                """,
                table=SQL.identifier(self._table),
                predicted=predicted,
            )
        )
