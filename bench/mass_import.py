"""Benchmark of the import of amounts due (spreadsheet -> customers -> posted invoices).

Two parts:

1. Inside Odoo (everything rolled back at the end): BENCH_ROWS rows (default 10,000) of new
   customers and their amounts due, imported through the real code: check the rows, then the
   background job imports them in chunks (customers found or created, invoices created and
   posted with their pay links). Prints rows per second (bar: >= 50 rows/s).

       BENCH_ROWS=10000 odoo-bin shell -d <db> --addons-path=... < bench/mass_import.py

2. Without Odoo: reading and validating 10,000 and 100,000 rows (CSV and XLSX), each file
   in a fresh process: time and peak RSS, to show memory stays flat.

       .venv/bin/python bench/mass_import.py [--rows 10000,100000] [--xlsx-rows 10000,100000]
"""

import base64
import io
import os
import sys
import time
from datetime import date
from pathlib import Path

HEADER = ["Customer ID", "Name", "Email", "Mobile", "Country", "Invoice Number",
          "Invoice Date", "Due Date", "Amount", "Currency", "Label"]


def sample_rows(count, prefix="BENCH"):
    """Rows of ``count`` amounts due; one customer in five has two invoices."""
    for i in range(count):
        customer = i - (i % 5 == 1)  # rows 1, 6, 11... belong to the customer of the row before
        yield [
            f"{prefix}-C{customer}", f"Bench Tenant {customer}",
            f"tenant{customer}@bench.example", f"+336{12000000 + customer % 9000000:08d}",
            "FR", f"{prefix}-INV-{i}", "05/01/2026", "2026-02-05",
            f"{(i % 997) + 10},{i % 100:02d}", "EUR", "Rent January",
        ]


def sample_csv(count, prefix="BENCH"):
    lines = [";".join(HEADER)]
    lines += [";".join(row) for row in sample_rows(count, prefix)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def sample_xlsx(count):
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in sample_rows(count):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------- in Odoo

def run_in_odoo(env):
    rows = int(os.environ.get("BENCH_ROWS", 10_000))
    chunk = int(os.environ.get("BENCH_CHUNK", 500))
    cr = env.cr
    env.ref("base.EUR").active = True
    data = sample_csv(rows, prefix=f"B{int(time.time())}")
    Import = env["collection.mass.import"].with_context(collection_no_commit=True)
    Move = env["account.move"]
    moves_before = Move.search_count([])
    partners_before = env["res.partner"].search_count([])
    record = Import.create({
        "data_file": base64.b64encode(data),
        "filename": "bench.csv",
        "country_id": env.ref("base.fr").id,
        "currency_id": env.ref("base.EUR").id,
    })
    start = time.perf_counter()
    record.action_read_file()
    record.action_preview()
    env.flush_all()
    checked = time.perf_counter()
    record.with_context(collection_import_now=0).action_import()
    Import._cron_process_imports(chunk_size=chunk)
    env.flush_all()
    done = time.perf_counter()
    invoices = record._collection_invoices()
    posted = Move.search_count([("id", "in", invoices.ids), ("state", "=", "posted"),
                                ("collection_token_nonce", "!=", False)])
    new_partners = env["res.partner"].search_count([]) - partners_before
    check_s, import_s, total_s = checked - start, done - checked, done - start
    print(f"rows                          {rows:>10}")
    print(f"valid / imported / posted     {record.rows_total - record.rows_invalid:>10} "
          f"{record.rows_imported:>6} {posted:>6}")
    print(f"new customers                 {new_partners:>10}")
    print(f"new moves                     {Move.search_count([]) - moves_before:>10}")
    print(f"read + check rows             {check_s:>9.1f} s  {rows / check_s:8.0f} rows/s")
    print(f"import (chunks of {chunk})       {import_s:>9.1f} s  {rows / import_s:8.0f} rows/s")
    print(f"total                         {total_s:>9.1f} s  {rows / total_s:8.0f} rows/s "
          f"(bar >= 50)")
    cr.rollback()
    print("rolled back")


# ---------------------------------------------------------------------------------- memory

def _status_mb(key):
    # VmHWM is the process's own high-water mark (getrusage's maxrss survives exec).
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1e3
    return 0.0


def measure_one(path, filename, what):
    """In a fresh process: time and peak RSS of reading (+ validating) one file."""
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    import conftest  # noqa: F401 - loads the pure core without Odoo
    from smart_collection.services import mass_import

    rules = mass_import.Rules(
        today=date(2026, 1, 15), currencies={"EUR": 2}, default_currency="EUR",
        countries={"fr": "FR"}, default_country="FR",
    )
    data = Path(path).read_bytes()
    headers, _rows = mass_import.read_table(data, filename)
    mapping = mass_import.guess_mapping(headers)
    before = _status_mb("VmHWM")
    start = time.perf_counter()
    rows = valid = 0
    if what == "read":
        for _number, _cells in mass_import.iter_rows(data, filename):
            rows += 1
            valid += 1
        rows -= 1  # the header
        valid -= 1
    else:
        for _number, _cells, row, _errors in mass_import.read_and_validate(
            data, filename, mapping, rules
        ):
            rows += 1
            valid += row is not None
    elapsed = time.perf_counter() - start
    peak = _status_mb("VmHWM")
    print(rows, valid, f"{elapsed:.2f}", f"{before:.1f}", f"{peak:.1f}")


def run_memory(argv):
    import argparse
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description="memory of reading + validating")
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--xlsx-rows", default="10000,100000")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        measure_one(*args.one)
        return
    print(f"{'file':<5} {'rows':>7} {'MB':>5} {'step':<9} {'valid':>7} {'time s':>7} "
          f"{'rows/s':>7} {'peak before MB':>14} {'peak after MB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, counts in (("csv", args.rows), ("xlsx", args.xlsx_rows)):
            for count in [int(c) for c in counts.split(",") if c]:
                path = Path(tmp) / f"bench.{kind}"
                data = sample_csv(count) if kind == "csv" else sample_xlsx(count)
                path.write_bytes(data)
                for what in ("read", "validate"):
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", str(path), path.name, what],
                        check=True, capture_output=True, text=True,
                    ).stdout.split()
                    rows, valid, elapsed, before, peak = out
                    print(f"{kind:<5} {count:>7} {len(data) / 1e6:>5.1f} {what:<9} {valid:>7} "
                          f"{elapsed:>7} {count / float(elapsed):>7.0f} {before:>14} {peak:>13}")
    print("peak before: RSS high-water mark of a fresh process with the file's bytes loaded; "
          "peak after: once every row was read (and validated).")


if "env" in globals():  # odoo-bin shell
    run_in_odoo(env)  # noqa: F821 - provided by odoo-bin shell
elif __name__ == "__main__":
    run_memory(sys.argv[1:])
