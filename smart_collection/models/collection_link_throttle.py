import hashlib
import hmac

from odoo import api, fields, models
from odoo.tools import SQL

WINDOW_SECONDS = 60


class CollectionLinkThrottle(models.Model):
    """Counts bad pay-link tokens per client address and minute, shared by all workers.

    The address is stored as a keyed hash: enough to throttle, not a log of who visited.
    """

    _name = "collection.link.throttle"
    _description = "Pay Link Throttle"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    minute = fields.Integer(required=True, readonly=True)
    hits = fields.Integer(readonly=True)

    _sql_constraints = [
        ("key_minute_uniq", "unique(key, minute)", "One counter per address and minute."),
    ]

    @api.model
    def _collection_key(self, address):
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret") or ""
        return hmac.new(
            secret.encode(), (address or "?").encode(), hashlib.sha256
        ).hexdigest()[:32]

    @api.model
    def _collection_hits(self, address, now):
        self.env.cr.execute(
            SQL(
                "SELECT hits FROM collection_link_throttle WHERE key = %s AND minute = %s",
                self._collection_key(address),
                int(now) // WINDOW_SECONDS,
            )
        )
        row = self.env.cr.fetchone()
        return row[0] if row else 0

    @api.model
    def _collection_hit(self, address, now):
        """Count one bad attempt and return the count for this minute."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO collection_link_throttle (key, minute, hits) VALUES (%s, %s, 1)
                ON CONFLICT (key, minute)
                DO UPDATE SET hits = collection_link_throttle.hits + 1
                RETURNING hits
                """,
                self._collection_key(address),
                int(now) // WINDOW_SECONDS,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.autovacuum
    def _gc_collection_throttle(self):
        self.env.cr.execute(
            SQL(
                "DELETE FROM collection_link_throttle WHERE minute < %s",
                int(fields.Datetime.now().timestamp()) // WINDOW_SECONDS - 60,
            )
        )
