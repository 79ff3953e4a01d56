from odoo import fields, models

from .res_partner import RISK_CLASSES


class CollectionRiskClass(models.Model):
    """A payment risk class (A best .. E worst), so scenarios can be chosen by class."""

    _name = "collection.risk.class"
    _description = "Payment Risk Class"
    _order = "code"
    _rec_name = "name"

    code = fields.Selection(RISK_CLASSES, required=True)
    name = fields.Char(required=True, translate=True)
    description = fields.Char(translate=True)
    color = fields.Integer()

    _sql_constraints = [
        ("code_uniq", "UNIQUE(code)", "Each risk class exists once."),
    ]
