"""Benchmark of bank-transfer matching inside Odoo (bars P1, A1 and P2 of the benchmark spec).

Run inside an Odoo shell on a database where smart_collection and a EUR company are installed
(e.g. l10n_fr_account's demo "FR Company"); everything is rolled back at the end:

    BENCH_CUSTOMERS=300000 BENCH_INVOICES=1000000 BENCH_LINES=100000 \\
        odoo-bin shell -d <db> --addons-path=... < bench/matching_run.py

Other knobs: BENCH_SEED, BENCH_BATCH (lines per matcher call), BENCH_NAIVE_SAMPLE,
BENCH_P2_LINES.

1. The synthetic ledger of bench/matching_ledger.py is loaded with COPY into the real tables:
   customers, their paying accounts and virtual IBANs, posted invoices (no journal items: the
   matcher reads the invoice header) and posted bank-statement lines.
2. P1: every line is decided by the matcher, BENCH_BATCH lines per call, nothing booked; the
   time to decide and the time to store the decisions are reported apart.
3. A1: the decisions are compared with the ground truth of every line.
4. Baseline: the shape of Odoo <= 16 / OCA matching, lookups line by line (the reference,
   then each word, then the payer's account), timed on a sample and extrapolated. It runs on
   Odoo 18's trigram indexes, so it is cheaper than their token scan (~3.2 s per line).
5. P2: the big ledger is rolled back; on a small fixture made through the ORM the matcher
   decides and books (reconciles) the lines.
"""

import csv
import gc
import io
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

from odoo import Command, fields
from odoo.modules.module import get_module_path

env = env  # noqa: F821 - provided by odoo-bin shell
sys.path.insert(0, str(Path(get_module_path("smart_collection")).parent / "bench"))
import matching_ledger as ml  # noqa: E402
from odoo.addons.smart_collection.services.matching import normalise_number  # noqa: E402

N_CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", 300_000))
N_INVOICES = int(os.environ.get("BENCH_INVOICES", 1_000_000))
N_LINES = int(os.environ.get("BENCH_LINES", 100_000))
SEED = int(os.environ.get("BENCH_SEED", 1))
BATCH = int(os.environ.get("BENCH_BATCH", 5000))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE_SAMPLE", 200))
P2_LINES = int(os.environ.get("BENCH_P2_LINES", 1000))
EXAMPLES = 3  # misses shown per category
MAXINT = 2147483647  # statement lines' internal_index counts sequences down from it

