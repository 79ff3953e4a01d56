from odoo import fields, models, tools
from odoo.tools import SQL


class CollectionCustomer(models.Model):
    """Customers to follow: one row per customer and company with open customer invoices."""

    _name = "collection.customer"
    _description = "Customer to Follow"
    _auto = False
    _order = "overdue_amount desc, id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    invoice_count = fields.Integer(string="Open Invoices", readonly=True)
    open_amount = fields.Monetary(string="Open", readonly=True)
    overdue_amount = fields.Monetary(string="Overdue", readonly=True)
    oldest_due_date = fields.Date(string="Oldest Due Date", readonly=True)
    days_late = fields.Integer(string="Days Late", readonly=True)
    level_id = fields.Many2one("collection.scenario.level", string="Level", readonly=True)
    next_level_id = fields.Many2one(
        "collection.scenario.level", string="Next Action", readonly=True
    )
    next_action_date = fields.Date(string="Next Action Date", readonly=True)
    last_contact = fields.Datetime(string="Last Contact", readonly=True)
    hold_until = fields.Date(string="On Hold Until", readonly=True)
    legal = fields.Boolean(string="Legal Follow-up", readonly=True)
    collector_id = fields.Many2one("res.users", string="Collector", readonly=True)
    disputed_count = fields.Integer(string="Disputed", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS (
                SELECT MIN(m.id) AS id,
                       m.commercial_partner_id AS partner_id,
                       m.company_id,
                       c.currency_id,
                       COUNT(*) AS invoice_count,
                       SUM(m.amount_residual_signed) AS open_amount,
                       SUM(m.amount_residual_signed)
                           FILTER (WHERE m.invoice_date_due < CURRENT_DATE) AS overdue_amount,
                       MIN(m.invoice_date_due)
                           FILTER (WHERE m.invoice_date_due < CURRENT_DATE) AS oldest_due_date,
                       GREATEST(CURRENT_DATE - MIN(m.invoice_date_due), 0) AS days_late,
                       (ARRAY_AGG(st.level_id ORDER BY lv.offset_days DESC NULLS LAST)
                           FILTER (WHERE st.level_id IS NOT NULL))[1] AS level_id,
                       (ARRAY_AGG(st.next_level_id ORDER BY st.next_date)
                           FILTER (WHERE st.next_level_id IS NOT NULL))[1] AS next_level_id,
                       MIN(st.next_date) AS next_action_date,
                       (SELECT MAX(d.sent_at) FROM collection_dispatch d
                         WHERE d.partner_id = m.commercial_partner_id
                           AND d.company_id = m.company_id
                           AND d.state IN ('sent', 'to_print')) AS last_contact,
                       (p.collection_hold_until ->> m.company_id::text)::date AS hold_until,
                       COALESCE((p.collection_legal ->> m.company_id::text)::boolean, false)
                           AS legal,
                       (p.collection_collector_id ->> m.company_id::text)::int AS collector_id,
                       COUNT(*) FILTER (WHERE m.collection_disputed) AS disputed_count
                  FROM account_move m
                  JOIN res_partner p ON p.id = m.commercial_partner_id
                  JOIN res_company c ON c.id = m.company_id
             LEFT JOIN collection_invoice_status st ON st.invoice_id = m.id
             LEFT JOIN collection_scenario_level lv ON lv.id = st.level_id
                 WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
                   AND m.payment_state IN ('not_paid', 'partial')
                 GROUP BY m.commercial_partner_id, m.company_id, c.currency_id,
                          p.collection_hold_until, p.collection_legal,
                          p.collection_collector_id
                )
                """,
                table=SQL.identifier(self._table),
            )
        )

    def _collection_partner_action(self, method):
        partners = self.partner_id.with_company(self.company_id[:1])
        return getattr(partners, method)()

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_send_now(self):
        return self._collection_partner_action("action_collection_send_now")

    def action_skip_level(self):
        return self._collection_partner_action("action_collection_skip_level")

    def action_hold(self):
        return self._collection_partner_action("action_collection_hold")

    def action_log_call(self):
        self.ensure_one()
        return self._collection_partner_action("action_collection_log_call")
