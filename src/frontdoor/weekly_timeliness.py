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
    """How one record kind's clock looks in SQL for the "due in the week" figures."""

    team: ColumnElement[str]
    # start in [instant lo, instant hi) or start date in [day lo, day hi] (both inclusive)
    start_in: Callable[[datetime, datetime, date, date], ColumnElement[bool]]
    done_by_day: Callable[[date], ColumnElement[bool]]
    from_: Any


def timely(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    week: ReportWeek,
    timed: _Timed,
    teams: Sequence[str],
    counts: dict[str, Counter[str]],
    prefix: str,
) -> None:
    """Adds ``<prefix>_due`` and ``<prefix>_met`` per team."""
    lo = start_threshold(rule, cal, now=week.start)
    hi = start_threshold(rule, cal, now=week.end)
    due_in_week = timed.start_in(lo.instant, hi.instant, lo.day + _DAY, hi.day)
    dialect = conn.dialect.name
    if rule.clock == "working-days":
        groups = _day_groups(rule, cal, lo.day + _DAY, hi.day)
        met: ColumnElement[bool] = or_(
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
    else:
        _working_hours_timely(conn, rule, cal, due_in_week, teams, counts, prefix)
        return
    for branch in contact_branches(rule.record, lo.instant):
        query = (
            select(timed.team, func.count(), count_if(met))
            .select_from(timed.from_)
            .where(branch, due_in_week, timed.team.in_(teams))
            .group_by(timed.team)
        )
        for team, due_n, met_n in conn.execute(query):
            counts[team][f"{prefix}_due"] += int(due_n)
            counts[team][f"{prefix}_met"] += int(met_n)


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


def _working_hours_timely(
    conn: Connection,
    rule: TimescaleRule,
    cal: WorkingCalendar,
    due_in_week: ColumnElement[bool],
    teams: Sequence[str],
    counts: dict[str, Counter[str]],
    prefix: str,
) -> None:
    # Working hours (contacts/referrals only) have no closed form in SQL: check the week's
    # candidates, already narrowed by SQL to those whose due moment is in the week.
    c, _, done = record_columns(rule.record)
    due_of = due_function(rule, cal)
    query = select(c.team_id, c.received_at, done).where(due_in_week, c.team_id.in_(teams))
    for team, received, completed in conn.execute(query):  # one week of records
        counts[team][f"{prefix}_due"] += 1
        if completed is not None and completed <= due_of(received):
            counts[team][f"{prefix}_met"] += 1


def instant_timed(record: str, cal: WorkingCalendar) -> _Timed:
    c, _, done = record_columns(record)
    table = table_of(Contact if record == "contact" else Referral)

    def start_in(lo: datetime, hi: datetime, _a: date, _b: date) -> ColumnElement[bool]:
        return and_(c.received_at >= lo, c.received_at < hi)

    return _Timed(
        team=c.team_id,
        start_in=start_in,
        done_by_day=lambda day: done <= cal.end_of_day(day),
        from_=table,
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
        start_in=start_in,
        done_by_day=lambda day: a.authorised_date <= day,
        from_=assessment.join(referral, r.referral_id == a.referral_id),
    )
