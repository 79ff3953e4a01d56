import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# (label, days from today to the due date, share already paid)
DEMO_INVOICES = [
    ("not due", 20, 0.0),
    ("due today", 0, 0.0),
    ("overdue 10 days", -10, 0.0),
    ("overdue 40 days", -40, 0.0),
    ("overdue 90 days", -90, 0.0),
    ("partly paid", -5, 0.4),
    ("paid", -15, 1.0),
]


class CollectionDemo(models.AbstractModel):
    """Demo customers in France and Spain with invoices at every stage of collection."""

    _name = "collection.demo"
    _description = "Smart Collection demo data"

    @api.model
    def _load_demo(self):
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        if not journal:
            _logger.info("no sales journal in %s: Smart Collection demo skipped", company.name)
            return
        self._demo_bank_account(company)
        self._demo_provider(company)
        customers = [
            self._demo_partner("Boulangerie Martin SARL", "FR", "+33 6 12 34 56 78", True),
            self._demo_partner("Claire Dubois", "FR", "06 98 76 54 32", False),
            self._demo_partner("Talleres Gómez S.L.", "ES", "+34 612 345 678", True),
            self._demo_partner("Lucía Fernández", "ES", "622 11 22 33", False),
        ]
        eur = self.env.ref("base.EUR")
        eur.active = True  # French and Spanish customers are invoiced in EUR (EPC QR on the page)
        today = fields.Date.context_today(self)
        for partner in customers:
            for label, due_in, paid_share in DEMO_INVOICES:
                due = today + timedelta(days=due_in)
                invoice = self.env["account.move"].create(
                    {
                        "move_type": "out_invoice",
                        "partner_id": partner.id,
                        "journal_id": journal.id,
                        "invoice_date": due - timedelta(days=30),
                        "invoice_date_due": due,
                        "invoice_payment_term_id": False,
                        "currency_id": eur.id,
                        "invoice_line_ids": [
                            (0, 0, {"name": f"Services ({label})", "quantity": 1,
                                    "price_unit": 120.0 + 35 * len(label), "tax_ids": []}),
                        ],
                    }
                )
                invoice.action_post()
                if paid_share:
                    self.env["account.payment.register"].with_context(
                        active_model="account.move", active_ids=invoice.ids
                    ).create(
                        {
                            "amount": round(invoice.amount_residual * paid_share, 2),
                            "payment_date": due,
                        }
                    )._create_payments()

    @api.model
    def _demo_partner(self, name, country_code, mobile, is_company):
        country = self.env["res.country"].search([("code", "=", country_code)], limit=1)
        slug = name.lower().replace(" ", ".").replace("é", "e").replace("í", "i").replace("ó", "o")
        return self.env["res.partner"].create(
            {
                "name": name,
                "is_company": is_company,
                "country_id": country.id,
                "street": "12 rue des Lilas" if country_code == "FR" else "Calle Mayor 7",
                "zip": "75011" if country_code == "FR" else "28013",
                "city": "Paris" if country_code == "FR" else "Madrid",
                "email": f"{slug}@example.com",
                "mobile": mobile,
            }
        )

    @api.model
    def _demo_bank_account(self, company):
        if company.partner_id.bank_ids.filtered(lambda bank: bank.acc_type == "iban"):
            return
        self.env["res.partner.bank"].create(
            {
                "acc_number": "FR76 3000 6000 0112 3456 7890 189",
                "partner_id": company.partner_id.id,
                "allow_out_payment": True,
            }
        )

    @api.model
    def _demo_provider(self, company):
        provider = self.env.ref("payment.payment_provider_demo", raise_if_not_found=False)
        if provider and provider.module_state == "installed" and provider.state == "disabled":
            provider.write({"state": "test", "is_published": True, "company_id": company.id})
