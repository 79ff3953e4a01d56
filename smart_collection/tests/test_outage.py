from collections import Counter
from datetime import datetime, time, timedelta

from freezegun import freeze_time
from odoo import Command, fields
from odoo.tests import tagged

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestOutage(CollectionCommon):
    """The daily run stops for four days: the next run catches up by the policy, once.

    Runs on D-7 ... D (normal days), none on D+1 ... D+4, one on D+5, then D+5 again. ``L`` in
    the comments is how many days an invoice is late on D. Standard ladder: notice -7 (e-mail),
    first reminder +3 (e-mail), second +10 (e-mail + SMS), call +20, letter +30, formal notice
    +45 (companies, 7 days after the previous reminder). The "Tight" scenario has levels closer
    than the outage: +1 e-mail, +2 SMS, +3 call (individuals only), +8 letter.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.D = fields.Date.context_today(cls.env["account.move"])
        cls._collection_setup_scenarios("Olivier Outage", "olivier")
        ref = cls.env.ref
        cls.notice, cls.r1, cls.r2, cls.call, cls.letter, cls.formal = (
            ref(f"smart_collection.collection_level_{name}")
            for name in ("notice", "reminder_1", "reminder_2", "call", "letter",
                         "formal_notice")
        )
        cls.tight = cls.env["collection.scenario"].create(
            {
                "name": "Tight",
                "sequence": 200,
                "level_ids": [
                    Command.create({
                        "name": "T1 e-mail", "sequence": 1, "offset_days": 1,
                        "use_email": True,
                        "mail_template_id": ref(
                            "smart_collection.mail_template_collection_reminder_1").id,
                    }),
                    Command.create({
                        "name": "T2 SMS", "sequence": 2, "offset_days": 2, "use_sms": True,
                        "sms_template_id": ref(
                            "smart_collection.sms_template_collection_reminder").id,
                    }),
                    Command.create({
                        "name": "T3 call", "sequence": 3, "offset_days": 3, "use_call": True,
                        "customer_type": "person",
                    }),
                    Command.create({
                        "name": "T4 letter", "sequence": 4, "offset_days": 8,
                        "use_letter": True,
                    }),
                ],
            }
        )
        cls.t1, cls.t2, cls.t3, cls.t4 = cls.tight.level_ids.sorted("offset_days")

    def _invoice(self, partner, late):
        """A posted invoice ``late`` days late on D (negative: due after D)."""
        due = self.D - timedelta(days=late)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": min(due, self.D) - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Bread", "quantity": 1, "price_unit": 100.0, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = due
        return invoice

    def _at(self, day):
        return freeze_time(datetime.combine(day, time(10, 0)))

    def _run(self, day):
        with self._at(day):
            self.engine._cron_run_scenarios()

    def _plan(self, day):
        """The engine's decisions for ``day`` (nothing written), by invoice."""
        with self._at(day):
            result = self.engine._collection_plan()
        return result["plan"], {s.invoice_id: s for s in result["plan"].statuses}

    def _outbox(self, partners):
        """What each customer received: e-mails, SMS, call tasks and letters."""
        boxes = {}
        for partner in partners:
            boxes[partner] = Counter(
                email=self.env["mail.mail"].search_count(
                    [("model", "=", "res.partner"), ("res_id", "=", partner.id)]),
                sms=self.env["sms.sms"].search_count([("partner_id", "=", partner.id)]),
                call=self.env["mail.activity"].search_count(
                    [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]),
                letter=self.env["ir.attachment"].search_count(
                    [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]),
            )
        return boxes

    def _everything(self):
        return (
            self.env["mail.mail"].search_count([]),
            self.env["sms.sms"].search_count([]),
            self.env["mail.activity"].search_count([]),
            self.env["ir.attachment"].search_count([("res_model", "=", "res.partner")]),
            self.env["collection.dispatch"].search_count([]),
            self.env["mail.message"].search_count([]),
        )

    def _rows(self, invoices, day):
        rows = self.env["collection.dispatch"].search(
            [("invoice_id", "in", invoices.ids), ("planned_date", "=", day)]
        )
        return {(r.invoice_id, r.level_id, r.channel, r.state) for r in rows}

    def test_four_days_without_a_run(self):
        D = self.D
        day = {k: D + timedelta(days=k) for k in range(-7, 8)}
        c = {
            name: self._customer(name, **values)
            for name, values in (
                ("Early Bird", {}), ("Notice Late", {}), ("First Reminder", {}),
                ("Second Reminder", {}), ("Quiet", {}), ("Call", {}), ("Letter", {}),
                ("Formal Sent", {}), ("Person", {"is_company": False}), ("Grouped", {}),
                ("Tight Co", {"collection_scenario_id": self.tight.id}),
                ("Tight Person", {"collection_scenario_id": self.tight.id,
                                  "is_company": False}),
            )
        }
        inv = {
            "early": self._invoice(c["Early Bird"], -12),  # notice due on D+5 itself
            "notice": self._invoice(c["Notice Late"], -9),  # notice due on D+2
            "first": self._invoice(c["First Reminder"], 0),  # R1 due on D+3
            "second": self._invoice(c["Second Reminder"], 6),  # R2 due on D+4
            "quiet": self._invoice(c["Quiet"], 11),  # R2 sent D-1, call due on D+9
            "call": self._invoice(c["Call"], 16),  # call due on D+4
            "letter": self._invoice(c["Letter"], 26),  # letter due on D+4
            "formal": self._invoice(c["Formal Sent"], 44),  # formal notice due on D+1
            "person": self._invoice(c["Person"], 44),  # formal notice: companies only
            "group_a": self._invoice(c["Grouped"], -1),  # R1 due on D+4
            "group_b": self._invoice(c["Grouped"], 9),  # R2 due on D+1
            "tight_co": self._invoice(c["Tight Co"], 0),  # T1, T2, T3 due on D+1..D+3
            "tight_person": self._invoice(c["Tight Person"], 0),
        }
        invoices = self.env["account.move"].union(*inv.values())

        # Normal days, D-7 to D-1.
        for k in range(-7, 0):
            self._run(day[k])
        # An invoice posted late, already 41 days late on D: D's run sends its letter.
        c["Gap Co"] = self._customer("Gap Co")
        inv["gap"] = self._invoice(c["Gap Co"], 41)
        invoices |= inv["gap"]
        self._run(D)

        # Where the book stands on D.
        self.assertEqual(
            {(k, r.level_id) for k in inv for r in self.env["collection.dispatch"].search(
                [("invoice_id", "=", inv[k].id)])},
            {
                ("first", self.notice), ("second", self.notice), ("second", self.r1),
                ("quiet", self.r1), ("quiet", self.r2), ("call", self.r1), ("call", self.r2),
                ("letter", self.r2), ("letter", self.call), ("formal", self.letter),
                ("person", self.letter), ("group_a", self.notice), ("group_b", self.notice),
                ("group_b", self.r1), ("gap", self.letter),
            },
        )
        self.assertEqual(inv["quiet"].collection_status, "not_yet")
        self.assertFalse(self._rows(invoices, day[1]) | self._rows(invoices, day[5]))

        # Outage: no run on D+1 ... D+4. What the engine decides for D+5, before sending.
        plan, status = self._plan(day[5])
        skipped = {k: status[inv[k].id].skipped_reasons for k in inv}
        self.assertEqual(
            {k: v for k, v in skipped.items() if v},
            {
                # Levels passed during the outage: only the latest speaks, the earlier ones
                # are passed over, never sent late; a level whose conditions fail is not sent.
                "tight_co": ((self.t1.id, "superseded"), (self.t3.id, "condition")),
                "tight_person": ((self.t1.id, "superseded"), (self.t2.id, "superseded")),
                "person": ((self.formal.id, "condition"),),
            },
        )
        self.assertEqual(
            {k: (status[inv[k].id].reason, status[inv[k].id].level_id) for k in inv},
            {
                "early": ("due", self.notice.id),
                "notice": ("due", self.notice.id),
                "first": ("due", self.r1.id),
                "second": ("due", self.r2.id),
                "quiet": ("not_yet", self.r2.id),
                "call": ("due", self.call.id),
                "letter": ("due", self.letter.id),
                "formal": ("due", self.formal.id),
                "person": ("condition", self.letter.id),
                "group_a": ("due", self.r1.id),
                "group_b": ("due", self.r2.id),
                "tight_co": ("due", self.t2.id),
                "tight_person": ("due", self.t3.id),
                # The letter went out on D: the formal notice waits for its 7 days.
                "gap": ("gap", self.letter.id),
            },
        )
        self.assertEqual(
            (status[inv["gap"].id].next_level_id, status[inv["gap"].id].next_date),
            (self.formal.id, day[7]),
        )
        self.assertEqual(
            (status[inv["quiet"].id].next_level_id, status[inv["quiet"].id].next_date),
            (self.call.id, inv["quiet"].invoice_date_due + timedelta(days=20)),
        )
        # One action per customer and channel: Grouped's two invoices share one e-mail, which
        # uses the most advanced level's template.
        actions = {(a.partner_id, a.channel): a for a in plan.actions}
        grouped = actions[(c["Grouped"].id, "email")]
        self.assertEqual(
            (grouped.kind, grouped.level_id, grouped.invoice_levels),
            ("send", self.r2.id, tuple(sorted(
                [(inv["group_a"].id, self.r1.id), (inv["group_b"].id, self.r2.id)]))),
        )
        mine = {p.id for p in c.values()}
        self.assertEqual(
            sorted((a.partner_id, a.channel) for a in plan.actions if a.partner_id in mine),
            sorted(
                (c[name].id, channel)
                for name, channel in (
                    ("Early Bird", "email"), ("Notice Late", "email"),
                    ("First Reminder", "email"), ("Second Reminder", "email"),
                    ("Second Reminder", "sms"), ("Call", "call"), ("Letter", "letter"),
                    ("Formal Sent", "formal_notice"), ("Grouped", "email"), ("Grouped", "sms"),
                    ("Tight Co", "sms"), ("Tight Person", "call"),
                )
            ),
        )

        # The catch-up run on D+5.
        before = self._outbox(c.values())
        self._run(day[5])
        after = self._outbox(c.values())
        received = {name: dict(after[p] - before[p]) for name, p in c.items()}
        self.assertEqual(
            received,
            {
                "Early Bird": {"email": 1},
                "Notice Late": {"email": 1},
                "First Reminder": {"email": 1},
                "Second Reminder": {"email": 1, "sms": 1},
                "Quiet": {},
                "Call": {"call": 1},
                "Letter": {"letter": 1},
                "Formal Sent": {"letter": 1},
                "Person": {},
                "Grouped": {"email": 1, "sms": 1},
                "Tight Co": {"sms": 1},
                "Tight Person": {"call": 1},
                "Gap Co": {},
            },
        )
        # The ledger: one row per invoice x level x channel sent today, nothing for the levels
        # passed over, nothing left planned or failed.
        self.assertEqual(
            self._rows(invoices, day[5]),
            {
                (inv["early"], self.notice, "email", "sent"),
                (inv["notice"], self.notice, "email", "sent"),
                (inv["first"], self.r1, "email", "sent"),
                (inv["second"], self.r2, "email", "sent"),
                (inv["second"], self.r2, "sms", "sent"),
                (inv["call"], self.call, "call", "sent"),
                (inv["letter"], self.letter, "letter", "to_print"),
                (inv["formal"], self.formal, "formal_notice", "to_print"),
                (inv["group_a"], self.r1, "email", "sent"),
                (inv["group_b"], self.r2, "email", "sent"),
                (inv["group_b"], self.r2, "sms", "sent"),
                (inv["tight_co"], self.t2, "sms", "sent"),
                (inv["tight_person"], self.t3, "call", "sent"),
            },
        )
        tight = self.env["collection.dispatch"].search(
            [("invoice_id", "in", (inv["tight_co"] | inv["tight_person"]).ids)]
        )
        self.assertEqual(
            {(r.invoice_id, r.level_id) for r in tight},
            {(inv["tight_co"], self.t2), (inv["tight_person"], self.t3)},
        )
        mail = self.env["mail.mail"].search(
            [("model", "=", "res.partner"), ("res_id", "=", c["Grouped"].id)],
            order="id desc", limit=1,
        )
        self.assertIn("second reminder", mail.subject)
        self.assertIn(inv["group_a"].name, mail.body_html)
        self.assertIn(inv["group_b"].name, mail.body_html)
        # What the collector's screens show after the run.
        self.assertEqual(
            {k: (inv[k].collection_status, inv[k].collection_level_id) for k in inv},
            {
                "early": ("due", self.notice), "notice": ("due", self.notice),
                "first": ("due", self.r1), "second": ("due", self.r2),
                "quiet": ("not_yet", self.r2), "call": ("due", self.call),
                "letter": ("due", self.letter), "formal": ("due", self.formal),
                "person": ("condition", self.letter), "group_a": ("due", self.r1),
                "group_b": ("due", self.r2), "tight_co": ("due", self.t2),
                "tight_person": ("due", self.t3), "gap": ("gap", self.letter),
            },
        )
        self.assertEqual(inv["gap"].collection_next_action_date, day[7])
        self.assertEqual(inv["tight_person"].collection_next_level_id, self.t4)
        self.assertTrue(c["Formal Sent"].with_company(self.company).collection_legal)

        # D+5 again: nothing new, anywhere.
        counts = self._everything()
        self._run(day[5])
        self.assertEqual(self._everything(), counts)

        # The levels passed over are not sent the day after either.
        plan, status = self._plan(day[6])
        late = {
            (invoice_id, level_id)
            for action in plan.actions
            for invoice_id, level_id in action.invoice_levels
            if level_id in (self.t1 | self.t2 | self.t3).ids
        }
        self.assertFalse(late)
        self.assertEqual(status[inv["tight_co"].id].reason, "condition")

    def test_run_killed_before_the_outage(self):
        """D's run wrote its plan and died before sending; no run until D+5.

        The ledger resumes what was planned (nothing is lost), but by the policy an earlier
        level is never sent late next to a later one: a customer whose invoice reached a new
        level meanwhile gets only the new level; the stale rows are recorded as superseded.
        """
        D = self.D
        waiting = self._customer("Waiting")
        overtaken = self._customer("Overtaken")
        inv_waiting = self._invoice(waiting, 10)  # R2 on D; call due on D+10
        inv_overtaken = self._invoice(overtaken, 19)  # R2 on D; call due on D+1
        with self._at(D):
            self.engine._collection_plan_and_write()  # committed, then the server died
        self.assertEqual(
            self._rows(inv_waiting | inv_overtaken, D),
            {
                (inv_waiting, self.r2, "email", "planned"),
                (inv_waiting, self.r2, "sms", "planned"),
                (inv_overtaken, self.r2, "email", "planned"),
                (inv_overtaken, self.r2, "sms", "planned"),
            },
        )
        day5 = D + timedelta(days=5)
        before = self._outbox([waiting, overtaken])
        self._run(day5)
        after = self._outbox([waiting, overtaken])
        self.assertEqual(
            {p.name: dict(after[p] - before[p]) for p in (waiting, overtaken)},
            {
                # Still the last level reached: the second reminder goes out, late, once.
                "Waiting": {"email": 1, "sms": 1},
                # The call level was reached meanwhile: the call only, not the stale e-mail
                # and SMS of the second reminder next to it.
                "Overtaken": {"call": 1},
            },
        )
        ledger = self.env["collection.dispatch"].search(
            [("invoice_id", "in", (inv_waiting | inv_overtaken).ids)]
        )
        self.assertEqual(
            {(r.invoice_id, r.level_id, r.channel, r.state, r.reason) for r in ledger},
            {
                (inv_waiting, self.r2, "email", "sent", "due"),
                (inv_waiting, self.r2, "sms", "sent", "due"),
                (inv_overtaken, self.r2, "email", "skipped", "superseded"),
                (inv_overtaken, self.r2, "sms", "skipped", "superseded"),
                (inv_overtaken, self.call, "call", "sent", "due"),
            },
        )
        counts = self._everything()
        self._run(day5)
        self.assertEqual(self._everything(), counts)
