"""The newcomer's walk-through: what the README says, on a fresh database, over HTTP.

Run with the Odoo venv (it uses ``requests``, ``psycopg2`` and ``dateutil`` from there)::

    /opt/odoo18/venv/bin/python bench/walkthrough.py --db sc_walk --port 19269 [--drop]

1. creates the database (only the one given; an existing one is refused unless ``--drop``),
   installs ``smart_collection`` and ``payment_demo`` with Odoo's demo data
   (``odoo-bin -i ... --stop-after-init``, log file);
2. starts the server on 127.0.0.1 (``--workers 0``, log file) and drives it like a user, with
   JSON-RPC as admin and plain HTTP as an anonymous visitor: the settings block of the README,
   a virtual IBAN range, customers and invoices, the day's scheduled actions, the reminders
   queued, a pay link paid with the demo provider (a part, then the rest), a CAMT.053
   statement imported (one transfer paying an invoice by its reference, one unknown), then the
   collector screens (every action of the Collection menu, with its list data), the cockpit
   (its figures add up with the aging analysis) and the customer and invoice forms;
3. stops the server, scans both logs and prints a summary.

Exit code 0 only if every step passed and no log has an ERROR or CRITICAL line or a
Traceback. One line per step: ``ok  <step>  <seconds>``. Logs, the data directory and the
generated sample statement go to ``--out`` (a folder under /tmp by default). Everything is
bound to 127.0.0.1; nothing goes out to the network. Cron threads are off
(``--max-cron-threads 0``): the day is run by triggering the scheduled actions, as a user does
from *Settings > Technical > Scheduled Actions* ("Run Manually"), so nothing else runs in
between and no queued e-mail or SMS is sent.
"""

import argparse
import base64
import html.parser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg2
import requests
from dateutil.relativedelta import relativedelta

ROOT = Path(__file__).resolve().parent.parent
ODOO_HOME = Path(os.environ.get("ODOO_HOME", "/opt/odoo18"))
ODOO_BIN = ODOO_HOME / "server" / "odoo-bin"
ODOO_PY = ODOO_HOME / "venv" / "bin" / "python"
ADDONS_PATH = f"{ODOO_HOME / 'server' / 'odoo' / 'addons'},{ROOT}"
MODULES = "smart_collection,payment_demo"
PYTHON_LIBS = ("stripe", "phonenumbers", "qrcode", "schwifty", "stdnum", "defusedxml")

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) ")
DB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

# The screens a collector works with (README, "Collector screens" and the sections after it).
COLLECTOR_SCREENS = (
    "Today", "Customers to Follow", "Open Invoices", "Reminders Sent", "Bank Transfers",
    "Virtual IBANs",
)
UNKNOWN_PAYER = "Unknown Payer GmbH"
UNKNOWN_IBAN = "DE89370400440532013000"
UNKNOWN_AMOUNT = 77.70
PAYER_IBAN = "FR7610107001011234567890129"


class WalkError(Exception):
    """A step failed: the message says what was expected and what came."""


def check(condition, message):
    if not condition:
        raise WalkError(message)


# --------------------------------------------------------------------------- HTTP helpers


class RpcClient:
    """JSON-RPC over HTTP, like the web client (one cookie session per user)."""

    def __init__(self, base_url, timeout=600):
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # 127.0.0.1 only: never through a proxy
        self.context = {}
        self.uid = None
        self._id = 0

    def rpc(self, path, params):
        self._id += 1
        payload = {"jsonrpc": "2.0", "method": "call", "params": params, "id": self._id}
        response = self.http.post(self.base_url + path, json=payload, timeout=self.timeout)
        check(response.status_code == 200, f"POST {path}: HTTP {response.status_code}")
        body = response.json()
        if body.get("error"):
            data = body["error"].get("data") or {}
            raise WalkError(
                f"POST {path}: {data.get('name', 'error')}: "
                f"{data.get('message') or body['error'].get('message')}"
            )
        return body.get("result")

    def authenticate(self, db, login, password):
        result = self.rpc(
            "/web/session/authenticate", {"db": db, "login": login, "password": password}
        )
        check(result and result.get("uid"), f"log in as {login} refused")
        self.uid = result["uid"]
        self.context = dict(result.get("user_context") or {})
        return result

    def call(self, model, method, *args, **kwargs):
        kwargs.setdefault("context", self.context)
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def button(self, model, method, ids, context=None):
        """A form button of type object (``/web/dataset/call_button``)."""
        return self.rpc(
            f"/web/dataset/call_button/{model}/{method}",
            {"model": model, "method": method, "args": [ids],
             "kwargs": {"context": {**self.context, **(context or {})}}},
        )

    def search_read(self, model, domain, fields, **kwargs):
        return self.call(model, "search_read", domain, fields, **kwargs)


class PayPageParser(html.parser.HTMLParser):
    """What the pay page's script reads: the payment form's data and its payment options."""

    def __init__(self):
        super().__init__()
        self.form = None
        self.options = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "o_payment_form":
            self.form = attrs
        elif tag == "input" and attrs.get("name") == "o_payment_radio":
            self.options.append(attrs)


# --------------------------------------------------------------------------- views and domains


def normalize_domain(domain):
    """Odoo's normalize_domain: explicit '&' between the implicit AND terms."""
    result, expected = [], 1
    for token in domain:
        if expected == 0:
            result.insert(0, "&")
            expected = 1
        if isinstance(token, (list, tuple)):
            expected -= 1
        elif token in ("&", "|"):
            expected += 1
        result.append(token)
    return result or [[1, "=", 1]]


def combine(operator, domains):
    domains = [normalize_domain(d) for d in domains if d]
    if not domains:
        return []
    result = [operator] * (len(domains) - 1)
    for domain in domains:
        result += domain
    return result


class Today(date):
    """``context_today()``: strftime runs outside the restricted eval (the C code imports
    ``time`` through the caller's builtins)."""

    def strftime(self, fmt):
        return date(self.year, self.month, self.day).strftime(fmt)


