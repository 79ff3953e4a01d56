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
        """Bad attempts in the last minute, sliding: this minute's count plus the previous
        minute's, weighted by how much of it is still inside the last 60 seconds. A fixed
        window would let an address make twice the limit around a minute boundary."""
        window = int(now) // WINDOW_SECONDS
        self.env.cr.execute(
            SQL(
                "SELECT minute, hits FROM collection_link_throttle"
                " WHERE key = %s AND minute IN (%s, %s)",
                self._collection_key(address),
                window,
                window - 1,
            )
        )
        hits = dict(self.env.cr.fetchall())
        elapsed = (now % WINDOW_SECONDS) / WINDOW_SECONDS
        return hits.get(window, 0) + hits.get(window - 1, 0) * (1 - elapsed)

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
