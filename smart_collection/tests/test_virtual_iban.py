import base64
import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import stripe
from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, mute_logger
from schwifty import IBAN

from ..services import epc_qr
from .common import CollectionCommon

RANGE_LOGGER = "odoo.addons.smart_collection.models.collection_virtual_iban_range"


def _fr_iban(bank_code, number, branch_code="00001"):
    return str(IBAN.generate("FR", bank_code=bank_code, branch_code=branch_code,
                             account_code=f"{number:011d}").compact)


def _compact(value):
    return (value or "").replace(" ", "").upper()


class VirtualIbanCommon(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.Viban = cls.env["collection.virtual.iban"]
        cls.other = cls.env["res.partner"].create({"name": "Autre Client", "is_company": True})

    @contextmanager
    def _raises(self, exception, text):
        """Odoo's assertRaises (a savepoint: nothing of the failed call stays) and its text."""
        with self.assertRaises(exception) as caught:
            yield caught
        self.assertIn(text, str(caught.exception))

    def _viban_of(self, invoice):
        return self.Viban.search([("bank_account_id", "=", invoice.partner_bank_id.id)])

    def _assert_company_account(self, invoice):
        """The company's own account is printed: not a virtual IBAN of anyone."""
        self.assertEqual(invoice.partner_bank_id.partner_id, self.company.partner_id)
        self.assertFalse(self._viban_of(invoice), invoice.partner_bank_id.acc_number)

    @classmethod
    def _list_source(cls, name="Bank list", **values):
        return cls.env["collection.virtual.iban.range"].create(
            {"name": name, "provider": "imported_list", "bic": "BNPAFRPPXXX", **values}
        )

    def _import(self, source, text):
        wizard = self.env["collection.virtual.iban.import"].create(
            {"source_id": source.id, "data_file": base64.b64encode(text.encode()),
             "filename": "ibans.csv"}
        )
        return wizard.action_import()


@tagged("post_install", "-at_install")
class TestVirtualIban(VirtualIbanCommon):
    """Bank ranges and the assignment modes: per customer, per invoice, per point of sale."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
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

    def _use_up(self, account_range):
        """Move the range's sequence to its end; sequences ignore rollbacks: put it back."""
        name = account_range._collection_sequence_name()
        self.env.cr.execute(SQL("SELECT last_value, is_called FROM %s", SQL.identifier(name)))
        last_value, is_called = self.env.cr.fetchone()
        self.addCleanup(self.env.cr.execute,
                        SQL("SELECT setval(%s, %s, %s)", name, last_value, is_called))
        self.env.cr.execute(SQL("SELECT setval(%s, %s, false)", name, 10**account_range.width))

    def test_each_customer_gets_their_own_iban_on_invoice_and_pay_page(self):
        start = self.range.next_number  # sequences ignore rollbacks: other tests took numbers
        assigned = self.range.assigned_count
        first = self._collection_invoice(100.0, currency=self.eur)
        again = self._collection_invoice(50.0, currency=self.eur)
        other = self._collection_invoice(70.0, partner=self.other, currency=self.eur)
        iban = first.partner_bank_id.acc_number
        self.assertTrue(IBAN(iban).is_valid)
        self.assertEqual(IBAN(iban).bank_code, "30004")
        self.assertEqual(again.partner_bank_id, first.partner_bank_id)
        self.assertNotEqual(other.partner_bank_id.acc_number, iban)
        viban = self._viban_of(first)
        self.assertEqual(viban.partner_id, self.customer)
        self.assertEqual(viban.scope, "customer")
        self.assertFalse(viban.invoice_id or viban.point_of_sale_id)
        details = first._collection_transfer_details()
        self.assertEqual(details["account"], iban)
        self.assertEqual(details["bic"], "BNPAFRPPXXX")
        self.assertTrue(details["epc_qr"])
        self.assertEqual(self.range.next_number, start + 2)
        self.assertEqual(self.range.remaining, 10**6 - start - 2)
        self.assertEqual(self.range.assigned_count, assigned + 2)

    def test_reassign_keeps_history_and_never_reuses(self):
        first = self._collection_invoice(100.0, currency=self.eur)
        old = self.Viban.search([("partner_id", "=", self.customer.id)])
        old.action_reassign()
        self.assertEqual(old.state, "retired")
        self.assertEqual(old.date_retired, fields.Date.context_today(old))
        new = self.Viban.search([("partner_id", "=", self.customer.id), ("state", "=", "active")])
        self.assertNotEqual(new.iban, old.iban)
        self.assertEqual(new.previous_id, old)
        self.assertEqual(new.range_id, self.range)
        later = self._collection_invoice(10.0, currency=self.eur)
        self.assertEqual(later.partner_bank_id, new.bank_account_id)
        self.assertEqual(first.partner_bank_id, old.bank_account_id)  # issued invoices keep theirs
        # A retired IBAN still names its payer.
        self.assertEqual(self.Viban.search([("iban", "=", old.iban)]).partner_id, self.customer)

    def test_used_up_range_falls_back_to_the_company_account(self):
        self._use_up(self.range)
        invoice = self._collection_invoice(100.0, currency=self.eur)
        self.assertEqual(invoice.state, "posted")
        self._assert_company_account(invoice)
        self.assertIn("used up", invoice.message_ids[:1].body)
        self.assertIn("company account is printed", invoice.message_ids[:1].body)

    def test_used_up_range_hands_over_to_the_next_source(self):
        self._use_up(self.range)
        second = self.range.copy({"name": "Second block", "account_prefix": "00008",
                                  "sequence": 20})
        invoice = self._collection_invoice(100.0, currency=self.eur)
        self.assertEqual(self._viban_of(invoice).range_id, second)
        self.assertTrue(_compact(invoice.partner_bank_id.acc_number)[14:19] == "00008")

    def test_another_payers_virtual_iban_is_never_left_on_an_invoice(self):
        mine = self._collection_invoice(100.0, currency=self.eur)
        self._use_up(self.range)
        draft = self._collection_invoice(70.0, partner=self.other, currency=self.eur, post=False)
        draft.partner_bank_id = mine.partner_bank_id  # e.g. Odoo's "first account" default
        draft.action_post()
        self._assert_company_account(draft)
        # Same when the company stopped using virtual IBANs.
        self.company.collection_virtual_iban_mode = "none"
        draft = self._collection_invoice(70.0, partner=self.other, currency=self.eur, post=False)
        draft.partner_bank_id = mine.partner_bank_id
        draft.action_post()
        self._assert_company_account(draft)
        own = self._collection_invoice(70.0, currency=self.eur, post=False)
        own.partner_bank_id = mine.partner_bank_id
        own.action_post()
        self.assertEqual(own.partner_bank_id, mine.partner_bank_id)

    def test_a_range_that_cannot_give_ibans_is_refused(self):
        with self._raises(ValidationError, "cannot give valid IBANs"):
            self.range.copy({"name": "Too long", "account_prefix": "000090000000"})

    def test_overlapping_ranges_and_changing_a_used_range_are_refused(self):
        with self._raises(ValidationError, "overlaps"):
            self.range.copy({"name": "Inside", "account_prefix": "000091", "width": 5})
        self._collection_invoice(100.0, currency=self.eur)
        with self._raises(UserError, "already gave IBANs"):
            self.range.width = 5
        with self._raises(UserError, "archive it"):
            self.range.unlink()

    def test_one_iban_per_invoice(self):
        self.company.collection_virtual_iban_mode = "invoice"
        first = self._collection_invoice(100.0, currency=self.eur)
        second = self._collection_invoice(50.0, currency=self.eur)
        one, two = self._viban_of(first), self._viban_of(second)
        self.assertNotEqual(one.iban, two.iban)
        self.assertEqual((one.scope, one.invoice_id, one.partner_id),
                         ("invoice", first, self.customer))
        self.assertEqual(two.invoice_id, second)
        # Posted again after a correction: the same IBAN.
        first.button_draft()
        first.action_post()
        self.assertEqual(self._viban_of(first), one)
        self.assertEqual(self.Viban.search_count([("invoice_id", "=", first.id)]), 1)
        # Reassigning gives the invoice a new IBAN, still for that invoice.
        one.action_reassign()
        new = self.Viban.search([("invoice_id", "=", first.id), ("state", "=", "active")])
        self.assertEqual((new.scope, new.previous_id), ("invoice", one))

    def test_a_letter_gives_each_invoice_its_own_iban(self):
        self.company.collection_virtual_iban_mode = "invoice"
        first = self._collection_invoice(100.0, due_in=-40, currency=self.eur)
        second = self._collection_invoice(50.0, due_in=-40, currency=self.eur)
        level = self.env.ref("smart_collection.collection_scenario_standard").level_ids[-1]
        dispatches = self.env["collection.dispatch"].create([
            {"invoice_id": inv.id, "partner_id": self.customer.id, "company_id": self.company.id,
             "level_id": level.id, "channel": "letter", "planned_date": fields.Date.today()}
            for inv in (first, second)
        ])
        html = self.env["ir.actions.report"]._render_qweb_html(
            "smart_collection.action_report_collection_letter", dispatches.ids
        )[0].decode()
        text = _compact(re.sub(r"<[^>]+>", "", html))
        for invoice in (first, second):
            self.assertIn(_compact(invoice.name) + ":" + self._viban_of(invoice).iban, text)

    def test_one_iban_per_point_of_sale(self):
        self.company.collection_virtual_iban_mode = "point_of_sale"
        Partner = self.env["res.partner"]
        lyon = Partner.create({"name": "Shop Lyon", "type": "delivery",
                               "parent_id": self.customer.id})
        nice = Partner.create({"name": "Shop Nice", "type": "delivery",
                               "parent_id": self.customer.id})
        buyer = Partner.create({"name": "Marie (buyer)", "type": "contact",
                                "parent_id": self.other.id})
        to_lyon = self._collection_invoice(10.0, currency=self.eur, post=False)
        to_lyon.partner_shipping_id = lyon
        to_lyon.action_post()
        again_lyon = self._collection_invoice(20.0, currency=self.eur, post=False)
        again_lyon.partner_shipping_id = lyon
        again_lyon.action_post()
        to_nice = self._collection_invoice(30.0, currency=self.eur, post=False)
        to_nice.partner_shipping_id = nice
        to_nice.action_post()
        self.assertEqual(to_lyon.partner_bank_id, again_lyon.partner_bank_id)
        self.assertNotEqual(to_lyon.partner_bank_id, to_nice.partner_bank_id)
        viban = self._viban_of(to_lyon)
        self.assertEqual((viban.partner_id, viban.scope, viban.point_of_sale_id),
                         (self.customer, "point_of_sale", lyon))
        self.assertEqual(self._viban_of(to_nice).point_of_sale_id, nice)
        # The invoice's contact is a child of the customer: that contact is the outlet.
        by_buyer = self._collection_invoice(40.0, partner=buyer, currency=self.eur)
        self.assertEqual(self._viban_of(by_buyer).point_of_sale_id, buyer)
        self.assertEqual(self._viban_of(by_buyer).partner_id, self.other)
        # Neither: one IBAN for the whole customer.
        third = self.env["res.partner"].create({"name": "Third", "is_company": True})
        plain = self._collection_invoice(50.0, partner=third, currency=self.eur)
        self.assertEqual(self._viban_of(plain).scope, "customer")
        self.assertFalse(self._viban_of(plain).point_of_sale_id)

    def test_settings_offer_every_mode(self):
        settings = self.env["res.config.settings"].create({})
        modes = dict(settings._fields["collection_virtual_iban_mode"]._description_selection(
            self.env))
        self.assertEqual(set(modes), {"none", "customer", "invoice", "point_of_sale"})
        settings.collection_virtual_iban_mode = "invoice"
        settings.execute()
        self.assertEqual(self.env.company.collection_virtual_iban_mode, "invoice")

    def test_pdf_email_and_qr_show_the_virtual_iban(self):
        self.company.qr_code = True
        invoice = self._collection_invoice(120.0, currency=self.eur)
        iban = _compact(invoice.partner_bank_id.acc_number)
        self.assertNotEqual(iban, _compact(self.company_bank.acc_number))
        # Invoice PDF (its HTML) and Odoo's SEPA QR code on it.
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.account_invoices", invoice.ids
        )[0].decode()
        self.assertIn(iban, _compact(re.sub(r"<[^>]+>", "", html)))
        self.assertNotIn(_compact(self.company_bank.acc_number), _compact(html))
        self.assertTrue(invoice._generate_qr_code())
        self.assertEqual(invoice.qr_code_method, "sct_qr")
        qr_vals = invoice.partner_bank_id._get_qr_vals(
            "sct_qr", invoice.amount_residual, invoice.currency_id, invoice.partner_id,
            invoice.name, invoice.payment_reference,
        )
        self.assertIn(iban, qr_vals)
        # The invoice e-mail names the account.
        template = self.env.ref("account.email_template_edi_invoice")
        body = template._render_field("body_html", invoice.ids)[invoice.id]
        self.assertIn(iban, _compact(str(body)))
        # The pay page's transfer details and EPC QR.
        details = invoice._collection_transfer_details()
        self.assertEqual(_compact(details["account"]), iban)
        self.assertEqual(
            details["epc_qr"],
            epc_qr.qr_data_uri(epc_qr.epc_payload(
                details["holder"], details["account"], details["bic"], invoice.amount_residual,
                "EUR", reference=details["reference"], text=invoice.name,
            )),
        )