def py_eval(text, uid, extra=None):
    """Evaluate a domain or context of a view or action, with what the web client provides."""
    if not isinstance(text, str):
        return text
    names = {
        "uid": uid,
        "context_today": lambda: Today.today(),
        "current_date": date.today().strftime("%Y-%m-%d"),
        "datetime": datetime,
        "relativedelta": relativedelta,
        "timedelta": timedelta,
        "time": time,
        "true": True,
        "false": False,
        "active_id": False,
        "active_ids": [],
        "active_model": False,
        **(extra or {}),
    }
    return eval(text, {"__builtins__": {}}, names)  # noqa: S307 - local server's own views


def field_spec(node, model, models):
    """The ``specification`` the web client sends for the fields of a view arch."""
    fields = models[model]["fields"]
    spec = {}
    for child in node:
        if child.tag == "field":
            name = child.get("name")
            check(name in fields, f"view of {model} shows field {name!r}, unknown to the model")
            info = fields[name]
            if info["type"] in ("one2many", "many2many"):
                sub = next((c for c in child if c.tag in ("list", "kanban")), None)
                spec[name] = {
                    "fields": field_spec(sub, info["relation"], models) if sub is not None
                    else {"display_name": {}},
                    "limit": 40,
                }
            elif info["type"] == "many2one":
                spec[name] = {"fields": {"display_name": {}}}
            else:
                spec[name] = {}
        elif child.tag != "groupby":
            spec.update(field_spec(child, model, models))
    return spec


def search_defaults(search_arch, context, uid):
    """The domain and group-bys of the ``search_default_*`` filters of an action's context
    (filters of one group are OR-ed, groups are AND-ed, as in the search panel)."""
    defaults = {k[len("search_default_"):]: v for k, v in context.items()
                if k.startswith("search_default_") and v}
    groups, current, group_by = [], [], []

    def close():
        if current:
            groups.append(combine("|", list(current)))
            current.clear()

    def walk(node):
        for child in node:
            name = child.get("name")
            if child.tag == "filter":
                if name not in defaults:
                    continue
                if child.get("domain"):
                    current.append(py_eval(child.get("domain"), uid))
                filter_context = py_eval(child.get("context") or "{}", uid)
                if filter_context.get("group_by"):
                    group_by.append(filter_context["group_by"])
            elif child.tag == "group":
                close()
                walk(child)
                close()
            else:
                close()
                if child.tag == "field" and name in defaults:
                    value = defaults[name]
                    domain = child.get("filter_domain")
                    groups.append(py_eval(domain, uid, {"self": value}) if domain
                                  else [[name, "=", value]])

    walk(search_arch)
    close()
    return combine("&", groups), group_by


# --------------------------------------------------------------------------- the walk-through


