from odoo import fields, models, tools
from odoo.tools import SQL


class CollectionTodo(models.Model):
    """The collector's day: calls to make, promises due, failed sends, disputes, letters."""

    _name = "collection.todo"
    _description = "Collection To-do"
    _auto = False
    _order = "date, id"

    kind = fields.Selection(
        [
            ("call", "Call to make"),
            ("promise", "Promise due"),
            ("failed", "Failed send"),
            ("dispute", "Dispute to handle"),
            ("print", "Letter to print"),
        ],
        readonly=True,
    )
    name = fields.Char(string="Subject", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", string="Collector", readonly=True)
    date = fields.Date(readonly=True)
    res_model = fields.Char(readonly=True)
    res_id = fields.Integer(readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS (
                SELECT a.id * 8 + 1 AS id, 'call' AS kind, a.summary AS name,
                       a.res_id AS partner_id, d.company_id, a.user_id,
                       a.date_deadline AS date, 'mail.activity' AS res_model, a.id AS res_id
                  FROM mail_activity a
                  JOIN (SELECT DISTINCT activity_id, company_id FROM collection_dispatch
                         WHERE activity_id IS NOT NULL) d ON d.activity_id = a.id
                 WHERE a.res_model = 'res.partner'
                UNION ALL
                SELECT pr.id * 8 + 2, 'promise', pr.note, pr.partner_id, pr.company_id,
                       pr.user_id, pr.date, 'collection.promise', pr.id
                  FROM collection_promise pr
                 WHERE pr.state IN ('open', 'broken') AND pr.date <= CURRENT_DATE
                UNION ALL
                SELECT MIN(d.id) * 8 + 3, 'failed', MIN(d.error), d.partner_id, d.company_id,
                       (p.collection_collector_id ->> d.company_id::text)::int,
                       MIN(d.planned_date), 'collection.dispatch', MIN(d.id)
                  FROM collection_dispatch d JOIN res_partner p ON p.id = d.partner_id
                 WHERE d.state = 'failed'
                 GROUP BY d.group_key, d.partner_id, d.company_id, p.collection_collector_id
                UNION ALL
                SELECT MIN(d.id) * 8 + 6, 'failed', MIN(mm.failure_reason), d.partner_id,
                       d.company_id, (p.collection_collector_id ->> d.company_id::text)::int,
                       MIN(d.planned_date), 'collection.dispatch', MIN(d.id)
                  FROM collection_dispatch d
                  JOIN mail_mail mm ON mm.mail_message_id = d.mail_message_id
                  JOIN res_partner p ON p.id = d.partner_id
                 WHERE d.state = 'sent' AND mm.state = 'exception'
                 GROUP BY d.group_key, d.partner_id, d.company_id, p.collection_collector_id
                UNION ALL
                SELECT m.id * 8 + 4, 'dispute', COALESCE(m.collection_dispute_note, m.name),
                       m.commercial_partner_id, m.company_id,
                       (p.collection_collector_id ->> m.company_id::text)::int,
                       m.invoice_date_due, 'account.move', m.id
                  FROM account_move m JOIN res_partner p ON p.id = m.commercial_partner_id
                 WHERE m.collection_disputed AND m.move_type = 'out_invoice'
                   AND m.state = 'posted' AND m.payment_state IN ('not_paid', 'partial')
                UNION ALL
                SELECT MIN(d.id) * 8 + 5, 'print', NULL, d.partner_id, d.company_id,
                       (p.collection_collector_id ->> d.company_id::text)::int,
                       MIN(d.planned_date), 'collection.dispatch', MIN(d.id)
                  FROM collection_dispatch d JOIN res_partner p ON p.id = d.partner_id
                 WHERE d.state = 'to_print'
                 GROUP BY d.group_key, d.partner_id, d.company_id, p.collection_collector_id
                )
                """,
                table=SQL.identifier(self._table),
            )
        )

    def action_open(self):
        self.ensure_one()
        if self.res_model == "mail.activity":
            return {
                "type": "ir.actions.act_window",
                "res_model": "res.partner",
                "res_id": self.partner_id.id,
                "view_mode": "form",
            }
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
