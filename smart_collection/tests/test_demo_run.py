from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoRun(TransactionCase):
    """The daily run over the shipped demo customers gives what the standard ladder promises."""

    def setUp(self):
        super().setUp()
        self.partners = {
            name: self.env["res.partner"].search([("name", "=", name)], limit=1)
            for name in ("Boulangerie Martin SARL", "Claire Dubois", "Talleres Gómez S.L.",
                         "Lucía Fernández")
        }
        if not all(self.partners.values()):
            self.skipTest("demo data not loaded")
        self.company = self.env["account.move"].search(
            [("partner_id", "=", self.partners["Claire Dubois"].id)], limit=1
        ).company_id
        self.company.write(
            {
                "collection_scenario_id": self.env.ref(
                    "smart_collection.collection_scenario_standard").id,
                "collection_sms_hours": "Mon-Sun 00:00-24:00",
            }
        )

    def _rows(self, partner, channel):
        return self.env["collection.dispatch"].search(
            [("partner_id", "=", partner.id), ("channel", "=", channel)]
        )

    def _invoice(self, partner, label):
        return self.env["account.move"].search(
            [("partner_id", "=", partner.id), ("invoice_line_ids.name", "ilike", label)]
        )

    def test_cron_over_demo_customers(self):
        self.env["collection.engine"]._cron_run_scenarios()
        for name, partner in self.partners.items():
            # One e-mail: courtesy notice (due today), second reminder (10 days late) and first
            # reminder (partly paid, 5 days late), with the most advanced level's template.
            mails = self.env["mail.mail"].search(
                [("model", "=", "res.partner"), ("res_id", "=", partner.id)]
            )
            self.assertEqual(len(mails), 1, name)
            self.assertIn("second reminder", mails.subject)
            for label in ("due today", "overdue 10 days", "partly paid"):
                self.assertIn(self._invoice(partner, label).name, mails.body_html, label)
            self.assertNotIn(self._invoice(partner, "(paid)").name, mails.body_html)
            self.assertEqual(len(self.env["sms.sms"].search([("partner_id", "=", partner.id)])),
                             1, name)
            letter = self._rows(partner, "letter")
            notice = self._rows(partner, "formal_notice")
            self.assertEqual(set(letter.mapped("state")), {"to_print"}, name)
            if partner.is_company:
                # 40 days late: letter; 90 days late: formal notice, then legal follow-up.
                self.assertEqual(letter.invoice_id, self._invoice(partner, "overdue 40"))
                self.assertEqual(notice.invoice_id, self._invoice(partner, "overdue 90"))
                self.assertTrue(partner.with_company(self.company).collection_legal)
            else:
                # Never a formal notice for an individual: the letter covers both.
                self.assertFalse(notice)
                self.assertEqual(
                    letter.invoice_id,
                    self._invoice(partner, "overdue 40") | self._invoice(partner, "overdue 90"),
                )
            not_due = self._invoice(partner, "not due")
            self.assertFalse(
                self.env["collection.dispatch"].search([("invoice_id", "=", not_due.id)])
            )
        # The next run sends nothing new.
        count = self.env["collection.dispatch"].search_count([])
        mails = self.env["mail.mail"].search_count([])
        self.env["collection.engine"]._cron_run_scenarios()
        self.assertEqual(self.env["collection.dispatch"].search_count([]), count)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails)
