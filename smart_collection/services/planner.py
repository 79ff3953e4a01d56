"""Collection planner: which open invoice gets which reminder today, and why not.

Pure Python: the Odoo layer gathers invoices, customers, scenarios and the dispatch ledger into
the dataclasses below, calls :func:`plan` and writes the result. No clock reads: ``today`` and
``now`` are passed in.

Channels: ``email``, ``sms``, ``letter``, ``call`` (a phone-call task for the collector) and
``formal_notice`` (the registered letter; after it the customer goes to legal follow-up).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CHANNELS = ("email", "sms", "letter", "call", "formal_notice")

# Machine codes of the reasons the planner gives. The Odoo layer translates them for people.
REASONS = {
    "due": "Level reached",
    "paid": "Invoice paid",
    "payment_pending": "A payment is pending (card transaction or matched transfer)",
    "disputed": "Invoice disputed by the customer",
    "promised": "Payment promised, promise date not passed",
    "promise_broken": "Promised date passed without payment",
    "excluded": "Invoice excluded from collection",
    "on_hold": "Customer on hold",
    "legal": "Customer in legal follow-up: reminders stopped",
    "no_scenario": "No collection scenario applies",
    "net_balance": "Customer's net balance is not positive after credit notes",
    "opted_out": "Customer opted out of this channel",
    "missing_email": "No e-mail address: call task created instead",
    "missing_mobile": "No valid mobile number: call task created instead",
    "missing_address": "No postal address: call task created instead",
    "quiet_hours": "Outside SMS hours in the customer's time zone: deferred",
    "condition": "Level conditions not met (amount, customer type or category)",
    "superseded": "A later level was already reached",
    "gap": "Too soon after the previous reminder",
    "not_yet": "Next level not reached yet",
    "done": "Last level of the scenario already sent",
}


@dataclass(frozen=True)
class Level:
    """One step of a scenario. ``offset_days`` counts from the due date (negative = before)."""

    id: int
    sequence: int
    offset_days: int
    channels: frozenset[str]
    min_amount: Decimal = Decimal(0)  # customer's overdue total (company currency) must reach it
    customer_type: str = "all"  # "all" | "company" | "person"
    category_ids: frozenset[int] = frozenset()  # if set, the customer needs one of them
    min_gap_days: int = 0  # minimum days since the previous dispatch on the invoice


@dataclass(frozen=True)
class Scenario:
    id: int
    levels: tuple[Level, ...]  # any order; the planner sorts by (offset_days, sequence)


@dataclass(frozen=True)
class ScenarioRule:
    """Category rule: customers with one of ``category_ids`` get ``scenario_id``.

    With ``risk_classes``, the customer's payment risk class must be one of them too; a rule
    with classes and no categories applies to every customer of those classes.
    """

    sequence: int
    scenario_id: int
    category_ids: frozenset[int]
    risk_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Partner:
    """The commercial partner (customer) the invoices belong to."""

    id: int
    is_company: bool
    scenario_id: int | None = None  # explicit override on the customer
    category_ids: frozenset[int] = frozenset()
    hold_until: date | None = None  # on hold while hold_until >= today
    legal: bool = False  # formal notice sent: legal follow-up, no more reminders
    opt_out: frozenset[str] = frozenset()  # channels the customer refused
    has_email: bool = True
    mobile: str | None = None  # E.164 number, already validated; None when missing/invalid
    has_address: bool = True
    tz: str = "UTC"
    credit: Decimal = Decimal(0)  # unreconciled credits (credit notes, payments), positive
    risk_class: str | None = None  # payment risk class "A".."E", None when not scored yet


@dataclass(frozen=True)
class Invoice:
    id: int
    partner_id: int  # commercial partner
    company_id: int
    due_date: date
    residual: Decimal  # amount still due, company currency
    excluded: bool = False
    disputed: bool = False
    payment_pending: bool = False
    promise_date: date | None = None  # promised payment date, if any


@dataclass(frozen=True)
class Dispatch:
    """A row of the dispatch ledger already written (any state: planned/sent/failed/skipped)."""

    invoice_id: int
    level_id: int
    channel: str
    state: str
    on: date  # day it was planned / sent


@dataclass(frozen=True)
class SmsWindow:
    weekdays: frozenset[int]  # 0 = Monday
    start: time
    end: time


DEFAULT_SMS_WINDOWS = (
    SmsWindow(frozenset(range(5)), time(10, 0), time(13, 0)),
    SmsWindow(frozenset(range(5)), time(14, 0), time(20, 0)),
)


@dataclass(frozen=True)
class Policy:
    default_scenario_id: int | None = None
    rules: tuple[ScenarioRule, ...] = ()
    sms_windows: tuple[SmsWindow, ...] = DEFAULT_SMS_WINDOWS
    holidays: frozenset[date] = frozenset()  # public holidays: no SMS on these days


@dataclass(frozen=True)
class Action:
    """One message (or task) for one customer on one channel, covering several invoices.

    ``kind``: ``send`` (do it now), ``defer`` (SMS outside quiet-hours-safe window: send at
    ``not_before``), ``task`` (contact data missing: a call task replaces the channel; ``channel``
    keeps the original channel, ``reason`` says what was missing), ``skip`` (opted out: recorded,
    nothing sent).
    """

    partner_id: int
    channel: str
    kind: str
    level_id: int  # the highest level among the invoices: its template is used
    invoice_levels: tuple[tuple[int, int], ...]  # (invoice_id, level_id), sorted by invoice id
    reason: str = "due"
    not_before: datetime | None = None  # UTC, for deferred SMS


@dataclass(frozen=True)
class InvoiceStatus:
    """Where each open invoice stands after the run, for the collector's screens."""

    invoice_id: int
    scenario_id: int | None
    level_id: int | None  # last level reached (dispatched), or None
    next_level_id: int | None
    next_date: date | None
    reason: str  # "due" when it gets an action today, else why not
    skipped_level_ids: tuple[int, ...] = field(default=())  # superseded / condition not met
    # (level_id, "condition" | "superseded"), same levels and order as skipped_level_ids
    skipped_reasons: tuple[tuple[int, str], ...] = field(default=())


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    statuses: tuple[InvoiceStatus, ...]



