from odoo import fields, models


class CollectionEcbRate(models.Model):
    """ECB main refinancing rate per half-year, the base of the legal late-payment interest."""

    _name = "collection.ecb.rate"
    _description = "ECB Reference Rate"
    _order = "date_from desc"
    _rec_name = "date_from"

    date_from = fields.Date(
        string="Half-year Starting",
        required=True,
        help="1 January or 1 July: the rate in force that day applies to the half-year.",
    )
    rate = fields.Float(string="ECB Rate (%)", digits=(5, 3), required=True)

    _sql_constraints = [
        ("date_from_uniq", "UNIQUE(date_from)", "One ECB rate per half-year."),
        (
            "date_from_half_year",
            "CHECK(EXTRACT(DAY FROM date_from) = 1 AND EXTRACT(MONTH FROM date_from) IN (1, 7))",
            "A half-year starts on 1 January or 1 July.",
        ),
    ]
