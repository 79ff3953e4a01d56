
from odoo.tests import HttpCase, tagged

from .common import overdue_invoice


@tagged("post_install", "-at_install")
class TestCollectorScreens(HttpCase):
    """The collector's screens open in the browser and show what the daily run decided."""

    def test_customers_to_follow_today_and_customer_tab(self):
        # The run plans on the UTC day, never later than the browser's own day, so the call
        # is "today or earlier" in the browser whatever the hour.
        env = self.env(context=dict(self.env.context, tz="UTC"))
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
        overdue_invoice(env, customer)
        env["collection.engine"]._collection_run(partner_ids=customer.ids)
        self.assertTrue(env["mail.activity"].search([("res_id", "=", customer.id),
                                                     ("res_model", "=", "res.partner")]))
        self.start_tour(
            "/odoo/action-smart_collection.action_collection_customer",
            "smart_collection_collector_screens",
            login="admin",
        )