class Walkthrough:
    def __init__(self, args):
        self.args = args
        self.db = args.db
        self.port = args.port
        self.base_url = f"http://127.0.0.1:{args.port}"
        default_out = Path(tempfile.gettempdir()) / f"smart_collection_walk_{args.db}"
        self.out = Path(args.out) if args.out else default_out
        self.data_dir = self.out / "data"
        self.install_log = self.out / "install.log"
        self.server_log = self.out / "server.log"
        self.statement_file = self.out / "statement-camt053.xml"
        self.server = None
        self.installed = False
        self.admin = RpcClient(self.base_url)
        self.today = date.today()
        self.ids = {}
        self.notes = []

    # ----------------------------------------------------------------- helpers

    def odoo_cmd(self, *extra):
        return [
            str(ODOO_PY), str(ODOO_BIN),
            "--database", self.db, "--db-filter", f"^{re.escape(self.db)}$",
            "--addons-path", ADDONS_PATH, "--data-dir", str(self.data_dir),
            "--http-interface", "127.0.0.1", "--http-port", str(self.port),
            "--max-cron-threads", "0",
            *extra,
        ]

    def sql(self, query, params=None):
        """One statement on the maintenance database, outside any transaction."""
        conn = psycopg2.connect(dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cr:
                cr.execute(query, params)
                return cr.fetchall() if cr.description else None
        finally:
            conn.close()

    def db_exists(self):
        return bool(self.sql("SELECT 1 FROM pg_database WHERE datname = %s", (self.db,)))

    def port_in_use(self):
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def xmlid(self, module, name):
        rows = self.admin.search_read(
            "ir.model.data", [["module", "=", module], ["name", "=", name]], ["res_id"]
        )
        check(rows, f"{module}.{name} not found")
        return rows[0]["res_id"]

    def read(self, model, ids, fields):
        return self.admin.call(model, "read", ids, fields)

    def invoice(self, key, fields):
        return self.read("account.move", [self.ids[key]], fields)[0]

    # ----------------------------------------------------------------- 1. database and install

    def check_requirements(self):
        check(ODOO_BIN.is_file() and ODOO_PY.is_file(),
              f"Odoo runtime not found: {ODOO_BIN} / {ODOO_PY} (set ODOO_HOME)")
        check(DB_NAME.match(self.db) and self.db not in ("postgres", "template0", "template1"),
              f"refusing database name {self.db!r}")
        code = "import " + ", ".join(PYTHON_LIBS)
        result = subprocess.run([str(ODOO_PY), "-c", code], capture_output=True, text=True)
        check(result.returncode == 0,
              f"README Requirements: a Python library is missing in {ODOO_PY}: "
              f"{result.stderr.strip().splitlines()[-1:]}")
        check(not self.port_in_use(), f"127.0.0.1:{self.port} is already in use")
        if not shutil.which("wkhtmltopdf"):
            # README Requirements: letters as PDF need it; the demo customers' 40- and 90-day
            # invoices reach the letter and formal-notice levels.
            self.notes.append("wkhtmltopdf not found: reminder letters cannot be rendered")
            return "wkhtmltopdf missing (letters will fail)"

    def create_database(self):
        if self.db_exists():
            check(self.args.drop, f"database {self.db} exists: pass --drop to start over")
            self.sql(f'DROP DATABASE "{self.db}"')
        shutil.rmtree(self.data_dir / "filestore" / self.db, ignore_errors=True)
        self.sql(f"CREATE DATABASE \"{self.db}\" ENCODING 'unicode' LC_COLLATE 'C' "
                 "TEMPLATE template0")

    def install_addon(self):
        self.install_log.unlink(missing_ok=True)  # Odoo appends to its log file
        self.installed = True
        cmd = self.odoo_cmd("-i", MODULES, "--stop-after-init", "--logfile", str(self.install_log))
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=self.args.install_timeout)
        check(result.returncode == 0,
              f"odoo-bin -i exited with {result.returncode}: {result.stderr.strip()[-500:]}")
        text = self.install_log.read_text(errors="replace")
        check("Modules loaded." in text, f"no 'Modules loaded.' in {self.install_log}")
        errors = scan_log(self.install_log)[0]
        check(not errors, f"{len(errors)} error line(s) in {self.install_log}:\n"
              + "\n".join(errors[:15]))

    # ----------------------------------------------------------------- 2. the server

    def start_server(self):
        check(not self.port_in_use(), f"127.0.0.1:{self.port} is already in use")
        self.server_log.unlink(missing_ok=True)
        cmd = self.odoo_cmd("--workers", "0", "--logfile", str(self.server_log))
        self.server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        probe = requests.Session()
        probe.trust_env = False
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            check(self.server.poll() is None,
                  f"the server exited with {self.server.returncode} (see {self.server_log})")
            try:
                if probe.get(self.base_url + "/web/health", timeout=5).status_code == 200:
                    return f"pid {self.server.pid}"
            except requests.RequestException:
                pass
            time.sleep(1)
        raise WalkError("the server did not answer /web/health within 180 s")

    def log_in_as_admin(self):
        self.admin.authenticate(self.db, "admin", "admin")
        user = self.read("res.users", [self.admin.uid], ["company_id"])[0]
        self.ids["company"] = user["company_id"][0]

    def configure_settings(self):
        """*Invoicing > Configuration > Settings*, block Smart Collection (README table)."""
        admin = self.admin
        company_id = self.ids["company"]
        scenario = admin.search_read("collection.scenario", [["name", "=", "Standard"]], ["id"])
        check(scenario, "the shipped scenario 'Standard' is missing")
        accounts = admin.search_read(
            "account.account",
            [["account_type", "=", "expense"], ["company_ids", "in", [company_id]]],
            ["id", "code"], limit=1,
        )
        check(accounts, "no expense account for the write-off")
        values = {
            "collection_reference_mode": "rf",
            "collection_link_validity_days": 60,
            "collection_thank_you": True,
            "collection_scenario_id": scenario[0]["id"],
            # Every hour of every day, so that the walk-through's SMS go out whatever the time
            # (the README's default is Mon-Fri 10:00-13:00, 14:00-20:00).
            "collection_sms_hours": "Mon-Sun 00:00-24:00",
            "collection_virtual_iban_mode": "customer",
            "collection_match_threshold": 90,
            "collection_match_subset_items": 12,
            "collection_writeoff_tolerance": 0.5,
            "collection_writeoff_account_id": accounts[0]["id"],
        }
        settings = admin.call("res.config.settings", "web_save", [], values, specification={})
        admin.button("res.config.settings", "execute", [settings[0]["id"]])
        company = self.read("res.company", [company_id], list(values))[0]
        for name, value in values.items():
            got = company[name][0] if isinstance(company[name], list) else company[name]
            check(got == value, f"setting {name}: saved {value!r}, read back {got!r}")
        self.ids["writeoff_account"] = accounts[0]["id"]

    def check_demo_provider(self):
        """README, Try it, step 4: the demo provider must be there to pay by link."""
        rows = self.admin.search_read(
            "payment.provider", [["code", "=", "demo"]], ["state", "is_published", "company_id"]
        )
        check(rows, "no demo payment provider (payment_demo not installed?)")
        provider = rows[0]
        check(provider["state"] in ("test", "enabled") and provider["is_published"],
              f"demo provider not enabled/published: state={provider['state']}, "
              f"published={provider['is_published']}")
        self.ids["provider"] = provider["id"]

    def add_virtual_iban_range(self):
        """*Collection > Configuration > Virtual IBAN Sources*: a French bank's range."""
        france = self.admin.search_read("res.country", [["code", "=", "FR"]], ["id"])[0]["id"]
        self.ids["fr"] = france
        range_id = self.admin.call("collection.virtual.iban.range", "create", [{
            "name": "Walk-through virtual accounts",
            "provider": "bank_range",
            "country_id": france,
            "bank_code": "30004",
            "branch_code": "00001",
            "account_prefix": "00077",
            "width": 6,
            "bic": "BNPAFRPPXXX",
        }])[0]
        row = self.read("collection.virtual.iban.range", [range_id], ["next_number", "remaining"])
        check(row[0]["remaining"] == 10**6, f"new range: remaining {row[0]['remaining']}")
        self.ids["range"] = range_id

    def set_up_bank_journal(self):
        """A EUR bank journal on the company's IBAN, for the statement import."""
        admin = self.admin
        eur = admin.search_read("res.currency", [["name", "=", "EUR"]], ["id", "active"],
                                context={**admin.context, "active_test": False})[0]
        if not eur["active"]:
            admin.call("res.currency", "write", [eur["id"]], {"active": True})
        self.ids["eur"] = eur["id"]
        company = self.read("res.company", [self.ids["company"]], ["partner_id"])[0]
        banks = admin.search_read(
            "res.partner.bank", [["partner_id", "=", company["partner_id"][0]]],
            ["id", "acc_number", "acc_type"], order="id",
        )
        banks = [b for b in banks if b["acc_type"] == "iban"]
        check(banks, "the demo company has no IBAN (README: 'gets a French IBAN')")
        self.ids["company_iban"] = banks[0]["acc_number"].replace(" ", "").upper()
        self.ids["journal"] = admin.call("account.journal", "create", [{
            "name": "Bank EUR (walk-through)", "code": "BWALK", "type": "bank",
            "currency_id": eur["id"], "bank_account_id": banks[0]["id"],
        }])[0]
        return self.ids["company_iban"]

    def create_customers(self):
        customers = {
            # key: (name, is_company, mobile)
            "atelier": ("Atelier Walk SARL", True, "+33 6 11 22 33 44"),
            "claude": ("Claude Walker", False, False),
            "payer": ("Walk Pay SAS", True, "+33 6 55 66 77 88"),
        }
        for key, (name, is_company, mobile) in customers.items():
            slug = name.lower().replace(" ", ".")
            self.ids[key] = self.admin.call("res.partner", "create", [{
                "name": name, "is_company": is_company, "country_id": self.ids["fr"],
                "street": "3 rue du Test", "zip": "75003", "city": "Paris",
                "email": f"{slug}@example.com", "mobile": mobile, "tz": "Europe/Paris",
                "lang": "en_US",
            }])[0]

    def post_invoices(self):
        journal = self.admin.search_read(
            "account.journal", [["type", "=", "sale"], ["company_id", "=", self.ids["company"]]],
            ["id"], limit=1,
        )[0]["id"]
        invoices = {
            # key: (customer, days from today to the due date, amount)
            "inv_email_sms": ("atelier", -12, 480.0),   # +10 level: e-mail + SMS
            "inv_call": ("claude", -22, 150.0),         # +20 level: call task
            "inv_link": ("payer", -4, 240.0),           # +3 level: e-mail; then paid by link
            "inv_transfer": ("payer", 10, 315.5),       # not due; paid by bank transfer
        }
        for key, (customer, due_in, amount) in invoices.items():
            due = self.today + timedelta(days=due_in)
            move_id = self.admin.call("account.move", "create", [{
                "move_type": "out_invoice",
                "partner_id": self.ids[customer],
                "journal_id": journal,
                "currency_id": self.ids["eur"],
                "invoice_date": (due - timedelta(days=30)).isoformat(),
                "invoice_date_due": due.isoformat(),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [[0, 0, {"name": f"Walk-through services ({key})",
                                             "quantity": 1, "price_unit": amount,
                                             "tax_ids": [[6, 0, []]]}]],
            }], context={**self.admin.context, "default_move_type": "out_invoice"})[0]
            self.admin.button("account.move", "action_post", [move_id])
            self.ids[key] = move_id
            row = self.invoice(key, ["state", "payment_reference", "collection_pay_url",
                                     "partner_bank_id", "amount_residual", "invoice_date_due"])
            check(row["state"] == "posted", f"{key}: state {row['state']}")
            check(row["invoice_date_due"] == due.isoformat(),
                  f"{key}: due date {row['invoice_date_due']}, expected {due}")
            check((row["payment_reference"] or "").startswith("RF"),
                  f"{key}: payment reference {row['payment_reference']!r} is not an RF reference")
            check("/pay/" in (row["collection_pay_url"] or ""), f"{key}: no pay link")
            check(abs(row["amount_residual"] - amount) < 0.005,
                  f"{key}: amount due {row['amount_residual']}, expected {amount}")
            # IBAN on invoices: one virtual IBAN per customer.
            check(row["partner_bank_id"], f"{key}: no bank account on the invoice")
            viban = self.admin.search_read(
                "collection.virtual.iban",
                [["partner_id", "=", self.ids[customer]], ["state", "=", "active"]],
                ["iban", "bank_account_id", "scope"],
            )
            check(len(viban) == 1, f"{key}: {len(viban)} active virtual IBAN(s) for {customer}")
            check(viban[0]["bank_account_id"][0] == row["partner_bank_id"][0],
                  f"{key}: invoice bank account {row['partner_bank_id']} is not the customer's "
                  f"virtual IBAN {viban[0]['iban']}")
        payer_ibans = {
            self.read("account.move", [self.ids[k]], ["partner_bank_id"])[0]["partner_bank_id"][0]
            for k in ("inv_link", "inv_transfer")
        }
        check(len(payer_ibans) == 1, "two invoices of one customer got different virtual IBANs")
        return f"{len(invoices)} invoices"

    # ----------------------------------------------------------------- run the day

    def trigger_cron(self, name):
        crons = self.admin.search_read("ir.cron", [["name", "=", name]], ["id", "active"])
        check(len(crons) == 1, f"scheduled action {name!r}: found {len(crons)}")
        check(crons[0]["active"], f"scheduled action {name!r} is not active")
        self.admin.button("ir.cron", "method_direct_trigger", [crons[0]["id"]])

    def run_the_day(self):
        self.trigger_cron("Collection: run scenarios")
        self.trigger_cron("Collection: send planned reminders")

    def check_reminders_queued(self):
        admin = self.admin
        ours = [self.ids[k] for k in ("inv_email_sms", "inv_call", "inv_link")]
        rows = admin.search_read(
            "collection.dispatch", [["invoice_id", "in", ours]],
            ["invoice_id", "channel", "state", "reason", "error", "mail_message_id", "sms_id",
             "activity_id", "level_id"],
        )
        by = {(r["invoice_id"][0], r["channel"]): r for r in rows}
        expected = [("inv_email_sms", "email"), ("inv_email_sms", "sms"), ("inv_call", "call"),
                    ("inv_link", "email")]
        for key, channel in expected:
            row = by.get((self.ids[key], channel))
            check(row, f"no {channel} reminder planned for {key}: ledger has "
                  f"{[(r['invoice_id'][1], r['channel'], r['state']) for r in rows]}")
            check(row["state"] == "sent",
                  f"{key} {channel}: state {row['state']} ({row['reason']}: {row['error']})")
        email = by[(self.ids["inv_email_sms"], "email")]
        check(email["mail_message_id"], "the e-mail reminder has no message")
        mails = admin.search_read("mail.mail", [["mail_message_id", "=",
                                                 email["mail_message_id"][0]]],
                                  ["state", "email_to", "recipient_ids", "body_html"])
        check(mails, "the e-mail reminder is not queued in mail.mail")
        check(mails[0]["state"] == "outgoing", f"reminder e-mail state {mails[0]['state']}")
        check("/pay/" in (mails[0]["body_html"] or ""), "the reminder e-mail has no pay link")
        sms = by[(self.ids["inv_email_sms"], "sms")]
        check(sms["sms_id"], "the SMS reminder has no sms.sms")
        sms_row = self.read("sms.sms", [sms["sms_id"][0]], ["number", "state", "body"])[0]
        check(sms_row["number"] == "+33611223344", f"SMS number {sms_row['number']!r}")
        check(sms_row["state"] == "outgoing", f"SMS state {sms_row['state']}")
        call = by[(self.ids["inv_call"], "call")]
        check(call["activity_id"], "the call reminder has no activity")
        activity = self.read("mail.activity", [call["activity_id"][0]],
                             ["res_model", "res_id", "activity_type_id", "user_id"])[0]
        check(activity["res_model"] == "res.partner" and activity["res_id"] == self.ids["claude"],
              f"call task on {activity['res_model']},{activity['res_id']}")
        # The whole ledger (demo customers included): nothing may have failed.
        failed = admin.search_read("collection.dispatch", [["state", "=", "failed"]],
                                   ["partner_id", "channel", "error"])
        check(not failed, f"{len(failed)} reminder(s) failed: "
              + "; ".join(f"{f['partner_id'][1]} {f['channel']}: {(f['error'] or '')[:160]}"
                          for f in failed[:5]))
        total = admin.call("collection.dispatch", "search_count", [])
        return f"{total} ledger rows, e-mail + SMS + call task checked"

    # ----------------------------------------------------------------- pay by link

    def open_pay_page(self, visitor, path, amount=None):
        params = {"amount": f"{amount:.2f}"} if amount is not None else None
        response = visitor.get(self.base_url + path, params=params, timeout=120)
        check(response.status_code == 200, f"GET {path}: HTTP {response.status_code}")
        check(response.headers.get("Cache-Control") == "no-store",
              f"GET {path}: Cache-Control {response.headers.get('Cache-Control')!r}")
        return response.text

    def pay_with_demo_provider(self, visitor, page, path):
        """What the page's script does: the JSON transaction route, then the demo provider."""
        parser = PayPageParser()
        parser.feed(page)
        check(parser.form, "the pay page has no payment form (#o_payment_form)")
        demo = [o for o in parser.options if o.get("data-provider-code") == "demo"]
        check(demo, f"the pay page offers no demo payment option: {parser.options}")
        option, form = demo[0], parser.form
        check(form.get("data-transaction-route") == f"{path}/transaction",
              f"transaction route {form.get('data-transaction-route')!r}")
        csrf = re.search(r'csrf_token:\s*"([^"]+)"', page)
        rpc = RpcClient(self.base_url, timeout=300)
        rpc.http = visitor
        values = rpc.rpc(form["data-transaction-route"], {
            "provider_id": int(option["data-provider-id"]),
            "payment_method_id": int(option["data-payment-option-id"]),
            "token_id": None,
            "amount": float(form["data-amount"]),
            "flow": "direct",  # payment_demo's inline form sets the direct flow
            "tokenization_requested": False,
            "landing_route": form.get("data-landing-route"),
            "is_validation": False,
            "access_token": form.get("data-access-token"),
            "csrf_token": csrf.group(1) if csrf else None,
        })
        check(values and values.get("reference"), f"no transaction reference: {values}")
        rpc.rpc("/payment/demo/simulate_payment", {
            "reference": values["reference"], "payment_details": "4242",
            "simulated_state": "done",
        })
        status = visitor.get(self.base_url + "/payment/status", timeout=120)
        check(status.status_code == 200, f"GET /payment/status: HTTP {status.status_code}")
        polled = rpc.rpc("/payment/status/poll", {})
        check(polled.get("state") == "done", f"transaction state {polled.get('state')}")
        check(polled.get("landing_route") == path, f"landing route {polled.get('landing_route')}")
        return values["reference"]

    def pay_by_link(self):
        """README, Try it, steps 3-4: open the link in a private window, pay a part, then the
        rest, with the demo provider."""
        row = self.invoice("inv_link", ["collection_pay_url", "amount_residual", "name",
                                        "payment_reference", "partner_bank_id"])
        path = "/pay/" + row["collection_pay_url"].split("/pay/", 1)[1]
        visitor = requests.Session()
        visitor.trust_env = False
        page = self.open_pay_page(visitor, path)
        residual = row["amount_residual"]
        check(f"{residual:,.2f}" in page, f"the pay page does not show {residual:,.2f}")
        check(row["name"] in page, f"the pay page does not show {row['name']}")
        # Bank transfer details: the customer's virtual IBAN, the RF reference, the EPC QR.
        iban = self.read("res.partner.bank", [row["partner_bank_id"][0]], ["acc_number"])[0]
        check(iban["acc_number"] in page, f"the pay page does not show {iban['acc_number']}")
        check(row["payment_reference"] in page, "the pay page does not show the reference")
        check('id="collection_epc_qr"' in page, "the pay page has no EPC QR code")
        # "Change amount": a part now.
        part = 100.0
        page = self.open_pay_page(visitor, path, amount=part)
        check("You are paying" in page, "the pay page does not confirm the partial amount")
        self.pay_with_demo_provider(visitor, page, path)
        row = self.invoice("inv_link", ["payment_state", "amount_residual"])
        check(row["payment_state"] == "partial" and abs(row["amount_residual"] - (residual - part))
              < 0.005, f"after paying {part}: {row['payment_state']}, due {row['amount_residual']}")
        # The rest.
        page = self.open_pay_page(visitor, path)
        check(f"{residual - part:,.2f}" in page, "the pay page does not show what is left")
        self.pay_with_demo_provider(visitor, page, path)
        page = self.open_pay_page(visitor, path)
        check('id="collection_pay_paid"' in page, "the pay page does not say 'paid'")

    def open_expired_demo_link(self):
        """README, Try it: "Invoices more than 60 days past due show the 'link expired' page"
        (the demo's 90-day invoices)."""
        due = (self.today - timedelta(days=90)).isoformat()
        rows = self.admin.search_read(
            "account.move", [["move_type", "=", "out_invoice"], ["invoice_date_due", "=", due],
                             ["partner_id.name", "=", "Claire Dubois"]],
            ["collection_pay_url", "collection_link_state"],
        )
        check(rows, "no demo invoice 90 days overdue for Claire Dubois")
        check(rows[0]["collection_link_state"] == "expired",
              f"90-day demo invoice: link state {rows[0]['collection_link_state']}")
        path = "/pay/" + rows[0]["collection_pay_url"].split("/pay/", 1)[1]
        visitor = requests.Session()
        visitor.trust_env = False
        response = visitor.get(self.base_url + path, timeout=120)
        check(response.status_code == 410, f"expired link: HTTP {response.status_code}")
        check("This pay link has expired." in response.text, "expired link: no 'expired' page")

    def check_paid_by_link(self):
        row = self.invoice("inv_link", ["payment_state", "amount_residual", "collection_thanked",
                                        "collection_link_state"])
        check(row["payment_state"] == "paid", f"invoice paid by link: {row['payment_state']}")
        check(row["collection_thanked"], "no thank-you message for the invoice paid by link")
        check(row["collection_link_state"] == "paid", f"link state {row['collection_link_state']}")
        txs = self.admin.search_read("payment.transaction",
                                     [["invoice_ids", "in", [self.ids["inv_link"]]]],
                                     ["state", "amount", "is_post_processed"])
        check(len(txs) == 2 and all(t["state"] == "done" and t["is_post_processed"] for t in txs),
              f"transactions: {txs}")

    # ----------------------------------------------------------------- bank statement

    def write_statement(self):
        """A CAMT.053 with a transfer quoting an invoice's RF reference and an unknown one."""
        row = self.invoice("inv_transfer", ["payment_reference", "amount_residual"])
        self.ids["transfer_ref"] = row["payment_reference"]
        stamp = datetime.now().strftime("%Y%m%d%H%M%S")
        day = self.today.isoformat()

        def entry(ref, amount, name, iban, remittance):
            return f"""
      <Ntry>
        <Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>
        <AcctSvcrRef>{ref}-{stamp}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
        </BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>E2E-{ref}-{stamp}</EndToEndId></Refs>
          <AmtDtls><TxAmt><Amt Ccy="EUR">{amount:.2f}</Amt></TxAmt></AmtDtls>
          <RltdPties><Dbtr><Nm>{name}</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf>{remittance}</RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""

        reference = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{row['payment_reference'].replace(' ', '')}</Ref></CdtrRefInf></Strd>"
        )
        entries = [
            entry("WALK1", row["amount_residual"], "Walk Pay SAS", PAYER_IBAN, reference),
            entry("WALK2", UNKNOWN_AMOUNT, UNKNOWN_PAYER, UNKNOWN_IBAN,
                  "<Ustrd>Rechnung 4711 vom Mai</Ustrd>"),
        ]
        self.statement_file.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>WALK-{stamp}</MsgId><CreDtTm>{day}T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>WALK-STMT-{stamp}</Id><CreDtTm>{day}T06:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>{self.ids['company_iban']}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      {"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""")

    def grant_full_accounting(self):
        """Only with --full-accounting: what a Community admin must do by hand before the
        statement import can create bank statement lines (debug mode, *Settings > Users >
        admin*, Technical: "Show Full Accounting Features", ``account.group_account_user``);
        the README does not say so."""
        if not self.args.full_accounting:
            return "skipped"
        group = self.xmlid("account", "group_account_user")
        self.admin.call("res.users", "write", [self.admin.uid], {"groups_id": [[4, group]]})
        self.notes.append("WORKAROUND: admin was given 'Show Full Accounting Features' "
                          "(--full-accounting) before the statement import")
        return "workaround"

    def import_bank_statement(self):
        """*Collection > Import Bank Statement*: the wizard, as the form does it."""
        self.write_statement()
        admin = self.admin
        spec = {"journal_id": {"fields": {"display_name": {}}}, "data_file": {},
                "filename": {}, "file_kind": {}, "csv_mapping_id": {"fields": {}}}
        defaults = admin.call("collection.statement.import", "onchange", [], {}, [], spec)
        check("value" in defaults, f"wizard onchange: {defaults}")
        wizard = admin.call("collection.statement.import", "web_save", [], {
            "journal_id": self.ids["journal"],
            "data_file": base64.b64encode(self.statement_file.read_bytes()).decode(),
            "filename": self.statement_file.name,
        }, specification={"file_kind": {}})[0]
        check(wizard["file_kind"] == "camt", f"file kind {wizard['file_kind']}")
        result = admin.button("collection.statement.import", "action_import", [wizard["id"]])
        message = (result or {}).get("params", {}).get("message", "")
        check("2 line(s) imported" in message, f"import: {message!r}")
        check("1 booked" in message and "1 to review" in message, f"import: {message!r}")
        return message

    def check_statement_matched(self):
        row = self.invoice("inv_transfer", ["payment_state", "amount_residual"])
        check(row["payment_state"] == "paid",
              f"invoice paid by transfer ({self.ids['transfer_ref']}): {row['payment_state']}, "
              f"due {row['amount_residual']}")
        matches = self.admin.search_read(
            "collection.match", [["statement_line_id.journal_id", "=", self.ids["journal"]]],
            ["payer_name", "state", "reconciled", "partner_id", "score", "reason_text"],
        )
        by_payer = {m["payer_name"]: m for m in matches}
        paid = by_payer.get("Walk Pay SAS")
        check(paid and paid["state"] == "auto" and paid["reconciled"],
              f"the transfer by reference: {paid}")
        unknown = by_payer.get(UNKNOWN_PAYER)
        check(unknown and unknown["state"] in ("review", "unmatched") and not unknown["reconciled"],
              f"the unknown transfer: {unknown}")
        # It must be on the review screen (*Collection > Bank Transfers*, default filters).
        listed = self.list_action_records("smart_collection.action_collection_match")
        check(any(r.get("payer_name") == UNKNOWN_PAYER for r in listed)
              or unknown["id"] in [r["id"] for r in listed],
              "the unknown transfer is not listed in Bank Transfers")
        return f"unknown transfer: {unknown['state']}"

    # ----------------------------------------------------------------- the cockpit

    def load_menus(self):
        response = self.admin.http.get(
            f"{self.base_url}/web/webclient/load_menus/{int(time.time())}", timeout=120
        )
        check(response.status_code == 200, f"load_menus: HTTP {response.status_code}")
        return response.json()

    def open_action(self, action, label):
        """Open an action as the web client does; return the records of its first view."""
        admin = self.admin
        if action["type"] == "ir.actions.client":
            check(action.get("tag") == "smart_collection.collection_cockpit",
                  f"{label}: unknown client action {action.get('tag')}")
            return [self.cockpit_figures()]
        if action["type"] == "ir.actions.server":
            action = admin.rpc("/web/action/run", {"action_id": action["id"],
                                                   "context": admin.context})
            check(isinstance(action, dict), f"{label}: the server action returned {action!r}")
        check(action["type"] == "ir.actions.act_window",
              f"{label}: unexpected action type {action['type']}")
        context = {**admin.context, **py_eval(action.get("context") or "{}", admin.uid)}
        domain = py_eval(action.get("domain") or "[]", admin.uid)
        views = [list(v) for v in action["views"]]
        if not any(v[1] == "search" for v in views):
            search_view = action.get("search_view_id")
            views.append([search_view[0] if search_view else False, "search"])
        result = admin.call(action["res_model"], "get_views", views=views,
                            options={"action_id": action.get("id"), "load_filters": True,
                                     "toolbar": True}, context=context)
        models = result["models"]
        first = views[0][1]
        arch = ET.fromstring(result["views"][first]["arch"])
        spec = field_spec(arch, action["res_model"], models)
        model = action["res_model"]
        if first in ("list", "kanban"):
            filters, group_by = search_defaults(
                ET.fromstring(result["views"]["search"]["arch"]), context, admin.uid
            )
            full_domain = combine("&", [domain, filters])
            if group_by:
                admin.call(model, "web_read_group", full_domain, [], group_by, context=context)
            data = admin.call(model, "web_search_read", domain=full_domain, specification=spec,
                              offset=0, limit=80, order="", count_limit=10001,
                              context={**context, "bin_size": True})
            return data["records"]
        if first in ("graph", "pivot"):
            filters, _group_by = search_defaults(
                ET.fromstring(result["views"]["search"]["arch"]), context, admin.uid
            )
            rows = [f.get("name") for f in arch.iter("field")
                    if f.get("type") in (None, "row") and f.get("type") != "measure"]
            return admin.call(model, "web_read_group", combine("&", [domain, filters]), [],
                              rows[:1], context=context)["groups"]
        check(first == "form", f"{label}: first view is {first}")
        if action.get("res_id"):
            return admin.call(model, "web_read", [action["res_id"]], spec,
                              context={**context, "bin_size": True})
        values = admin.call(model, "onchange", [], {}, [], spec, context=context)
        return [values.get("value", {})]

    def list_action_records(self, xmlid):
        module, name = xmlid.split(".")
        action = self.admin.rpc("/web/action/load", {"action_id": self.xmlid(module, name),
                                                     "context": self.admin.context})
        return self.open_action(action, xmlid)

    def open_collector_screens(self):
        """Every action of *Invoicing > Collection* (and its Configuration), with its data."""
        menus = self.load_menus()
        root = next((m for m in menus.values() if isinstance(m, dict)
                     and m.get("xmlid") == "smart_collection.menu_collection_root"), None)
        check(root, "no Collection menu for admin")
        entries, todo = [], list(root["children"])
        while todo:
            menu = menus[str(todo.pop(0))]
            if menu.get("actionID"):
                entries.append(menu)
            todo.extend(menu.get("children") or [])
        names = {m["name"] for m in entries}
        missing = [n for n in COLLECTOR_SCREENS if n not in names]
        check(not missing, f"menu entries missing under Collection: {missing} (have {names})")
        counts = {}
        for menu in entries:
            action = self.admin.rpc("/web/action/load", {"action_id": menu["actionID"],
                                                         "context": self.admin.context})
            check(action, f"{menu['name']}: /web/action/load returned nothing")
            try:
                counts[menu["name"]] = len(self.open_action(action, menu["name"]))
            except WalkError as exc:
                raise WalkError(f"screen {menu['name']!r}: {exc}") from None
        check(counts["Customers to Follow"] > 0, "Customers to Follow is empty after the run")
        check(counts["Reminders Sent"] > 0, "Reminders Sent is empty after the run")
        check(counts["Today"] > 0, "Today is empty (a call task was planned for admin)")
        check(counts["Virtual IBANs"] >= 3, f"Virtual IBANs lists {counts['Virtual IBANs']}")
        return ", ".join(f"{n} {counts[n]}" for n in COLLECTOR_SCREENS) + \
            f" (+{len(entries) - len(COLLECTOR_SCREENS)} more screens)"

    def open_form(self, model, record_id, context=None, must_show=()):
        context = {**self.admin.context, **(context or {})}
        result = self.admin.call(model, "get_views", views=[[False, "form"]],
                                 options={"toolbar": True}, context=context)
        arch = ET.fromstring(result["views"]["form"]["arch"])
        spec = field_spec(arch, model, result["models"])
        for name in must_show:
            check(name in spec, f"{model} form does not show {name}")
        records = self.admin.call(model, "web_read", [record_id], spec,
                                  context={**context, "bin_size": True})
        check(records and records[0]["id"] == record_id, f"{model} {record_id}: nothing read")
        return records[0]

    def cockpit_figures(self):
        """The dashboard's figures for this month, as its client action asks for them."""
        today = date.today()
        data = self.admin.call("collection.cockpit", "collection_cockpit_data",
                               today.replace(day=1).isoformat(), today.isoformat(),
                               context=self.admin.context)
        return data["kpis"]

    def look_at_the_cockpit(self):
        """Cockpit: open items by age, DSO, CEI, tasks; the aging analysis adds up the same."""
        kpis = self.cockpit_figures()
        aging = kpis["aging"]
        check(kpis["open_total"] > 0, f"cockpit: nothing open ({kpis['open_total']})")
        check(abs(sum(aging.values()) - kpis["open_total"]) < 0.01,
              f"cockpit: aging buckets {aging} do not add up to {kpis['open_total']}")
        check(kpis["tasks"] > 0, "cockpit: no task for today although a call was planned")
        groups = self.list_action_records("smart_collection.action_collection_report_aging")
        check(groups, "aging analysis: no group")
        return (f"open {kpis['open_total']:.2f}, overdue rate {kpis['overdue_rate']}, "
                f"DSO {kpis['dso']}, CEI {kpis['cei']}, {kpis['tasks']} task(s) today, "
                f"{len(groups)} aging group(s)")

    def open_customer_and_invoice_forms(self):
        for key in ("atelier", "claude", "payer"):
            self.open_form("res.partner", self.ids[key],
                           must_show=("collection_scenario_id", "collection_hold_until"))
        for key in ("inv_email_sms", "inv_call", "inv_link", "inv_transfer"):
            record = self.open_form("account.move", self.ids[key],
                                    {"default_move_type": "out_invoice"},
                                    must_show=("collection_pay_url", "collection_level_id"))
            check(record["collection_pay_url"], f"{key}: no pay link on the form")

    # ----------------------------------------------------------------- 3. stop and scan

    def stop_server(self):
        if not self.server or self.server.poll() is not None:
            return "not running"
        self.server.send_signal(signal.SIGINT)
        try:
            self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            raise WalkError("the server did not stop on SIGINT within 60 s") from None
        return f"exit {self.server.returncode}"

    def scan_server_log(self):
        if not self.server:
            return "no server was started"
        check(self.server_log.exists(), f"no server log at {self.server_log}")
        errors = scan_log(self.server_log)[0]
        check(not errors, f"{len(errors)} error line(s) in {self.server_log}:\n"
              + "\n".join(errors[:20]))


