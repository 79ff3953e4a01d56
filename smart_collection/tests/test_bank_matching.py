import base64
import re
from contextlib import contextmanager

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from ..services import matching
from .common import CollectionCommon
from .test_statement_import import ACCOUNT, _entry, _tx, camt053

PAYER_IBAN = "FR7620041000000100505050076"
UNKNOWN_IBAN = "DE89370400440532013000"


@tagged("post_install", "-at_install")
class TestBankMatching(CollectionCommon):
    """Imported transfers end on the right invoices, or in front of a person with reasons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.company_data["default_journal_bank"]
        cls.other_customer = cls.env["res.partner"].create(
            {"name": "Talleres Gomez", "is_company": True, "email": "pagos@gomez.example"}
        )
        cls.writeoff_account = cls.env["account.account"].create(
            {"name": "Small differences", "code": "658100", "account_type": "expense"}
        )
        cls.matcher = cls.env["collection.matcher"]
        cls.company.collection_scenario_id = cls.env.ref(
            "smart_collection.collection_scenario_standard"
        )

    def _transfer(self, amount, **values):
        return self.env["account.bank.statement.line"].create(
            {"journal_id": self.bank.id, "amount": amount, "payment_ref": "/", **values}
        )

    def _match(self, *lines):
        self.matcher._collection_match([line.id for line in lines])
        return self.env["collection.match"].search(
            [("statement_line_id", "in", [line.id for line in lines])]
        ).sorted(lambda m: m.statement_line_id.id)

    def _overdue(self, amount, partner=None):
        return self._collection_invoice(amount, due_in=-20, partner=partner)

    def test_every_core_reason_has_a_translatable_sentence(self):
        texts = self.env["collection.match"]._collection_reason_texts()
        self.assertLessEqual(set(matching.REASONS), set(texts))

    def test_reference_books_the_invoice_and_reminders_stop(self):
        paid_by_ref = self._overdue(120.0)
        by_number = self._overdue(80.0, partner=self.other_customer)
        still_due = self._overdue(45.0)
        lines = (
            self._transfer(120.0, collection_structured_ref=paid_by_ref.collection_reference,
                           partner_name="BOULANGERIE MARTIN"),
            self._transfer(80.0, payment_ref=f"Facture {by_number.name.lower()} merci"),
            self._transfer(33.0, partner_name="Someone Else", account_number=UNKNOWN_IBAN),
            self._transfer(-12.0, payment_ref="Bank fees"),
        )
        first, second, unknown, fees = self._match(*lines)
        self.assertEqual((first.state, first.reconciled), ("auto", True))
        self.assertEqual(first.partner_id, self.customer)
        self.assertIn("Structured reference", first.reason_text)
        self.assertEqual(paid_by_ref.payment_state, "paid")
        self.assertEqual((second.state, by_number.payment_state), ("auto", "paid"))
        self.assertTrue(lines[0].is_reconciled and lines[1].is_reconciled)
        self.assertEqual((unknown.state, unknown.partner_id.id), ("unmatched", False))
        self.assertIn("Payer not identified", unknown.reason_text)
        self.assertFalse(lines[2].is_reconciled)
        self.assertEqual(fees.state, "ignored")
        # Decided once: matching again changes nothing.
        self.assertEqual(self.matcher._collection_match([ln.id for ln in lines]), [])
        # The day's run chases the invoice still due, not the paid ones.
        self.env["collection.engine"]._collection_plan_and_write()
        chased = self.env["collection.dispatch"].search([]).invoice_id
        self.assertIn(still_due, chased)
        self.assertNotIn(paid_by_ref, chased)
        self.assertNotIn(by_number, chased)

    def test_partial_payment_and_overpayment(self):
        partly = self._overdue(100.0)
        over = self._overdue(100.0)
        part_match, over_match = self._match(
            self._transfer(40.0, collection_structured_ref=partly.collection_reference),
            self._transfer(130.0, collection_structured_ref=over.collection_reference),
        )
        self.assertTrue(part_match.reconciled and over_match.reconciled)
        self.assertEqual((partly.payment_state, partly.amount_residual), ("partial", 60.0))
        self.assertEqual(over.payment_state, "paid")
        self.assertEqual(over_match.credit_amount, 30.0)
        credit = over_match.statement_line_id.line_ids.filtered(
            lambda ln: ln.account_id.account_type == "asset_receivable" and not ln.reconciled
        )
        self.assertEqual((credit.partner_id, credit.amount_residual), (self.customer, -30.0))
        # Each invoice's chatter says which transfer paid it, and how far.
        for invoice, state in ((partly, "Partially Paid"), (over, "Paid")):
            notes = invoice.message_ids.filtered(lambda m: "booked: payment status" in m.body)
            self.assertEqual(len(notes), 1)
            self.assertIn(f"payment status {state}.", notes.body)
        # Reminders go on for the rest of the partly paid invoice.
        self.env["collection.engine"]._collection_plan_and_write()
        self.assertIn(partly, self.env["collection.dispatch"].search([]).invoice_id)

    def test_ambiguous_transfer_waits_for_review_then_one_click(self):
        self.env["res.partner.bank"].create(
            {"acc_number": PAYER_IBAN, "partner_id": self.customer.id}
        )
        older = self._overdue(50.0)
        newer = self._overdue(50.0)
        [match] = self._match(self._transfer(50.0, account_number=PAYER_IBAN))
        self.assertEqual((match.state, match.partner_id), ("review", self.customer))
        self.assertIn("Several open invoices have this amount", match.reason_text)
        self.assertEqual(match.proposal_ids.mapped("move_ids"), older | newer)
        # While the transfer waits for a person, its invoice is not chased.
        self.env["collection.engine"]._collection_plan_and_write()
        self.assertNotIn(older, self.env["collection.dispatch"].search([]).invoice_id)
        proposal = match.proposal_ids.filtered(lambda p: p.move_ids == newer)
        proposal.action_accept()
        self.assertEqual((match.state, match.reconciled), ("accepted", True))
        self.assertEqual((newer.payment_state, older.payment_state), ("paid", "not_paid"))
        with self.assertRaisesRegex(UserError, "already booked"):
            match.proposal_ids[0].action_accept()
        # Undo: the invoice reopens and the transfer is back in suspense, ready to be redone.
        match.action_undo()
        self.assertEqual((match.state, match.reconciled), ("review", False))
        self.assertEqual(newer.payment_state, "not_paid")
        self.assertFalse(match.statement_line_id.is_reconciled)
        self.assertIn("Booking undone", match.reason_text)
        match.proposal_ids.filtered(lambda p: p.move_ids == older).action_accept()
        self.assertEqual(older.payment_state, "paid")

    def test_pick_by_hand_with_a_write_off(self):
        self.company.write({
            "collection_writeoff_tolerance": 0.05,
            "collection_writeoff_account_id": self.writeoff_account.id,
        })
        invoice = self._overdue(100.0, partner=self.other_customer)
        [match] = self._match(self._transfer(99.97, partner_name="T. GOMEZ SL"))
        self.assertEqual(match.state, "unmatched")
        wizard = self.env["collection.match.pick"].create(
            {"match_id": match.id, "partner_id": self.other_customer.id,
             "move_ids": [(6, 0, invoice.ids)]}
        )
        self.assertTrue(wizard.can_write_off)
        self.assertAlmostEqual(wizard.difference, -0.03)
        wizard.write({"write_off": True})
        wizard.action_confirm()
        self.assertEqual((match.state, match.reconciled), ("accepted", True))
        self.assertEqual(invoice.payment_state, "paid")
        written = match.statement_line_id.line_ids.filtered(
            lambda ln: ln.account_id == self.writeoff_account
        )
        self.assertAlmostEqual(written.balance, 0.03)
        # Beyond the tolerance the difference is refused, not written off.
        second = self._overdue(100.0, partner=self.other_customer)
        [other] = self._match(self._transfer(90.0, partner_name="T. GOMEZ SL"))
        with self.assertRaisesRegex(UserError, "larger than the write-off tolerance"):
            other._collection_accept(second, write_off=True)

    def test_transfer_paid_twice_in_one_statement_is_booked_once(self):
        invoice = self._overdue(75.0)
        first, second = self._match(
            self._transfer(75.0, collection_structured_ref=invoice.collection_reference),
            self._transfer(75.0, collection_structured_ref=invoice.collection_reference),
        )
        self.assertEqual((first.state, first.reconciled), ("auto", True))
        self.assertEqual((second.state, second.reconciled), ("review", False))
        self.assertIn("already paid by another transfer", second.reason_text)
        # The next statement repeats it again, next to another open invoice of that amount.
        other = self._overdue(75.0)
        viban = "FR7630004000017700001247753"
        self.env["collection.virtual.iban"].create(
            {"iban": viban, "partner_id": self.customer.id, "company_id": self.company.id}
        )
        [third] = self._match(
            self._transfer(75.0, collection_structured_ref=invoice.collection_reference,
                           collection_credited_iban=viban)
        )
        self.assertEqual(third.state, "review")
        self.assertEqual(other.payment_state, "not_paid")

    def test_invoice_paid_meanwhile_sends_its_transfer_to_review(self):
        first, second = self._overdue(70.0), self._overdue(71.0)
        lines = [
            self._transfer(inv.amount_total, collection_structured_ref=inv.collection_reference)
            for inv in (first, second)
        ]
        self.matcher._collection_match([ln.id for ln in lines], reconcile=False)
        self._collection_pay_in_full(first)  # paid at the counter before the booking
        matches = self.env["collection.match"].search(
            [("statement_line_id", "in", [ln.id for ln in lines])]
        )
        booked = self.matcher._collection_book(matches)
        failed = matches - booked
        self.assertEqual(booked.allocation_ids.move_id, second)
        self.assertEqual(second.payment_state, "paid")
        self.assertEqual((failed.state, failed.reconciled), ("review", False))
        self.assertIn("Could not be booked", failed.reason_text)
        self.assertFalse(failed.statement_line_id.is_reconciled)

    def test_camt_import_matches_at_once_in_the_statement_currency(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        bank_account = self.env["res.partner.bank"].create(
            {"acc_number": ACCOUNT, "partner_id": self.company.partner_id.id}
        )
        journal = self.env["account.journal"].create({
            "name": "Bank EUR", "code": "BEUR", "type": "bank", "currency_id": eur.id,
            "bank_account_id": bank_account.id,
        })
        invoice = self._collection_invoice(120.0, due_in=-3, currency=eur)
        data = camt053([
            _entry("REF-1", "120.00", _tx("120.00", "Boulangerie Martin", PAYER_IBAN,
                                          ref=invoice.collection_reference)),
            _entry("REF-2", "9.99", _tx("9.99", "Nobody", UNKNOWN_IBAN, text="hello")),
        ])
        result = self.env["collection.statement.import"].create({
            "journal_id": journal.id, "data_file": base64.b64encode(data),
            "filename": "statement.xml",
        }).action_import()
        self.assertIn("1 booked on invoices, 1 to review", result["params"]["message"])
        self.assertEqual(invoice.payment_state, "paid")

    def test_a_collector_without_full_accounting_imports_reviews_and_undoes(self):
        collector = self.env["res.users"].create({
            "name": "Colette Collector",
            "login": "colette",
            "company_id": self.company.id,
            "company_ids": [(6, 0, self.company.ids)],
            "groups_id": [(6, 0, [self.env.ref("base.group_user").id,
                                  self.env.ref("smart_collection.group_collection_user").id])],
        })
        self.assertFalse(collector.has_group("account.group_account_basic"))
        self.env["res.partner.bank"].create(
            {"acc_number": PAYER_IBAN, "partner_id": self.customer.id}
        )
        older, newer = self._overdue(50.0), self._overdue(50.0)
        bank_account = self.env["res.partner.bank"].create(
            {"acc_number": ACCOUNT, "partner_id": self.company.partner_id.id}
        )
        self.bank.bank_account_id = bank_account
        currency = self.company.currency_id.name
        data = camt053(
            [_entry("REF-7", "50.00", _tx("50.00", "Boulangerie Martin", PAYER_IBAN))],
        ).replace(b'Ccy="EUR"', f'Ccy="{currency}"'.encode())
        env = self.env(user=collector)
        env["collection.statement.import"].create({
            "journal_id": self.bank.id, "data_file": base64.b64encode(data),
            "filename": "statement.xml",
        }).action_import()
        match = env["collection.match"].search([("payer_name", "=", "Boulangerie Martin")])
        self.assertEqual(match.state, "review")
        match.proposal_ids.filtered(lambda p: p.move_ids == older).action_accept()
        self.assertEqual(older.payment_state, "paid")
        match.action_undo()
        self.assertEqual(older.payment_state, "not_paid")
        match.action_match_again()
        again = env["collection.match"].search([("payer_name", "=", "Boulangerie Martin")])
        self.assertEqual(again.state, "review")
        self.assertEqual(newer.payment_state, "not_paid")

    def test_cron_matches_in_batches(self):
        invoices = [self._overdue(10.0 + i) for i in range(5)]
        lines = [
            self._transfer(inv.amount_total, collection_structured_ref=inv.collection_reference)
            for inv in invoices
        ]
        done = self.matcher._cron_match_statement_lines(batch_size=2)
        self.assertGreaterEqual(done, 5)
        self.assertTrue(all(line.is_reconciled for line in lines))
        self.assertEqual(set(map(lambda inv: inv.payment_state, invoices)), {"paid"})

    @contextmanager
    def _recorded_queries(self):
        queries = []
        cr = self.env.cr
        execute = cr.execute

        def record(query, params=None, log_exceptions=True):
            queries.append((query, params))
            return execute(query, params, log_exceptions)

        cr.execute = record
        try:
            yield queries
        finally:
            del cr.execute

    def _index_not_visible_yet(self, table):
        """PostgreSQL hides an index built over broken HOT chains from snapshots older than
        the index (``indcheckxmin``): a long transaction elsewhere on the server makes it look
        unused. That says nothing about the query."""
        self.env.cr.execute(
            """
            SELECT 1 FROM pg_index i
             WHERE i.indrelid = %s::regclass AND i.indcheckxmin
               AND (SELECT age(backend_xmin) FROM pg_stat_activity
                     WHERE pid = pg_backend_pid()) > age(i.xmin)
            """,
            [table],
        )
        return bool(self.env.cr.fetchone())

    def test_hot_lookups_use_indexes(self):
        """The matcher's lookups must stay index scans at a million invoices."""
        self.env["res.partner.bank"].create(
            {"acc_number": PAYER_IBAN, "partner_id": self.customer.id}
        )
        invoice = self._overdue(60.0)
        line = self._transfer(
            60.0, collection_structured_ref=invoice.collection_reference,
            payment_ref=f"pour {invoice.name}", account_number=PAYER_IBAN,
            partner_name="Boulangerie Martin", collection_credited_iban=UNKNOWN_IBAN,
        )
        with self._recorded_queries() as queries:
            self.matcher._collection_match([line.id], reconcile=False)
        hot = re.compile(
            r"\b(account_move|collection_virtual_iban|res_partner_bank|res_partner|"
            r"collection_match_allocation|account_bank_statement_line)\b"
        )
        checked = 0
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        try:
            for query, params in queries:
                text = query.code if isinstance(query, SQL) else str(query)
                if not text.lstrip().upper().startswith("SELECT") or not hot.search(text):
                    continue
                if isinstance(query, SQL):
                    params = query.params
                self.env.cr.execute("EXPLAIN " + text, params)
                plan = "\n".join(row[0] for row in self.env.cr.fetchall())
                scanned = re.findall(r"Seq Scan on (\w+)", plan)
                if any(self._index_not_visible_yet(table) for table in scanned):
                    continue
                self.assertNotRegex(plan, r"Seq Scan on (?!res_currency)", f"{text}\n{plan}")
                checked += 1
        finally:
            self.env.cr.execute("SET LOCAL enable_seqscan = on")
        self.assertGreaterEqual(checked, 6)
