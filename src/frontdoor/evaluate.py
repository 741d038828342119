"""Rule evaluation: set-based SQL that returns the findings of a rule at an instant.

A finding is (a) a record of a timescale rule that is overdue and still open at ``now``, or
(b) a strategy discussion held within the rule's lookback window that lacks a required agency.

How a timescale rule is evaluated without looping over every record:

1. :func:`start_threshold` turns ``now`` into an exact cutoff on the clock's start: a record is
   overdue exactly when it started before it (the due moment never decreases as the start
   moves later; working hours find the cutoff by binary search).
2. SQL selects the open records that started before the cutoff. "Open" is
   ``completion IS NULL`` (served by a partial index) or ``completion > now`` (a replay of a past
   instant, served by a partial index on completed records): a completion recorded after
   ``now`` did not exist yet at ``now``.
3. Python computes each candidate's due moment for the output (and keeps ``due < now``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    String,
    and_,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
)

from frontdoor.clock import WorkingCalendar
from frontdoor.models import (
    Assessment,
    Contact,
    Referral,
    S47Enquiry,
    StrategyAttendance,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule


class Finding(NamedTuple):
    """One rule finding. ``due_at`` is None for attendance rules, ``missing_agencies`` for
    timescale rules. Instants are aware. (A named tuple: scans build tens of thousands.)"""

    rule: str
    record_id: str
    team_id: str
    child_id: str
    started_at: datetime
    due_at: datetime | None
    missing_agencies: tuple[str, ...] | None

    def overdue_hours(self, now: datetime) -> float | None:
        """Hours between the due moment and ``now`` (two decimals), None without a due."""
        if self.due_at is None:
            return None
        return round((now - self.due_at).total_seconds() / 3600, 2)


@dataclass(frozen=True)
class Threshold:
    """Records that started before ``instant`` (or on or before ``day``, for date starts) are
    overdue at ``now``; later ones are not."""

    instant: datetime
    day: date


def start_threshold(rule: TimescaleRule, cal: WorkingCalendar, *, now: datetime) -> Threshold:
    """The cutoff on the start of ``rule``'s clock for an evaluation at ``now`` (pure).

    Exact for every clock: a record is overdue at ``now`` exactly when its clock started
    before ``instant`` (for date starts: on or before ``day``).
    """
    if rule.clock == "working-days":
        last = cal.latest_overdue_start_date(rule.limit, now=now)
        return Threshold(cal.start_of_day(last + timedelta(days=1)), last)
    if rule.clock == "working-hours":
        instant = _working_hours_cutoff(rule, cal, now=now)
    else:
        instant = now - rule.limit_delta
    return Threshold(instant, cal.local_date(instant))


def _working_hours_cutoff(rule: TimescaleRule, cal: WorkingCalendar, *, now: datetime) -> datetime:
    """The earliest start (to the microsecond) whose working-hours due moment is not before
    ``now``.

    The due moment never decreases as the start moves later, so the overdue starts form a
    prefix and a binary search finds its end: about 45 due computations per scan.
    """
    due = due_function(rule, cal)
    hi = now - rule.limit_delta  # working time runs no faster than wall time: due(hi) >= now
    step = rule.limit_delta
    lo = hi - step
    while due(lo) >= now:  # widen until a start is overdue (weekends, holidays, office hours)
        step *= 2
        lo = hi - step
    tick = timedelta(microseconds=1)
    while hi - lo > tick:
        mid = lo + (hi - lo) // 2
        if due(mid) < now:
            lo = mid
        else:
            hi = mid
    return hi


def due_at(rule: TimescaleRule, cal: WorkingCalendar, start: datetime) -> datetime:
    """The due moment of ``rule`` for a clock that started at ``start`` (pure)."""
    return due_function(rule, cal)(start)


def due_function(rule: TimescaleRule, cal: WorkingCalendar) -> Callable[[datetime], datetime]:
    """:func:`due_at` for one rule, specialised for computing many due moments.

    For working days the due moment depends only on the local start date, so it is cached
    per date; a scan of tens of thousands of open records touches a few hundred dates.
    """
    if rule.clock == "working-days":
        tz, n = cal.tz, rule.limit
        by_day: dict[date, datetime] = {}

        def working_days(start: datetime) -> datetime:
            day = start.astimezone(tz).date()
            due = by_day.get(day)
            if due is None:
                due = by_day[day] = cal.due_working_days(day, n)
            return due

        return working_days
    if rule.clock == "working-hours":
        delta, office = rule.limit_delta, rule.office
        return lambda start: cal.add_working_time(start, delta, office=office)
    delta = rule.limit_delta
    return lambda start: start + delta


def fast_instant(column: ColumnElement[datetime], dialect: str) -> ColumnElement[Any]:
    """``column`` selected without the UTC type's per-row processing (a hot path).

    On SQLite the stored UTC text is returned with ``+00:00`` appended, and
    :func:`keep_overdue` parses it into an aware datetime in one step (several times faster
    than SQLAlchemy's datetime processing, and than parsing then attaching the zone);
    PostgreSQL's driver already returns aware datetimes. NULL stays NULL.
    """
    if dialect == "sqlite":
        return type_coerce(column, String()) + "+00:00"
    return type_coerce(column, DateTime(timezone=True))


def fetch_raw(conn: Connection, query: Select[Any]) -> list[Any]:
    """All rows of ``query`` as the driver returns them, without SQLAlchemy's row objects and
    result processing (half the fetch time of a large scan). Only for queries whose columns
    need no conversion, or use :func:`fast_instant` and :func:`_as_date` on the way out."""
    result = conn.execute(query)
    try:
        rows: list[Any] = result.cursor.fetchall()  # type: ignore[assignment]
    finally:
        result.close()
    return rows


def _as_date(value: date | str) -> date:
    # SQLite's driver returns a DATE column as its ISO text when read raw.
    return date.fromisoformat(value) if isinstance(value, str) else value


def record_columns(record: str) -> tuple[Any, ColumnElement[Any], ColumnElement[Any]]:
    """For a timescale record kind: (its table's columns, its id column, its completion
    column: ``outcome_at``, ``decision_at``, ``icpc_date`` or ``authorised_date``)."""
    if record == "contact":
        c = table_of(Contact).c
        return c, c.contact_id, c.outcome_at
    if record == "referral":
        c = table_of(Referral).c
        return c, c.referral_id, c.decision_at
    if record == "s47_enquiry":
        c = table_of(S47Enquiry).c
        return c, c.s47_id, c.icpc_date
    c = table_of(Assessment).c
    return c, c.assessment_id, c.authorised_date


def closed_at(record: str, *, now: datetime, today: date) -> ColumnElement[bool]:
    """SQL for "the record's completion is recorded at ``now``" (the contract's rules:
    instants count from their moment, dates from 00:00 local, ``icpc_not_required = Y``
    meets the ICPC rule)."""
    c, _, done = record_columns(record)
    if record in ("contact", "referral"):
        return done <= now
    if record == "s47_enquiry":
        return or_(done <= today, c.icpc_not_required.is_(True))
    return done <= today


def _instant_record_queries(
    rule: TimescaleRule, th: Threshold, *, now: datetime, dialect: str
) -> list[Select[Any]]:
    """Queries for contacts/referrals: (id, team, child, start) of open candidates."""
    c, rid, done = record_columns(rule.record)
    cols = (rid, c.team_id, c.child_id, fast_instant(c.received_at, dialect))
    before = c.received_at < th.instant
    # The literal ``IS NULL`` lets both engines use the partial index on open records.
    return [
        select(*cols).where(done.is_(None), before),
        select(*cols).where(done > now, before),
    ]


def s47_open_query(th: Threshold, today: date, dialect: str) -> Select[Any]:
    """(id, team, child, discussion held_at or None, start_date) of open S47 candidates."""
    discussion = table_of(StrategyDiscussion)
    s47 = table_of(S47Enquiry)
    d = discussion.c
    s = s47.c
    base = (
        select(s.s47_id, s.team_id, s.child_id, fast_instant(d.held_at, dialect), s.start_date)
        .select_from(s47)
        .outerjoin(discussion, d.discussion_id == s.discussion_id)
        .where(
            s.start_date <= today,
            or_(s.icpc_date.is_(None), s.icpc_date > today),
            or_(s.icpc_not_required.is_(None), s.icpc_not_required == false()),
        )
    )
    by_discussion = and_(d.held_at.is_not(None), d.held_at < th.instant)
    by_start = and_(d.held_at.is_(None), s.start_date <= th.day)
    return base.where(or_(by_discussion, by_start))


def assessment_open_query(th: Threshold, today: date, dialect: str) -> Select[Any]:
    """(id, team, child, referral received_at) of open assessment candidates."""
    assessment = table_of(Assessment)
    referral = table_of(Referral)
    a = assessment.c
    r = referral.c
    base = (
        select(a.assessment_id, a.team_id, a.child_id, fast_instant(r.received_at, dialect))
        .select_from(assessment)
        .join(referral, r.referral_id == a.referral_id)
        .where(a.start_date <= today, r.received_at < th.instant)
    )
    return base.where(or_(a.authorised_date.is_(None), a.authorised_date > today))


def evaluate_timescale(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    *,
    now: datetime,
) -> list[Finding]:
    """Findings of a timescale rule at ``now``, unsorted, one per record.

    Every open record is considered; :mod:`frontdoor.incremental` has the cheap variant.
    """
    th = start_threshold(rule, cal, now=now)
    today = cal.local_date(now)
    dialect = conn.dialect.name
    rows: list[Any] = []
    if rule.record in ("contact", "referral"):
        for q in _instant_record_queries(rule, th, now=now, dialect=dialect):
            rows.extend(fetch_raw(conn, q))
    elif rule.record == "s47_enquiry":
        rows.extend(
            (
                sid,
                team,
                child,
                held if held is not None else cal.start_of_day(_as_date(start)),
            )
            for sid, team, child, held, start in fetch_raw(conn, s47_open_query(th, today, dialect))
        )
    else:
        rows.extend(fetch_raw(conn, assessment_open_query(th, today, dialect)))
    # Each query returns distinct ids and the queries are disjoint (open vs. completed after
    # now), so no id repeats.
    return keep_overdue(rule, cal, rows, now=now, unique=True)


def keep_overdue(
    rule: TimescaleRule,
    cal: WorkingCalendar,
    rows: Iterable[Sequence[Any]],
    *,
    now: datetime,
    unique: bool = False,
) -> list[Finding]:
    """Findings for the candidate rows ``(id, team, child, clock start)`` whose exact due
    moment is before ``now``; one per record id (a repeated id keeps its last row).

    ``unique`` says that no id repeats, which skips the de-duplication.
    """
    due_of = due_function(rule, cal)
    rid = rule.id
    # A hot loop (up to hundreds of thousands of rows): names bound locally, the SQLite text
    # of fast_instant() parsed inline, findings built with the C tuple constructor.
    fromiso, text, make = datetime.fromisoformat, str, tuple.__new__
    out: list[Finding] = []
    append = out.append
    for record_id, team_id, child_id, start in rows:
        started = fromiso(start) if start.__class__ is text else start
        due = due_of(started)
        if due < now:
            append(make(Finding, (rid, record_id, team_id, child_id, started, due, None)))
    if unique:
        return out
    return list({f.record_id: f for f in out}.values())


def evaluate_attendance(
    conn: Connection, rule: AttendanceRule, *, now: datetime, since: datetime | None = None
) -> list[Finding]:
    """Strategy discussions with ``now - lookback <= held_at <= now`` that lack a required
    agency with ``attended = Y``.

    The window is bounded and the agency check is a correlated count on the attendance
    primary key: the fastest shape on both engines (stack-notes.md §8.4). Per-agency detail is
    fetched only for the flagged discussions. With ``since`` only discussions held, changed or
    given attendance rows at or after ``since`` are considered (an incremental pass).
    """
    d = table_of(StrategyDiscussion).c
    a = table_of(StrategyAttendance).c
    required = list(rule.required_agencies)
    attended = (
        select(func.count())
        .where(
            a.discussion_id == d.discussion_id,
            a.attended == true(),
            a.agency.in_(required),
        )
        .scalar_subquery()
    )
    lo = now - timedelta(days=rule.lookback_days)
    query = (
        select(d.discussion_id, d.team_id, d.child_id, d.held_at)
        .where(d.held_at >= lo, d.held_at <= now, attended < len(required))
        .order_by(d.held_at, d.discussion_id)
    )
    if since is None:
        flagged = list(conn.execute(query))
    else:
        touched = set(conn.execute(select(a.discussion_id).where(a.ingested_at >= since)).scalars())
        touched.update(
            conn.execute(select(d.discussion_id).where(d.ingested_at >= since)).scalars()
        )
        flagged = list(conn.execute(query.where(d.held_at >= since)))
        seen = {row[0] for row in flagged}
        pending = sorted(touched - seen)
        for i in range(0, len(pending), 1000):
            flagged += conn.execute(query.where(d.discussion_id.in_(pending[i : i + 1000])))
    present = present_agencies(conn, [row[0] for row in flagged], required)
    return [
        Finding(
            rule.id,
            did,
            team,
            child,
            held,
            None,
            tuple(sorted(set(required) - present.get(did, set()))),
        )
        for did, team, child, held in flagged
    ]


def present_agencies(
    conn: Connection, discussion_ids: Sequence[str], agencies: Sequence[str]
) -> dict[str, set[str]]:
    """Per discussion id, which of ``agencies`` attended (``attended = Y``); a discussion
    with none of them is absent from the result."""
    a = table_of(StrategyAttendance).c
    present: dict[str, set[str]] = {}
    for i in range(0, len(discussion_ids), 1000):
        for did, agency in conn.execute(
            select(a.discussion_id, a.agency).where(
                a.discussion_id.in_(discussion_ids[i : i + 1000]),
                a.attended == true(),
                a.agency.in_(agencies),
            )
        ):
            present.setdefault(did, set()).add(agency)
    return present


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings sorted by rule id then record id (the ``scan --json`` order).

    A finding is a tuple that starts with (rule, record_id), and that pair is unique, so the
    plain tuple order is that order (and sorts in C).
    """
    return sorted(findings)