def scan_log(path):
    """(errors, warnings) of an Odoo log: ERROR/CRITICAL lines, and each Traceback told by the
    log line before it and its last line (the exception)."""
    errors, warnings = [], []
    if not path.exists():
        return errors, warnings
    previous, traceback = "", None
    for line in path.read_text(errors="replace").splitlines() + [""]:
        match = LOG_LINE.match(line)
        if traceback is not None and (match or not line):
            told = f"Traceback after [{previous[:180]}]: {traceback[:200]}"
            if errors and errors[-1] == previous[:300]:
                errors[-1] = told  # the ERROR line that printed it: one entry
            else:
                errors.append(told)
            traceback = None
        if line.startswith("Traceback"):
            traceback = ""
        elif traceback is not None:
            traceback = line.strip() or traceback
        if not match:
            continue
        previous = line
        if match.group(1) in ("ERROR", "CRITICAL"):
            errors.append(line[:300])
        elif match.group(1) == "WARNING":
            warnings.append(line[:300])
    return errors, warnings


STEPS = (
    "check_requirements",
    "create_database",
    "install_addon",
    "start_server",
    "log_in_as_admin",
    "configure_settings",
    "check_demo_provider",
    "add_virtual_iban_range",
    "set_up_bank_journal",
    "create_customers",
    "post_invoices",
    "run_the_day",
    "check_reminders_queued",
    "pay_by_link",
    "check_paid_by_link",
    "open_expired_demo_link",
    "grant_full_accounting",
    "import_bank_statement",
    "check_statement_matched",
    "open_collector_screens",
    "look_at_the_cockpit",
    "open_customer_and_invoice_forms",
    "stop_server",
    "scan_server_log",
)
FINALLY = ("stop_server", "scan_server_log")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to create (fresh)")
    parser.add_argument("--port", type=int, default=19269, help="HTTP port on 127.0.0.1")
    parser.add_argument("--drop", action="store_true",
                        help="drop the database first if it exists (only this one)")
    parser.add_argument("--out", help="folder for logs, data dir and the sample statement")
    parser.add_argument("--full-accounting", action="store_true",
                        help="workaround: give admin 'Show Full Accounting Features' before "
                        "the statement import (Community admins lack it)")
    parser.add_argument("--install-timeout", type=int, default=1800)
    args = parser.parse_args(argv)

    walk = Walkthrough(args)
    walk.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    passed, failure = [], None
    for name in STEPS:
        if failure and name not in FINALLY:
            continue
        t0 = time.monotonic()
        try:
            detail = getattr(walk, name)()
        except KeyboardInterrupt:
            print(f"interrupted during {name}: stopping the server")
            walk.stop_server()
            return 130
        except (WalkError, requests.RequestException, psycopg2.Error, OSError,
                subprocess.SubprocessError, KeyError, ValueError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, WalkError) else f"{type(exc).__name__}: {exc}"
            print(f"FAIL  {name}  {time.monotonic() - t0:.1f}\n      {reason}", flush=True)
            failure = failure or (name, reason)
            if name == "start_server":
                walk.stop_server()
            continue
        passed.append(name)
        print(f"ok  {name}  {time.monotonic() - t0:.1f}" + (f"  ({detail})" if detail else ""),
              flush=True)

    # Only this run's logs (a refused run leaves the previous ones alone).
    install_warnings = len(scan_log(walk.install_log)[1]) if walk.installed else 0
    server_warnings = scan_log(walk.server_log)[1] if walk.server else []
    print(f"\n{len(passed)}/{len(STEPS)} steps passed in {time.monotonic() - started:.0f} s; "
          f"warnings: install {install_warnings}, server {len(server_warnings)}")
    for line in sorted({re.sub(r"^\S+ \S+ \d+ WARNING \S+ ", "", w) for w in server_warnings})[:5]:
        print(f"  warning: {line[:160]}")
    for note in walk.notes:
        print(f"  note: {note}")
    if walk.installed:
        print(f"logs: {walk.install_log}, {walk.server_log}; database {args.db} kept")
    if failure:
        print(f"FAILED at {failure[0]}: {str(failure[1]).splitlines()[0]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
