import hashlib

from odoo import api, fields, models
from odoo.tools import SQL


class CollectionWebhookEvent(models.Model):
    """Each provider event is applied once: the id is claimed before the event is processed."""

    _name = "collection.webhook.event"
    _description = "Payment Provider Event"
    _order = "id desc"
    _rec_name = "event_id"

    provider_code = fields.Char(required=True, readonly=True)
    event_id = fields.Char(required=True, readonly=True)
    event_type = fields.Char(readonly=True)
    payload_hash = fields.Char(readonly=True, help="SHA-256 of the body that was received.")
    state = fields.Selection(
        [("processed", "Processed"), ("rejected", "Rejected"), ("ignored", "Ignored")],
        required=True,
        readonly=True,
        default="processed",
    )
    reason = fields.Char(readonly=True)
    transaction_id = fields.Many2one("payment.transaction", readonly=True, index="btree_not_null")
    company_id = fields.Many2one(
        "res.company", readonly=True, default=lambda self: self.env.company
    )

    _sql_constraints = [
        ("provider_event_uniq", "unique(provider_code, event_id)", "Event already received."),
    ]

    @api.model
    def _collection_claim(self, provider_code, event_id, event_type, payload):
        """Record the event; return its id, or False when it was already received."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO collection_webhook_event
                    (provider_code, event_id, event_type, payload_hash, state,
                     create_date, write_date, create_uid, write_uid)
                VALUES (%s, %s, %s, %s, 'processed', now() at time zone 'UTC',
                        now() at time zone 'UTC', %s, %s)
                ON CONFLICT (provider_code, event_id) DO NOTHING
                RETURNING id
                """,
                provider_code,
                event_id,
                event_type,
                hashlib.sha256(payload).hexdigest(),
                self.env.uid,
                self.env.uid,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] if row else False
