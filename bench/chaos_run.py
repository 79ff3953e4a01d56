"""Chaos on the reminder run: kill -9 the collection crons at random moments, then check.

Run with the Odoo venv's Python on a database of its own where smart_collection is installed
(nothing else is touched; Odoo is bound to 127.0.0.1):

    /opt/odoo18/venv/bin/python /opt/odoo18/server/odoo-bin -d sc_chaos \\
        --addons-path=/opt/odoo18/server/odoo/addons,$PWD -i smart_collection,payment_demo \\
        --stop-after-init --http-interface 127.0.0.1 --http-port 19069
    /opt/odoo18/venv/bin/python bench/chaos_run.py --db sc_chaos --kills 200 --seed 8

1. **Dataset** (first time only): ``--customers`` customers (companies and individuals, some
   without e-mail, mobile or address, some opted out of a channel, some with an invoicing
   contact) and ``--invoices`` posted customer invoices made through the ORM, due between
   ``--spread`` days ahead and 44 days ago; the company's SMS hours are set to all day. The
   book's past is then written as if the daily run had gone on every day so far (ledger rows,
   legal follow-up after a formal notice), so invoices stand at every stage of the Standard
   ladder. The database's scheduled actions are switched off: only this script runs the crons.
2. **Dry plan**: from that state, the planner's decisions day after day with nothing killed
   (the engine's own gathering, ``planner.plan`` and what sending changes: the ledger rows, a
   customer put in legal follow-up by a formal notice), saved to the work directory.
3. **Chaos**: each simulated day (``freezegun`` in the victim, 10:00 UTC) the run is started in
   a forked OS process that runs the two scheduled actions through ``ir.cron``
   (``Collection: run scenarios`` then ``Collection: send planned reminders``) and commits as
   the cron does: commits per batch, not in test mode, real e-mails (mail.mail), SMS (sms.sms),
   call activities and letters (print queue). The first day's run is measured, then run again
   (nothing left to send: the fixed cost of a run, a), which gives each day's expected run
   time T = a + b x its groups (customer x channel). Every later start is killed with SIGKILL
   at a moment drawn uniformly in [0, T] of its day (the victim is frozen with SIGSTOP for the
   few milliseconds it takes to read its locks in pg_locks, which tells whether it held claimed
   rows: mid-batch). A start that finishes before its moment ends the day (a day resumed after
   kills has less left to do); the next day follows. A day killed 5 times in a row with nothing
   committed is let finish (its run is longer than expected). After ``--kills`` kills, one run
   is let finish. Before all this the script's own process runs the first days once, rolled
   back, so that the victims start with compiled templates, like a running server's worker.
4. **Checks**: duplicates (ledger rows per invoice x level x channel; e-mails, SMS, activities
   and letters per group, reused by two groups, or not in the ledger at all) and lost reminders
   (every dispatch of the dry plan up to the last day is in the ledger on its day and sent,
   printed, recorded as a task or skipped with a reason; nothing else was sent).

The forked victim shares the registry loaded once by this script (an ``odoo-bin shell`` takes
10 s or more to start on this machine, which would leave few kills landing on work). Unless
``--real-pdf`` is given, wkhtmltopdf is replaced on the PATH by a stand-in that writes a blank
one-page PDF: the report, its QWeb rendering and the attachment are Odoo's, only the external
HTML-to-PDF conversion (about 1.2 s a letter here) is left out, so that the kills fit in
minutes.
Another invocation on the same database goes on from the last simulated day; recreate the
database for figures from the same start. ``--invoices 300 --customers 100 --kills 20`` is a
quick check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import time
import traceback
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_AT = dtime(10, 0)  # the simulated clock of each daily run (UTC)
CRONS = (
    "smart_collection.ir_cron_collection_run_scenarios",
    "smart_collection.ir_cron_collection_send_dispatches",
)
PARAM = "smart_collection.chaos_dataset"
HORIZON = 400  # days of dry plan computed ahead
STALL = 5  # killed starts in a row without any commit before a day's run is let finish
# States a dispatch may end in, by the planner's action kind.
SENT_STATES = {"send": ("sent", "to_print"), "task": ("sent",), "skip": ("skipped",)}
# Reasons the sender gives when an invoice changed between planning and sending.
RECHECK_REASONS = {"paid", "excluded", "disputed", "promised", "on_hold", "legal"}


def parse_args():
    home = os.environ.get("ODOO_HOME", "/opt/odoo18")
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="the only database touched")
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--spread", type=int, default=120,
                        help="latest due date of the dataset, in days after today")
    parser.add_argument("--odoo-home", default=home)
    parser.add_argument("--addons-path",
                        default=f"{home}/server/odoo/addons,{REPO}")
    parser.add_argument("--http-port", type=int, default=19069)
    parser.add_argument("--workdir", help="logs, dry plan and report (default /tmp/<db>_chaos)")
    parser.add_argument("--real-pdf", action="store_true",
                        help="convert letters with the installed wkhtmltopdf (about 1 s each"
                        " here) instead of the stand-in")
    parser.add_argument("--setup-only", action="store_true",
                        help="load the dataset and its past, then stop")
    parser.add_argument("--allow-any-db", action="store_true",
                        help="accept a database whose name does not contain 'chaos'")
    args = parser.parse_args()
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.db):
        parser.error("unexpected database name")
    if "chaos" not in args.db and not args.allow_any_db:
        parser.error("the chaos run rewrites its database: give one whose name contains "
                     "'chaos' (or --allow-any-db)")
    return args


# ------------------------------------------------------------------------------ booting Odoo

def boot(args, workdir):
    """Import Odoo with a configuration of our own: one database, 127.0.0.1, no cron thread."""
    tmp = workdir / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    os.environ["TMPDIR"] = str(tmp)  # report temp files of killed victims stay in here
    if not (args.real_pdf and shutil.which("wkhtmltopdf")):
        stub_dir = workdir / "bin"
        stub_dir.mkdir(exist_ok=True)
        stub = stub_dir / "wkhtmltopdf"
        stub.write_text(
            "#!/bin/sh\n"
            "# Stand-in for wkhtmltopdf (not installed): a blank one-page PDF.\n"
            'for a in "$@"; do\n'
            '  [ "$a" = "--version" ] && { echo "wkhtmltopdf 0.12.6 (with patched qt)"; exit 0; }\n'
            '  out="$a"\n'
            "done\n"
            f'cat "{stub_dir / "blank.pdf"}" > "$out"\n'
        )
        stub.chmod(0o755)
        os.environ["PATH"] = f"{stub_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    sys.path.insert(0, str(Path(args.odoo_home) / "server"))
    import odoo
    from odoo.tools import config

    config.parse_config([
        "-d", args.db, f"--db-filter=^{re.escape(args.db)}$",
        f"--addons-path={args.addons_path}",
        "--http-interface=127.0.0.1", f"--http-port={args.http_port}",
        "--max-cron-threads=0", "--log-level=warn", f"--logfile={workdir / 'odoo.log'}",
    ])
    if (workdir / "bin").is_dir() and not (workdir / "bin" / "blank.pdf").exists():
        from odoo.tools.pdf import PdfFileWriter

        writer = PdfFileWriter()
        writer.add_blank_page(595, 842)
        with open(workdir / "bin" / "blank.pdf", "wb") as out:
            writer.write(out)
    return odoo


def check_database(odoo, db):
    try:
        with odoo.sql_db.db_connect(db).cursor() as cr:
            cr.execute("SELECT state FROM ir_module_module WHERE name = 'smart_collection'")
            row = cr.fetchone()
    except Exception as exc:  # noqa: BLE001
        sys.exit(f"cannot use database {db!r}: {exc}\ncreate it first (see the docstring)")
    if not row or row[0] != "installed":
        sys.exit(f"smart_collection is not installed in {db!r}")


@contextmanager
def environment(registry):
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


# ------------------------------------------------------------------------------ dataset

def load_dataset(env, args, day0):
    """Customers and posted invoices through the ORM, committed in batches."""
    rng = random.Random(args.seed)
    tag = f"{args.seed}-{int(time.time())}"
    started = time.monotonic()
    fr = env.ref("base.fr")
    for company in env["res.company"].search([]):
        company.write({
            "collection_sms_hours": "Mon-Sun 00:00-24:00",
            "collection_letter_snailmail": False,
            "street": company.street or "1 rue de la Paix",
            "city": company.city or "Paris",
        })
        if not company.collection_scenario_id:
            company.collection_scenario_id = env.ref(
                "smart_collection.collection_scenario_standard")
    # Only this script runs crons here: a server started without a database filter must not
    # send this database's queue or run its scenarios behind our back.
    env["ir.cron"].search([]).write({"active": False})
    vals = []
    for i in range(args.customers):
        draw = rng.random()
        mobile = "+33 6 %02d %02d %02d %02d" % tuple(rng.randrange(100) for _ in range(4))
        if draw < 0.06:
            mobile = False
        elif draw < 0.08:
            mobile = "12"  # not a mobile number: a call task instead
        address = rng.random() >= 0.01
        vals.append({
            "name": f"Chaos customer {i}",
            "ref": f"CHAOS-{tag}-{i}",
            "is_company": rng.random() < 0.8,
            "email": f"chaos.{i}@example.com" if rng.random() >= 0.02 else False,
            "mobile": mobile,
            "street": f"{i} rue du Chaos" if address else False,
            "city": "Lyon" if address else False,
            "zip": "69001",
            "country_id": fr.id,
            "tz": "Europe/Paris",
            "lang": "en_US",
            "collection_opt_out_email": rng.random() < 0.02,
            "collection_opt_out_sms": rng.random() < 0.03,
            "collection_opt_out_letter": rng.random() < 0.02,
        })
    customers = env["res.partner"].create(vals)
    env["res.partner"].create([
        {"name": f"Accounts payable {c.id}", "parent_id": c.id, "type": "invoice",
         "email": f"ap.{c.id}@example.com"}
        for c in customers if rng.random() < 0.05
    ])
    env.cr.commit()
    dues = {}
    batch = 100
    for start in range(0, args.invoices, batch):
        moves_vals = []
        for j in range(start, min(start + batch, args.invoices)):
            due = day0 - timedelta(days=rng.randint(-args.spread, 44))
            dues[j] = due
            moves_vals.append({
                "move_type": "out_invoice",
                "partner_id": customers[rng.randrange(len(customers))].id,
                "invoice_date": min(due - timedelta(days=30), day0),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "ref": f"CHAOS-{tag}-INV{j}",
                "invoice_line_ids": [(0, 0, {
                    "name": "Service", "quantity": 1, "tax_ids": [],
                    "price_unit": round(rng.uniform(80, 3000), 2),
                })],
            })
        moves = env["account.move"].create(moves_vals)
        moves.action_post()
        # Posting may recompute the due date: set the one drawn (journal items too).
        env.cr.execute(
            """
            UPDATE account_move m SET invoice_date_due = v.due
              FROM unnest(%s::int[], %s::date[]) AS v(id, due)
             WHERE m.id = v.id AND m.invoice_date_due <> v.due
            """,
            [moves.ids, [dues[j] for j in range(start, start + len(moves))]],
        )
        env.cr.execute(
            """
            UPDATE account_move_line l SET date_maturity = m.invoice_date_due
              FROM account_move m
             WHERE l.move_id = m.id AND m.id = ANY(%s) AND l.display_type = 'payment_term'
            """,
            [moves.ids],
        )
        env.cr.commit()
        env.invalidate_all()
        print(f"  invoices {start + len(moves)}/{args.invoices}"
              f" ({time.monotonic() - started:.0f} s)", flush=True)
    return tag


def gather(env, company):
    from odoo.addons.smart_collection.services import sms_hours

    engine = env["collection.engine"].sudo().with_company(company)
    invoices, foreign = engine._collection_gather_invoices(company)
    return {
        "engine": engine,
        "invoices": invoices,
        "foreign": foreign,
        "partners": engine._collection_gather_partners(company, {i.partner_id for i in invoices}),
        "scenarios": engine._collection_gather_scenarios(company),
        "ledger": engine._collection_gather_ledger(company),
        "rules": engine._collection_rules(company),
        "windows": sms_hours.parse(company.collection_sms_hours),
        "default": company.collection_scenario_id.id or None,
    }


def simulate(env, first_day, last_day, on_day=None):
    """The planner's decisions from ``first_day`` to ``last_day`` with no kill.

    Returns {day: [(company, partner, invoice, level, channel, kind, reason), ...]}. What
    sending changes for the next days is applied: the ledger rows, and the legal follow-up of
    a customer who was sent a formal notice (not a call task replacing it).
    """
    from odoo.addons.smart_collection.services import planner

    decisions = defaultdict(list)
    for company in env["res.company"].search([]):
        data = gather(env, company)
        partners, ledger = data["partners"], data["ledger"]
        day = first_day
        while day <= last_day:
            policy = planner.Policy(
                default_scenario_id=data["default"],
                rules=data["rules"],
                sms_windows=data["windows"],
                holidays=data["engine"]._collection_holidays(company, day),
            )
            now = datetime.combine(day, RUN_AT, tzinfo=timezone.utc)
            result = planner.plan(
                data["invoices"], partners, data["scenarios"], ledger, policy, day, now
            )
            for action in result.actions:
                for invoice_id, level_id in action.invoice_levels:
                    decisions[day].append((company.id, action.partner_id, invoice_id, level_id,
                                           action.channel, action.kind, action.reason))
                if action.channel == "formal_notice" and action.kind == "send":
                    partners[action.partner_id] = replace(
                        partners[action.partner_id], legal=True)
            ledger.extend(planner.planned_dispatches(result, day))
            if on_day:
                on_day(company, day, result, data)
            day += timedelta(days=1)
    return decisions


def write_history(env, day0):
    """The book as if the daily run had gone on every day up to ``day0`` (no messages)."""
    env.cr.execute(
        """
        SELECT min(invoice_date_due) FROM account_move
         WHERE move_type = 'out_invoice' AND state = 'posted'
           AND payment_state IN ('not_paid', 'partial')
        """
    )
    first = (env.cr.fetchone()[0] or day0) - timedelta(days=8)
    last_result = {}

    def keep(company, day, result, data):
        if day == day0:
            last_result[company] = (result, data)

    decisions = simulate(env, first, day0, on_day=keep)
    residual = {}
    for _result, data in last_result.values():
        residual.update({inv.id: inv.residual for inv in data["invoices"]})
    engine = env["collection.engine"].sudo()
    rows = 0
    for day in sorted(decisions):
        by_company = defaultdict(list)
        for company_id, partner, invoice, level, channel, kind, reason in decisions[day]:
            by_company[company_id].append((
                invoice, partner, level, channel, "skipped" if kind == "skip" else "sent",
                reason, kind == "task", None, f"{day}/{company_id}/{partner}/{channel}",
                residual.get(invoice),
            ))
            if channel == "formal_notice" and kind == "send":
                env["res.partner"].browse(partner).with_company(company_id).write(
                    {"collection_legal": True, "collection_legal_date": day}
                )
        for company_id, company_rows in by_company.items():
            engine._collection_insert_dispatches(
                env["res.company"].browse(company_id), day, company_rows)
            rows += len(company_rows)
    env.cr.execute(
        "UPDATE collection_dispatch SET sent_at = planned_date + interval '10 hours'"
        " WHERE state = 'sent' AND sent_at IS NULL"
    )
    for result, data in last_result.values():
        data["engine"]._collection_write_statuses(result.statuses, data["foreign"])
    return first, rows


# ------------------------------------------------------------------------------ the victim

def victim(registry, db, day, marker_fd, log_path):
    """Child process: the two scheduled actions, as the cron runs them, on ``day``."""
    code = 0
    try:
        os.setpgid(0, 0)
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        import threading

        import odoo
        from freezegun import freeze_time
        from odoo import SUPERUSER_ID, api

        threading.current_thread().dbname = db
        # The registry's connection info was made in this script's process: name the victim's
        # server processes after the victim (odoo-<pid>), as an Odoo worker's are.
        registry._db = odoo.sql_db.db_connect(db)
        with freeze_time(datetime.combine(day, RUN_AT), tick=True):
            os.write(marker_fd, b"S")
            for xmlid in CRONS:
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    env.ref(xmlid).method_direct_trigger()
                    cr.commit()  # as ir.cron commits after a job
                os.write(marker_fd, b"C")
    except BaseException:  # noqa: BLE001 - reported through the exit code and the log
        traceback.print_exc()
        code = 3
    finally:
        os._exit(code)


class Chaos:
    def __init__(self, odoo, registry, args, workdir):
        self.odoo = odoo
        self.registry = registry
        self.args = args
        self.workdir = workdir
        self.log_path = str(workdir / "victim.log")
        self.last_pid = None
        self.lingering = 0

    def _wait_backends_gone(self, pid):
        """A killed victim's server process ends when it sees the socket closed."""
        deadline = time.monotonic() + 30
        while True:
            with environment(self.registry) as env:
                env.cr.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [f"odoo-{pid}"],
                )
                alive = env.cr.fetchone()[0]
            if not alive or time.monotonic() > deadline:
                return alive
            self.lingering += 1
            time.sleep(0.05)

    def start(self, day):
        if self.last_pid:
            self._wait_backends_gone(self.last_pid)
        # Connections must not be shared with the child: it opens its own.
        self.odoo.sql_db.close_all()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            victim(self.registry, self.args.db, day, write_fd, self.log_path)
        os.close(write_fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first
        os.set_blocking(read_fd, False)
        self.last_pid = pid
        return pid, read_fd, time.monotonic()

    @staticmethod
    def _markers(read_fd):
        try:
            return os.read(read_fd, 64).decode()
        except BlockingIOError:
            return ""

    def wait(self, pid, deadline):
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def classify(self, pid, markers):
        """Where the frozen victim stands: its server process's locks say it."""
        if "S" not in markers:
            return "startup"
        if markers.count("C") >= len(CRONS):
            return "finished"
        with environment(self.registry) as env:
            env.cr.execute(
                """
                SELECT a.xact_start IS NOT NULL,
                       coalesce(bool_or(l.relation = 'collection_dispatch'::regclass
                                        AND l.mode = 'RowShareLock'), false)
                  FROM pg_stat_activity a
             LEFT JOIN pg_locks l ON l.pid = a.pid AND l.granted
                 WHERE a.application_name = %s
              GROUP BY a.pid, a.xact_start
                """,
                [f"odoo-{pid}"],
            )
            rows = env.cr.fetchall()
        if any(claimed for _tx, claimed in rows):
            return "mid-batch"  # claimed rows locked FOR UPDATE, not committed yet
        if any(tx for tx, _claimed in rows):
            return "planning"  # in a transaction without a claim: gathering, planning, writing
        return "between"  # between two transactions

    def kill(self, pid, read_fd):
        os.killpg(pid, signal.SIGSTOP)
        phase = self.classify(pid, self._markers(read_fd))
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        return phase

    def progress(self, day):
        """What a day's runs have committed so far (rows written, rows still planned)."""
        with environment(self.registry) as env:
            env.cr.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'planned')"
                " FROM collection_dispatch WHERE planned_date = %s",
                [day],
            )
            return env.cr.fetchone()

    def run_to_end(self, day):
        pid, read_fd, started = self.start(day)
        code = self.wait(pid, None)
        os.close(read_fd)
        if code != 0:
            sys.exit(f"the run of {day} failed (exit {code}): see {self.log_path}")
        return time.monotonic() - started


