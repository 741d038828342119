"""Incremental evaluation of timescale rules: only what changed since the last pass.

A record can become a finding between two passes in three ways only:

* its clock start crossed the threshold: it started in ``[prev.instant, now.instant)`` (for
  date starts, on a day in ``(prev.day, now.day]``) and is still open;
* it was ingested (inserted or changed) since the last pass, whatever its age;
* the record its clock starts from (an enquiry's discussion, an assessment's referral) was
  ingested since the last pass.

(The thresholds are exact for every clock, and a rule whose definition changed is evaluated
in full by the caller, so nothing else can move a record across the line.)

Each set is fetched with a query that only one index can serve (the start range, or
``ingested_at``), in two steps where a join would let a planner start from the wrong side (it
did: SQLite walked every open assessment instead of the few referrals in the range). Every
other condition is then checked in Python, so the result is the same as a full evaluation
restricted to those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, select, union_all

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    Finding,
    Threshold,
    keep_overdue,
    record_columns,
    start_threshold,
)
from frontdoor.models import (
    Assessment,
    Referral,
    S47Enquiry,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import TimescaleRule

_CHUNK = 1000


@dataclass(frozen=True)
class Window:
    """Since the last pass: its threshold ``prev`` and the ingestion cut-off ``since``."""

    prev: Threshold
    since: datetime


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i : i + _CHUNK])


def _instant_rows(
    conn: Connection, rule: TimescaleRule, th: Threshold, w: Window, now: datetime
) -> list[tuple[str, str, str, datetime]]:
    """Contacts or referrals: (id, team, child, received_at) of open candidates."""
    c, rid, done = record_columns(rule.record)
    cols = (rid, c.team_id, c.child_id, c.received_at)
    crossed = (c.received_at < th.instant, c.received_at >= w.prev.instant)
    # Open at now: no completion (the partial index on open records, as a range), or one
    # stamped after now (the partial index on completed records); one round trip.
    open_crossed = union_all(
        select(*cols).where(done.is_(None), *crossed),
        select(*cols).where(done > now, *crossed),
    )
    rows: list[tuple[str, str, str, datetime]] = [tuple(r) for r in conn.execute(open_crossed)]
    for record_id, team, child, received, done_at in conn.execute(
        select(*cols, done).where(c.ingested_at >= w.since)
    ):
        if done_at is None or done_at > now:
            rows.append((record_id, team, child, received))
    return rows


def _s47_open(start: date, icpc: date | None, not_required: bool | None, today: date) -> bool:
    return start <= today and (icpc is None or icpc > today) and not_required is not True


def _s47_rows(
    conn: Connection, cal: WorkingCalendar, th: Threshold, w: Window, today: date
) -> list[tuple[str, str, str, datetime]]:
    """S47 enquiries: (id, team, child, clock start) of open candidates."""
    s = table_of(S47Enquiry).c
    d = table_of(StrategyDiscussion).c
    cols = (s.s47_id, s.team_id, s.child_id, s.start_date, s.icpc_date, s.icpc_not_required,
            s.discussion_id)  # fmt: skip
    held: dict[str, datetime] = dict(
        conn.execute(
            select(d.discussion_id, d.held_at).where(
                d.held_at >= w.prev.instant, d.held_at < th.instant
            )
        ).all()
    )
    # A discussion imported since the last pass may have moved its enquiries' clock start.
    held.update(
        conn.execute(select(d.discussion_id, d.held_at).where(d.ingested_at >= w.since)).all()
    )
    candidates: list[Any] = []
    for chunk in _chunks(sorted(held)):
        candidates += conn.execute(select(*cols).where(s.discussion_id.in_(chunk)))
    # Enquiries without a discussion start on their own date (both partial indexes).
    for done in (s.icpc_date.is_(None), s.icpc_date > today):
        candidates += conn.execute(
            select(*cols).where(done, s.start_date > w.prev.day, s.start_date <= th.day)
        )
    candidates += conn.execute(select(*cols).where(s.ingested_at >= w.since))
    # Look up the discussions of the candidates not already known.
    unknown = sorted({r[6] for r in candidates if r[6] and r[6] not in held})
    for chunk in _chunks(unknown):
        held.update(
            conn.execute(select(d.discussion_id, d.held_at).where(d.discussion_id.in_(chunk))).all()
        )
    rows = []
    for sid, team, child, start, icpc, not_required, did in candidates:
        if not _s47_open(start, icpc, not_required, today):
            continue
        began = held.get(did) if did else None
        rows.append((sid, team, child, began if began is not None else cal.start_of_day(start)))
    return rows


def _assessment_rows(
    conn: Connection, th: Threshold, w: Window, today: date
) -> list[tuple[str, str, str, datetime]]:
    """Assessments: (id, team, child, referral received_at) of open candidates."""
    a = table_of(Assessment).c
    r = table_of(Referral).c
    received: dict[str, datetime] = dict(
        conn.execute(
            select(r.referral_id, r.received_at).where(
                r.received_at >= w.prev.instant, r.received_at < th.instant
            )
        ).all()
    )
    # A referral imported since the last pass may have moved its assessments' clock start.
    received.update(
        conn.execute(select(r.referral_id, r.received_at).where(r.ingested_at >= w.since)).all()
    )
    cols = (a.assessment_id, a.team_id, a.child_id, a.referral_id, a.start_date,
            a.authorised_date)  # fmt: skip
    candidates: list[Any] = []
    for chunk in _chunks(sorted(received)):
        candidates += conn.execute(select(*cols).where(a.referral_id.in_(chunk)))
    candidates += conn.execute(select(*cols).where(a.ingested_at >= w.since))
    unknown = sorted({row[3] for row in candidates if row[3] not in received})
    for chunk in _chunks(unknown):
        query: Select[Any] = select(r.referral_id, r.received_at).where(r.referral_id.in_(chunk))
        received.update(conn.execute(query).all())
    return [
        (aid, team, child, received[ref])
        for aid, team, child, ref, start, authorised in candidates
        if ref in received and start <= today and (authorised is None or authorised > today)
    ]


def evaluate_window(
    conn: Connection, rule: TimescaleRule, cal: WorkingCalendar, *, now: datetime, window: Window
) -> list[Finding]:
    """Findings of ``rule`` at ``now`` among the records that crossed its threshold since
    ``window.prev`` or were ingested since ``window.since`` (unsorted, one per record)."""
    th = start_threshold(rule, cal, now=now)
    today = cal.local_date(now)
    if rule.record in ("contact", "referral"):
        rows = _instant_rows(conn, rule, th, window, now)
    elif rule.record == "s47_enquiry":
        rows = _s47_rows(conn, cal, th, window, today)
    else:
        rows = _assessment_rows(conn, th, window, today)
    return keep_overdue(rule, cal, rows, now=now)
