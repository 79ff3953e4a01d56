from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL
from schwifty import IBAN

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestVirtualIban(CollectionCommon):
    """One IBAN per customer from the bank's range, on the invoice and its pay page."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.range = cls.env["collection.virtual.iban.range"].create(
            {
                "name": "Virtual accounts",
                "country_id": cls.fr.id,
                "bank_code": "30004",
                "branch_code": "00001",
                "account_prefix": "00009",
                "width": 6,
                "bic": "BNPAFRPPXXX",
            }
        )
        cls.company.collection_virtual_iban_mode = "customer"
        cls.other = cls.env["res.partner"].create({"name": "Autre Client", "is_company": True})

    def test_each_customer_gets_their_own_iban_on_invoice_and_pay_page(self):
        first = self._collection_invoice(100.0, currency=self.eur)
        again = self._collection_invoice(50.0, currency=self.eur)
        other = self._collection_invoice(70.0, partner=self.other, currency=self.eur)
        iban = first.partner_bank_id.acc_number
        self.assertTrue(IBAN(iban).is_valid)
        self.assertEqual(IBAN(iban).bank_code, "30004")
        self.assertEqual(again.partner_bank_id, first.partner_bank_id)
        self.assertNotEqual(other.partner_bank_id.acc_number, iban)
        details = first._collection_transfer_details()
        self.assertEqual(details["account"], iban)
        self.assertEqual(details["bic"], "BNPAFRPPXXX")
        self.assertTrue(details["epc_qr"])
        self.assertEqual(self.range.next_number, 2)

    def test_reassign_keeps_history_and_never_reuses(self):
        first = self._collection_invoice(100.0, currency=self.eur)
        old = self.env["collection.virtual.iban"].search([("partner_id", "=", self.customer.id)])
        old.action_reassign()
        self.assertEqual(old.state, "retired")
        new = self.env["collection.virtual.iban"].search(
            [("partner_id", "=", self.customer.id), ("state", "=", "active")]
        )
        self.assertNotEqual(new.iban, old.iban)
        later = self._collection_invoice(10.0, currency=self.eur)
        self.assertEqual(later.partner_bank_id, new.bank_account_id)
        self.assertEqual(first.partner_bank_id, old.bank_account_id)  # issued invoices keep theirs

    def test_used_up_range_falls_back_to_the_company_account(self):
        self.env.cr.execute(
            SQL("UPDATE collection_virtual_iban_range SET next_number = 1000000 WHERE id = %s",
                self.range.id)
        )
        invoice = self._collection_invoice(100.0, currency=self.eur)
        self.assertEqual(invoice.state, "posted")
        self.assertNotIn("30004", invoice.partner_bank_id.acc_number.replace(" ", "")[4:9])
        self.assertIn("used up", invoice.message_ids[:1].body)

    def test_a_range_that_cannot_give_ibans_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "cannot give valid IBANs"):
            self.range.copy({"name": "Too long", "account_prefix": "000090000000"})
