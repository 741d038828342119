"""The weekly report's lists (database adapter): every breach whose due moment fell in the
week (read from the records, like the figures), and the oldest items still open at an
instant. The figures are
:mod:`frontdoor.weekly_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Connection,
    and_,
    false,
    func,
    or_,
    select,
    true,
)

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import due_function, record_columns
from frontdoor.models import (
    Assessment,
    S47Enquiry,
    StrategyAttendance,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weekly_timeliness import (
    attendance_rule,
    missed_rows,
    rationale_for,
    timed_records,
    timescale_rule,
)
from frontdoor.weeks import ReportWeek


@dataclass(frozen=True)
class BreachLine:
    """One breach of the week for the appendix: a record due in the week that did not meet
    its due moment, or a strategy discussion held in the week without every required agency.

    ``started_at`` is when its clock started (received; the discussion held; for a date,
    00:00 local on it); ``due_at`` None for attendance breaches; ``completed_at`` when the
    record was completed (a date as 00:00 local on it; None: not completed, and always for
    attendance); ``has_rationale`` as for ``breaches_with_rationale``."""

    rule_id: str
    record_id: str
    child_id: str
    team_id: str
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    has_rationale: bool


def breach_list(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    week: ReportWeek,
    *,
    team_ids: Sequence[str],
    rationale_by: datetime | None = None,
) -> list[BreachLine]:
    """Every breach whose due moment (attendance: the discussion) fell in ``week`` for the
    teams, by the same definitions as :func:`frontdoor.weekly_figures.week_figures` (so
    the list has exactly ``breaches`` lines), ordered by due moment (attendance: held
    time), rule and record id."""
    teams = list(team_ids)
    by = week.end if rationale_by is None else rationale_by
    lines: list[BreachLine] = []
    for record, _, timed in timed_records(cal):
        rule = timescale_rule(rules, record)
        if rule is None:
            continue
        due_of = due_function(rule, cal)
        for rid, child, team, done, reason, *starts in missed_rows(
            conn, rule, cal, week, timed, teams, rationale_by=by
        ):
            start = _start(starts, cal)
            lines.append(
                BreachLine(
                    rule.id,
                    rid,
                    child,
                    team,
                    start,
                    due_of(start),
                    _instant(done, cal),
                    bool(reason),
                )
            )
    lines += _attendance_lines(conn, rules, week, teams, by)
    lines.sort(key=lambda b: (b.due_at or b.started_at, b.rule_id, b.record_id))
    return lines


def _start(starts: Sequence[datetime | date | None], cal: WorkingCalendar) -> datetime:
    """The clock start: the first start column that is set (an S47 enquiry's discussion
    ``held_at``, else its ``start_date`` at 00:00 local)."""
    for value in starts:
        if value is not None:
            got = _instant(value, cal)
            assert got is not None
            return got
    raise ValueError("a record without a start")  # the columns are NOT NULL


def _instant(value: datetime | date | None, cal: WorkingCalendar) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return cal.start_of_day(value)


def _attendance_lines(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    week: ReportWeek,
    teams: Sequence[str],
    by: datetime,
) -> list[BreachLine]:
    rule = attendance_rule(rules)
    if rule is None:
        return []
    d = table_of(StrategyDiscussion).c
    a = table_of(StrategyAttendance).c
    present = (
        select(func.count())
        .where(
            a.discussion_id == d.discussion_id,
            a.attended == true(),
            a.agency.in_(list(rule.required_agencies)),
        )
        .scalar_subquery()
    )
    query = select(
        d.discussion_id,
        d.child_id,
        d.team_id,
        d.held_at,
        rationale_for(rule.id, d.discussion_id, by),
    ).where(
        d.held_at >= week.start,
        d.held_at < week.end,
        d.team_id.in_(teams),
        present < len(rule.required_agencies),
    )
    return [
        BreachLine(rule.id, rid, child, team, held, None, None, bool(reason))
        for rid, child, team, held, reason in conn.execute(query)
    ]


@dataclass(frozen=True)
class OpenItem:
    """A record still open at an instant, for the "oldest open items" appendix.

    ``record`` is ``contact``, ``referral``, ``s47_enquiry`` or ``assessment``; ``started_at``
    is when the record exists from (``received_at``, or 00:00 local on its ``start_date``).
    """

    record: str
    record_id: str
    child_id: str
    team_id: str
    started_at: datetime


def oldest_open(
    conn: Connection,
    cal: WorkingCalendar,
    *,
    at: datetime,
    team_ids: Sequence[str],
    limit: int = 10,
) -> list[OpenItem]:
    """The ``limit`` oldest records of the teams that exist at ``at`` and have no completion
    recorded by then (contacts without ``outcome_at``, referrals without ``decision_at``,
    S47 enquiries without ``icpc_date`` or ``icpc_not_required = Y``, assessments without
    ``authorised_date``), oldest first (ties by record kind and id). One bounded query per
    record kind (``ORDER BY start LIMIT``), merged here."""
    teams = list(team_ids)
    today = cal.local_date(at)
    items: list[OpenItem] = []
    for record in ("contact", "referral"):
        c, rid, done = record_columns(record)
        # Two branches, each a bounded range on its own index: never completed (the
        # partial index on open records), and completed after ``at``.
        # In the second, the sort key is wrapped in an expression so that SQLite searches
        # the completion index (decided after ``at``: few rows) instead of walking the
        # whole received_at index in order looking for them.
        for open_at, key in (
            (done.is_(None), c.received_at),
            (done > at, func.coalesce(c.received_at, c.received_at)),
        ):
            query = (
                select(rid, c.child_id, c.team_id, c.received_at)
                .where(open_at, c.team_id.in_(teams), c.received_at <= at)
                .order_by(key, rid)
                .limit(limit)
            )
            items += [OpenItem(record, *row) for row in conn.execute(query)]
    s = table_of(S47Enquiry).c
    a = table_of(Assessment).c
    for record, cols, open_ in (
        (
            "s47_enquiry",
            (s.s47_id, s.child_id, s.team_id, s.start_date),
            and_(
                or_(s.icpc_date.is_(None), s.icpc_date > today),
                or_(s.icpc_not_required.is_(None), s.icpc_not_required == false()),
                s.start_date <= today,
                s.team_id.in_(teams),
            ),
        ),
        (
            "assessment",
            (a.assessment_id, a.child_id, a.team_id, a.start_date),
            and_(
                or_(a.authorised_date.is_(None), a.authorised_date > today),
                a.start_date <= today,
                a.team_id.in_(teams),
            ),
        ),
    ):
        query = select(*cols).where(open_).order_by(cols[3], cols[0]).limit(limit)
        items += [
            OpenItem(record, rid, child, team, cal.start_of_day(day))
            for rid, child, team, day in conn.execute(query)
        ]
    items.sort(key=lambda i: (i.started_at, i.record, i.record_id))
    return items[:limit]
