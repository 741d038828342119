"""Scan use cases: evaluate every rule at ``now`` and keep the breach ledger.

* :func:`run_scan` evaluates every enabled rule fully. With ``record=True`` (a scan at the
  current time) it also records each new breach once, marks recorded breaches whose record has
  since closed as resolved, and stores each rule's cutoff for the incremental pass.
* :func:`run_incremental_scan` is the cheap pass for a scheduler: for timescale rules it looks
  only at records that crossed their cutoff since the last pass or were ingested since then,
  and re-checks unresolved breaches by id.

Neither reads the real time: ``now`` is always passed in.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    WORKING_HOURS_SLACK,
    Finding,
    evaluate_attendance,
    evaluate_timescale,
    sort_findings,
    start_threshold,
)
from frontdoor.models import (
    Assessment,
    Breach,
    Contact,
    Referral,
    S47Enquiry,
    ScanState,
    StrategyAttendance,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule

AnyRule = TimescaleRule | AttendanceRule

# Rows are stamped with the time their import started, and a long import may commit after a
# pass has run; looking back this far past the previous pass catches such rows (re-detected
# breaches are ignored by the ledger's unique key).
INGEST_MARGIN = timedelta(hours=1)


@dataclass
class ScanResult:
    """What a scan found and changed. ``findings`` is sorted by rule then record id."""

    now: datetime
    findings: list[Finding]
    rules: list[AnyRule]
    new_breaches: int = 0
    resolved_breaches: int = 0
    duration_ms: float = 0.0
    per_rule: dict[str, int] = field(default_factory=dict)


def _insert_ignore(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def record_breaches(conn: Connection, findings: Sequence[Finding], *, now: datetime) -> int:
    """Insert a breach row for each finding not yet in the ledger; return how many were new.

    The unique (rule_id, record_id) constraint with ``ON CONFLICT DO NOTHING`` makes this safe
    to repeat and safe against a concurrent scan: a breach is recorded once, with the moment it
    was first detected.
    """
    if not findings:
        return 0
    insert = _insert_ignore(conn)
    table = table_of(Breach)
    new = 0
    rows = [
        {
            "rule_id": f.rule,
            "record_id": f.record_id,
            "team_id": f.team_id,
            "child_id": f.child_id,
            "started_at": f.started_at,
            "due_at": f.due_at,
            "missing_agencies": ",".join(f.missing_agencies) if f.missing_agencies else None,
            "first_detected_at": now,
        }
        for f in findings
    ]
    for i in range(0, len(rows), 2000):
        stmt = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["rule_id", "record_id"])
            .returning(table.c.id)
        )
        # RETURNING counts the rows really inserted on every engine (executemany rowcount
        # is not reliable across drivers).
        new += len(conn.execute(stmt, rows[i : i + 2000]).all())
    return new


def _unresolved(conn: Connection, rule_id: str) -> list[str]:
    b = table_of(Breach).c
    return list(
        conn.execute(
            select(b.record_id).where(b.rule_id == rule_id, b.resolved_at.is_(None))
        ).scalars()
    )


def _closed_ids(
    conn: Connection, rule: TimescaleRule, ids: Sequence[str], cal: WorkingCalendar, now: datetime
) -> set[str]:
    """Of ``ids``, the records of ``rule`` whose completion is recorded at or before ``now``."""
    today = cal.local_date(now)
    closed: set[str] = set()
    for i in range(0, len(ids), 1000):
        chunk = list(ids[i : i + 1000])
        q: Select[Any]
        if rule.record == "contact":
            c = table_of(Contact).c
            q = select(c.contact_id).where(c.contact_id.in_(chunk), c.outcome_at <= now)
        elif rule.record == "referral":
            r = table_of(Referral).c
            q = select(r.referral_id).where(r.referral_id.in_(chunk), r.decision_at <= now)
        elif rule.record == "s47_enquiry":
            s = table_of(S47Enquiry).c
            q = select(s.s47_id).where(
                s.s47_id.in_(chunk),
                (s.icpc_date <= today) | (s.icpc_not_required.is_(True)),
            )
        else:
            a = table_of(Assessment).c
            q = select(a.assessment_id).where(
                a.assessment_id.in_(chunk), a.authorised_date <= today
            )
        closed.update(conn.execute(q).scalars())
    return closed


def _mark_resolved(conn: Connection, rule_id: str, ids: Sequence[str], now: datetime) -> int:
    breach = table_of(Breach)
    b = breach.c
    count = 0
    for i in range(0, len(ids), 1000):
        result = conn.execute(
            update(breach)
            .where(
                and_(
                    b.rule_id == rule_id,
                    b.record_id.in_(ids[i : i + 1000]),
                    b.resolved_at.is_(None),
                )
            )
            .values(resolved_at=now)
        )
        count += max(result.rowcount, 0)
    return count


def _save_cutoff(conn: Connection, rule_id: str, cutoff: datetime, now: datetime) -> None:
    insert = _insert_ignore(conn)
    stmt = insert(table_of(ScanState)).values(rule_id=rule_id, cutoff=cutoff, ran_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["rule_id"], set_={"cutoff": cutoff, "ran_at": now}
        )
    )


def run_scan(
    engine: Engine,
    rules: Sequence[AnyRule],
    cal: WorkingCalendar,
    *,
    now: datetime,
    record: bool = False,
) -> ScanResult:
    """Evaluate every enabled rule at ``now``.

    ``record=False`` is a pure read (a replay of any past instant). ``record=True`` is for a
    scan at the current time: it updates the breach ledger and the incremental cutoffs in one
    transaction.
    """
    started = time.perf_counter()
    active = [r for r in rules if r.enabled]
    findings: list[Finding] = []
    result = ScanResult(now=now, findings=[], rules=active)
    with engine.begin() if record else engine.connect() as conn:
        for rule in active:
            if isinstance(rule, TimescaleRule):
                found = evaluate_timescale(conn, rule, cal, now=now)
            else:
                found = evaluate_attendance(conn, rule, now=now)
            result.per_rule[rule.id] = len(found)
            findings.extend(found)
            if record:
                result.new_breaches += record_breaches(conn, found, now=now)
                open_ids = {f.record_id for f in found}
                stale = [rid for rid in _unresolved(conn, rule.id) if rid not in open_ids]
                if isinstance(rule, TimescaleRule):
                    gone = sorted(_closed_ids(conn, rule, stale, cal, now))
                    _save_cutoff(conn, rule.id, start_threshold(rule, cal, now=now).instant, now)
                else:
                    # A discussion that aged out of the window is not resolved, only unseen:
                    # resolve only those whose attendance is now complete.
                    gone = _attendance_complete(conn, rule, stale)
                result.resolved_breaches += _mark_resolved(conn, rule.id, gone, now)
    result.findings = sort_findings(findings)
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _attendance_complete(conn: Connection, rule: AttendanceRule, ids: Sequence[str]) -> list[str]:
    a = table_of(StrategyAttendance).c
    need = set(rule.required_agencies)
    have: dict[str, set[str]] = {rid: set() for rid in ids}
    for i in range(0, len(ids), 1000):
        for did, agency in conn.execute(
            select(a.discussion_id, a.agency).where(
                a.discussion_id.in_(ids[i : i + 1000]), a.attended.is_(True)
            )
        ):
            have[did].add(agency)
    return sorted(rid for rid, got in have.items() if need <= got)


@dataclass
class IncrementalResult:
    """Counts of one incremental pass."""

    now: datetime
    new_breaches: int = 0
    resolved_breaches: int = 0
    full_rules: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


def run_incremental_scan(
    engine: Engine, rules: Sequence[AnyRule], cal: WorkingCalendar, *, now: datetime
) -> IncrementalResult:
    """Record breaches that appeared since the last pass, and resolve closed ones.

    Contacts and referrals are checked incrementally (records that crossed the cutoff since
    the last pass, plus records ingested since then). Rules with no stored cutoff, and the
    smaller S47, assessment and attendance sets, are evaluated fully.
    """
    started = time.perf_counter()
    out = IncrementalResult(now=now)
    with engine.begin() as conn:
        s = table_of(ScanState).c
        states = {row.rule_id: row for row in conn.execute(select(s.rule_id, s.cutoff, s.ran_at))}
        for rule in (r for r in rules if r.enabled):
            state = states.get(rule.id)
            if isinstance(rule, AttendanceRule):
                found = evaluate_attendance(conn, rule, now=now)
            elif state is None or rule.record not in ("contact", "referral"):
                found = evaluate_timescale(conn, rule, cal, now=now)
                out.full_rules.append(rule.id)
            else:
                lower = state.cutoff
                if rule.clock == "working-hours":
                    lower -= WORKING_HOURS_SLACK
                found = evaluate_timescale(
                    conn,
                    rule,
                    cal,
                    now=now,
                    lower=lower,
                    ingested_since=state.ran_at - INGEST_MARGIN,
                )
            out.new_breaches += record_breaches(conn, found, now=now)
            ids = _unresolved(conn, rule.id)
            if isinstance(rule, TimescaleRule):
                gone = sorted(_closed_ids(conn, rule, ids, cal, now))
                _save_cutoff(conn, rule.id, start_threshold(rule, cal, now=now).instant, now)
            else:
                gone = _attendance_complete(conn, rule, ids)
            out.resolved_breaches += _mark_resolved(conn, rule.id, gone, now)
    out.duration_ms = (time.perf_counter() - started) * 1000
    return out