# ------------------------------------------------------------------------------ checks

def check(env, expected, last_day, start_ids):
    """Duplicates and lost reminders, comparing the ledger and the messages with the plan."""
    cr = env.cr
    cr.execute(
        """
        SELECT invoice_id, level_id, channel, count(*) FROM collection_dispatch
         GROUP BY 1, 2, 3 HAVING count(*) > 1
        """
    )
    ledger_dupes = sum(n - 1 for *_key, n in cr.fetchall())
    cr.execute(
        """
        SELECT id, company_id, partner_id, invoice_id, level_id, channel, state, reason,
               substitute_call, planned_date, group_key, mail_message_id, sms_id,
               activity_id, attachment_id
          FROM collection_dispatch WHERE id > %s
        """,
        [start_ids["collection_dispatch"]],
    )
    actual = {}
    groups = defaultdict(list)
    for row in cr.dictfetchall():
        actual[(row["invoice_id"], row["level_id"], row["channel"])] = row
        groups[row["group_key"]].append(row)

    # Lost: every planned dispatch is in the ledger on its day and went out (or was skipped
    # with a reason); every row of the ledger was planned.
    explained = {"call task", "letter", "sms", "e-mail", "skipped: opted out"} | {
        "skipped: " + r for r in RECHECK_REASONS}
    outcome = Counter()
    lost_examples = []
    expected_keys = set()
    for day, decisions in expected.items():
        if day > last_day:
            continue
        for _company, _partner, invoice, level, channel, kind, _reason in decisions:
            key = (invoice, level, channel)
            expected_keys.add(key)
            row = actual.get(key)
            if row is None:
                verdict = "missing"
            elif row["planned_date"] != day:
                verdict = "wrong day"
            elif row["state"] == "planned":
                verdict = "still planned"
            elif row["state"] == "failed":
                verdict = "failed"
            elif row["state"] == "skipped" and row["reason"] in RECHECK_REASONS:
                verdict = "skipped: " + row["reason"]
            elif row["state"] not in SENT_STATES.get(kind, ()):
                verdict = f"{row['state']} instead of {kind}"
            elif kind == "skip":
                verdict = "skipped: opted out" if row["reason"] == "opted_out" else "bad reason"
            elif kind == "task" or channel == "call":
                ok = row["activity_id"] and (kind != "task" or row["substitute_call"])
                verdict = "call task" if ok else "no activity"
            elif channel in ("letter", "formal_notice"):
                verdict = "letter" if row["attachment_id"] else "no letter"
            elif channel == "sms":
                verdict = "sms" if row["sms_id"] else "no sms"
            else:
                verdict = "e-mail" if row["mail_message_id"] else "no e-mail"
            outcome[verdict] += 1
            if verdict not in explained and len(lost_examples) < 5:
                lost_examples.append((str(day), key, verdict))
    lost = sum(n for verdict, n in outcome.items() if verdict not in explained)
    unplanned = [key for key in actual if key not in expected_keys]

    # Duplicates: one message per group, a message in one group only, every message in the
    # ledger.
    medium = {"email": "mail_message_id", "sms": "sms_id", "call": "activity_id",
              "letter": "attachment_id", "formal_notice": "attachment_id"}
    per_group = 0
    owners = defaultdict(set)
    linked = defaultdict(set)
    for key, rows in groups.items():
        fields_ = {("activity_id" if r["substitute_call"] else medium[r["channel"]]) for r in rows}
        for fname in fields_:
            refs = {r[fname] for r in rows if r[fname]}
            per_group += max(0, len(refs) - 1)
            for ref in refs:
                owners[(fname, ref)].add(key)
                linked[fname].add(ref)
        if any(r["mail_message_id"] for r in rows):
            linked["mail_message_id"] |= {r["mail_message_id"] for r in rows
                                          if r["mail_message_id"]}
    shared = sum(len(keys) - 1 for keys in owners.values() if len(keys) > 1)
    cr.execute(
        """
        SELECT mm.mail_message_id FROM mail_mail mm JOIN mail_message m ON m.id = mm.mail_message_id
         WHERE mm.id > %s AND m.model = 'res.partner' AND m.message_type = 'comment'
           AND m.author_id IN (SELECT partner_id FROM res_company)
        """,
        [start_ids["mail_mail"]],
    )
    mails = [r[0] for r in cr.fetchall()]
    cr.execute("SELECT id FROM sms_sms WHERE id > %s", [start_ids["sms_sms"]])
    sms = [r[0] for r in cr.fetchall()]
    call_type = env.ref("mail.mail_activity_data_call").id
    cr.execute(
        "SELECT id FROM mail_activity WHERE id > %s AND res_model = 'res.partner'"
        " AND activity_type_id = %s",
        [start_ids["mail_activity"], call_type],
    )
    activities = [r[0] for r in cr.fetchall()]
    cr.execute(
        "SELECT id FROM ir_attachment WHERE id > %s AND res_model = 'res.partner'"
        " AND mimetype = 'application/pdf'",
        [start_ids["ir_attachment"]],
    )
    letters = [r[0] for r in cr.fetchall()]
    orphans = {
        "e-mails": sum(1 for m in mails if m not in linked["mail_message_id"]),
        "SMS": sum(1 for s in sms if s not in linked["sms_id"]),
        "activities": sum(1 for a in activities if a not in linked["activity_id"]),
        "letters": sum(1 for a in letters if a not in linked["attachment_id"]),
    }
    # Per customer and day: no more messages of a kind than groups the plan made.
    planned_groups = Counter()
    for day, decisions in expected.items():
        if day <= last_day:
            seen = set()
            for _c, partner, _i, _l, channel, kind, _r in decisions:
                if kind == "skip":
                    continue
                kind_of = "activity_id" if kind == "task" else medium[channel]
                seen.add((partner, day, channel, kind_of))
            for partner, day_, _channel, kind_of in seen:
                planned_groups[(partner, day_, kind_of)] += 1
    sent_groups = Counter()
    for (fname, _ref), keys in owners.items():
        for key in keys:
            row = groups[key][0]
            sent_groups[(row["partner_id"], row["planned_date"], fname)] += 1
    over_served = sum(1 for k, n in sent_groups.items() if n > planned_groups.get(k, 0))
    return {
        "ledger_dupes": ledger_dupes,
        "per_group": per_group,
        "shared": shared,
        "orphans": orphans,
        "over_served": over_served,
        "duplicates": ledger_dupes + per_group + shared + sum(orphans.values()),
        "outcome": dict(outcome),
        "lost": lost,
        "lost_examples": lost_examples,
        "unplanned": len(unplanned),
        "unplanned_examples": unplanned[:5],
        "expected": sum(outcome.values()),
        "messages": {"e-mails": len(mails), "SMS": len(sms), "activities": len(activities),
                     "letters": len(letters)},
    }


