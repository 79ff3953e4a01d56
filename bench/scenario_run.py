"""Benchmark of the daily collection run inside Odoo (bars P6 and P4 of the benchmark spec).

Run inside an Odoo shell on a database where smart_collection is installed; everything is
rolled back at the end:

    BENCH_INVOICES=100000 BENCH_CUSTOMERS=30000 BENCH_MAILS=300 \\
        odoo-bin shell -d <db> --addons-path=... < bench/scenario_run.py

P6: plan one day for BENCH_INVOICES overdue invoices of BENCH_CUSTOMERS customers, loaded with
set-based SQL (gather + plan + ledger/status write, timed apart).
P4: render and queue the reminder e-mails of BENCH_MAILS customers with real posted invoices.
"""

import os
import time
from datetime import timedelta

from odoo import Command, fields

env = env  # noqa: F821 - provided by odoo-bin shell
N_INVOICES = int(os.environ.get("BENCH_INVOICES", 100_000))
N_CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 30_000))
N_MAILS = int(os.environ.get("BENCH_MAILS", 300))

company = env.company
# The sender commits per batch in production; here everything must roll back.
engine = env["collection.engine"].with_context(collection_no_commit=True)
today = fields.Date.context_today(engine)
journal = env["account.journal"].search(
    [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
)
company.collection_sms_hours = "Mon-Sun 00:00-24:00"
cr = env.cr


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {elapsed:8.2f} s")
    return result, elapsed


# ---------------------------------------------------------------- P6: load with SQL
cr.execute(
    """
    INSERT INTO res_partner (name, complete_name, active, is_company, type, email, mobile,
                             street, city, tz, autopost_bills, lang)
    SELECT 'Bench customer ' || g, 'Bench customer ' || g, true, g %% 5 <> 0, 'contact',
           CASE WHEN g %% 50 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
           CASE WHEN g %% 7 = 0 THEN NULL ELSE '+3361234' || lpad((g %% 10000)::text, 4, '0') END,
           '1 rue du Banc', 'Paris', 'Europe/Paris', 'ask', 'en_US'
      FROM generate_series(1, %s) g
    RETURNING id
    """,
    [N_CUSTOMERS],
)
partner_ids = [r[0] for r in cr.fetchall()]
cr.execute(
    "UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [partner_ids]
)
cr.execute(
    """
    INSERT INTO account_move (name, move_type, state, payment_state, journal_id, company_id,
                              currency_id, date, invoice_date, invoice_date_due, auto_post,
                              partner_id, commercial_partner_id, amount_residual_signed,
                              amount_total_signed)
    SELECT 'BENCH/' || g, 'out_invoice', 'posted', 'not_paid', %(journal)s, %(company)s,
           %(currency)s, %(today)s::date - (g %% 70), %(today)s::date - (g %% 70),
           %(today)s::date - (g %% 70) + 15, 'no',
           p.ids[1 + g %% %(n_partners)s], p.ids[1 + g %% %(n_partners)s],
           50 + (g %% 900), 50 + (g %% 900)
      FROM generate_series(1, %(n)s) g, (SELECT %(partners)s::int[] AS ids) p
    """,
    {
        "journal": journal.id,
        "company": company.id,
        "currency": company.currency_id.id,
        "today": today,
        "n": N_INVOICES,
        "n_partners": len(partner_ids),
        "partners": partner_ids,
    },
)
env.invalidate_all()
cr.execute("ANALYZE account_move; ANALYZE res_partner; ANALYZE collection_dispatch")
print(f"loaded {N_INVOICES} invoices of {N_CUSTOMERS} customers")



def run_day(label, day):
    result, t_plan = timed(f"P6 {label}: gather + plan", lambda: engine._collection_plan(today=day))
    plan = result["plan"]
    print(f"   actions {len(plan.actions)}, statuses {len(plan.statuses)}")
    written, t_write = timed(
        f"P6 {label}: write ledger + statuses", lambda: engine._collection_write_plan(result)
    )
    print(f"   ledger rows {written['rows']}, groups to send {len(written['group_keys'])}")
    print(f"P6 {label}: total (bar <= 30 s)".ljust(44), f"{t_plan + t_write:8.2f} s")


# First run on a book nobody chased yet: every invoice gets a status, many a reminder.
run_day("first run", today)
# Same day again: nothing new to send.
run_day("same day again", today)
# The daily steady state: the next day's run.
run_day("next day", today + timedelta(days=1))
cr.rollback()
env.invalidate_all()

# ---------------------------------------------------------------- P4: render + queue
company.collection_sms_hours = "Mon-Sun 00:00-24:00"
partners = env["res.partner"].create(
    [
        {"name": f"Mail customer {i}", "email": f"m{i}@example.com", "is_company": True}
        for i in range(N_MAILS)
    ]
)
moves = env["account.move"].create(
    [
        {
            "move_type": "out_invoice",
            "partner_id": p.id,
            "invoice_date": today - timedelta(days=40),
            "invoice_date_due": today - timedelta(days=4),
            "invoice_payment_term_id": False,
            "invoice_line_ids": [
                Command.create({"name": "Bread", "quantity": 1, "price_unit": 100, "tax_ids": []})
            ],
        }
        for p in partners
    ]
)
moves.action_post()
moves.write({"invoice_date_due": today - timedelta(days=4)})
written = engine._collection_plan_and_write(partner_ids=partners.ids)
_, t_send = timed(
    f"P4 render + queue {len(written['group_keys'])} reminder e-mails",
    lambda: engine._collection_send_groups(group_keys=written["group_keys"]),
)
mails = env["mail.mail"].search_count(
    [("res_id", "in", partners.ids), ("model", "=", "res.partner")]
)
print(f"   mail.mail queued {mails}")
print(f"P4 e-mails per second (bar >= 100)            {mails / t_send:8.1f}")
cr.rollback()
