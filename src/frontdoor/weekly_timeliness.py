"""Timeliness in the weekly report (SQL builders): which records had their due moment in a
week, and whether they met it, as plain range predicates that both engines index. Used by
:mod:`frontdoor.weekly_figures`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    due_function,
    record_columns,
    start_threshold,
)
from frontdoor.models import (
    Assessment,
    Contact,
    Rationale,
    Referral,
    S47Enquiry,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weeks import ReportWeek

_DAY = timedelta(days=1)


def count_if(flag: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)


def shift_instant(
    column: ColumnElement[datetime], delta: timedelta, dialect: str
) -> ColumnElement[Any]:
    """``column + delta`` in SQL for whole-second ``delta``, comparable with the column.

    SQLite stores UTC as fixed-width text ``YYYY-MM-DD HH:MM:SS.ffffff``: whole seconds are
    added with ``strftime`` and the unchanged microseconds appended.
    """
    seconds = int(delta.total_seconds())
    if dialect == "sqlite":
        raw = type_coerce(column, String())
        shifted = func.strftime("%Y-%m-%d %H:%M:%S", raw, f"{seconds:+d} seconds")
        return shifted.op("||")(func.substr(raw, 20))
    return column + literal(delta)


def timescale_rule(
    rules: Sequence[TimescaleRule | AttendanceRule], record: str
) -> TimescaleRule | None:
    for rule in rules:
        if isinstance(rule, TimescaleRule) and rule.enabled and rule.record == record:
            return rule
    return None


def attendance_rule(rules: Sequence[TimescaleRule | AttendanceRule]) -> AttendanceRule | None:
    """The first enabled attendance rule (the report's "every required agency")."""
    return next((r for r in rules if isinstance(r, AttendanceRule) and r.enabled), None)


def _day_groups(
    rule: TimescaleRule, cal: WorkingCalendar, first: date, last: date
) -> list[tuple[date, date, date]]:
    """Start dates ``first..last`` grouped into runs that share one due date:
    ``(first start, last start, due date)``; due dates never decrease with the start."""
    groups: list[tuple[date, date, date]] = []
    d = first
    while d <= last:
        due = cal.add_working_days(d, rule.limit)
        if groups and groups[-1][2] == due:
            groups[-1] = (groups[-1][0], d, due)
        else:
            groups.append((d, d, due))
        d += _DAY
    return groups


@dataclass(frozen=True)
class _Timed:
    """How one record kind's clock looks in SQL for the "due in the week" figures.
    ``starts`` are the columns the clock starts from (for the breach list: received_at;
    an S47 enquiry's discussion ``held_at`` and its ``start_date``)."""

    team: ColumnElement[str]
    record_id: ColumnElement[str]
    child_id: ColumnElement[str]
    starts: tuple[ColumnElement[Any], ...]
    # start in [instant lo, instant hi) or start date in [day lo, day hi] (both inclusive)
    start_in: Callable[[datetime, datetime, date, date], ColumnElement[bool]]
    done_by_day: Callable[[date], ColumnElement[bool]]
    from_: Any
    # The start as one instant column, when it is one (not for S47: held_at or a date).
    instant: ColumnElement[datetime] | None = None


def rationale_for(rule_id: str, record_id: ColumnElement[str], by: datetime) -> ColumnElement[bool]:
    """SQL for "a manager recorded a rationale for this rule and record by ``by``"."""
    r = table_of(Rationale).c
    return exists().where(r.rule_id == rule_id, r.record_id == record_id, r.recorded_at <= by)


#: Per week (its index in the run of weeks), per team: the figures' counters.
Counts = dict[int, dict[str, Counter[str]]]


@dataclass(frozen=True)
class _Terms:
    """SQL terms for a rule over consecutive weeks: ``bucket`` is the index of the week the
    record's due moment falls in (-1: none), ``due_in_range`` whether it falls in any,
    ``met`` whether the record met it (None for working-hours rules, which SQL cannot
    express: checked in Python), ``received_from`` the earliest start due in the range."""

    bucket: ColumnElement[int]
    due_in_range: ColumnElement[bool]
    met: ColumnElement[bool] | None
    received_from: datetime


def _terms(
    rule: TimescaleRule,
    cal: WorkingCalendar,
    weeks: Sequence[ReportWeek],
    timed: _Timed,
    dialect: str,
) -> _Terms:
    # The starts whose due moment falls in week i are those between the start thresholds at
    # the week's two ends; consecutive weeks share a threshold, so the ranges tile.
    bounds = [start_threshold(rule, cal, now=w.start) for w in weeks]
    bounds.append(start_threshold(rule, cal, now=weeks[-1].end))

    def between(i: int, j: int) -> ColumnElement[bool]:
        lo, hi = bounds[i], bounds[j]
        return timed.start_in(lo.instant, hi.instant, lo.day + _DAY, hi.day)

    if timed.instant is not None:
        # One comparison per week: the rows are already limited to the whole range, and
        # CASE takes the first week whose upper bound the start is below.
        bucket = case(
            *((timed.instant < bounds[i + 1].instant, i) for i in range(len(weeks))), else_=-1
        )
    else:
        bucket = case(*((between(i, i + 1), i) for i in range(len(weeks))), else_=-1)
    lo, hi = bounds[0], bounds[-1]
    met: ColumnElement[bool] | None = None
    if rule.clock == "working-days":
        groups = _day_groups(rule, cal, lo.day + _DAY, hi.day)
        met = or_(
            false(),
            *(
                and_(
                    timed.start_in(cal.start_of_day(a), cal.start_of_day(b + _DAY), a, b),
                    timed.done_by_day(due),
                )
                for a, b, due in groups
            ),
        )
    elif rule.clock == "clock-hours":
        c, _, done = record_columns(rule.record)
        met = done <= shift_instant(c.received_at, rule.limit_delta, dialect)
    return _Terms(bucket, between(0, len(weeks)), met, lo.instant)


def timely(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    weeks: Sequence[ReportWeek],
    timed: _Timed,
    teams: Sequence[str],
    counts: Counts,
    prefix: str,
    *,
    rationale_by: datetime,
) -> None:
    """Adds ``<prefix>_due`` and ``<prefix>_met`` per week and team, and the records due in
    a week and not met as breaches (``breaches``, ``breach:<rule id>``, and
    ``breaches_rationale`` for those with a rationale recorded by ``rationale_by``). One
    query for the whole run of consecutive ``weeks``, grouped by week and team."""
    t = _terms(rule, cal, weeks, timed, conn.dialect.name)
    if t.met is None:
        _working_hours_timely(conn, rule, cal, t, teams, counts, prefix, rationale_by)
        return
    missed_with_reason = case(
        (t.met, 0), (rationale_for(rule.id, timed.record_id, rationale_by), 1), else_=0
    )
    for branch in contact_branches(rule.record, t.received_from):
        query = (
            select(
                timed.team,
                t.bucket,
                func.count(),
                count_if(t.met),
                func.coalesce(func.sum(missed_with_reason), 0),
            )
            .select_from(timed.from_)
            .where(branch, judged(rule.record), t.due_in_range, timed.team.in_(teams))
            .group_by(timed.team, t.bucket)
        )
        for team, i, due_n, met_n, reasoned in conn.execute(query):
            if i >= 0:
                _add(counts[i][team], prefix, rule.id, int(due_n), int(met_n), int(reasoned))


def _add(c: Counter[str], prefix: str, rule_id: str, due: int, met: int, reasoned: int) -> None:
    c[f"{prefix}_due"] += due
    c[f"{prefix}_met"] += met
    c["breaches"] += due - met
    c[f"breach:{rule_id}"] += due - met
    c["breaches_rationale"] += reasoned


def missed_rows(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    week: ReportWeek,
    timed: _Timed,
    teams: Sequence[str],
    *,
    rationale_by: datetime,
) -> list[tuple[Any, ...]]:
    """The records due in the week and not met: (record id, child id, team id, completion,
    has a rationale, *starts) per record, for the breach list. Working-hours rules are
    checked in Python, as in :func:`timely`."""
    t = _terms(rule, cal, [week], timed, conn.dialect.name)
    _, _, done = record_columns(rule.record)
    columns = (
        timed.record_id,
        timed.child_id,
        timed.team,
        done,
        rationale_for(rule.id, timed.record_id, rationale_by),
        *timed.starts,
    )
    rows: list[tuple[Any, ...]] = []
    for branch in contact_branches(rule.record, t.received_from):
        query = (
            select(*columns)
            .select_from(timed.from_)
            .where(branch, judged(rule.record), t.due_in_range, timed.team.in_(teams))
        )
        if t.met is not None:
            # NULL-safe "not met": a NULL comparison (no completion) counts as not met.
            query = query.where(case((t.met, 0), else_=1) == 1)
        rows += [tuple(r) for r in conn.execute(query)]
    if t.met is None:
        due_of = due_function(rule, cal)
        rows = [r for r in rows if r[3] is None or r[3] > due_of(r[5])]
    return rows


def contact_branches(record: str, received_from: datetime) -> tuple[ColumnElement[bool], ...]:
    """Disjoint predicates that together select every record received at or after
    ``received_from``, shaped for the indexes.

    The contact table has no plain ``received_at`` index (it slows the live scan on SQLite,
    stack-notes.md §8), only partial indexes on open contacts (``received_at``) and on
    completed ones (``outcome_at``). An outcome is never before receipt, so a completed
    contact received at or after ``received_from`` has ``outcome_at >= received_from``: a
    range on the completed-contacts index that stays short for recent weeks.
    """
    if record != "contact":
        return (true(),)
    done = table_of(Contact).c.outcome_at
    return (done.is_(None), done >= received_from)


def judged(record: str) -> ColumnElement[bool]:
    """The records a timeliness figure judges: contacts and referrals marked ``untimed``
    (Annex A and CIN census records, stored completed on receipt) have no real completion
    time, so they count in volumes only."""
    if record == "contact":
        return table_of(Contact).c.untimed.is_(False)
    if record == "referral":
        return table_of(Referral).c.untimed.is_(False)
    return true()


def _working_hours_timely(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    t: _Terms,
    teams: Sequence[str],
    counts: Counts,
    prefix: str,
    rationale_by: datetime,
) -> None:
    # Working hours (contacts/referrals only) have no closed form in SQL: check the weeks'
    # candidates, already narrowed by SQL to those whose due moment is in a week.
    c, rid, done = record_columns(rule.record)
    due_of = due_function(rule, cal)
    reason = rationale_for(rule.id, rid, rationale_by)
    query = select(c.team_id, t.bucket, c.received_at, done, reason).where(
        t.due_in_range, c.team_id.in_(teams), judged(rule.record)
    )
    for team, i, received, completed, has_reason in conn.execute(query):
        met = completed is not None and completed <= due_of(received)
        if i >= 0:
            _add(counts[i][team], prefix, rule.id, 1, int(met), int(not met and bool(has_reason)))


def instant_timed(record: str, cal: WorkingCalendar) -> _Timed:
    c, _, done = record_columns(record)
    table = table_of(Contact if record == "contact" else Referral)

    def start_in(lo: datetime, hi: datetime, _a: date, _b: date) -> ColumnElement[bool]:
        return and_(c.received_at >= lo, c.received_at < hi)

    return _Timed(
        team=c.team_id,
        record_id=c.contact_id if record == "contact" else c.referral_id,
        child_id=c.child_id,
        starts=(c.received_at,),
        start_in=start_in,
        done_by_day=lambda day: done <= cal.end_of_day(day),
        from_=table,
        instant=c.received_at,
    )


def s47_timed() -> _Timed:
    s47, discussion = table_of(S47Enquiry), table_of(StrategyDiscussion)
    s, d = s47.c, discussion.c

    def start_in(lo: datetime, hi: datetime, a: date, b: date) -> ColumnElement[bool]:
        return or_(
            and_(d.held_at.is_not(None), d.held_at >= lo, d.held_at < hi),
            and_(d.held_at.is_(None), s.start_date >= a, s.start_date <= b),
        )

    return _Timed(
        team=s.team_id,
        record_id=s.s47_id,
        child_id=s.child_id,
        starts=(d.held_at, s.start_date),
        start_in=start_in,
        done_by_day=lambda day: or_(s.icpc_not_required.is_(True), s.icpc_date <= day),
        from_=s47.outerjoin(discussion, d.discussion_id == s.discussion_id),
    )


def assessment_timed() -> _Timed:
    assessment, referral = table_of(Assessment), table_of(Referral)
    a, r = assessment.c, referral.c

    def start_in(lo: datetime, hi: datetime, _a: date, _b: date) -> ColumnElement[bool]:
        return and_(r.received_at >= lo, r.received_at < hi)

    return _Timed(
        team=a.team_id,
        record_id=a.assessment_id,
        child_id=a.child_id,
        starts=(r.received_at,),
        start_in=start_in,
        done_by_day=lambda day: a.authorised_date <= day,
        from_=assessment.join(referral, r.referral_id == a.referral_id),
        instant=r.received_at,
    )


def timed_records(cal: WorkingCalendar) -> list[tuple[str, str, _Timed]]:
    """The four timescale record kinds as (record kind, counter prefix, SQL clock), in the
    report's order: what the figures and the breach list both walk."""
    return [
        ("contact", "contact", instant_timed("contact", cal)),
        ("referral", "referral", instant_timed("referral", cal)),
        ("s47_enquiry", "s47", s47_timed()),
        ("assessment", "assessment", assessment_timed()),
    ]
