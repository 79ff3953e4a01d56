from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestCollectorScreens(HttpCase):
    """The collector's screens open in the browser and show what the daily run decided."""

    def test_customers_to_follow_today_and_customer_tab(self):
        env = self.env
        company = env.company
        company.write(
            {
                "collection_scenario_id": env.ref(
                    "smart_collection.collection_scenario_standard").id,
                "collection_collector_id": env.ref("base.user_admin").id,
            }
        )
        customer = env["res.partner"].create(
            {"name": "Screen Test Co", "is_company": True, "email": "screen@example.com",
             "street": "1 rue du Test", "city": "Lyon"}
        )
        today = fields.Date.context_today(env["account.move"])
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": today - timedelta(days=60),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Bread", "quantity": 1, "price_unit": 90,
                                    "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = today - timedelta(days=25)
        env["collection.engine"]._collection_run(partner_ids=customer.ids)
        self.assertTrue(env["mail.activity"].search([("res_id", "=", customer.id),
                                                     ("res_model", "=", "res.partner")]))
        self.start_tour(
            "/odoo/action-smart_collection.action_collection_customer",
            "smart_collection_collector_screens",
            login="admin",
        )
