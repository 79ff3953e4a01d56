import logging
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from markupsafe import Markup
from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..services import phones, planner, sms_hours

_logger = logging.getLogger(__name__)

OPEN_INVOICE_WHERE = SQL(
    "m.move_type = 'out_invoice' AND m.state = 'posted'"
    " AND m.payment_state IN ('not_paid', 'partial')"
)
# An invoice under an active instalment plan: the first instalment the payments since the
# plan do not cover. Reminders count from its due date; levels already sent stay reached, so
# a missed instalment resumes the scenario where it stopped. Lateral on ``m``.
PLAN_CURRENT_INSTALMENT = SQL(
    """
    SELECT i.due_date
      FROM collection_instalment_plan pl
      JOIN collection_instalment i ON i.plan_id = pl.id
     WHERE pl.invoice_id = m.id AND pl.state = 'active'
       AND i.cumulative_amount > pl.amount_total - m.amount_residual
     ORDER BY i.sequence
     LIMIT 1
    """
)


class CollectionEngine(models.AbstractModel):
    """Runs the scenarios: gathers data with set-based SQL, asks the planner, writes the
    dispatch ledger, then sends each customer's messages in committed batches."""

    _name = "collection.engine"
    _description = "Collection Scenario Engine"

    SEND_BATCH = 50  # customer groups per transaction

    # ------------------------------------------------------------------ cron entry points

    @api.model
    def _cron_run_scenarios(self):
        """Daily: plan every company's open invoices, then send what is due."""
        # Scheduled actions run for every company, as the system (like any Odoo cron).
        engine = self.sudo()
        for company in engine.env["res.company"].search([]):
            engine.with_company(company)._collection_plan_and_write()
            self._collection_commit()
        self._cron_send_dispatches()

    @api.model
    def _cron_send_dispatches(self):
        """Hourly: send planned groups (resumes a killed run, SMS reach their hours)."""
        done = self.sudo()._collection_send_groups(notify=True)
        _logger.info("collection: %s group(s) sent", done)

    # ------------------------------------------------------------------ orchestration

    @api.model
    def _collection_run(self, partner_ids=None):
        """Plan and send now (the collector's "Send now"), for the current company."""
        written = self._collection_plan_and_write(partner_ids=partner_ids)
        keys = written["group_keys"]
        self._collection_send_groups(group_keys=keys)
        rows = self.env["collection.dispatch"].search([("group_key", "in", keys)])
        return {
            "sent": len(set(rows.filtered(lambda d: d.state in ("sent", "to_print")).mapped(
                "group_key"))),
            "failed": len(set(rows.filtered(lambda d: d.state == "failed").mapped("group_key"))),
            "planned": len(set(rows.filtered(lambda d: d.state == "planned").mapped("group_key"))),
        }

    @api.model
    def _collection_plan_and_write(self, partner_ids=None):
        result = self._collection_plan(partner_ids=partner_ids)
        return self._collection_write_plan(result)

    @api.model
    def _collection_plan(self, partner_ids=None, today=None, now=None):
        """Gather the current company's data and return the planner's decisions."""
        company = self.env.company
        today = today or fields.Date.context_today(self)
        now = now or datetime.now(timezone.utc)
        invoices, foreign = self._collection_gather_invoices(company, partner_ids)
        partners = self._collection_gather_partners(company, {i.partner_id for i in invoices})
        scenarios = self._collection_gather_scenarios(company)
        ledger = self._collection_gather_ledger(company, partner_ids)
        policy = planner.Policy(
            default_scenario_id=company.collection_scenario_id.id or None,
            rules=self._collection_rules(company),
            sms_windows=sms_hours.parse(company.collection_sms_hours),
            holidays=self._collection_holidays(company, today),
        )
        plan = planner.plan(invoices, partners, scenarios, ledger, policy, today, now)
        return {
            "company": company,
            "today": today,
            "plan": plan,
            "invoices": {inv.id: inv for inv in invoices},
            "foreign": foreign,
        }

    # ------------------------------------------------------------------ gathering

    @api.model
    def _collection_gather_invoices(self, company, partner_ids=None):
        Move = self.env["account.move"]
        Move.flush_model()
        self.env["payment.transaction"].flush_model()
        self.env["collection.match"].flush_model()
        self.env["collection.match.allocation"].flush_model()
        self.env["collection.instalment.plan"].flush_model()
        self.env["collection.instalment"].flush_model()
        partner_filter = (
            SQL(" AND m.commercial_partner_id = ANY(%s)", list(partner_ids))
            if partner_ids
            else SQL()
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT m.id, m.commercial_partner_id,
                       -- under an instalment plan, reminders follow the next instalment due
                       COALESCE(inst.due_date, m.invoice_date_due),
                       m.amount_residual_signed, m.collection_excluded,
                       m.collection_disputed, m.collection_promise_date,
                       EXISTS (
                           SELECT 1 FROM account_invoice_transaction_rel r
                             JOIN payment_transaction t ON t.id = r.transaction_id
                            WHERE r.invoice_id = m.id AND t.state IN ('pending', 'authorized')
                       ) OR EXISTS (
                           -- a transfer matched to it waits for booking or review
                           SELECT 1 FROM collection_match_allocation a
                             JOIN collection_match cm ON cm.id = a.match_id
                            WHERE a.move_id = m.id AND NOT cm.reconciled
                              AND cm.state IN ('auto', 'accepted', 'review')
                       ),
                       p.company_id
                  FROM account_move m
                  JOIN res_partner p ON p.id = m.commercial_partner_id
             LEFT JOIN LATERAL (%(instalment)s) inst ON TRUE
                 WHERE %(open)s AND m.company_id = %(company)s %(partners)s
                """,
                open=OPEN_INVOICE_WHERE,
                company=company.id,
                partners=partner_filter,
                instalment=PLAN_CURRENT_INSTALMENT,
            )
        )
        invoices, foreign = [], []
        for (
            inv_id, partner_id, due, residual, excluded, disputed, promise, pending, p_company
        ) in rows:
            if p_company and p_company != company.id:
                # A customer restricted to another company is never chased from this one.
                foreign.append(inv_id)
                continue
            invoices.append(
                planner.Invoice(
                    id=inv_id,
                    partner_id=partner_id,
                    company_id=company.id,
                    due_date=due,
                    residual=Decimal(str(residual or 0)),
                    excluded=bool(excluded),
                    disputed=bool(disputed),
                    payment_pending=bool(pending),
                    promise_date=promise,
                )
            )
        return invoices, foreign

    @api.model
    def _collection_gather_partners(self, company, partner_ids):
        if not partner_ids:
            return {}
        Partner = self.env["res.partner"].with_company(company)
        Partner.flush_model()
        ids = sorted(partner_ids)
        field = Partner._field_to_sql
        rows = self.env.execute_query(
            SQL(
                """
                SELECT p.id, p.is_company, %(scenario)s, %(hold)s, %(legal)s,
                       p.collection_opt_out_email, p.collection_opt_out_sms,
                       p.collection_opt_out_letter, p.email, p.mobile, p.phone,
                       (p.street IS NOT NULL AND p.city IS NOT NULL), p.tz, c.code,
                       ARRAY(SELECT category_id FROM res_partner_res_partner_category_rel r
                              WHERE r.partner_id = p.id), p.collection_risk_class
                  FROM res_partner p
             LEFT JOIN res_country c ON c.id = p.country_id
                 WHERE p.id = ANY(%(ids)s)
                """,
                scenario=field("p", "collection_scenario_id"),
                hold=field("p", "collection_hold_until"),
                legal=field("p", "collection_legal"),
                ids=ids,
            )
        )
        self.env["account.move.line"].flush_model()
        credits = dict(
            self.env.execute_query(
                SQL(
                    """
                    SELECT l.partner_id, -SUM(l.amount_residual)
                      FROM account_move_line l
                      JOIN account_account a ON a.id = l.account_id
                     WHERE l.partner_id = ANY(%s) AND l.company_id = %s
                       AND a.account_type = 'asset_receivable' AND l.parent_state = 'posted'
                       AND NOT l.reconciled AND l.amount_residual < 0
                     GROUP BY l.partner_id
                    """,
                    ids,
                    company.id,
                )
            )
        )
        default_country = company.country_id.code
        partners = {}
        for (
            pid, is_company, scenario_id, hold, legal, no_email, no_sms, no_letter,
            email, mobile, phone, has_address, tz, country, categories, risk_class,
        ) in rows:
            partners[pid] = planner.Partner(
                id=pid,
                is_company=bool(is_company),
                scenario_id=scenario_id or None,
                category_ids=frozenset(c for c in categories if c),
                hold_until=hold,
                legal=bool(legal),
                opt_out=frozenset(
                    ch
                    for ch, flag in (("email", no_email), ("sms", no_sms), ("letter", no_letter))
                    if flag
                ),
                has_email=bool(email and "@" in email),
                mobile=phones.first_mobile((mobile, phone), country or default_country),
                has_address=bool(has_address),
                tz=tz or "UTC",
                credit=Decimal(str(credits.get(pid) or 0)),
                risk_class=risk_class or None,
            )
        return partners

    @api.model
    def _collection_gather_scenarios(self, company):
        domain = [("company_id", "in", [False, company.id])]
        scenarios = self.env["collection.scenario"].search(domain)
        today = fields.Date.context_today(self)
        result = {}
        for scenario in scenarios:
            plevels = []
            for level in scenario.level_ids:
                plevels.append(
                    planner.Level(
                        id=level.id,
                        sequence=level.sequence,
                        offset_days=level.offset_days,
                        channels=level._collection_channels(),
                        min_amount=Decimal(str(level.currency_id._convert(
                            level.min_amount, company.currency_id, company, today,
                        ))),
                        customer_type=level.customer_type,
                        category_ids=frozenset(level.partner_category_ids.ids),
                        min_gap_days=level.min_gap_days,
                    )
                )
            result[scenario.id] = planner.Scenario(id=scenario.id, levels=tuple(plevels))
        return result

    @api.model
    def _collection_rules(self, company):
        scenarios = self.env["collection.scenario"].search(
            [
                ("company_id", "in", [False, company.id]),
                "|",
                ("partner_category_ids", "!=", False),
                ("risk_class_ids", "!=", False),
            ]
        )
        return tuple(
            planner.ScenarioRule(
                sequence=s.sequence,
                scenario_id=s.id,
                category_ids=frozenset(s.partner_category_ids.ids),
                risk_classes=frozenset(s.risk_class_ids.mapped("code")),
            )
            for s in scenarios
        )

    @api.model
    def _collection_gather_ledger(self, company, partner_ids=None):
        self.env["collection.dispatch"].flush_model()
        partner_filter = (
            SQL(" AND d.partner_id = ANY(%s)", list(partner_ids)) if partner_ids else SQL()
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT d.invoice_id, d.level_id, d.channel, d.state, d.planned_date
                  FROM collection_dispatch d
                  JOIN account_move m ON m.id = d.invoice_id
                 WHERE d.company_id = %(company)s AND %(open)s %(partners)s
                """,
                company=company.id,
                open=OPEN_INVOICE_WHERE,
                partners=partner_filter,
            )
        )
        return [planner.Dispatch(*row) for row in rows]

    @api.model
    def _collection_holidays(self, company, today):
        """Public holidays of the company's working calendar (no SMS on those days)."""
        calendar = company.resource_calendar_id
        leaves = self.env["resource.calendar.leaves"].search(
            [
                ("resource_id", "=", False),
                ("calendar_id", "in", [False, calendar.id]),
                ("company_id", "in", [False, company.id]),
                ("date_to", ">=", fields.Datetime.to_datetime(today)),
                ("date_from", "<=", fields.Datetime.to_datetime(today + timedelta(days=400))),
            ]
        )
        days = set()
        for leave in leaves:
            day = leave.date_from.date()
            while day <= leave.date_to.date():
                days.add(day)
                day += timedelta(days=1)
        return frozenset(days)

    # ------------------------------------------------------------------ writing the plan

    @api.model
    def _collection_write_plan(self, result):
        """Write the ledger rows (idempotent) and each invoice's status, set-based.

        Levels passed over (a later level already reached, or conditions not met) get no
        ledger row, and the planner only moves forward from the last level written, so they
        are never sent late; the run preview shows why a level is passed over.
        """
        company, today, plan = result["company"], result["today"], result["plan"]
        rows = []
        group_keys = set()
        residuals = {inv_id: inv.residual for inv_id, inv in result["invoices"].items()}
        for action in plan.actions:
            key = f"{today}/{company.id}/{action.partner_id}/{action.channel}"
            state = "skipped" if action.kind == "skip" else "planned"
            if state == "planned":
                group_keys.add(key)
            for invoice_id, level_id in action.invoice_levels:
                rows.append((
                    invoice_id, action.partner_id, level_id, action.channel, state,
                    action.reason, action.kind == "task", action.not_before, key,
                    residuals.get(invoice_id),
                ))
        # Rows planned on an earlier day and never sent (a run died, then days without a run)
        # are passed over for invoices that reach a later level today: never sent late.
        overtaken = sorted({row[0] for row in rows if row[4] == "planned"})
        if overtaken:
            self.env["collection.dispatch"].flush_model()
            self.env.cr.execute(SQL(
                "UPDATE collection_dispatch SET state = 'skipped', reason = 'superseded',"
                " write_date = now() at time zone 'UTC'"
                " WHERE state = 'planned' AND planned_date < %s AND invoice_id = ANY(%s)",
                today, overtaken,
            ))
            self.env["collection.dispatch"].invalidate_model(["state", "reason"])
        self._collection_insert_dispatches(company, today, rows)
        self._collection_write_statuses(plan.statuses, result["foreign"])
        return {"group_keys": sorted(group_keys), "rows": len(rows)}

    @api.model
    def _collection_insert_dispatches(self, company, today, rows):
        if not rows:
            return
        cols = list(zip(*rows, strict=True))
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO collection_dispatch (
                    invoice_id, partner_id, level_id, channel, state, reason, substitute_call,
                    scheduled_at, group_key, amount_residual, company_id, planned_date,
                    create_uid, create_date, write_uid, write_date)
                SELECT r.*, %(company)s, %(today)s, %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM unnest(%(inv)s::int[], %(partner)s::int[], %(level)s::int[],
                              %(channel)s::varchar[], %(state)s::varchar[], %(reason)s::varchar[],
                              %(task)s::bool[], %(at)s::timestamp[], %(key)s::varchar[],
                              %(residual)s::numeric[]) AS r
                ON CONFLICT (invoice_id, level_id, channel) DO NOTHING
                """,
                company=company.id,
                today=today,
                uid=self.env.uid,
                inv=list(cols[0]),
                partner=list(cols[1]),
                level=list(cols[2]),
                channel=list(cols[3]),
                state=list(cols[4]),
                reason=list(cols[5]),
                task=list(cols[6]),
                at=[at.astimezone(timezone.utc).replace(tzinfo=None) if at else None
                    for at in cols[7]],
                key=list(cols[8]),
                residual=[float(r) if r is not None else None for r in cols[9]],
            )
        )
        self.env["collection.dispatch"].invalidate_model()

    @api.model
    def _collection_write_statuses(self, statuses, foreign=()):
        if not statuses and not foreign:
            return
        ids = [s.invoice_id for s in statuses] + list(foreign)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO collection_invoice_status AS s (
                    invoice_id, level_id, next_level_id, next_date, status,
                    create_uid, create_date, write_uid, write_date)
                SELECT r.*, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC'
                  FROM unnest(%s::int[], %s::int[], %s::int[], %s::date[], %s::varchar[])
                       AS r(id, level, next_level, next_date, reason)
                ON CONFLICT (invoice_id) DO UPDATE
                   SET level_id = EXCLUDED.level_id, next_level_id = EXCLUDED.next_level_id,
                       next_date = EXCLUDED.next_date, status = EXCLUDED.status,
                       write_date = EXCLUDED.write_date
                 WHERE (s.level_id, s.next_level_id, s.next_date, s.status)
                       IS DISTINCT FROM (EXCLUDED.level_id, EXCLUDED.next_level_id,
                                         EXCLUDED.next_date, EXCLUDED.status)
                """,
                self.env.uid,
                self.env.uid,
                ids,
                [s.level_id for s in statuses] + [None] * len(foreign),
                [s.next_level_id for s in statuses] + [None] * len(foreign),
                [s.next_date for s in statuses] + [None] * len(foreign),
                [s.reason for s in statuses] + ["partner_company"] * len(foreign),
            )
        )
        self.env["collection.invoice.status"].invalidate_model()
        self.env["account.move"].invalidate_model(
            ["collection_level_id", "collection_next_level_id", "collection_next_action_date",
             "collection_status", "collection_status_text"]
        )

    # ------------------------------------------------------------------ sending

    @api.model
    def _collection_commit(self):
        # Crons commit per batch so a kill loses no sent work. Tests run in one transaction,
        # and a dry measurement (context key collection_no_commit) must leave nothing behind.
        if not (
            getattr(threading.current_thread(), "testing", False)
            or self.env.context.get("collection_no_commit")
        ):
            self.env.cr.commit()

    @api.model
    def _collection_claim(self, group_keys=None, limit=None):
        """Lock the planned rows of up to ``limit`` groups; other workers skip them."""
        key_filter = SQL(" AND group_key = ANY(%s)", list(group_keys)) if group_keys else SQL()
        self.env["collection.dispatch"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id, group_key FROM collection_dispatch
                 WHERE state = 'planned' AND group_key IN (
                        SELECT group_key FROM collection_dispatch
                         WHERE state = 'planned' %(keys)s
                           AND (scheduled_at IS NULL OR scheduled_at <= now() at time zone 'UTC')
                         GROUP BY group_key ORDER BY group_key LIMIT %(limit)s)
                 ORDER BY id
                   FOR UPDATE SKIP LOCKED
                """,
                keys=key_filter,
                limit=limit or self.SEND_BATCH,
            )
        )
        groups = defaultdict(list)
        for dispatch_id, key in rows:
            groups[key].append(dispatch_id)
        return groups

    @api.model
    def _collection_send_groups(self, group_keys=None, notify=False, max_groups=None):
        """Send planned groups batch by batch, committing after each batch."""
        Dispatch = self.env["collection.dispatch"]
        done = 0
        while True:
            limit = self.SEND_BATCH if max_groups is None else min(
                self.SEND_BATCH, max_groups - done
            )
            if limit <= 0:
                break
            groups = self._collection_claim(group_keys, limit)
            if not groups:
                break
            claimed = Dispatch.browse([i for key in sorted(groups) for i in groups[key]])
            by_company = defaultdict(dict)
            for key in sorted(groups):
                rows = Dispatch.browse(groups[key]).with_prefetch(claimed._prefetch_ids)
                by_company[rows.company_id[:1]][key] = rows
            for company, company_groups in by_company.items():
                # Each group is sent in its own company (templates, collector, dates).
                engine = self.with_company(company)
                engine._collection_send_batch(
                    {key: rows.with_env(engine.env) for key, rows in company_groups.items()}
                )
            done += len(groups)
            self._collection_commit()
            if notify:
                remaining = self.env.execute_query(SQL(
                    "SELECT count(DISTINCT group_key) FROM collection_dispatch"
                    " WHERE state = 'planned'"
                    " AND (scheduled_at IS NULL OR scheduled_at <= now() at time zone 'UTC')"
                ))[0][0]
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _collection_send_batch(self, groups):
        """Send a batch of groups: e-mails rendered and queued together, the rest one by one."""
        emails = []
        for rows in groups.values():
            if rows[:1].channel == "email" and not rows[:1].substitute_call:
                live = self._collection_live(rows)
                if live:
                    emails.append(live)
            else:
                self._collection_send_group(rows)
        if not emails:
            return
        try:
            with self.env.cr.savepoint():
                self._collection_send_email_batch(emails)
        except Exception:  # noqa: BLE001 - fall back to one by one, to isolate the bad one
            _logger.info("collection: batch of %s e-mails failed, sending one by one",
                         len(emails), exc_info=True)
            for rows in emails:
                self._collection_send_group(rows)

    def _collection_live(self, dispatches):
        """Rows still worth sending; the others are marked skipped with the reason."""
        live, gone = self._collection_recheck(dispatches)
        for reason, rows in gone.items():
            rows.write({"state": "skipped", "reason": reason})
        return live

    @api.model
    def _collection_send_group(self, dispatches):
        """Send one customer's message on one channel, listing all its invoices."""
        live = self._collection_live(dispatches)
        if not live:
            return
        channel = live[0].channel
        partner = live[0].partner_id.with_company(live[0].company_id)
        try:
            with self.env.cr.savepoint():
                if live[0].substitute_call:
                    values = self._collection_send_call(partner, live)
                else:
                    values = getattr(self, f"_collection_send_{channel}")(partner, live)
                live.write({"sent_at": fields.Datetime.now(), "state": "sent", **values})
        except Exception as exc:  # noqa: BLE001 - one bad customer never stops the run
            _logger.warning("collection: sending %s to partner %s failed", channel, partner.id,
                            exc_info=True)
            live.write({"state": "failed", "reason": "send_failed", "error": str(exc)[:2000]})

    @api.model
    def _collection_recheck(self, dispatches):
        """Invoices paid, disputed or put on hold since planning are not chased."""
        today = fields.Date.context_today(self)
        gone = defaultdict(lambda: self.env["collection.dispatch"])
        live = self.env["collection.dispatch"]
        for dispatch in dispatches:
            invoice = dispatch.invoice_id
            partner = dispatch.partner_id.with_company(dispatch.company_id)
            if invoice.payment_state not in ("not_paid", "partial"):
                gone["paid"] |= dispatch
            elif invoice.collection_excluded:
                gone["excluded"] |= dispatch
            elif invoice.collection_disputed:
                gone["disputed"] |= dispatch
            elif invoice.collection_promise_date and invoice.collection_promise_date >= today:
                gone["promised"] |= dispatch
            elif partner.collection_hold_until and partner.collection_hold_until >= today:
                gone["on_hold"] |= dispatch
            elif (
                partner.collection_legal
                and dispatch.channel != "formal_notice"
                # A formal notice sent by this very run does not cancel its other reminders.
                and not (
                    partner.collection_legal_date
                    and partner.collection_legal_date >= dispatch.planned_date
                )
            ):
                gone["legal"] |= dispatch
            else:
                live |= dispatch
        return live, gone

    # ------------------------------------------------------------------ channels

    def _collection_render_values(self, partner, dispatches):
        invoices = dispatches.invoice_id.sorted(lambda m: (m.invoice_date_due, m.id))
        level = max(dispatches.level_id, key=lambda lv: (lv.offset_days, lv.sequence))
        return invoices, level, {
            "invoices": invoices,
            "level": level,
            "company": dispatches.company_id[:1],
            "today": fields.Date.context_today(self),
        }

    def _collection_send_email(self, partner, dispatches):
        mail = self._collection_queue_emails([(partner, dispatches)])
        return {"mail_message_id": mail.mail_message_id.id}

    def _collection_send_email_batch(self, groups):
        items = [(rows.partner_id.with_company(self.env.company), rows) for rows in groups]
        mails = self._collection_queue_emails(items)
        now = fields.Datetime.now()
        for rows, mail in zip(groups, mails, strict=True):
            rows.write(
                {"state": "sent", "sent_at": now, "mail_message_id": mail.mail_message_id.id}
            )

    def _collection_queue_emails(self, items):
        """Render and queue one reminder e-mail per (customer, dispatches) item, in order.

        Customers sharing a template and a language are rendered in one pass of the template,
        compiled once: compiling it per message would cost more than everything else. The
        e-mails go straight into the mail queue and are logged on the customer's chatter.
        """
        prepared, buckets = [], defaultdict(list)
        # The customer's invoicing contact receives reminders when it has an e-mail address.
        contacts = {}
        for contact in self.env["res.partner"].search(
            [
                ("parent_id", "in", [partner.id for partner, _rows in items]),
                ("type", "=", "invoice"),
                ("email", "!=", False),
            ],
            order="id desc",
        ):
            contacts[contact.parent_id.id] = contact
        for partner, dispatches in items:
            invoices, level, values = self._collection_render_values(partner, dispatches)
            recipient = contacts.get(partner.id, partner)
            lang = recipient.lang or partner.lang or self.env.lang or "en_US"
            entry = {"partner": partner, "recipient": recipient, "values": values}
            prepared.append(entry)
            buckets[(level.mail_template_id, lang)].append(entry)
        subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        for (template, lang), entries in buckets.items():
            template = template.with_context(lang=lang)
            bodies = self._collection_render_bodies(template, entries)
            first = entries[0]
            email_from = template._render_field(
                "email_from", first["partner"].ids, add_context=first["values"]
            )[first["partner"].id] or self.env.company.email_formatted
            for entry, body in zip(entries, bodies, strict=True):
                partner = entry["partner"]
                subject = template._render_field(
                    "subject", partner.ids, add_context=entry["values"]
                )[partner.id]
                entry["vals"] = {
                    "model": "res.partner",
                    "res_id": partner.id,
                    "subject": subject,
                    "body": body,
                    "body_html": body,
                    "email_from": email_from,
                    "reply_to": email_from,
                    "author_id": self.env.company.partner_id.id,
                    "recipient_ids": [Command.link(entry["recipient"].id)],
                    "message_type": "comment",
                    "subtype_id": subtype_id,
                    "auto_delete": False,
                }
        return self.env["mail.mail"].sudo().create([entry["vals"] for entry in prepared])

    def _collection_render_bodies(self, template, entries):
        """The template's body for each entry, rendered in one QWeb pass."""
        separator = Markup('<hr data-collection-split="%s"/>') % uuid.uuid4().hex
        source = (
            '<t t-foreach="collection_entries" t-as="collection_entry">'
            '<t t-set="object" t-value="collection_entry[\'partner\']"/>'
            '<t t-set="invoices" t-value="collection_entry[\'values\'][\'invoices\']"/>'
            '<t t-set="level" t-value="collection_entry[\'values\'][\'level\']"/>'
            f"{template.body_html}"
            '<t t-out="collection_separator"/></t>'
        )
        first = entries[0]["partner"]
        rendered = template._render_template(
            source,
            "res.partner",
            first.ids,
            engine="qweb",
            add_context={
                **entries[0]["values"],
                "collection_entries": entries,
                "collection_separator": separator,
            },
        )[first.id]
        bodies = str(rendered).split(str(separator))[: len(entries)]
        if len(bodies) != len(entries):
            raise ValueError("a reminder body could not be told apart from the next one")
        return [Markup(body) for body in bodies]

    def _collection_send_sms(self, partner, dispatches):
        invoices, level, values = self._collection_render_values(partner, dispatches)
        number = phones.first_mobile(
            (partner.mobile, partner.phone),
            partner.country_id.code or self.env.company.country_id.code,
        )
        if not number:
            raise ValueError(self.env._("No valid mobile number for %s.", partner.display_name))
        values["links"] = " ".join(
            inv.collection_pay_url for inv in invoices[:3] if inv.collection_pay_url
        )
        body = level.sms_template_id._render_field(
            "body", partner.ids, compute_lang=True, add_context=values
        )[partner.id]
        message = partner._message_sms(
            body,
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: number},
            put_in_queue=True,
        )
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)], limit=1)
        return {"mail_message_id": message.id, "sms_id": sms.id}

    def _collection_collector(self, partner):
        return (
            partner.collection_collector_id
            or partner.user_id
            or self.env.company.collection_collector_id
            or self.env.ref("base.user_admin", raise_if_not_found=False)
            or self.env.user
        )

    def _collection_send_call(self, partner, dispatches):
        invoices, level, values = self._collection_render_values(partner, dispatches)
        reasons = {
            d.reason_text for d in dispatches if d.substitute_call and d.reason_text
        }
        lines = Markup("").join(
            Markup("<li>%s — %s %s</li>")
            % (inv.name, inv.currency_id.format(inv.amount_residual),
               self.env._("due %s", fields.Date.to_string(inv.invoice_date_due)))
            for inv in invoices
        )
        note = (level.call_note or Markup("")) + Markup("<ul>%s</ul>") % lines
        if reasons:
            note += Markup("<p>%s</p>") % "; ".join(sorted(reasons))
        activity = partner.activity_schedule(
            "mail.mail_activity_data_call",
            date_deadline=fields.Date.context_today(self),
            summary=self.env._("Collection call: %s", level.name),
            note=note,
            user_id=self._collection_collector(partner).id,
        )
        return {"activity_id": activity.id}

    def _collection_send_letter(self, partner, dispatches):
        report = self.env.ref("smart_collection.action_report_collection_letter")
        return self._collection_print(partner, dispatches, report)

    def _collection_send_formal_notice(self, partner, dispatches):
        report = self.env.ref("smart_collection.action_report_collection_formal_notice")
        values = self._collection_print(partner, dispatches, report)
        partner.commercial_partner_id.write(
            {
                "collection_legal": True,
                "collection_legal_date": fields.Date.context_today(self),
            }
        )
        return values

    def _collection_print(self, partner, dispatches, report):
        """Render the letter; post it with snailmail when installed, else queue for print."""
        pdf, _type = self.env["ir.actions.report"]._render_qweb_pdf(report, dispatches.ids)
        level = dispatches.level_id[:1]
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{level.name} - {partner.name}.pdf",
                "raw": pdf,
                "res_model": "res.partner",
                "res_id": partner.id,
                "mimetype": "application/pdf",
            }
        )
        values = {"attachment_id": attachment.id, "state": "to_print"}
        if self.env.company.collection_letter_snailmail and "snailmail.letter" in self.env:
            letter = self.env["snailmail.letter"].create(
                {
                    "partner_id": partner.id,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "user_id": self.env.user.id,
                    "company_id": dispatches.company_id[:1].id,
                    "report_template": report.id,
                    "attachment_id": attachment.id,
                }
            )
            letter._snailmail_print(immediate=False)
            values["state"] = "sent"
        return values

    # ------------------------------------------------------------------ collector actions

    @api.model
    def _collection_skip_next_level(self, partner_ids):
        """Mark the next level of the customers' open invoices as skipped by hand."""
        statuses = self.env["collection.invoice.status"].search(
            [
                ("invoice_id.commercial_partner_id", "in", partner_ids),
                ("invoice_id.payment_state", "in", ("not_paid", "partial")),
                ("invoice_id.company_id", "=", self.env.company.id),
                ("next_level_id", "!=", False),
            ]
        )
        invoices = statuses.invoice_id
        today = fields.Date.context_today(self)
        rows = [
            (inv.id, inv.commercial_partner_id.id, inv.collection_next_level_id.id, channel,
             "skipped", "manual_skip", False, None, None, inv.amount_residual_signed)
            for inv in invoices
            for channel in inv.collection_next_level_id._collection_channels()
        ]
        self._collection_insert_dispatches(self.env.company, today, rows)
        statuses.write({"next_level_id": False, "next_date": False})
        invoices.invalidate_recordset(["collection_next_level_id", "collection_next_action_date"])
        return len(invoices)

