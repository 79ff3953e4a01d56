from datetime import timedelta

from odoo import Command, fields
from odoo.addons.account.tests.common import AccountTestInvoicingCommon


def overdue_invoice(env, customer, amount=90, days_late=25):
    """A posted invoice of ``customer`` due ``days_late`` days ago, for the browser tours."""
    today = fields.Date.context_today(env["account.move"])
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": customer.id,
            "invoice_date": today - timedelta(days=60),
            "invoice_payment_term_id": False,
            "invoice_line_ids": [
                Command.create({"name": "Bread", "quantity": 1, "price_unit": amount,
                                "tax_ids": []})
            ],
        }
    )
    invoice.action_post()
    invoice.invoice_date_due = today - timedelta(days=days_late)
    return invoice


class CollectionCommon(AccountTestInvoicingCommon):
    """A company with a chart, a French customer, a bank account and the demo provider."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.write({"email": "billing@example.com", "phone": "+33 1 23 45 67 89"})
        cls.fr = cls.env.ref("base.fr")
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Boulangerie Martin",
                "is_company": True,
                "email": "compta@boulangerie.example",
                "mobile": "06 12 34 56 78",
                "country_id": cls.fr.id,
            }
        )
        cls.company_bank = cls.env["res.partner.bank"].create(
            {
                "acc_number": "FR76 3000 6000 0112 3456 7890 189",
                "partner_id": cls.company.partner_id.id,
                "allow_out_payment": True,
            }
        )
        cls.demo_provider = cls._collection_provider("demo")

    @classmethod
    def _collection_setup_scenarios(cls, collector_name, login):
        """A French company following the standard scenario, SMS at any hour, a collector."""
        cls.engine = cls.env["collection.engine"]
        cls.scenario = cls.env.ref("smart_collection.collection_scenario_standard")
        cls.change_company_country(cls.company, cls.fr)
        cls.company.write(
            {
                "collection_scenario_id": cls.scenario.id,
                # Any time of day: SMS hours have their own test.
                "collection_sms_hours": "Mon-Sun 00:00-24:00",
                "street": "1 rue de la Paix",
                "city": "Paris",
            }
        )
        cls.collector = cls.env["res.users"].create(
            {"name": collector_name, "login": login, "email": f"{login}@example.com"}
        )
        cls.company.collection_collector_id = cls.collector

    @classmethod
    def _customer(cls, name, **values):
        """A French company customer in Lyon, reachable by e-mail, SMS and post."""
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "email": f"{name.lower().replace(' ', '.')}@example.com",
                "mobile": "+33 6 12 34 56 78",
                "street": "2 place du Marché",
                "city": "Lyon",
                "zip": "69001",
                "country_id": cls.fr.id,
                "tz": "Europe/Paris",
                **values,
            }
        )

    @classmethod
    def _collection_provider(cls, code, **values):
        Provider = cls.env["payment.provider"].sudo()
        provider = Provider.search(
            [("code", "=", code), ("company_id", "=", cls.company.id)], limit=1
        )
        if not provider:
            provider = Provider.search([("code", "=", code)], limit=1).copy(
                {"company_id": cls.company.id}
            )
        provider.write({"state": "test", "is_published": True, **values})
        return provider

    @classmethod
    def _collection_invoice(cls, amount=100.0, due_in=10, partner=None, currency=None, post=True):
        today = fields.Date.context_today(cls.env["account.move"])
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": (partner or cls.customer).id,
                "invoice_date": today - timedelta(days=5),
                "invoice_date_due": today + timedelta(days=due_in),
                "invoice_payment_term_id": False,
                "currency_id": (currency or cls.company.currency_id).id,
                "invoice_line_ids": [
                    (0, 0, {"name": "Bread", "quantity": 1, "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        if post:
            invoice.action_post()
        return invoice

    @staticmethod
    def _collection_token(invoice):
        return invoice.collection_pay_url.rsplit("/pay/", 1)[1]

    def _collection_pay_in_full(self, invoice, amount=None):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount or invoice.amount_residual})
            ._create_payments()
        )

    def _collection_queued_mails(self, invoice, subject_part):
        return self.env["mail.mail"].search(
            [
                ("model", "=", "account.move"),
                ("res_id", "=", invoice.id),
                ("subject", "ilike", subject_part),
            ]
        )
