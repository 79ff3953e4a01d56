from odoo import api, fields, models


class CollectionScenario(models.Model):
    """A ladder of reminder levels, chosen per customer, per category rule or per company."""

    _name = "collection.scenario"
    _description = "Collection Scenario"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(
        default=10, help="Order in which category rules are tried: the first matching wins."
    )
    company_id = fields.Many2one(
        "res.company", help="Leave empty to share the scenario between companies."
    )
    level_ids = fields.One2many("collection.scenario.level", "scenario_id", copy=True)
    partner_category_ids = fields.Many2many(
        "res.partner.category",
        string="Customer Tags",
        help="Customers with one of these tags follow this scenario, unless one is set on the "
        "customer itself.",
    )
    risk_class_ids = fields.Many2many(
        "collection.risk.class",
        string="Risk Classes",
        help="Customers of one of these payment risk classes follow this scenario, unless one "
        "is set on the customer itself. With tags too, the customer needs both.",
    )
    note = fields.Text(translate=True)
    level_count = fields.Integer(compute="_compute_level_count")

    @api.depends("level_ids")
    def _compute_level_count(self):
        for scenario in self:
            scenario.level_count = len(scenario.level_ids)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for scenario, vals in zip(self, vals_list, strict=True):
            vals.setdefault("name", self.env._("%s (copy)", scenario.name))
        return vals_list