@tagged("post_install", "-at_install")
class TestVirtualIbanList(VirtualIbanCommon):
    """A list of IBANs the bank sent: checked whole, each IBAN handed out once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.source = cls._list_source()
        cls.ibans = [_fr_iban("30004", 900 + n) for n in range(3)]
        cls.company.collection_virtual_iban_mode = "customer"

    def _csv(self, ibans, header="IBAN;BIC"):
        rows = [header] if header else []
        rows += [f"{IBAN(value, allow_invalid=True).formatted};BNPAFRPPXXX" for value in ibans]
        return "\n".join(rows) + "\n"

    def test_import_then_each_iban_is_given_once(self):
        self._import(self.source, self._csv(self.ibans))
        self.assertEqual(self.source.pool_ids.mapped("iban"), self.ibans)
        self.assertEqual(self.source.remaining, 3)
        first = self._collection_invoice(100.0, currency=self.eur)
        second = self._collection_invoice(100.0, partner=self.other, currency=self.eur)
        self.assertEqual(_compact(first.partner_bank_id.acc_number), self.ibans[0])
        self.assertEqual(_compact(second.partner_bank_id.acc_number), self.ibans[1])
        self.assertEqual(first.partner_bank_id.bank_bic, "BNPAFRPPXXX")
        pool = self.source.pool_ids
        self.assertEqual(pool.mapped("state"), ["assigned", "assigned", "available"])
        self.assertEqual(pool[0].virtual_iban_id, self._viban_of(first))
        self.assertEqual(self.source.remaining, 1)
        # Reassign: the retired IBAN stays with its payer, the next one of the list is given.
        old = self._viban_of(first)
        old.action_reassign()
        new = self.Viban.search([("partner_id", "=", self.customer.id), ("state", "=", "active")])
        self.assertEqual(new.iban, self.ibans[2])
        self.assertEqual(new.previous_id, old)
        self.assertEqual(pool[0].state, "assigned")
        # Used up: the same clear error as a range, the invoice still posts.
        third = self.env["res.partner"].create({"name": "Third", "is_company": True})
        late = self._collection_invoice(100.0, partner=third, currency=self.eur)
        self.assertEqual(late.state, "posted")
        self._assert_company_account(late)
        self.assertIn("is used up", late.message_ids[:1].body)
        with self._raises(UserError, "is used up"):
            new.action_reassign()
        self.assertEqual(new.state, "active")  # nothing retired when no new IBAN could be given

    def test_plain_list_without_header(self):
        text = "\n".join(IBAN(value).formatted for value in self.ibans[:2])
        self._import(self.source, text)
        self.assertEqual(self.source.pool_ids.mapped("iban"), self.ibans[:2])
        self.assertEqual(self.source.pool_ids.mapped("bic"), [False, False])

    def test_a_wrong_row_refuses_the_whole_file(self):
        bad = self.ibans[1][:-1] + str((int(self.ibans[1][-1]) + 1) % 10)
        text = self._csv([self.ibans[0], bad, self.ibans[2]])
        with self._raises(UserError, "nothing was changed") as caught:
            self._import(self.source, text)
        message = str(caught.exception)
        self.assertIn("Row 3", message)
        self.assertIn(IBAN(bad, allow_invalid=True).formatted, message)
        self.assertIn("check digits", message)
        self.assertNotIn("Row 2", message)
        self.assertFalse(self.source.pool_ids)

    def test_duplicates_and_known_ibans_are_reported(self):
        text = self._csv([self.ibans[0], self.ibans[1], self.ibans[0]])
        with self._raises(UserError, "Row 4: ") as caught:
            self._import(self.source, text)
        self.assertRegex(str(caught.exception), r"Row 4: .*listed twice in the file \(row 2\)")
        self._import(self.source, self._csv(self.ibans[:1]))
        other_list = self._list_source("Other list")
        company_iban = _compact(self.company_bank.acc_number)
        text = "\n".join([self.ibans[0], company_iban, self.ibans[2]])
        with self._raises(UserError, "nothing was changed") as caught:
            self._import(other_list, text)
        message = str(caught.exception)
        self.assertIn("Row 1", message)
        self.assertIn("in list “Bank list”", message)
        self.assertIn("Row 2", message)
        self.assertIn("already known (bank account of", message)
        self.assertFalse(other_list.pool_ids)


class StripeStub:
    """Stripe's HTTP API, the few calls a virtual IBAN needs, on 127.0.0.1."""

    def __init__(self):
        self.requests = []
        self.customers = {}
        self.error = None  # (status, message) answered to funding-instruction calls
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_stub")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                stub.requests.append(("GET", url.path, params, dict(self.headers)))
                if url.path == "/v1/customers/search":
                    key = re.search(r"metadata\['odoo_virtual_iban'\]:'([^']*)'",
                                    params.get("query", ""))
                    found = [c for c in stub.customers.values()
                             if key and c["metadata"].get("odoo_virtual_iban") == key.group(1)]
                    return self._answer(200, {"object": "search_result", "data": found,
                                              "has_more": False, "next_page": None,
                                              "url": "/v1/customers/search"})
                return self._answer(404, {"error": {"type": "invalid_request_error",
                                                    "message": "Unknown path"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                stub.requests.append(("POST", self.path, params, dict(self.headers)))
                if self.path == "/v1/customers":
                    key = self.headers.get("Idempotency-Key")
                    for customer in stub.customers.values():
                        if key and customer.get("_idempotency_key") == key:
                            return self._answer(200, customer)
                    return self._answer(200, stub.add_customer(params, key))
                match = re.fullmatch(r"/v1/customers/(\w+)/funding_instructions", self.path)
                if match:
                    if stub.error:
                        status, message = stub.error
                        return self._answer(status, {"error": {
                            "type": "invalid_request_error", "message": message}})
                    customer = stub.customers[match.group(1)]
                    return self._answer(200, {
                        "object": "funding_instructions",
                        "bank_transfer": {
                            "country": params.get("bank_transfer[eu_bank_transfer][country]"),
                            "type": "eu_bank_transfer",
                            "financial_addresses": [{
                                "type": "iban",
                                "supported_networks": ["sepa"],
                                "iban": {"iban": customer["_iban"], "bic": "SXPYFRP1XXX",
                                         "country": "FR",
                                         "account_holder_name": "Test Company SAS"},
                            }],
                        },
                        "currency": "eur",
                        "funding_type": "bank_transfer",
                        "livemode": False,
                    })
                return self._answer(404, {"error": {"type": "invalid_request_error",
                                                    "message": "Unknown path"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_customer(self, params, idempotency_key=None):
        number = len(self.customers) + 1
        customer = {
            "id": f"cus_stub{number}",
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")},
            "_iban": _fr_iban("20041", 7000 + number, branch_code="01005"),
            "_idempotency_key": idempotency_key,
        }
        self.customers[customer["id"]] = customer
        return customer

    def calls(self, method, path_part):
        return [r for r in self.requests if r[0] == method and path_part in r[1]]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@tagged("post_install", "-at_install")
class TestVirtualIbanStripe(VirtualIbanCommon):
    """Stripe EU bank-transfer IBANs, against a local stub of Stripe's HTTP API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe_provider = cls._collection_provider(
            "stripe", stripe_secret_key="sk_test_vib", stripe_publishable_key="pk_test_vib"
        )
        cls.source = cls.env["collection.virtual.iban.range"].create(
            {"name": "Stripe", "provider": "stripe", "country_id": cls.fr.id}
        )
        cls.company.collection_virtual_iban_mode = "customer"

    def setUp(self):
        super().setUp()
        self.stub = self.enterContext(StripeStub())
        self.enterContext(patch.object(stripe, "api_base", self.stub.url))

    def test_funding_iban_per_customer(self):
        invoice = self._collection_invoice(100.0, currency=self.eur)
        viban = self._viban_of(invoice)
        created = self.stub.calls("POST", "/v1/customers")
        customers = [c for c in created if c[1] == "/v1/customers"]
        self.assertEqual(len(customers), 1)
        _method, _path, params, headers = customers[0]
        self.assertEqual(headers["Authorization"], "Bearer sk_test_vib")
        self.assertEqual(params["name"], self.customer.name)
        self.assertEqual(params["metadata[odoo_partner_id]"], str(self.customer.id))
        self.assertTrue(headers["Idempotency-Key"].endswith("-g0"))
        funding = self.stub.calls("POST", "/funding_instructions")
        self.assertEqual(len(funding), 1)
        self.assertEqual(funding[0][2]["currency"], "eur")
        self.assertEqual(funding[0][2]["funding_type"], "bank_transfer")
        self.assertEqual(funding[0][2]["bank_transfer[type]"], "eu_bank_transfer")
        self.assertEqual(funding[0][2]["bank_transfer[eu_bank_transfer][country]"], "FR")
        stub_customer = self.stub.customers["cus_stub1"]
        self.assertEqual(viban.iban, stub_customer["_iban"])
        self.assertEqual(viban.provider_reference, "cus_stub1")
        self.assertEqual(_compact(invoice.partner_bank_id.acc_number), stub_customer["_iban"])
        self.assertEqual(invoice.partner_bank_id.bank_bic, "SXPYFRP1XXX")
        self.assertEqual(invoice.partner_bank_id.acc_holder_name, "Test Company SAS")
        # The customer's next invoice: same IBAN, Stripe not asked again.
        again = self._collection_invoice(30.0, currency=self.eur)
        self.assertEqual(again.partner_bank_id, invoice.partner_bank_id)
        self.assertEqual(len(self.stub.calls("POST", "/funding_instructions")), 1)
        # Reassign: a new Stripe customer, hence a new IBAN.
        viban.action_reassign()
        new = self.Viban.search([("partner_id", "=", self.customer.id), ("state", "=", "active")])
        self.assertEqual(new.provider_reference, "cus_stub2")
        self.assertEqual(new.iban, self.stub.customers["cus_stub2"]["_iban"])
        self.assertEqual(new.previous_id, viban)
        self.assertEqual(viban.state, "retired")

    def test_an_existing_stripe_customer_is_found_not_created(self):
        """A customer created by an attempt that rolled back is found by its key."""
        self.company.collection_virtual_iban_mode = "invoice"
        invoice = self._collection_invoice(100.0, currency=self.eur, post=False)
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid")
        key = (f"{uuid}-vib{self.source.id}-p{self.customer.id}-i{invoice.id}-s0-g0")
        existing = self.stub.add_customer({"name": "x", "metadata[odoo_virtual_iban]": key})
        invoice.action_post()
        self.assertEqual(self._viban_of(invoice).iban, existing["_iban"])
        self.assertEqual(self._viban_of(invoice).invoice_id, invoice)
        self.assertFalse([c for c in self.stub.requests if c[:2] == ("POST", "/v1/customers")])

    def test_a_stripe_error_never_blocks_posting(self):
        self.stub.error = (400, "EU bank transfers are not enabled on this account.")
        first = self._collection_invoice(100.0, currency=self.eur, post=False)
        second = self._collection_invoice(50.0, partner=self.other, currency=self.eur, post=False)
        with mute_logger(RANGE_LOGGER):
            (first | second).action_post()
        for invoice in first | second:
            self.assertEqual(invoice.state, "posted")
            self._assert_company_account(invoice)
            self.assertIn("EU bank transfers are not enabled", invoice.message_ids[:1].body)
        # One failing call for the batch, not one per invoice.
        self.assertEqual(len(self.stub.calls("POST", "/funding_instructions")), 1)
        self.assertFalse(self.Viban.search([("range_id", "=", self.source.id)]))

    def test_without_a_stripe_key_the_invoice_says_so(self):
        self.stripe_provider.state = "disabled"
        invoice = self._collection_invoice(100.0, currency=self.eur)
        self.assertEqual(invoice.state, "posted")
        self.assertIn("enable the Stripe payment provider", invoice.message_ids[:1].body)
        self.assertFalse(self.stub.requests)


@tagged("post_install", "-at_install")
class TestVirtualIbanConcurrency(CollectionCommon):
    """Two real transactions allocating at the same time: never the same IBAN, never a wait.

    The sources are created and committed through cursors of their own (the test's transaction
    is invisible to other transactions) and removed at the end.
    """

    WORKERS = 2
    PER_WORKER = 4

    def setUp(self):
        super().setUp()
        self.created = {"range": [], "partner": []}
        with self.registry.cursor() as cr:
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM mail_message")
            self.last_message = cr.fetchone()[0]
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.company_id = env.ref("base.main_company").id
            self.company_partner_id = env.ref("base.main_company").partner_id.id
            partners = env["res.partner"].create(
                [{"name": f"Concurrent payer {n}", "is_company": True}
                 for n in range(self.WORKERS * self.PER_WORKER + 1)]
            )
            self.created["partner"] = partners.ids
        self.addCleanup(self._cleanup)

    def _source(self, values):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            source = env["collection.virtual.iban.range"].create(
                {"company_id": self.company_id, **values}
            )
            self.created["range"].append(source.id)
            if values["provider"] == "imported_list":
                env["collection.virtual.iban.pool"].create(
                    [{"source_id": source.id, "iban": _fr_iban("30077", 5000 + n)}
                     for n in range(self.WORKERS * self.PER_WORKER)]
                )
            return source.id

    def _cleanup(self):
        with self.registry.cursor() as cr:
            ranges = tuple(self.created["range"]) or (0,)
            cr.execute(SQL("SELECT bank_account_id FROM collection_virtual_iban"
                           " WHERE range_id IN %s", ranges))
            accounts = tuple(r[0] for r in cr.fetchall()) or (0,)
            cr.execute(SQL("DELETE FROM collection_virtual_iban_pool WHERE source_id IN %s",
                           ranges))
            cr.execute(SQL("DELETE FROM collection_virtual_iban WHERE range_id IN %s", ranges))
            cr.execute(SQL("DELETE FROM res_partner_bank WHERE id IN %s", accounts))
            cr.execute(SQL("DELETE FROM res_bank WHERE bic = 'CONCFRPPXXX'"))
            cr.execute(SQL("DELETE FROM collection_virtual_iban_range WHERE id IN %s", ranges))
            for range_id in self.created["range"]:
                cr.execute(SQL("DROP SEQUENCE IF EXISTS %s", SQL.identifier(
                    f"collection_virtual_iban_range_{range_id}_seq")))
            cr.execute(SQL("DELETE FROM mail_message WHERE id > %s AND model = 'res.partner'"
                           " AND res_id = %s", self.last_message, self.company_partner_id))
            cr.execute(SQL("DELETE FROM mail_message WHERE model = 'res.partner.bank'"
                           " AND res_id IN %s", accounts))
            cr.execute(SQL("DELETE FROM mail_followers WHERE res_model = 'res.partner.bank'"
                           " AND res_id IN %s", accounts))
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["res.partner"].browse(self.created["partner"]).unlink()

    def _allocate(self, source_id, partner_ids, before=None, after=None, committed=None):
        """In a transaction of its own: allocate for each partner, then commit.

        ``before`` runs once the transaction has its snapshot, ``after`` before the commit,
        ``committed`` after it.
        """
        with self.registry.cursor() as cr:
            # The registry is loading (post-install tests): asking for it by name would wait.
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("SELECT 1")  # repeatable read: the snapshot is taken here
            if before:
                before()
            source = env["collection.virtual.iban.range"].browse(source_id)
            ibans = [source._collection_allocate(env["res.partner"].browse(pid)).iban
                     for pid in partner_ids]
            if after:
                after()
        if committed:
            committed()
        return ibans

    def _run(self, *jobs):
        """Run each job in its own thread; their results, or the first error."""
        results, errors = [None] * len(jobs), []

        def run(index, job):
            try:
                results[index] = job()
            except Exception as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse([t for t in threads if t.is_alive()], "a transaction waits forever")
        self.assertFalse(errors, errors)
        return results

    def _workers_at_once(self, source_id):
        barrier = threading.Barrier(self.WORKERS, timeout=30)
        partners = self.created["partner"]
        return self._run(*[
            (lambda n=n: self._allocate(
                source_id, partners[n * self.PER_WORKER:(n + 1) * self.PER_WORKER],
                before=barrier.wait))
            for n in range(self.WORKERS)
        ])

    def _committed_ibans(self, source_id):
        with self.registry.cursor() as cr:
            cr.execute(SQL("SELECT iban FROM collection_virtual_iban WHERE range_id = %s",
                           source_id))
            return sorted(r[0] for r in cr.fetchall())

    def test_bank_range_allocation_is_unique_under_concurrency(self):
        source_id = self._source({
            "name": "Concurrent range", "provider": "bank_range",
            "country_id": self.env.ref("base.fr").id, "bank_code": "30066",
            "branch_code": "00001", "account_prefix": "00001", "width": 6,
            "bic": "CONCFRPPXXX",
        })
        results = self._workers_at_once(source_id)
        given = [iban for ibans in results for iban in ibans]
        self.assertEqual(len(given), self.WORKERS * self.PER_WORKER)
        self.assertEqual(len(set(given)), len(given))
        self.assertEqual(self._committed_ibans(source_id), sorted(given))
        # A transaction that began before another one committed: no conflict either.
        snapshot, committed = threading.Event(), threading.Event()
        partners = self.created["partner"][-1:]
        older, newer = self._run(
            lambda: self._allocate(source_id, partners,
                                   before=lambda: (snapshot.set(), committed.wait(30))),
            lambda: self._allocate(source_id, partners, before=lambda: snapshot.wait(30),
                                   committed=committed.set),
        )
        self.assertNotEqual(older, newer)
        self.assertEqual(len(self._committed_ibans(source_id)), len(given) + 2)

    def test_imported_list_allocation_is_unique_under_concurrency(self):
        source_id = self._source({"name": "Concurrent list", "provider": "imported_list",
                                  "bic": "CONCFRPPXXX"})
        results = self._workers_at_once(source_id)
        given = [iban for ibans in results for iban in ibans]
        self.assertEqual(len(given), self.WORKERS * self.PER_WORKER)
        self.assertEqual(len(set(given)), len(given))
        self.assertEqual(self._committed_ibans(source_id), sorted(given))
        with self.registry.cursor() as cr:
            cr.execute(SQL("SELECT count(*) FROM collection_virtual_iban_pool WHERE source_id = %s"
                           " AND state = 'available'", source_id))
            self.assertEqual(cr.fetchone()[0], 0)
        # The list is used up for everyone.
        with self.assertRaisesRegex(UserError, "is used up"):
            self._allocate(source_id, self.created["partner"][-1:])

    def test_imported_list_skips_rows_taken_by_other_transactions(self):
        """One worker holds a row: the other takes the next. One committed a row after the
        other's snapshot: the other skips it (no serialization error reaches the caller)."""
        source_id = self._source({"name": "Interleaved list", "provider": "imported_list",
                                  "bic": "CONCFRPPXXX"})
        partners = self.created["partner"]
        holding, released = threading.Event(), threading.Event()
        first, second = self._run(
            lambda: self._allocate(source_id, partners[:1],
                                   after=lambda: (holding.set(), released.wait(30))),
            lambda: self._allocate(source_id, partners[1:2], before=lambda: holding.wait(30),
                                   after=released.set),
        )
        self.assertEqual(first, [_fr_iban("30077", 5000)])
        self.assertEqual(second, [_fr_iban("30077", 5001)])
        snapshot, committed = threading.Event(), threading.Event()
        older, newer = self._run(
            lambda: self._allocate(source_id, partners[2:3],
                                   before=lambda: (snapshot.set(), committed.wait(30))),
            lambda: self._allocate(source_id, partners[3:4], before=lambda: snapshot.wait(30),
                                   committed=committed.set),
        )
        self.assertEqual(newer, [_fr_iban("30077", 5002)])
        self.assertEqual(older, [_fr_iban("30077", 5003)])
        self.assertEqual(len(self._committed_ibans(source_id)), 4)


@tagged("post_install", "-at_install")
class TestVirtualIbanPayPage(VirtualIbanCommon, HttpCase):
    """The public pay page shows the payer's virtual IBAN, not the company's."""

    def test_pay_page_shows_the_virtual_iban(self):
        source = self._list_source()
        iban = _fr_iban("30004", 4242)
        self._import(source, iban)
        self.company.collection_virtual_iban_mode = "invoice"
        invoice = self._collection_invoice(80.0, currency=self.eur)
        response = self.url_open(invoice.collection_pay_url, allow_redirects=False)
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertIn(IBAN(iban).formatted, page)
        self.assertNotIn("FR76 3000 6000 0112 3456 7890 189", page)
        self.assertIn('id="collection_epc_qr"', page)
        self.assertIn("BNPAFRPPXXX", page)
