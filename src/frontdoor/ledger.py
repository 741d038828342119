"""The breach ledger and scan state (database adapter).

A breach row is written once per (rule, record) when a scan at the current time first detects
it, and stamped ``resolved_at`` when a later pass sees the record closed. ``scan_state`` keeps,
per rule, the start threshold and time of the last recording pass, from which the next
incremental pass continues.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import Finding, Threshold
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


def unresolved_ids(conn: Connection, rule_id: str) -> list[str]:
    b = table_of(Breach).c
    return list(
        conn.execute(
            select(b.record_id).where(b.rule_id == rule_id, b.resolved_at.is_(None))
        ).scalars()
    )


def closed_ids(
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


def mark_resolved(conn: Connection, rule_id: str, ids: Sequence[str], now: datetime) -> int:
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


def attendance_complete(conn: Connection, rule: AttendanceRule, ids: Sequence[str]) -> list[str]:
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


def save_state(
    conn: Connection, rule_id: str, threshold: Threshold | None, *, now: datetime
) -> None:
    """Store the threshold (None for attendance rules: ``now`` is kept) and ``now``."""
    instant = threshold.instant if threshold else now
    day: date | None = threshold.day if threshold else None
    insert = _insert_ignore(conn)
    values = {"cutoff": instant, "cutoff_day": day, "ran_at": now}
    stmt = insert(table_of(ScanState)).values(rule_id=rule_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["rule_id"], set_=values))


def load_states(conn: Connection) -> dict[str, tuple[Threshold, datetime]]:
    """Per rule id: (stored threshold, time of the pass that stored it)."""
    st = table_of(ScanState).c
    out: dict[str, tuple[Threshold, datetime]] = {}
    for rule_id, cutoff, day, ran_at in conn.execute(
        select(st.rule_id, st.cutoff, st.cutoff_day, st.ran_at)
    ):
        out[rule_id] = (Threshold(cutoff, day or cutoff.date(), exact=True), ran_at)
    return out


def recently_closed(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    *,
    now: datetime,
    since: datetime,
) -> list[str]:
    """Unresolved breaches of ``rule`` whose record changed since ``since`` and is now closed.

    Driven by the records' ``ingested_at`` index, so the cost follows the number of changes,
    not the size of the ledger.
    """
    b = table_of(Breach).c
    today = cal.local_date(now)
    q: Select[Any]
    if rule.record == "contact":
        c = table_of(Contact).c
        q = select(c.contact_id, c.outcome_at <= now).where(c.ingested_at >= since)
    elif rule.record == "referral":
        r = table_of(Referral).c
        q = select(r.referral_id, r.decision_at <= now).where(r.ingested_at >= since)
    elif rule.record == "s47_enquiry":
        s = table_of(S47Enquiry).c
        closed = (s.icpc_date <= today) | (s.icpc_not_required.is_(True))
        q = select(s.s47_id, closed).where(s.ingested_at >= since)
    else:
        a = table_of(Assessment).c
        q = select(a.assessment_id, a.authorised_date <= today).where(a.ingested_at >= since)
    # Only the ingested_at condition goes to the database, so that both engines start from
    # the small set of changed records; "closed" is tested on those rows.
    changed_closed = sorted(rid for rid, closed_now in conn.execute(q) if closed_now)
    found: list[str] = []
    for i in range(0, len(changed_closed), 1000):
        found += conn.execute(
            select(b.record_id).where(
                b.rule_id == rule.id,
                b.resolved_at.is_(None),
                b.record_id.in_(changed_closed[i : i + 1000]),
            )
        ).scalars()
    return sorted(found)


def recently_attended(conn: Connection, rule: AttendanceRule, *, since: datetime) -> list[str]:
    """Unresolved breaches of ``rule`` whose attendance changed since ``since`` and is now
    complete."""
    a = table_of(StrategyAttendance).c
    b = table_of(Breach).c
    touched = list(
        conn.execute(
            select(b.record_id)
            .select_from(table_of(Breach))
            .where(
                b.rule_id == rule.id,
                b.resolved_at.is_(None),
                b.record_id.in_(select(a.discussion_id).where(a.ingested_at >= since)),
            )
        ).scalars()
    )
    return attendance_complete(conn, rule, touched)
