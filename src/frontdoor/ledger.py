"""The breach ledger and scan state (database adapter).

A breach row is written once per (rule, record) when a scan at the current time first detects
it, and stamped ``resolved_at`` when a later pass sees the record closed. ``scan_state`` keeps,
per rule, the start threshold and time of the last recording pass, from which the next
incremental pass continues.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import Finding, Threshold, closed_at, present_agencies, record_columns
from frontdoor.models import (
    Breach,
    ScanState,
    StrategyAttendance,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule


def _dialect_insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def record_breaches(
    conn: Connection, findings: Sequence[Finding], *, now: datetime
) -> tuple[int, int]:
    """Record the findings in the ledger; return (new breaches, reopened breaches).

    A finding not yet in the ledger is inserted with ``first_detected_at = now``. A finding
    whose breach was resolved is reopened (``resolved_at`` cleared; a corrected export took
    its completion away). The unique (rule_id, record_id) constraint makes this safe to repeat
    and safe against a concurrent scan: each breach is recorded once.
    """
    if not findings:
        return 0, 0
    insert = _dialect_insert(conn)
    table = table_of(Breach)
    new = reopened = 0
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
            .on_conflict_do_update(
                index_elements=["rule_id", "record_id"],
                set_={"resolved_at": None},
                where=table.c.resolved_at.is_not(None),
            )
            .returning(table.c.first_detected_at)
        )
        # RETURNING gives the inserted and the reopened rows on both engines (executemany
        # rowcount is not reliable across drivers); a new row carries this pass's time.
        for (first,) in conn.execute(stmt, rows[i : i + 2000]).all():
            if first == now:
                new += 1
            else:
                reopened += 1
    return new, reopened


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
    _, rid, _ = record_columns(rule.record)
    closed = closed_at(rule.record, now=now, today=cal.local_date(now))
    found: set[str] = set()
    for i in range(0, len(ids), 1000):
        chunk = list(ids[i : i + 1000])
        found.update(conn.execute(select(rid).where(rid.in_(chunk), closed)).scalars())
    return found


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
    """Of ``ids``, the discussions every required agency attended (sorted)."""
    need = set(rule.required_agencies)
    have = present_agencies(conn, ids, list(rule.required_agencies))
    return sorted(rid for rid in set(ids) if need <= have.get(rid, set()))


def rule_fingerprint(rule: TimescaleRule | AttendanceRule) -> str:
    """A digest of everything that defines ``rule``; a stored state with another fingerprint
    was computed under another definition (a changed limit, clock or agency list)."""
    return hashlib.sha256(rule.model_dump_json().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RuleState:
    """What the last recording pass of one rule left: its threshold, when it ran, and the
    fingerprint of the rule definition it used."""

    threshold: Threshold
    ran_at: datetime
    fingerprint: str


def save_state(
    conn: Connection,
    rule: TimescaleRule | AttendanceRule,
    threshold: Threshold | None,
    *,
    now: datetime,
) -> None:
    """Store the threshold (None for attendance rules: ``now`` is kept), ``now`` and the
    rule's fingerprint."""
    instant = threshold.instant if threshold else now
    day: date | None = threshold.day if threshold else None
    insert = _dialect_insert(conn)
    values = {
        "cutoff": instant,
        "cutoff_day": day,
        "ran_at": now,
        "rule_fingerprint": rule_fingerprint(rule),
    }
    stmt = insert(table_of(ScanState)).values(rule_id=rule.id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["rule_id"], set_=values))


def load_states(conn: Connection) -> dict[str, RuleState]:
    """The stored state of every rule, by rule id."""
    st = table_of(ScanState).c
    out: dict[str, RuleState] = {}
    for rule_id, cutoff, day, ran_at, fingerprint in conn.execute(
        select(st.rule_id, st.cutoff, st.cutoff_day, st.ran_at, st.rule_fingerprint)
    ):
        threshold = Threshold(cutoff, day or cutoff.date())
        out[rule_id] = RuleState(threshold, ran_at, fingerprint)
    return out


def recently_closed(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    *,
    now: datetime,
    since: datetime,
) -> list[str]:
    """Unresolved breaches of ``rule`` whose record closed since ``since``.

    A record closes between passes when it is ingested with its completion, or when a
    completion stamped in advance (a booked conference date, a future-dated outcome) falls
    due. Each query is served by one index (``ingested_at``, or the partial index on completed
    records), so the cost follows the number of changes, not the size of the ledger.
    """
    c, rid, done = record_columns(rule.record)
    today = cal.local_date(now)
    closed = closed_at(rule.record, now=now, today=today)
    if rule.record in ("contact", "referral"):
        came_due = (done > since) & (done <= now)
    else:  # date completions count from 00:00 local on their date
        came_due = (done >= cal.local_date(since)) & (done <= today)
    queries = [
        select(rid, closed).where(c.ingested_at >= since),
        select(rid, closed).where(came_due),
    ]
    # Only the narrowing condition goes to the database; "closed at now" is tested on the
    # rows, so that both engines start from the small set of changed records.
    changed_closed = sorted(
        {rid for rid, closed_now in conn.execute(union_all(*queries)) if closed_now}
    )
    return unresolved_among(conn, rule.id, changed_closed)


def unresolved_among(conn: Connection, rule_id: str, ids: Sequence[str]) -> list[str]:
    """Of ``ids``, those with an unresolved breach of ``rule_id`` (sorted).

    Looked up by the unique (rule_id, record_id) index; ``resolved_at`` is tested on the rows
    so that no planner prefers the partial index of all unresolved breaches of the rule.
    """
    b = table_of(Breach).c
    found: list[str] = []
    unique = sorted(set(ids))
    for i in range(0, len(unique), 1000):
        found += [
            rid
            for rid, resolved in conn.execute(
                select(b.record_id, b.resolved_at).where(
                    b.rule_id == rule_id, b.record_id.in_(unique[i : i + 1000])
                )
            )
            if resolved is None
        ]
    return sorted(found)


def recently_attended(conn: Connection, rule: AttendanceRule, *, since: datetime) -> list[str]:
    """Unresolved breaches of ``rule`` whose attendance changed since ``since`` and is now
    complete."""
    a = table_of(StrategyAttendance).c
    # Two steps: the attendance rows changed since (their ingested_at index), then their
    # breaches (the ledger's unique index).
    changed = list(conn.execute(select(a.discussion_id).where(a.ingested_at >= since)).scalars())
    return attendance_complete(conn, rule, unresolved_among(conn, rule.id, changed))