def max_ids(env):
    ids = {}
    for table in ("collection_dispatch", "mail_mail", "sms_sms", "mail_activity",
                  "ir_attachment"):
        env.cr.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # fixed table names
        ids[table] = env.cr.fetchone()[0]
    return ids


# ------------------------------------------------------------------------------ main

def main():
    args = parse_args()
    workdir = Path(args.workdir or f"/tmp/{args.db}_chaos")
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    odoo = boot(args, workdir)
    check_database(odoo, args.db)
    from odoo.modules.registry import Registry

    registry = Registry(args.db)
    rng = random.Random(args.seed)

    # ---- dataset (first time) or where the previous invocation stopped
    with environment(registry) as env:
        ICP = env["ir.config_parameter"].sudo()
        info = json.loads(ICP.get_param(PARAM) or "{}")
        if not info:
            day0 = date.today()
            print(f"loading {args.invoices} invoices of {args.customers} customers"
                  f" into {args.db}", flush=True)
            tag = load_dataset(env, args, day0)
            first, rows = write_history(env, day0)
            info = {"tag": tag, "day0": str(day0), "last_day": str(day0),
                    "invoices": args.invoices, "customers": args.customers, "seed": args.seed}
            ICP.set_param(PARAM, json.dumps(info))
            env.cr.commit()
            print(f"history {first}..{day0}: {rows} ledger rows"
                  f" ({time.monotonic() - started:.0f} s)", flush=True)
        if args.setup_only:
            return 0
        env.cr.execute("SELECT count(*), max(planned_date) FROM collection_dispatch"
                       " WHERE state = 'planned'")
        pending, _ = env.cr.fetchone()
        if pending:
            sys.exit(f"{pending} dispatches are still planned from an interrupted chaos run:"
                     " recreate the database")
        env.cr.execute("SELECT max(planned_date) FROM collection_dispatch")
        day0 = max(date.fromisoformat(info["last_day"]), env.cr.fetchone()[0] or date.min)
        env.cr.execute(
            "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice'"
            " AND state = 'posted' AND payment_state IN ('not_paid', 'partial')"
        )
        open_invoices = env.cr.fetchone()[0]
        start_ids = max_ids(env)

        # ---- dry plan: the planner's decisions, day after day, nothing killed
        t = time.monotonic()
        expected = simulate(env, day0 + timedelta(days=1), day0 + timedelta(days=HORIZON))
        env.cr.rollback()
    days = sorted(expected)
    (workdir / "dry_plan.json").write_text(json.dumps(
        {str(day): rows for day, rows in sorted(expected.items())}))
    per_day = sorted(len({(r[1], r[4]) for r in expected[d]}) for d in days)
    print(f"dry plan from {day0}: {sum(map(len, expected.values()))} dispatches on"
          f" {len(days)} days, median {per_day[len(per_day) // 2] if per_day else 0}"
          f" groups a day ({time.monotonic() - t:.1f} s)", flush=True)
    if not days:
        sys.exit("nothing left to send in this book: recreate the database")

    # ---- chaos
    chaos = Chaos(odoo, registry, args, workdir)
    from freezegun import freeze_time

    # Warm this process's caches (compiled templates and reports) with the first days' runs,
    # rolled back, until every level and channel of the coming weeks has been rendered once:
    # every victim then starts like a worker of a running server. This also fills freezegun's
    # module cache.
    to_see = {(r[3], r[4], r[5]) for day in days[:30] for r in expected[day]}
    with environment(registry) as env:
        engine = env["collection.engine"].with_context(collection_no_commit=True)
        for day in days[:10]:
            with freeze_time(datetime.combine(day, RUN_AT)):
                engine._cron_run_scenarios()
            to_see -= {(r[3], r[4], r[5]) for r in expected[day]}
            if not to_see:
                break
        env.cr.rollback()
    t_chaos = time.monotonic()
    groups = {
        day: len({(r[0], r[1], r[4]) for r in expected[day] if r[5] != "skip"}) for day in days
    }
    full = chaos.run_to_end(days[0])
    fixed = chaos.run_to_end(days[0])  # the same day again: nothing left to send
    per_group = max(full - fixed, 0.0) / max(groups[days[0]], 1)

    def expected_run(day):
        return fixed + per_group * groups[day]

    print(f"day {days[0]}: {groups[days[0]]} groups, run not killed {full:.1f} s, again"
          f" {fixed:.1f} s: kills drawn in [0, {fixed:.1f} s + {per_group:.3f} s x groups]",
          flush=True)
    phases = Counter()
    runs = [{"day": str(days[0]), "outcome": "finished", "seconds": round(full, 3)},
            {"day": str(days[0]), "outcome": "finished (again)", "seconds": round(fixed, 3)}]
    index, kills, kill_days = 1, 0, set()
    stalled, last_progress = 0, None
    while kills < args.kills:
        if index >= len(days):
            print("the book has nothing left to send: more --invoices or --spread needed")
            break
        day = days[index]
        progress = chaos.progress(day)
        stalled = stalled + 1 if progress == last_progress else 0
        last_progress = progress
        pid, read_fd, t_start = chaos.start(day)
        # A day whose run was killed STALL times in a row without committing anything is let
        # finish: its run takes longer than expected and would never end otherwise.
        moment = None if stalled >= STALL else rng.uniform(0, expected_run(day))
        code = chaos.wait(pid, None if moment is None else t_start + moment)
        if code is not None:
            os.close(read_fd)
            if code != 0:
                sys.exit(f"the run of {day} failed (exit {code}): see {chaos.log_path}")
            runs.append({"day": str(day), "seconds": round(time.monotonic() - t_start, 3),
                         "outcome": "finished" if moment else "finished (stalled)"})
            index += 1
            stalled, last_progress = 0, None
            continue
        phase = chaos.kill(pid, read_fd)
        kills += 1
        kill_days.add(day)
        phases[phase] += 1
        runs.append({"day": str(day), "outcome": f"killed: {phase}",
                     "seconds": round(moment, 3), "expected": round(expected_run(day), 3)})
        if kills % 25 == 0:
            print(f"  kills {kills}/{args.kills}, day {day}, mid-batch {phases['mid-batch']},"
                  f" {time.monotonic() - started:.0f} s", flush=True)
    last_day = days[min(index, len(days) - 1)]
    final = chaos.run_to_end(last_day)
    runs.append({"day": str(last_day), "outcome": "finished (final)", "seconds": round(final, 3)})
    chaos_time = time.monotonic() - t_chaos

    # ---- checks
    chaos._wait_backends_gone(chaos.last_pid)
    with environment(registry) as env:
        result = check(env, expected, last_day, start_ids)
        info["last_day"] = str(last_day)
        env["ir.config_parameter"].sudo().set_param(PARAM, json.dumps(info))
        env.cr.commit()
    total = time.monotonic() - started
    report = {"args": vars(args), "day0": str(day0), "last_day": str(last_day),
              "start_ids": start_ids,
              "kills": kills, "phases": dict(phases), "runs": runs, "result": result,
              "lingering_backend_waits": chaos.lingering, "chaos_seconds": round(chaos_time, 1),
              "total_seconds": round(total, 1)}
    (workdir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    finished = sum(1 for r in runs if r["outcome"].startswith("finished"))
    print(f"dataset: {info['invoices']} invoices of {info['customers']} customers"
          f" (+ the demo book: {open_invoices} open invoices in all), days {day0}..{last_day}"
          f" run: {index + 1} with work, {len(kill_days)} of them with kills")
    print(f"kills: {kills} ({', '.join(f'{k} {v}' for k, v in phases.most_common())});"
          f" runs let finish: {finished}")
    print(f"duplicates: {result['duplicates']} (ledger {result['ledger_dupes']}, several"
          f" messages for one group {result['per_group']}, one message in two groups"
          f" {result['shared']}, sent without ledger row {result['orphans']});"
          f" customers sent more than planned: {result['over_served']}")
    print(f"lost reminders: {result['lost']} of {result['expected']} planned dispatches"
          f" ({', '.join(f'{k} {v}' for k, v in sorted(result['outcome'].items()))});"
          f" rows nobody planned: {result['unplanned']}")
    if result["lost_examples"] or result["unplanned_examples"]:
        print(f"  e.g. {result['lost_examples']} {result['unplanned_examples']}")
    print(f"messages: {result['messages']}")
    print(f"time: chaos {chaos_time:.0f} s, total {total:.0f} s; report {workdir}/report.json")
    if kills < args.kills:
        print(f"only {kills} kills: the book ran out of work (more --invoices or --spread)")
        return 2
    return 0 if not result["duplicates"] and not result["lost"] and not result["unplanned"] else 1


if __name__ == "__main__":
    sys.exit(main())