ZERO = Decimal(0)
UTC = timezone.utc
SMS_SEARCH_DAYS = 400  # a year of holidays and week-ends cannot hide every window

_CHANNEL_RANK = {channel: rank for rank, channel in enumerate(CHANNELS)}
# The collector's call and the registered letter come with the procedure: no opt-out.
_NO_OPT_OUT = frozenset({"call", "formal_notice"})
_BLOCKS_WITH_DATE = ("on_hold", "promised")


def reason_text(code: str) -> str:
    """Text for people; an unknown code is shown as is rather than failing a screen."""
    return REASONS.get(code, code)


# --- scenario resolution ------------------------------------------------------------------


def _sorted_rules(rules: Iterable[ScenarioRule]) -> tuple[ScenarioRule, ...]:
    # Stable sort: rules with the same sequence keep the order the Odoo layer gave.
    return tuple(sorted(rules, key=lambda rule: rule.sequence))


def _resolve(partner: Partner, rules: tuple[ScenarioRule, ...], default: int | None):
    if partner.scenario_id:  # Odoo's empty many2one may come as False or 0
        return partner.scenario_id
    categories = partner.category_ids
    for rule in rules:
        if rule.category_ids and categories.isdisjoint(rule.category_ids):
            continue
        if rule.risk_classes and partner.risk_class not in rule.risk_classes:
            continue
        if rule.category_ids or rule.risk_classes:
            return rule.scenario_id
    return default or None


def resolve_scenario(partner: Partner, policy: Policy) -> int | None:
    """The customer's explicit scenario wins, then the first rule it meets (tags, risk class),
    then the default."""
    return _resolve(partner, _sorted_rules(policy.rules), policy.default_scenario_id)


# --- SMS quiet hours ----------------------------------------------------------------------


