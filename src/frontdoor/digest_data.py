"""Reads for the digest pass (database adapter): open items, teams, rationale, history.

:func:`open_items` is the re-check the digest makes at build time: it starts from the
unresolved breaches in the ledger and keeps only those whose record is still open *now*
(an outcome recorded since the last scan drops the item), with the record's current team,
child and worker. Attendance breaches are kept while the discussion is inside the rule's
lookback window and still lacks a required agency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, null, select

from frontdoor.clock import WorkingCalendar
from frontdoor.digest_items import DigestItem, History, RationaleState, TeamContacts
from frontdoor.evaluate import closed_at, due_function, present_agencies, record_columns
from frontdoor.models import (
    Breach,
    Outbox,
    OutboxItem,
    Rationale,
    StrategyDiscussion,
    Team,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule

_CHUNK = 1000


def teams(conn: Connection) -> list[TeamContacts]:
    """Every team and its managers, by team id."""
    t = table_of(Team).c
    rows = conn.execute(
        select(
            t.team_id,
            t.team_name,
            t.manager_name,
            t.manager_email,
            t.service_manager_name,
            t.service_manager_email,
        ).order_by(t.team_id)
    )
    return [TeamContacts(*row) for row in rows]


def open_items(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    *,
    now: datetime,
) -> list[DigestItem]:
    """Unresolved breaches of the enabled rules whose record is still open at ``now``."""
    items: list[DigestItem] = []
    for rule in (r for r in rules if r.enabled):
        if isinstance(rule, TimescaleRule):
            items += _timescale_items(conn, rule, cal, now=now)
        else:
            items += _attendance_items(conn, rule, now=now)
    rationale = latest_rationale(conn, [(i.rule_id, i.record_id) for i in items], now=now)
    return [replace(i, rationale=rationale.get((i.rule_id, i.record_id))) for i in items]


def _timescale_items(
    conn: Connection, rule: TimescaleRule, cal: WorkingCalendar, *, now: datetime
) -> list[DigestItem]:
    b = table_of(Breach).c
    c, rid, _ = record_columns(rule.record)
    closed = closed_at(rule.record, now=now, today=cal.local_date(now))
    worker = c.worker_id if rule.record == "contact" else null()
    # Contacts and referrals start at their own received_at, which a later export may
    # correct: their due moment is worked out again from the record as it is now. (S47
    # enquiries and assessments start from linked records; their ledger due is used.)
    own_start = rule.record in ("contact", "referral")
    query = (
        select(
            b.id,
            b.record_id,
            c.received_at if own_start else b.started_at,
            b.due_at,
            b.first_detected_at,
            c.child_id,
            c.team_id,
            worker.label("worker_id"),
            closed.label("closed"),
        )
        .join_from(table_of(Breach), rid.table, rid == b.record_id)
        .where(b.rule_id == rule.id, b.resolved_at.is_(None))
    )
    due_of = due_function(rule, cal)
    out: list[DigestItem] = []
    for bid, record_id, started, stored_due, first, child, team, wk, is_closed in conn.execute(
        query
    ):
        due = due_of(started) if own_start else stored_due
        # "closed" is NULL when the completion is NULL: only a true value closes the item.
        if is_closed or due is None or due >= now:
            continue
        out.append(
            DigestItem(
                breach_id=bid,
                rule_id=rule.id,
                record_kind=rule.record,
                record_id=record_id,
                child_id=child,
                team_id=team,
                started_at=started,
                due_at=due,
                breached_at=due,
                first_detected_at=first,
                missing_agencies=(),
                worker_id=wk,
                rationale=None,
            )
        )
    return out


def _attendance_items(conn: Connection, rule: AttendanceRule, *, now: datetime) -> list[DigestItem]:
    b = table_of(Breach).c
    d = table_of(StrategyDiscussion).c
    lo = now - timedelta(days=rule.lookback_days)
    rows = list(
        conn.execute(
            select(b.id, b.record_id, b.first_detected_at, d.child_id, d.team_id, d.held_at)
            .join_from(
                table_of(Breach), table_of(StrategyDiscussion), d.discussion_id == b.record_id
            )
            .where(
                b.rule_id == rule.id,
                b.resolved_at.is_(None),
                d.held_at >= lo,
                d.held_at <= now,
            )
        )
    )
    required = list(rule.required_agencies)
    present = present_agencies(conn, [r[1] for r in rows], required)
    out: list[DigestItem] = []
    for bid, did, first, child, team, held in rows:
        missing = tuple(a for a in required if a not in present.get(did, set()))
        if not missing:
            continue
        out.append(
            DigestItem(
                breach_id=bid,
                rule_id=rule.id,
                record_kind=rule.record,
                record_id=did,
                child_id=child,
                team_id=team,
                started_at=held,
                due_at=None,
                breached_at=held,
                first_detected_at=first,
                missing_agencies=missing,
                worker_id=None,
                rationale=None,
            )
        )
    return out


def latest_rationale(
    conn: Connection, keys: Sequence[tuple[str, str]], *, now: datetime
) -> dict[tuple[str, str], RationaleState]:
    """The latest rationale entry per (rule id, record id) among ``keys``."""
    r = table_of(Rationale).c
    by_rule: dict[str, list[str]] = {}
    for rule_id, record_id in keys:
        by_rule.setdefault(rule_id, []).append(record_id)
    out: dict[tuple[str, str], RationaleState] = {}
    for rule_id, ids in by_rule.items():
        for i in range(0, len(ids), _CHUNK):
            rows = conn.execute(
                select(r.record_id, r.reason, r.recorded_by, r.recorded_at, r.review_by)
                .where(r.rule_id == rule_id, r.record_id.in_(ids[i : i + _CHUNK]))
                .order_by(r.recorded_at, r.id)
            )
            for record_id, reason, by, at, review in rows:  # later rows supersede
                out[(rule_id, record_id)] = RationaleState(reason, by, at, review, review > now)
    return out


def histories(conn: Connection, breach_ids: Sequence[int]) -> dict[tuple[str, int], History]:
    """Per (recipient, level): the slot of their latest message, and which of ``breach_ids``
    any of their messages at that level covered. Pending and sent messages count (a pending
    one is owed and will be sent); failed and superseded ones do not (the recipient was not
    told, so those items are still new to them)."""
    o = table_of(Outbox).c
    oi = table_of(OutboxItem).c
    last: dict[tuple[str, int], datetime] = {
        (recipient, level): slot
        for recipient, level, slot in conn.execute(
            select(o.recipient, o.level, func.max(o.slot))
            .where(o.level > 0, o.failed_at.is_(None))
            .group_by(o.recipient, o.level)
        )
    }
    notified: dict[tuple[str, int], set[int]] = {}
    unique = sorted(set(breach_ids))
    for i in range(0, len(unique), _CHUNK):
        for recipient, level, bid in conn.execute(
            select(o.recipient, o.level, oi.breach_id)
            .join_from(table_of(OutboxItem), table_of(Outbox), o.id == oi.outbox_id)
            .where(oi.breach_id.in_(unique[i : i + _CHUNK]), o.failed_at.is_(None))
        ):
            notified.setdefault((recipient, level), set()).add(bid)
    return {
        key: History(last_slot=slot, notified=frozenset(notified.get(key, set())))
        for key, slot in last.items()
    }
