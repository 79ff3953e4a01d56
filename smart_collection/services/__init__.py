"""Pure Python core of Smart Collection: no Odoo import allowed in this package."""