eur = env.ref("base.EUR")
company = env["res.company"].search([("currency_id", "=", eur.id)], limit=1)
env = env(context=dict(env.context, allowed_company_ids=company.ids))
cr = env.cr
sale_journal = env["account.journal"].search(
    [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
)
bank_journal = env["account.journal"].search(
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
matcher = env["collection.matcher"]
summary = []  # (bar, what, value, bar text, passed or None)


def timed(label, fn):
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {elapsed:8.2f} s")
    return result, elapsed


# ---------------------------------------------------------------- loading with COPY

def copy_rows(table, columns, rows, chunk=100_000):
    """COPY ``rows`` into ``table`` as CSV (None and "" both become NULL: no text).

    Columns the table does not have (yet) are left out; a NOT NULL column without default that
    the benchmark does not fill stops the run with its name rather than a COPY error.
    """
    cr.execute(
        "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL"
        " FROM information_schema.columns WHERE table_name = %s",
        [table],
    )
    present = dict(cr.fetchall())
    missing = sorted(c for c, required in present.items() if required and c not in columns)
    if missing:
        raise RuntimeError(f"{table}: fill the NOT NULL column(s) {missing} in the loader")
    keep = [i for i, column in enumerate(columns) if column in present]
    start = time.perf_counter()
    statement = (
        f"COPY {table} ({', '.join(columns[i] for i in keep)}) FROM STDIN WITH (FORMAT csv)"
    )
    buffer, count = io.StringIO(), 0
    writer = csv.writer(buffer)

    def flush():
        buffer.seek(0)
        cr.copy_expert(statement, buffer)
        buffer.seek(0)
        buffer.truncate()

    for row in rows:
        writer.writerow([row[i] for i in keep])
        count += 1
        if count % chunk == 0:
            flush()
    flush()
    print(f"   {table:<30} {count:>9} rows {time.perf_counter() - start:8.2f} s")


def reserve_ids(table, count):
    """First of ``count`` ids taken from the table's sequence: COPY then writes the ids."""
    sequence = f"{table}_id_seq"
    cr.execute("SELECT nextval(%s)", [sequence])
    first = cr.fetchone()[0]
    cr.execute("SELECT setval(%s, %s)", [sequence, first + max(count, 1) - 1])
    return first


def group4(iban):
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


print(f"company {company.name} ({company.currency_id.name}), sale journal {sale_journal.code},"
      f" bank journal {bank_journal.code}")
print(f"sizes: {N_CUSTOMERS} customers, {N_INVOICES} invoices, {N_LINES} lines, seed {SEED}")
ledger, t_generate = timed(
    "generate ledger (pure Python)", lambda: ml.Ledger(N_CUSTOMERS, N_INVOICES, N_LINES, SEED)
)
print(f"   typo retries (ambiguous or valid typos redrawn) {ledger.typo_retries}")
# The ledger's millions of objects are the benchmark's, not the matcher's: the garbage collector
# need not walk them again and again while the matcher runs.
gc.freeze()
uid, now = env.uid, fields.Datetime.now()
stamp = (uid, uid, now, now)
STAMP = ("create_uid", "write_uid", "create_date", "write_date")
partner0 = reserve_ids("res_partner", N_CUSTOMERS)
move0 = reserve_ids("account_move", N_INVOICES + N_LINES)
line0 = reserve_ids("account_bank_statement_line", N_LINES)
bank_move0 = move0 + N_INVOICES


def invoice_row(inv):
    """A posted, unpaid invoice: untaxed = total = residual."""
    amount = inv.residual
    return (
        move0 + inv.index, inv.number, "out_invoice", "posted", "not_paid", sale_journal.id,
        company.id, eur.id, partner0 + inv.customer, partner0 + inv.customer, inv.invoice_date,
        inv.invoice_date, inv.due_date, "no",
        amount, 0, amount, amount,  # untaxed, tax, total, residual
        amount, 0, amount, amount, amount,  # the same, signed (+ total in currency)
        inv.reference, inv.reference, normalise_number(inv.number),
        ledger.customers[inv.customer].name, 1, False, True, True, False, False, *stamp,
    )


def load():
    # The rows are consistent by construction: skipping the per-row foreign-key triggers
    # halves the load. Only for the load: the matcher runs with every check on.
    cr.execute("SET LOCAL session_replication_role = replica")
    copy_rows(
        "res_partner",
        ("id", "name", "complete_name", "active", "is_company", "type",
         "commercial_partner_id", "autopost_bills", "lang", "customer_rank", "partner_share",
         *STAMP),
        (
            (partner0 + c.index, c.name, c.name, True, c.is_company, "contact",
             partner0 + c.index, "ask", "en_US", 1, True, *stamp)
            for c in ledger.customers
        ),
    )
    copy_rows(
        "res_partner_bank",
        ("partner_id", "acc_number", "sanitized_acc_number", "company_id", "active",
         "allow_out_payment", *STAMP),
        (
            (partner0 + c, group4(iban), iban, company.id, True, False, *stamp)
            for c, iban in ledger.known_ibans()
        ),
    )
    copy_rows(
        "collection_virtual_iban",
        ("iban", "partner_id", "company_id", "state", "scope", "date_assigned", *STAMP),
        (
            (c.virtual_iban, partner0 + c.index, company.id, "active", "customer",
             ml.FIRST_INVOICE_DAY, *stamp)
            for c in ledger.customers if c.virtual_iban
        ),
    )
    copy_rows(
        "account_move",
        ("id", "name", "move_type", "state", "payment_state", "journal_id", "company_id",
         "currency_id", "partner_id", "commercial_partner_id", "date", "invoice_date",
         "invoice_date_due", "auto_post", "amount_untaxed", "amount_tax", "amount_total",
         "amount_residual", "amount_untaxed_signed", "amount_tax_signed", "amount_total_signed",
         "amount_total_in_currency_signed", "amount_residual_signed", "collection_reference",
         "payment_reference", "collection_number_key", "invoice_partner_display_name",
         "invoice_currency_rate", "always_tax_exigible", "checked", "posted_before",
         "made_sequence_gap", "is_storno", *STAMP),
        (invoice_row(inv) for inv in ledger.invoices),
    )
    copy_rows(
        "account_move",
        ("id", "name", "move_type", "state", "payment_state", "journal_id", "company_id",
         "currency_id", "date", "auto_post", "amount_untaxed", "amount_tax", "amount_total",
         "amount_residual", "amount_untaxed_signed", "amount_tax_signed", "amount_total_signed",
         "amount_total_in_currency_signed", "amount_residual_signed", "always_tax_exigible",
         "checked", "posted_before", "made_sequence_gap", "is_storno", *STAMP),
        (
            (bank_move0 + line.index, f"{bank_journal.code}/{ml.YEAR}/B{line.index + 1:07d}",
             "entry", "posted", "not_paid", bank_journal.id, company.id, eur.id, line.date, "no",
             0, 0, abs(line.amount), 0, 0, 0, line.amount, line.amount, 0,
             True, True, True, False, False, *stamp)
            for line in ledger.lines
        ),
    )
    copy_rows(
        "account_bank_statement_line",
        ("id", "move_id", "journal_id", "company_id", "sequence", "currency_id", "amount",
         "amount_currency", "amount_residual", "payment_ref", "partner_name", "account_number",
         "internal_index", "is_reconciled", "collection_credited_iban",
         "collection_structured_ref", "collection_end_to_end_id", "collection_reversal",
         "collection_returned", *STAMP),
        (
            (line0 + line.index, bank_move0 + line.index, bank_journal.id, company.id, 1,
             eur.id, line.amount, 0, -line.amount, line.text, line.debtor_name,
             line.debtor_iban,
             f"{line.date:%Y%m%d}{MAXINT - 1:0>10}{line0 + line.index:0>10}", False,
             line.credited_iban, line.reference or None, line.end_to_end_id, line.reversal,
             line.returned, *stamp)
            for line in ledger.lines
        ),
    )
    cr.execute(
        "UPDATE account_move m SET statement_line_id = l.id FROM account_bank_statement_line l"
        " WHERE l.move_id = m.id AND l.id >= %s",
        [line0],
    )
    cr.execute("SET LOCAL session_replication_role = origin")
    for table in ("res_partner", "res_partner_bank", "collection_virtual_iban", "account_move",
                  "account_bank_statement_line"):
        cr.execute(f"ANALYZE {table}")
    env.invalidate_all()


_, t_load = timed("load with COPY + ANALYZE", load)
cr.execute("SELECT count(*) FROM account_move WHERE collection_number_key IS NOT NULL"
           " AND id >= %s", [move0])
print(f"   invoices with a number key {cr.fetchone()[0]}")

# ---------------------------------------------------------------- P1: decide every line

line_ids = [line0 + line.index for line in ledger.lines]


batch_times = []
phases = Counter()


def match_batch(ids):
    """``collection.matcher._collection_match(ids, reconcile=False)``, step by step, so that
    deciding (reading the lines, gathering candidates, the core's decisions) and storing the
    decisions (inserting the matches, allocations and proposals) are timed apart."""
    env.cr.execute("SET LOCAL jit = off")
    decisions = []
    began = time.perf_counter()
    for company_id, lines in matcher._collection_read_lines(ids).items():
        batch_company = env["res.company"].browse(company_id)
        decided, items = matcher._collection_decide(batch_company, lines)
        stored = time.perf_counter()
        phases["decide"] += stored - began
        matcher._collection_store(batch_company, lines, decided, items)
        began = time.perf_counter()
        phases["store"] += began - stored
        decisions += decided
    return decisions


def match_all():
    decided = {}
    for start in range(0, len(line_ids), BATCH):
        began = time.perf_counter()
        for decision in match_batch(line_ids[start:start + BATCH]):
            decided[decision.line_id] = decision
        batch_times.append(time.perf_counter() - began)
    return decided


decisions, t_p1 = timed(f"P1 decide and store {N_LINES} lines, {BATCH} per call", match_all)
print(f"   {N_LINES / t_p1:,.0f} lines/s; decisions returned {len(decisions)}")
print(f"   deciding (read lines, candidates, core) {phases['decide']:.2f} s;"
      f" storing the decisions {phases['store']:.2f} s")
print(f"   seconds per call: {' '.join(f'{t:.1f}' for t in batch_times)}")
summary.append(("P1", f"decide {N_LINES} lines vs {N_INVOICES} items",
                f"{phases['decide']:.2f} s", "<= 10 s", phases["decide"] <= 10))
summary.append(("--", "   + store the decisions (matches, allocations)", f"{phases['store']:.2f} s",
                "", None))

# ---------------------------------------------------------------- A1: against ground truth


def expected(line):
    truth = line.truth
    partner = None if truth.customer is None else partner0 + truth.customer
    return partner, {(move0 + index, amount) for index, amount in truth.allocations}


def is_right(line, decision):
    partner, allocations = expected(line)
    return (
        decision.partner_id == partner
        and {(a.item_id, a.amount) for a in decision.allocations} == allocations
        and decision.credit == line.truth.credit
    )


def is_miss(line, decision):
    category = line.truth.category
    if decision is None:
        return True
    if line.truth.matchable:
        return decision.state != "auto" or not is_right(line, decision)
    if category == "unknown":
        return decision.state != "unmatched"
    return decision.state == "auto"


states = ("auto", "review", "unmatched", "ignored")
table = defaultdict(Counter)
misses = defaultdict(list)
for line in ledger.lines:
    decision = decisions.get(line0 + line.index)
    row = table[line.truth.category]
    row["lines"] += 1
    row[decision.state if decision else "missing"] += 1
    if decision and decision.state == "auto":
        if line.truth.matchable and is_right(line, decision):
            row["right"] += 1
        else:
            row["false"] += 1
    if is_miss(line, decision):
        misses[line.truth.category].append((line, decision))

matchable = sum(table[c]["lines"] for c in ml.MATCHABLE)
right = sum(table[c]["right"] for c in ml.MATCHABLE)
false = sum(row["false"] for row in table.values())
unknown = table["unknown"]
auto_share = 100 * right / max(matchable, 1)
print(f"{'category':<13} {'lines':>7} {'auto':>7} {'right':>7} {'false':>6} {'review':>7}"
      f" {'unmatch':>7} {'ignored':>7} {'missing':>7}")
for category in ml.CATEGORIES:
    row = table[category]
    print(f"{category:<13} {row['lines']:>7} {row['auto']:>7} {row['right']:>7} {row['false']:>6}"
          f" {row['review']:>7} {row['unmatched']:>7} {row['ignored']:>7} {row['missing']:>7}")
print(f"A1 auto-matched share of matchable lines {right}/{matchable} = {auto_share:.2f} %")
print(f"A1 false matches {false}; unknown payers unmatched {unknown['unmatched']}"
      f"/{unknown['lines']}")
summary += [
    ("A1", "auto-matched share of matchable lines", f"{auto_share:.2f} %", ">= 98 %",
     auto_share >= 98),
    ("A1", "false matches", str(false), "0", false == 0),
    ("A1", "unknown payers unmatched", f"{unknown['unmatched']}/{unknown['lines']}", "all",
     unknown["unmatched"] == unknown["lines"]),
]


def show(line, decision):
    partner, allocations = expected(line)
    got = "no decision" if decision is None else (
        f"{decision.state} partner {decision.partner_id}"
        f" alloc {sorted((a.item_id, str(a.amount)) for a in decision.allocations)}"
        f" credit {decision.credit} | " + "; ".join(text for _code, text in decision.reasons)
    )
    print(f"   line {line0 + line.index} {line.amount} ref={line.reference!r} text={line.text!r}"
          f" credited={line.credited_iban} debtor={line.debtor_iban} name={line.debtor_name!r}")
    print(f"      expected partner {partner} alloc"
          f" {sorted((m, str(a)) for m, a in allocations)} credit {line.truth.credit}")
    print(f"      got {got[:400]}")


for category in ml.CATEGORIES:
    if misses[category]:
        print(f"misses in {category}: {len(misses[category])}, first {EXAMPLES}:")
        for line, decision in misses[category][:EXAMPLES]:
            show(line, decision)

# ---------------------------------------------------------------- baseline: a query per line

OPEN = [("move_type", "=", "out_invoice"), ("state", "=", "posted"),
        ("payment_state", "in", ("not_paid", "partial")), ("company_id", "=", company.id)]


def naive_match(line):
    """Odoo <= 16 / OCA shape: the reference, then each word, then the payer's account."""
    Move = env["account.move"]
    if line.reference:
        found = Move.search(OPEN + [("payment_reference", "ilike", line.reference)], limit=1)
        if found:
            return found
    for word in line.text.split():
        if len(word) >= 4 and any(ch.isdigit() for ch in word):
            found = Move.search(OPEN + [("name", "ilike", word)], limit=1)
            if found:
                return found
    partner = env["res.partner.bank"].search(
        [("sanitized_acc_number", "=", line.debtor_iban)], limit=1
    ).partner_id or env["collection.virtual.iban"].search(
        [("iban", "=", line.credited_iban)], limit=1
    ).partner_id
    if partner:
        return Move.search(OPEN + [("commercial_partner_id", "=", partner.id),
                                   ("amount_residual", "=", float(line.amount))], limit=1)
    return Move


sample = ledger.lines[:: max(1, N_LINES // max(NAIVE_SAMPLE, 1))][:NAIVE_SAMPLE]


def naive_all():
    for line in sample:
        naive_match(line)
        env.invalidate_all()  # per-line lookups do not share a cache across transfers


_, t_naive = timed(f"baseline: one lookup per line, {len(sample)} lines", naive_all)
per_line = t_naive / max(len(sample), 1)
naive_total = per_line * N_LINES
print(f"   {per_line * 1000:.1f} ms/line; {N_LINES} lines extrapolated {naive_total:,.0f} s"
      f" = {naive_total / phases['decide']:,.0f} x the set-based decisions")
summary.append(("--", "baseline (one lookup per line) / set-based",
                f"{naive_total / phases['decide']:,.0f} x",
                "", None))
cr.rollback()
env.invalidate_all()

# ---------------------------------------------------------------- P2: book through the ORM

today = fields.Date.context_today(matcher)
partners = env["res.partner"].create(
    [{"name": f"P2 customer {i}", "is_company": True} for i in range(max(1, P2_LINES // 4))]
)


def make_invoices():
    invoices = env["account.move"]
    for start in range(0, P2_LINES, 250):
        batch = env["account.move"].create([
            {
                "move_type": "out_invoice",
                "journal_id": sale_journal.id,
                "partner_id": partners[k % len(partners)].id,
                "invoice_date": today - timedelta(days=30),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [Command.create({
                    "name": "Service", "quantity": 1, "price_unit": 100 + k % 900 + k % 97 / 100,
                    "tax_ids": [],
                })],
            }
            for k in range(start, min(start + 250, P2_LINES))
        ])
        batch.action_post()
        invoices |= batch
    return invoices


invoices, t_invoices = timed(f"P2 fixture: create + post {P2_LINES} invoices", make_invoices)
st_lines, _ = timed(
    f"P2 fixture: create {P2_LINES} statement lines",
    lambda: env["account.bank.statement.line"].create([
        {
            "journal_id": bank_journal.id,
            "date": today,
            "amount": inv.amount_residual,
            "payment_ref": f"Payment {inv.collection_reference}",
            "collection_structured_ref": inv.collection_reference,
            "partner_name": inv.partner_id.name,
        }
        for inv in invoices
    ]),
)
env.flush_all()
p2_decisions, t_p2 = timed(
    f"P2 match + reconcile {P2_LINES} lines", lambda: matcher._collection_match(st_lines.ids)
)
env.invalidate_all()
paid = len(invoices.filtered(lambda inv: inv.payment_state == "paid"))
p2_rate = paid / t_p2
print(f"   decisions {Counter(d.state for d in p2_decisions)}; invoices paid {paid}/{P2_LINES};"
      f" {p2_rate:.1f} reconciliations/s")
summary.append(("P2", f"reconciliations through the ORM ({paid}/{P2_LINES} paid)",
                f"{p2_rate:.1f}/s", ">= 60/s", p2_rate >= 60 and paid == P2_LINES))
cr.rollback()
env.invalidate_all()

# ---------------------------------------------------------------- summary

print(f"\nsummary: {N_CUSTOMERS} customers, {N_INVOICES} invoices, {N_LINES} lines, seed {SEED};"
      f" generate {t_generate:.1f} s, load {t_load:.1f} s")
for bar, what, value, target, passed in summary:
    result = "info" if passed is None else ("pass" if passed else "FAIL")
    print(f"{bar:<3} {what:<52} {value:>14} {target:>9}  {result}")