def _zone(tz: str | None) -> ZoneInfo | timezone:
    # A customer with a bad time zone still gets SMS, at UTC hours, rather than none.
    if not tz:
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _wall_clock_reached(day: date, start: time, zone) -> list[datetime]:
    """UTC instants at which the local clock shows ``start`` on ``day`` (sorted).

    Usually one; two when the clock is set back and ``start`` happens twice; when the clock
    jumps over ``start`` (spring forward), the first instant after the jump, where the local
    time is already past ``start``.
    """
    naive = datetime.combine(day, start)
    found = []
    for fold in (0, 1):
        utc = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == naive and utc not in found:
            found.append(utc)
    if found:
        return sorted(found)
    # ``start`` is skipped: find the jump (whole seconds) between the two readings of it.
    lo, hi = sorted(naive.replace(tzinfo=zone, fold=f).timestamp() for f in (0, 1))
    lo, hi = math.floor(lo), math.ceil(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return [datetime.fromtimestamp(hi, UTC)]


def next_sms_slot(
    now_utc: datetime,
    tz: str,
    windows: Iterable[SmsWindow],
    holidays: Iterable[date] = frozenset(),
) -> datetime:
    """First moment from ``now_utc`` at which an SMS may reach the customer.

    Windows are read on the customer's wall clock (``[start, end)``, on the listed weekdays,
    never on a holiday of ``holidays``, which are local dates), so they follow daylight saving
    time. Returns ``now_utc`` itself when it is inside a window, else the next window start as
    an aware UTC datetime. Raises ValueError when no window opens within a year or so.
    """
    if now_utc.tzinfo is None:
        now_utc = now_utc.replace(tzinfo=UTC)
    zone = _zone(tz)
    holidays = holidays if isinstance(holidays, (set, frozenset)) else frozenset(holidays)
    usable = [w for w in windows if w.weekdays and w.start < w.end]
    if not usable:
        raise ValueError("no SMS window is configured")
    local = now_utc.astimezone(zone)
    today = local.date()
    clock = local.time().replace(tzinfo=None)
    if today not in holidays:
        weekday = today.weekday()
        for window in usable:
            if weekday in window.weekdays and window.start <= clock < window.end:
                return now_utc
    starts_by_weekday = {
        weekday: sorted({w.start for w in usable if weekday in w.weekdays}) for weekday in range(7)
    }
    for offset in range(SMS_SEARCH_DAYS + 1):
        day = today + timedelta(days=offset)
        if day in holidays:
            continue
        for start in starts_by_weekday[day.weekday()]:
            for moment in _wall_clock_reached(day, start, zone):
                if moment > now_utc:
                    return moment
    raise ValueError(f"no SMS window within {SMS_SEARCH_DAYS} days")


# --- planning -----------------------------------------------------------------------------


class _Ladder:
    """A scenario's levels in the order customers climb them, with lookups by rank."""

    __slots__ = ("levels", "offsets", "rank")

    def __init__(self, scenario: Scenario):
        levels = tuple(
            sorted(scenario.levels, key=lambda lv: (lv.offset_days, lv.sequence, lv.id))
        )
        for level in levels:
            unknown = set(level.channels) - _CHANNEL_RANK.keys()
            if unknown:
                raise ValueError(f"level {level.id}: unknown channel(s) {sorted(unknown)}")
        self.levels = levels
        self.offsets = [level.offset_days for level in levels]
        self.rank = {level.id: rank for rank, level in enumerate(levels)}


def _customer_block(partner: Partner, today: date) -> str | None:
    """Why none of the customer's invoices is chased today, whatever the invoice."""
    if partner.legal:
        return "legal"
    if partner.hold_until is not None and partner.hold_until >= today:
        return "on_hold"
    return None


def _level_applies(level: Level, partner: Partner, overdue_total: Decimal) -> bool:
    if level.customer_type == "company" and not partner.is_company:
        return False
    if level.customer_type == "person" and partner.is_company:
        return False
    if level.category_ids and level.category_ids.isdisjoint(partner.category_ids):
        return False
    return overdue_total >= level.min_amount


def _missing_contact(channel: str, partner: Partner) -> str | None:
    if channel == "email":
        return None if partner.has_email else "missing_email"
    if channel == "sms":
        return None if partner.mobile else "missing_mobile"
    if channel in ("letter", "formal_notice"):
        return None if partner.has_address else "missing_address"
    return None


def _following(levels: tuple[Level, ...], after: int, due_ord: int):
    """Level after rank ``after`` and its nominal date, or (None, None) past the last one."""
    if after + 1 < len(levels):
        level = levels[after + 1]
        return level.id, date.fromordinal(due_ord + level.offset_days)
    return None, None


def _index_ledger(ledger: Iterable[Dispatch]) -> dict[int, list[Dispatch]]:
    """Ledger rows by invoice, read once for the whole run."""
    rows: defaultdict[int, list[Dispatch]] = defaultdict(list)
    for row in ledger:
        rows[row.invoice_id].append(row)
    return rows


def plan(
    invoices: Iterable[Invoice],
    partners: Mapping[int, Partner],
    scenarios: Mapping[int, Scenario],
    ledger: Iterable[Dispatch],
    policy: Policy,
    today: date,
    now: datetime,
) -> Plan:
    """Decide today's collection actions.

    ``partners``: mapping id -> Partner (every invoice's ``partner_id`` must be there);
    ``scenarios``: mapping id -> Scenario; ``ledger``: iterable of Dispatch (a level with a
    row in any state, skipped included, counts as reached); ``now``: aware UTC datetime (for
    SMS windows).

    Statuses: one per input invoice, paid ones included (reason ``paid``), sorted by invoice
    id. An open invoice is left alone, by precedence: ``excluded``, ``legal``, ``on_hold``,
    ``disputed``, ``payment_pending``, ``promised``, ``net_balance``, ``no_scenario``; then
    the ladder decides: ``not_yet`` / ``done`` (no level due), ``condition`` (every due level
    fails its conditions), ``gap`` (too soon after the previous reminder on the invoice: any
    level, any state but ``skipped``), else ``due`` or ``promise_broken`` with an action.
    ``level_id`` is the level reached (the one chosen today when there is an action);
    ``next_level_id``/``next_date`` the one that follows, its date pushed past a hold or a
    promise; for ``condition`` the first level not due yet, for ``gap`` the level held back
    and the day its gap ends. ``skipped_level_ids`` lists the due levels passed over
    (``skipped_reasons`` says why); while a gap holds a level back only the levels below it
    that fail their conditions are listed, nothing is superseded yet.

    Actions: one per customer and channel, covering all that customer's invoices reaching a
    level with the channel, sorted by customer then channel (in CHANNELS order). Totals
    (net balance, overdue total) are over the invoices given: call once per company when
    companies must be chased separately.

    Raises ValueError for a level with an unknown channel, or when an SMS is due and the
    policy has no SMS window.
    """
    invoices = list(invoices)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today_ord = today.toordinal()

    # Customer totals: what is owed net of credits, and what is already late.
    balance: dict[int, Decimal] = {}
    overdue: dict[int, Decimal] = {}
    for invoice in invoices:
        pid = invoice.partner_id
        residual = invoice.residual
        balance[pid] = balance.get(pid, ZERO) + residual
        if residual > 0 and invoice.due_date < today:
            overdue[pid] = overdue.get(pid, ZERO) + residual

    ledger_rows = _index_ledger(ledger)
    rules = _sorted_rules(policy.rules)
    ladders: dict[int, _Ladder] = {}
    # partner id -> (partner, scenario id, ladder, customer block, net balance, overdue total)
    customers: dict[int, tuple] = {}
    # (partner id, channel) -> [[(invoice id, level id)], highest rank, any broken promise]
    groups: dict[tuple[int, str], list] = {}
    statuses: list[InvoiceStatus] = []
    append = statuses.append

    for invoice in invoices:
        pid = invoice.partner_id
        customer = customers.get(pid)
        if customer is None:
            partner = partners[pid]
            scenario_id = _resolve(partner, rules, policy.default_scenario_id)
            ladder = ladders.get(scenario_id) if scenario_id else None
            if ladder is None and scenario_id and scenario_id in scenarios:
                ladder = ladders[scenario_id] = _Ladder(scenarios[scenario_id])
            customer = customers[pid] = (
                partner,
                scenario_id if ladder is not None else None,
                ladder,
                _customer_block(partner, today),
                balance[pid] - partner.credit,
                overdue.get(pid, ZERO),
            )
        partner, scenario_id, ladder, customer_block, net, overdue_total = customer
        iid = invoice.id
        due_ord = invoice.due_date.toordinal()

        last = -1  # rank of the highest level reached, -1 for none
        levels: tuple[Level, ...] = ()
        rows = ledger_rows.get(iid)
        if ladder is not None:
            levels = ladder.levels
            if rows:
                rank = ladder.rank
                for row in rows:
                    r = rank.get(row.level_id, -1)  # levels since removed from the scenario
                    if r > last:
                        last = r
        last_id = levels[last].id if last >= 0 else None

        if invoice.residual <= ZERO:
            append(InvoiceStatus(iid, scenario_id, last_id, None, None, "paid"))
            continue

        # Why an open invoice is left alone, by precedence.
        promise = invoice.promise_date
        if invoice.excluded:
            reason = "excluded"
        elif customer_block is not None:
            reason = customer_block
        elif invoice.disputed:
            reason = "disputed"
        elif invoice.payment_pending:
            reason = "payment_pending"
        elif promise is not None and promise >= today:
            reason = "promised"
        elif net <= ZERO:  # credit notes and payments on account cover what is owed
            reason = "net_balance"
        elif ladder is None:
            reason = "no_scenario"
        else:
            reason = None
        if reason is not None:
            next_id, next_date = _following(levels, last, due_ord)
            if next_date is not None and reason in _BLOCKS_WITH_DATE:
                until = partner.hold_until if reason == "on_hold" else promise
                next_date = max(next_date, until + timedelta(days=1))
            append(InvoiceStatus(iid, scenario_id, last_id, next_id, next_date, reason))
            continue

        # Levels whose date has come, above the last one reached.
        due_until = bisect_right(ladder.offsets, today_ord - due_ord)
        if due_until <= last + 1:
            next_id, next_date = _following(levels, last, due_ord)
            reason = "not_yet" if next_id is not None else "done"
            append(InvoiceStatus(iid, scenario_id, last_id, next_id, next_date, reason))
            continue

        chosen = -1
        skipped: list[tuple[int, str]] = []
        for r in range(due_until - 1, last, -1):  # highest first
            level = levels[r]
            if not _level_applies(level, partner, overdue_total):
                skipped.append((level.id, "condition"))
            elif chosen < 0:
                chosen = r
            else:  # one reminder at a time: the latest due level speaks for the earlier ones
                skipped.append((level.id, "superseded"))
        if skipped:
            skipped.reverse()
            skipped_reasons = tuple(skipped)
            skipped_ids = tuple([level_id for level_id, _ in skipped])
        else:
            skipped_reasons = skipped_ids = ()

        if chosen < 0:
            next_id, next_date = _following(levels, due_until - 1, due_ord)
            append(
                InvoiceStatus(
                    iid, scenario_id, last_id, next_id, next_date, "condition",
                    skipped_ids, skipped_reasons,
                )
            )  # fmt: skip
            continue

        level = levels[chosen]
        gap = level.min_gap_days
        if gap > 0:
            # Rows of levels passed over (state "skipped") reached nobody: they do not count.
            sent_on = [row.on for row in rows if row.state != "skipped"] if rows else None
            previous = max(sent_on) if sent_on else None
            if previous is not None and today_ord - previous.toordinal() < gap:
                # Levels above the held one stay open: marking them passed would jump it.
                rank = ladder.rank
                failed = tuple(
                    [s for s in skipped if s[1] == "condition" and rank[s[0]] < chosen]
                )
                append(
                    InvoiceStatus(
                        iid, scenario_id, last_id, level.id, previous + timedelta(days=gap),
                        "gap", tuple(level_id for level_id, _ in failed), failed,
                    )
                )  # fmt: skip
                continue

        broken = promise is not None  # a kept promise was filtered out above
        for channel in level.channels:
            group = groups.get((pid, channel))
            if group is None:
                groups[(pid, channel)] = [[(iid, level.id)], chosen, broken]
            else:
                group[0].append((iid, level.id))
                if chosen > group[1]:
                    group[1] = chosen
                group[2] = group[2] or broken
        next_id, next_date = _following(levels, chosen, due_ord)
        append(
            InvoiceStatus(
                iid, scenario_id, level.id, next_id, next_date,
                "promise_broken" if broken else "due", skipped_ids, skipped_reasons,
            )
        )  # fmt: skip

    slots: dict[str, datetime] = {}
    actions: list[Action] = []
    for (pid, channel), (invoice_levels, top, broken) in sorted(
        groups.items(), key=lambda item: (item[0][0], _CHANNEL_RANK[item[0][1]])
    ):
        partner, _scenario_id, ladder, *_totals = customers[pid]
        invoice_levels.sort()
        kind, not_before = "send", None
        reason = "promise_broken" if broken else "due"
        missing = _missing_contact(channel, partner)
        if channel in partner.opt_out and channel not in _NO_OPT_OUT:
            kind, reason = "skip", "opted_out"
        elif missing is not None:
            kind, reason = "task", missing
        elif channel == "sms":
            slot = slots.get(partner.tz)
            if slot is None:
                slot = slots[partner.tz] = next_sms_slot(
                    now, partner.tz, policy.sms_windows, policy.holidays
                )
            if slot > now:
                kind, reason, not_before = "defer", "quiet_hours", slot
        actions.append(
            Action(
                pid, channel, kind, ladder.levels[top].id, tuple(invoice_levels), reason,
                not_before,
            )
        )  # fmt: skip

    statuses.sort(key=lambda status: status.invoice_id)
    return Plan(tuple(actions), tuple(statuses))


def planned_dispatches(result: Plan, today: date) -> tuple[Dispatch, ...]:
    """Ledger rows for a run's actions: written back, they keep the next run from repeating.

    Skipped (opted-out) actions are recorded as ``skipped``, everything else as ``planned``.
    """
    return tuple(
        Dispatch(iid, level_id, action.channel, "skipped" if action.kind == "skip" else "planned",
                 today)
        for action in result.actions
        for iid, level_id in action.invoice_levels
    )  # fmt: skip
