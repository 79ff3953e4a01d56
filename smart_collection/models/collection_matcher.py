import json
import logging
from collections import defaultdict
from decimal import Decimal

from markupsafe import Markup
from odoo import _, api, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..services import matching, references
from .collection_engine import OPEN_INVOICE_WHERE

_logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
# Allocations of decisions not booked yet count as paid: for the next decisions and for the
# reminders (the customer has paid, the booking is on its way). One grouped query per batch on
# the allocation index: a correlated sub-query per invoice degrades badly once the table grows
# faster than its statistics (a run deciding 100,000 lines).
PENDING_ALLOCATIONS = """
    SELECT a.move_id, sum(a.amount)
      FROM collection_match_allocation a
      JOIN collection_match cm ON cm.id = a.match_id
     WHERE a.move_id = ANY(%s) AND cm.state IN ('auto', 'accepted') AND NOT cm.reconciled
     GROUP BY a.move_id
"""
# What the core needs of an invoice (an OpenItem), then its payment state.
ITEM_COLUMNS = SQL(
    "m.id, m.commercial_partner_id, m.amount_residual, m.currency_id, m.collection_reference,"
    " m.name, COALESCE(m.invoice_date_due, m.invoice_date), m.payment_state"
)


class CollectionMatcher(models.AbstractModel):
    """Matches incoming bank transfers to open customer invoices.

    Candidates are gathered for a whole batch of statement lines with a few indexed SQL
    queries, the decisions come from the pure core (services/matching.py), are stored in
    ``collection.match`` with set-based inserts, and the confident ones are booked."""

    _name = "collection.matcher"
    _description = "Bank Transfer Matching"

    # ------------------------------------------------------------------ entry points

    @api.model
    def _cron_match_statement_lines(self, batch_size=BATCH_SIZE):
        """Decide every undecided incoming transfer, in committed batches."""
        engine = self.env["collection.engine"]
        done = 0
        while True:
            ids = self._collection_claim(batch_size)
            if not ids:
                break
            self.sudo()._collection_match(ids)
            done += len(ids)
            engine._collection_commit()
            remaining = self.env.execute_query(SQL(
                "SELECT count(*) FROM account_bank_statement_line l WHERE %s", self._undecided()
            ))[0][0]
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        _logger.info("collection: %s bank transfer(s) matched", done)
        return done

    @api.model
    def _collection_match(self, line_ids, reconcile=True):
        """Decide, store and (unless ``reconcile`` is false) book the given statement lines.

        Lines already decided or reconciled are left alone. Returns the decisions, in the
        order of ``line_ids``."""
        decided = {}
        # The lookups below are thousands of index probes: compiling them to machine code
        # (PostgreSQL's JIT, triggered by their estimated cost) takes longer than running them.
        self.env.cr.execute("SET LOCAL jit = off")
        for company_id, lines in self._collection_read_lines(line_ids).items():
            company = self.env["res.company"].browse(company_id)
            decisions, items = self._collection_decide(company, lines)
            self._collection_store(company, lines, decisions, items)
            decided.update((decision.line_id, decision) for decision in decisions)
        if reconcile and decided:
            Match = self.env["collection.match"]
            Match.flush_model()
            self._collection_book(Match.search([
                ("statement_line_id", "in", list(decided)),
                ("state", "=", "auto"),
                ("reconciled", "=", False),
            ]))
        return [decided[line_id] for line_id in line_ids if line_id in decided]

    # ------------------------------------------------------------------ reading

    @api.model
    def _undecided(self):
        return SQL(
            "NOT COALESCE(l.is_reconciled, false) AND l.amount <> 0"
            " AND NOT EXISTS (SELECT 1 FROM collection_match cm"
            " WHERE cm.statement_line_id = l.id)"
        )

    @api.model
    def _collection_claim(self, limit):
        """Lock up to ``limit`` undecided lines; another worker skips them."""
        self.env["account.bank.statement.line"].flush_model()
        self.env["collection.match"].flush_model()
        return [row[0] for row in self.env.execute_query(SQL(
            "SELECT l.id FROM account_bank_statement_line l WHERE %s"
            " ORDER BY l.id LIMIT %s FOR UPDATE OF l SKIP LOCKED",
            self._undecided(), limit,
        ))]

    @api.model
    def _collection_probe(self, keys, key_type, query):
        """Rows of ``query`` for each of ``keys`` (``k.key`` in it), found on an index one by one.

        With thousands of keys, ``= ANY(...)`` tips the planner towards reading the whole table
        (a million invoices: half a second a lookup, several per batch). A lateral sub-query
        fenced with OFFSET 0 cannot be turned into a hash join: each key is one index probe,
        whatever the statistics say. The keys travel as one array literal, not as thousands
        of constants for PostgreSQL to parse."""
        if not keys:
            return []
        literal = "{%s}" % ",".join(
            '"%s"' % str(key).replace("\\", "\\\\").replace('"', '\\"') for key in keys
        )
        return self.env.execute_query(SQL(
            "SELECT hit.* FROM unnest(%s::%s[]) AS k(key) CROSS JOIN LATERAL (%s OFFSET 0) hit",
            literal, SQL(key_type), query,
        ))

    @api.model
    def _collection_read_lines(self, line_ids):
        """Undecided lines as the core's BankLine, per company, in the order given."""
        for model in ("account.bank.statement.line", "account.move", "collection.match"):
            self.env[model].flush_model()
        rows = self._collection_probe(sorted(set(line_ids)), "int", SQL(
            """
            SELECT l.id, l.company_id, c.name,
                   CASE WHEN l.foreign_currency_id IS NOT NULL THEN l.amount_currency
                        ELSE l.amount END,
                   l.collection_credited_iban, l.account_number, l.partner_name,
                   l.collection_structured_ref, l.payment_ref,
                   l.collection_reversal, l.collection_returned
              FROM account_bank_statement_line l
              JOIN account_move m ON m.id = l.move_id AND m.state = 'posted'
              JOIN res_currency c ON c.id = COALESCE(l.foreign_currency_id, l.currency_id)
             WHERE l.id = k.key AND %s
            """,
            self._undecided(),
        ))
        by_id = {row[0]: row for row in rows}
        per_company = defaultdict(list)
        for line_id in dict.fromkeys(line_ids):
            if line_id not in by_id:
                continue
            (_id, company_id, currency, amount, credited, debtor, name, ref, text,
             reversal, returned) = by_id[line_id]
            per_company[company_id].append(matching.BankLine(
                id=line_id,
                amount=Decimal(str(amount or 0)),
                currency=currency,
                credited_iban=credited or "",
                debtor_iban=debtor or "",
                debtor_name=name or "",
                reference=ref or "",
                text=text or "",
                reversal=bool(reversal),
                returned=bool(returned),
            ))
        return per_company

    @api.model
    def _collection_policy(self, company):
        # Without an account to book it on, nothing can be written off.
        tolerance = company.collection_writeoff_tolerance if (
            company.collection_writeoff_account_id
        ) else 0
        return matching.Policy(
            auto_threshold=company.collection_match_threshold,
            max_subset_items=company.collection_match_subset_items,
            write_off_tolerance=Decimal(str(tolerance or 0)),
        )

    @api.model
    def _collection_decide(self, company, lines):
        candidates, items = self._collection_candidates(company, lines)
        decisions = matching.decide(lines, candidates, self._collection_policy(company))
        return decisions, items

    @api.model
    def _collection_candidates(self, company, lines):
        """Everything the core may need for ``lines``, in a handful of index probes.

        First what the lines name: invoices by reference or number, customers by the account
        paid to or from. A customer's other open invoices are read only where the core may
        look at them: for a line naming no usable invoice of that customer (paid to a virtual
        IBAN, from a known account, or by name), or naming one another line or another
        currency may leave without an open amount. At a million open invoices, reading every
        open invoice of every customer named would read ten times as many."""
        cid = company.id
        line_keys = {
            line.id: matching.reference_keys(line) | matching.text_keys(line) for line in lines
        }
        keys = sorted(set().union(*line_keys.values()))
        credited = sorted({matching.normalise_number(ln.credited_iban) for ln in lines} - {""})
        debtors = sorted({matching.normalise_number(ln.debtor_iban) for ln in lines} - {""})

        self.env["account.move"].flush_model()
        # References (paid invoices too: a transfer quoting one is probably paid twice) and
        # numbers of open invoices.
        named_rows = self._collection_probe(keys, "varchar", SQL(
            """
            SELECT %(columns)s FROM account_move m
             WHERE m.company_id = %(company)s AND m.collection_reference = k.key
               AND m.move_type = 'out_invoice' AND m.state = 'posted'
            UNION ALL
            SELECT %(columns)s FROM account_move m
             WHERE m.collection_number_key = k.key AND m.company_id = %(company)s AND %(open)s
            """,
            columns=ITEM_COLUMNS, company=cid, open=OPEN_INVOICE_WHERE,
        ))
        closed = set()
        open_rows = {}
        for row in named_rows:
            if row[-1] in ("not_paid", "partial"):
                open_rows[row[0]] = row
            elif row[4]:
                closed.add(references.compact(row[4]))
        named = self._collection_items(open_rows.values())

        by_virtual_iban, invoice_by_virtual_iban = {}, {}
        if credited:
            Viban = self.env["collection.virtual.iban"]
            Viban.flush_model()
            invoice_col = SQL("v.invoice_id") if "invoice_id" in Viban._fields else SQL("NULL")
            for iban, partner_id, invoice_id in self._collection_probe(credited, "varchar", SQL(
                "SELECT v.iban, v.partner_id, %s FROM collection_virtual_iban v"
                " WHERE v.iban = k.key AND v.company_id = %s",
                invoice_col, cid,
            )):
                by_virtual_iban[iban] = partner_id
                if invoice_id:
                    invoice_by_virtual_iban[iban] = invoice_id

        by_debtor_iban = {}
        if debtors:
            self.env["res.partner.bank"].flush_model()
            owners = defaultdict(set)
            for iban, partner_id in self._collection_probe(debtors, "varchar", SQL(
                """
                SELECT b.sanitized_acc_number, p.commercial_partner_id
                  FROM res_partner_bank b
                  JOIN res_partner p ON p.id = b.partner_id
                 WHERE b.sanitized_acc_number = k.key AND b.active
                   AND (b.company_id IS NULL OR b.company_id = %s)
                   AND p.commercial_partner_id <> %s
                """,
                cid, company.partner_id.id,
            )):
                owners[iban].add(partner_id)
            # An account shared by two customers names nobody.
            by_debtor_iban = {iban: p.pop() for iban, p in owners.items() if len(p) == 1}

        by_key = defaultdict(list)
        for item in named.values():
            by_key[item.reference].append(item)
            by_key[matching.normalise_number(item.number)].append(item)
        needed, nameless, times_named = set(), [], defaultdict(int)
        for line in lines:
            items = {item.id: item for key in line_keys[line.id] for item in by_key.get(key, ())}
            iban = matching.normalise_number(line.credited_iban)
            payers = {
                by_virtual_iban.get(iban),
                by_debtor_iban.get(matching.normalise_number(line.debtor_iban)),
            } - {None}
            if iban in invoice_by_virtual_iban:
                needed.add(by_virtual_iban[iban])
            needed |= payers - {item.partner_id for item in items.values()}
            for item in items.values():
                times_named[item.id] += 1
                if item.currency != line.currency or item.residual <= 0:
                    needed.add(item.partner_id)
            # Named invoices with nothing left open give no signal: the name may.
            if not payers and all(item.residual <= 0 for item in items.values()):
                nameless.append(line)
        needed |= {named[item_id].partner_id for item_id, n in times_named.items() if n > 1}

        # The payer's name is only looked at when nothing else identifies the payer.
        names = sorted({ln.debtor_name.strip().lower() for ln in nameless} - {""})
        partner_names = {}
        if names:
            self.env["res.partner"].flush_model()
            partner_names = dict(self._collection_probe(names, "varchar", SQL(
                """
                SELECT p.id, p.name FROM res_partner p
                 WHERE lower(p.name) = k.key AND p.parent_id IS NULL AND p.active
                   AND (p.company_id IS NULL OR p.company_id = %s) AND p.id <> %s
                """,
                cid, company.partner_id.id,
            )))
        needed |= set(partner_names)

        items = {**named, **self._collection_open_items(company, partner_ids=sorted(needed))}
        key_set = set(keys)
        closed |= {
            item.reference for item in items.values()
            if item.residual <= 0 and item.reference in key_set
        }
        by_partner = defaultdict(list)
        for item in items.values():
            by_partner[item.partner_id].append(item)
        candidates = matching.Candidates(
            by_reference={
                item.reference: item for item in items.values() if item.reference in key_set
            },
            by_virtual_iban=by_virtual_iban,
            by_debtor_iban=by_debtor_iban,
            by_number={
                number: item for item in items.values()
                if (number := matching.normalise_number(item.number)) in key_set
            },
            items_by_partner={p: tuple(group) for p, group in by_partner.items()},
            partner_names=partner_names,
            item_by_virtual_iban={
                iban: items[move_id] for iban, move_id in invoice_by_virtual_iban.items()
                if move_id in items
            },
            closed_references=frozenset(closed),
        )
        return candidates, items

    @api.model
    def _collection_open_items(self, company, move_ids=None, partner_ids=None):
        """Open customer invoices as the core's OpenItem, net of bookings on their way."""
        if not move_ids and not partner_ids:
            return {}
        self.env["account.move"].flush_model()
        if move_ids:
            keys, column = sorted(set(move_ids)), SQL("m.id")
        else:
            keys, column = sorted(set(partner_ids)), SQL("m.commercial_partner_id")
        return self._collection_items(self._collection_probe(keys, "int", SQL(
            "SELECT %s FROM account_move m WHERE %s = k.key AND m.company_id = %s AND %s",
            ITEM_COLUMNS, column, company.id, OPEN_INVOICE_WHERE,
        )))

    @api.model
    def _collection_items(self, rows):
        """``ITEM_COLUMNS`` rows as the core's OpenItem, minus the bookings on their way."""
        rows = list(rows)
        if not rows:
            return {}
        for model in ("collection.match", "collection.match.allocation"):
            self.env[model].flush_model()
        pending = dict(self.env.execute_query(SQL(PENDING_ALLOCATIONS, [row[0] for row in rows])))
        currencies = self._collection_currency_names()
        return {
            move_id: matching.OpenItem(
                id=move_id,
                partner_id=partner_id,
                residual=Decimal(str(residual or 0)) - Decimal(str(pending.get(move_id, 0))),
                currency=currencies[currency_id],
                reference=references.compact(reference or ""),
                number=number or "",
                due_date=due,
            )
            for move_id, partner_id, residual, currency_id, reference, number, due, _state
            in rows
        }

    @api.model
    def _collection_currency_names(self):
        return dict(self.env.execute_query(SQL("SELECT id, name FROM res_currency")))

    # ------------------------------------------------------------------ storing

    @api.model
    def _collection_store(self, company, lines, decisions, items):
        """Insert the decisions, their allocations and proposals with set-based SQL."""
        if not decisions:
            return
        line_date = dict(self._collection_probe([ln.id for ln in lines], "int", SQL(
            "SELECT l.id, m.date FROM account_bank_statement_line l"
            " JOIN account_move m ON m.id = l.move_id WHERE l.id = k.key"
        )))
        line_amount = {ln.id: ln for ln in lines}
        currencies = dict(self.env.execute_query(SQL(
            "SELECT name, id FROM res_currency WHERE name = ANY(%s)",
            sorted({ln.currency for ln in lines}),
        )))
        uid = self.env.uid
        columns = defaultdict(list)
        for decision in decisions:
            line = line_amount[decision.line_id]
            columns["line"].append(decision.line_id)
            columns["partner"].append(decision.partner_id)
            columns["state"].append(decision.state)
            columns["score"].append(decision.score)
            columns["reasons"].append(json.dumps([list(r) for r in decision.reasons]))
            columns["codes"].append(",".join(code for code, _detail in decision.reasons))
            columns["credit"].append(decision.credit)
            columns["write_off"].append(decision.write_off)
            columns["amount"].append(line.amount if line.amount.is_finite() else None)
            columns["currency"].append(currencies.get(line.currency))
            columns["date"].append(line_date.get(decision.line_id))
        fallback_currency = company.currency_id.id
        columns["currency"] = [c or fallback_currency for c in columns["currency"]]
        stored = dict(self.env.execute_query(SQL(
            """
            INSERT INTO collection_match (
                statement_line_id, company_id, partner_id, state, score, reasons,
                reason_codes, credit_amount, write_off_amount, amount, currency_id, date,
                reconciled, create_uid, write_uid, create_date, write_date)
            SELECT u.line, %(company)s, u.partner, u.state, u.score, u.reasons, u.codes,
                   u.credit, u.write_off, u.amount, u.currency, u.date,
                   false, %(uid)s, %(uid)s, now() at time zone 'UTC', now() at time zone 'UTC'
              FROM unnest(%(line)s::int[], %(partner)s::int[], %(state)s::varchar[],
                          %(score)s::int[], %(reasons)s::jsonb[], %(codes)s::varchar[],
                          %(credit)s::numeric[], %(write_off)s::numeric[], %(amount)s::numeric[],
                          %(currency)s::int[], %(date)s::date[])
                   AS u(line, partner, state, score, reasons, codes, credit, write_off,
                        amount, currency, date)
            ON CONFLICT (statement_line_id) DO NOTHING
            RETURNING statement_line_id, id
            """,
            company=company.id, uid=uid, **columns,
        )))
        alloc_cols = defaultdict(list)
        proposals = defaultdict(list)
        for decision in decisions:
            match_id = stored.get(decision.line_id)
            if not match_id:
                continue
            for allocation in decision.allocations:
                alloc_cols["match"].append(match_id)
                alloc_cols["move"].append(allocation.item_id)
                alloc_cols["amount"].append(allocation.amount)
            if decision.state != "auto":
                for rank, combo in enumerate(decision.proposals, 1):
                    partner_id = items[combo[0]].partner_id if combo[0] in items else None
                    proposals["match"].append(match_id)
                    proposals["sequence"].append(rank)
                    proposals["partner"].append(partner_id)
                    proposals["moves"].append(combo)
        if alloc_cols:
            self.env.cr.execute(SQL(
                """
                INSERT INTO collection_match_allocation (
                    match_id, move_id, amount, create_uid, write_uid, create_date, write_date)
                SELECT u.match, u.move, u.amount, %(uid)s, %(uid)s,
                       now() at time zone 'UTC', now() at time zone 'UTC'
                  FROM unnest(%(match)s::int[], %(move)s::int[], %(amount)s::numeric[])
                       AS u(match, move, amount)
                """,
                uid=uid, **alloc_cols,
            ))
        if proposals:
            ids = self.env.execute_query(SQL(
                """
                INSERT INTO collection_match_proposal (
                    match_id, sequence, partner_id, create_uid, write_uid, create_date,
                    write_date)
                SELECT u.match, u.sequence, u.partner, %(uid)s, %(uid)s,
                       now() at time zone 'UTC', now() at time zone 'UTC'
                  FROM unnest(%(match)s::int[], %(sequence)s::int[], %(partner)s::int[])
                       AS u(match, sequence, partner)
                RETURNING match_id, sequence, id
                """,
                uid=uid, match=proposals["match"], sequence=proposals["sequence"],
                partner=proposals["partner"],
            ))
            proposal_id = {(m, s): i for m, s, i in ids}
            rel_proposal, rel_move = [], []
            for match_id, rank, moves in zip(
                proposals["match"], proposals["sequence"], proposals["moves"], strict=True
            ):
                for move_id in moves:
                    rel_proposal.append(proposal_id[match_id, rank])
                    rel_move.append(move_id)
            self.env.cr.execute(SQL(
                "INSERT INTO collection_match_proposal_move_rel (proposal_id, move_id)"
                " SELECT * FROM unnest(%s::int[], %s::int[]) ON CONFLICT DO NOTHING",
                rel_proposal, rel_move,
            ))
        self.env["collection.match"].invalidate_model()
        self.env["collection.match.allocation"].invalidate_model()
        self.env["collection.match.proposal"].invalidate_model()

    @api.model
    def _collection_replace_allocations(self, match, allocations, credit, write_off):
        match.allocation_ids.unlink()
        self.env["collection.match.allocation"].create([
            {"match_id": match.id, "move_id": a.item_id, "amount": float(a.amount)}
            for a in allocations
        ])
        match.write({"credit_amount": float(credit), "write_off_amount": float(write_off)})

    # ------------------------------------------------------------------ booking

    @api.model
    def _collection_book(self, matches, raise_errors=False):
        """Reconcile the statement lines of ``matches`` with their invoices.

        The whole batch is written at once (one create of journal items, one reconciliation
        plan): the ORM is fast in batches and slow one by one. When the batch fails, each
        match is retried alone in a savepoint, and the one that fails goes to review with
        the reason. Returns the booked matches."""
        Match = self.env["collection.match"]
        prepared = []
        for match in matches:
            try:
                prepared.append(self._collection_prepare_booking(match))
            except UserError as exc:
                if raise_errors:
                    raise
                self._collection_booking_failed(match, exc)
        if not prepared:
            return Match
        if raise_errors:
            return self._collection_write_bookings(prepared)
        if len(prepared) > 1:
            try:
                with self.env.cr.savepoint():
                    return self._collection_write_bookings(prepared)
            except (UserError, ValidationError) as exc:
                self.env.invalidate_all()
                _logger.warning("collection: batch booking failed (%s), one by one", exc)
        booked = Match
        for booking in prepared:
            try:
                with self.env.cr.savepoint():
                    booked |= self._collection_write_bookings([booking])
            except (UserError, ValidationError) as exc:
                self.env.invalidate_all()
                self._collection_booking_failed(booking["match"], exc)
        return booked

    @api.model
    def _collection_booking_failed(self, match, exc):
        match.write({"state": "review"})
        match._collection_add_reason("booking_failed", str(exc.args[0] if exc.args else exc))

    @api.model
    def _collection_prepare_booking(self, match):
        """Check the match can still be booked and compute the journal items to write."""
        st_line = match.statement_line_id
        liquidity, suspense, other = st_line._seek_for_lines()
        if other or not suspense or st_line.is_reconciled:
            raise UserError(_("The transfer is already booked on other entries."))
        partner = match.partner_id
        if not partner:
            raise UserError(_("No customer to book the transfer on."))
        company = match.company_id
        vals, receivables = [], []
        for allocation in match.allocation_ids:
            invoice = allocation.move_id
            lines = invoice.line_ids.filtered(
                lambda ln: ln.account_id.account_type == "asset_receivable" and not ln.reconciled
            )
            if (
                invoice.state != "posted"
                or not lines
                or invoice.currency_id.compare_amounts(invoice.amount_residual, allocation.amount)
                < 0
            ):
                raise UserError(
                    _("%(invoice)s no longer has %(amount)s open.", invoice=invoice.display_name,
                      amount=allocation.amount)
                )
            vals.append(self._collection_counterpart(
                st_line, lines[0].account_id, partner, -allocation.amount, invoice.name
            ))
            receivables.append(lines)
        if match.credit_amount:
            account = partner.with_company(company).property_account_receivable_id
            vals.append(self._collection_counterpart(
                st_line, account, partner, -match.credit_amount, _("Customer credit")
            ))
        if match.write_off_amount:
            account = company.collection_writeoff_account_id
            if not account:
                raise UserError(_("Set a write-off account in the collection settings."))
            vals.append(self._collection_counterpart(
                st_line, account, partner, match.write_off_amount, _("Write-off")
            ))
        if not vals:
            raise UserError(_("Nothing to book."))
        # The company-currency rounding of the parts goes to the last part.
        diff = company.currency_id.round(
            sum(liquidity.mapped("balance")) + sum(v["balance"] for v in vals)
        )
        vals[-1]["balance"] -= diff
        for v in vals:
            balance = v.pop("balance")
            v.update(move_id=st_line.move_id.id, debit=max(balance, 0.0), credit=max(-balance, 0.0))
        # The usual case, one invoice paid exactly: the suspense item itself becomes the
        # receivable item (same amounts), nothing is created or deleted.
        rewrite = (
            len(vals) == 1
            and receivables
            and suspense.currency_id.id == vals[0]["currency_id"]
            and suspense.currency_id.compare_amounts(
                suspense.amount_currency, vals[0]["amount_currency"]
            ) == 0
            and company.currency_id.compare_amounts(
                suspense.balance, vals[0]["debit"] - vals[0]["credit"]
            ) == 0
        )
        return {
            "rewrite": rewrite,
            "match": match,
            "st_line": st_line,
            "liquidity": liquidity,
            "suspense": suspense,
            "vals": vals,
            "receivables": receivables,
        }

    @api.model
    def _collection_write_bookings(self, bookings):
        """Replace the suspense items by receivable items and reconcile, for all at once.

        Written like the statement line's own synchronisation would (partner on the line,
        its entry and liquidity item), without its one-by-one rewrite of every item. The
        entry's chatter does not list every item: the match's own history records the
        booking and its undo."""
        no_sync = {"skip_account_move_synchronization": True, "tracking_disable": True}
        by_partner = defaultdict(list)
        for booking in bookings:
            if booking["st_line"].partner_id != booking["match"].partner_id:
                by_partner[booking["match"].partner_id].append(booking)
        for partner, group in by_partner.items():
            st_lines = self.env["account.bank.statement.line"].union(
                *(b["st_line"] for b in group)
            )
            st_lines.with_context(**no_sync).write({"partner_id": partner.id})
            st_lines.move_id.with_context(**no_sync, skip_readonly_check=True).write(
                {"partner_id": partner.id}
            )
            # The suspense item that becomes the receivable one takes the partner here too.
            self.env["account.move.line"].union(
                *(b["liquidity"] | (b["suspense"] if b["rewrite"] else b["liquidity"])
                  for b in group)
            ).with_context(**no_sync).write({"partner_id": partner.id})
        Line = self.env["account.move.line"].with_context(**no_sync, force_delete=True)
        plan = []
        rewritten = [b for b in bookings if b["rewrite"]]
        by_account = defaultdict(list)
        for booking in rewritten:
            by_account[booking["vals"][0]["account_id"]].append(booking)
        for account_id, group in by_account.items():
            Line.union(*(b["suspense"] for b in group)).write({"account_id": account_id})
        plan += [b["suspense"] + b["receivables"][0] for b in rewritten]
        rebuilt = [b for b in bookings if not b["rewrite"]]
        if rebuilt:
            moves = self.env["account.move"].union(*(b["st_line"].move_id for b in rebuilt))
            with moves._check_balanced({"records": moves}):
                Line.union(*(b["suspense"] for b in rebuilt)).unlink()
                created = Line.create([v for b in rebuilt for v in b["vals"]])
            position = 0
            for booking in rebuilt:
                for receivables in booking["receivables"]:
                    plan.append(created[position] + receivables)
                    position += 1
                position += len(booking["vals"]) - len(booking["receivables"])
        invoices = self.env["account.move"].union(
            *(b["match"].allocation_ids.move_id for b in bookings)
        )
        # Odoo would post one tracking message per invoice ("Payment Status: Paid"), each a
        # full message_post: a third of the booking time. One note per invoice, written in
        # one batch, says the same and names the transfer.
        invoices._track_discard()
        self.env["account.move.line"]._reconcile_plan(plan)
        self._collection_log_paid(invoices, bookings)
        matches = self.env["collection.match"].union(*(b["match"] for b in bookings))
        # The booked flag is tracked in the chatter for undos by hand, not for every batch.
        matches.with_context(tracking_disable=True).write({"reconciled": True})
        return matches

    @api.model
    def _collection_log_paid(self, invoices, bookings):
        """Note on each invoice which transfer paid it and its payment status now."""
        states = dict(invoices._fields["payment_state"]._description_selection(self.env))
        transfers = defaultdict(list)
        for booking in bookings:
            st_line = booking["st_line"]
            for invoice in booking["match"].allocation_ids.move_id:
                transfers[invoice.id].append(st_line.payment_ref or st_line.move_id.name)
        bodies = {
            invoice.id: Markup("%s") % _(
                "Bank transfer %(transfer)s booked: payment status %(state)s.",
                transfer=", ".join(transfers[invoice.id]),
                state=states.get(invoice.payment_state, invoice.payment_state),
            )
            for invoice in invoices
        }
        invoices._message_log_batch(bodies=bodies)

    @api.model
    def _collection_counterpart(self, st_line, account, partner, amount, label):
        currency = st_line.foreign_currency_id or st_line.currency_id
        amounts = st_line._prepare_counterpart_amounts_using_st_line_rate(
            currency, None, float(amount)
        )
        return {
            "name": label,
            "account_id": account.id,
            "partner_id": partner.id,
            "currency_id": currency.id,
            "amount_currency": amounts["amount_currency"],
            "balance": amounts["balance"],
        }
