"""Benchmark of the cockpit's KPI computation on a large ledger (everything rolled back).

    BENCH_INVOICES=100000 BENCH_CUSTOMERS=30000 \\
        odoo-bin shell -d <db> --addons-path=... < bench/cockpit_run.py

Loads posted customer invoices with their receivable lines over 18 months (one in two paid,
a payment line and a partial reconciliation each, one in four reminded) with set-based SQL,
then times ``collection.cockpit._collection_kpis`` for a month and a year, the aging SQL view
and the monthly report's HTML (which adds a 6-month trend).
"""

import os
import time

from odoo import fields

env = env  # noqa: F821 - provided by odoo-bin shell
N_INVOICES = int(os.environ.get("BENCH_INVOICES", 100_000))
N_CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 30_000))

company = env.company
today = fields.Date.context_today(env["collection.cockpit"])
cr = env.cr
journal = env["account.journal"].search(
    [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
)
bank = env["account.journal"].search(
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
receivable = env["account.account"].search(
    [("account_type", "=", "asset_receivable"), ("company_ids", "in", company.id)], limit=1
)
level = env.ref("smart_collection.collection_scenario_standard").level_ids[:1]


def timed(label, fn):
    start = time.perf_counter()
    queries = cr.sql_log_count
    result = fn()
    print(f"{label:<48} {time.perf_counter() - start:8.2f} s {cr.sql_log_count - queries:5d} q")
    return result


cr.execute(
    """
    INSERT INTO res_partner (name, complete_name, active, is_company, type, autopost_bills)
    SELECT 'Bench cockpit ' || g, 'Bench cockpit ' || g, true, true, 'contact', 'ask'
      FROM generate_series(1, %s) g RETURNING id
    """,
    [N_CUSTOMERS],
)
partner_ids = [r[0] for r in cr.fetchall()]
cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [partner_ids])
params = {
    "journal": journal.id, "bank": bank.id, "company": company.id,
    "currency": company.currency_id.id, "today": today, "n": N_INVOICES,
    "partners": partner_ids, "n_partners": len(partner_ids), "account": receivable.id,
    "level": level.id,
}
cr.execute(
    """
    CREATE TEMP TABLE bench_inv AS
    SELECT g, p.ids[1 + g %% %(n_partners)s] AS partner, %(today)s::date - (g %% 540) AS day,
           (50 + g %% 900)::numeric AS amount, g %% 2 = 0 AS paid
      FROM generate_series(1, %(n)s) g, (SELECT %(partners)s::int[] AS ids) p;
    ALTER TABLE bench_inv ADD COLUMN move_id int, ADD COLUMN line_id int,
                          ADD COLUMN pay_move_id int, ADD COLUMN pay_line_id int;
    WITH m AS (
        INSERT INTO account_move (name, move_type, state, payment_state, journal_id, company_id,
                                  currency_id, date, invoice_date, invoice_date_due, auto_post,
                                  partner_id, commercial_partner_id, amount_total_signed,
                                  amount_residual_signed)
        SELECT 'BENCHCK/' || g, 'out_invoice', 'posted',
               CASE WHEN paid THEN 'paid' ELSE 'not_paid' END, %(journal)s, %(company)s,
               %(currency)s, day, day, day + 30, 'no', partner, partner, amount,
               CASE WHEN paid THEN 0 ELSE amount END
          FROM bench_inv RETURNING id, name)
    UPDATE bench_inv b SET move_id = m.id FROM m WHERE m.name = 'BENCHCK/' || b.g;
    WITH l AS (
        INSERT INTO account_move_line (move_id, journal_id, company_id, company_currency_id,
            currency_id, account_id, partner_id, display_type, parent_state, date,
            date_maturity, balance, debit, credit, amount_currency, amount_residual,
            amount_residual_currency, reconciled, name)
        SELECT move_id, %(journal)s, %(company)s, %(currency)s, %(currency)s, %(account)s,
               partner, 'payment_term', 'posted', day, day + 30, amount, amount, 0, amount,
               CASE WHEN paid THEN 0 ELSE amount END, CASE WHEN paid THEN 0 ELSE amount END,
               paid, 'BENCHCK/' || g
          FROM bench_inv RETURNING id, move_id)
    UPDATE bench_inv b SET line_id = l.id FROM l WHERE l.move_id = b.move_id;
    WITH m AS (
        INSERT INTO account_move (name, move_type, state, journal_id, company_id, currency_id,
                                  date, auto_post, partner_id, commercial_partner_id)
        SELECT 'BENCHPAY/' || g, 'entry', 'posted', %(bank)s, %(company)s, %(currency)s,
               LEAST(day + 10 + g %% 40, %(today)s), 'no', partner, partner
          FROM bench_inv WHERE paid RETURNING id, name)
    UPDATE bench_inv b SET pay_move_id = m.id FROM m WHERE m.name = 'BENCHPAY/' || b.g;
    WITH l AS (
        INSERT INTO account_move_line (move_id, journal_id, company_id, company_currency_id,
            currency_id, account_id, partner_id, display_type, parent_state, date,
            date_maturity, balance, debit, credit, amount_currency, amount_residual,
            amount_residual_currency, reconciled, name)
        SELECT pay_move_id, %(bank)s, %(company)s, %(currency)s, %(currency)s, %(account)s,
               partner, 'payment_term', 'posted', LEAST(day + 10 + g %% 40, %(today)s),
               LEAST(day + 10 + g %% 40, %(today)s), -amount, 0, amount, -amount, 0, 0,
               true, 'BENCHPAY/' || g
          FROM bench_inv WHERE paid RETURNING id, move_id)
    UPDATE bench_inv b SET pay_line_id = l.id FROM l WHERE l.move_id = b.pay_move_id;
    INSERT INTO account_partial_reconcile (debit_move_id, credit_move_id, amount,
        debit_amount_currency, credit_amount_currency, company_id, debit_currency_id,
        credit_currency_id, max_date)
    SELECT line_id, pay_line_id, amount, amount, amount, %(company)s, %(currency)s,
           %(currency)s, LEAST(day + 10 + g %% 40, %(today)s)
      FROM bench_inv WHERE paid;
    INSERT INTO collection_dispatch (invoice_id, partner_id, company_id, level_id, channel,
                                     state, planned_date, sent_at)
    SELECT move_id, partner, %(company)s, %(level)s, 'email', 'sent', day + 31, day + 31
      FROM bench_inv WHERE g %% 4 = 1 AND day + 31 <= %(today)s;
    ANALYZE account_move; ANALYZE account_move_line; ANALYZE account_partial_reconcile;
    ANALYZE collection_dispatch; ANALYZE res_partner;
    """,
    params,
)
env.invalidate_all()
print(f"loaded {N_INVOICES} invoices ({N_INVOICES // 2} paid) of {N_CUSTOMERS} customers")
cockpit = env["collection.cockpit"]
month = timed("KPIs for the current month",
              lambda: cockpit._collection_kpis(today.replace(day=1), today))
timed("KPIs for the last 12 months",
      lambda: cockpit._collection_kpis(fields.Date.subtract(today, years=1), today))
print(f"  DSO {month['dso']} d, CEI {month['cei']} %, overdue rate {month['overdue_rate']} %, "
      f"open {month['open_total']}")
aging = env["collection.report.aging"]
timed("aging view: read_group by bucket",
      lambda: aging.read_group([], ["amount_residual:sum"], ["bucket"]))
wizard = env["collection.report.wizard"].create(
    {"date_from": today.replace(day=1), "date_to": today}
)
timed("monthly report HTML (with 6-month trend)",
      lambda: env["ir.actions.report"]._render_qweb_html(
          "smart_collection.report_collection_monthly", wizard.ids))
cr.rollback()
