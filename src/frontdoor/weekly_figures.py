"""The figures of the weekly report (issue 5), computed set-based in SQL.

Every figure is per team (``GROUP BY team_id``) and in total, and every percentage comes with
its numerator and denominator (:class:`Ratio`). The week is ``[week.start, week.end)``: Monday
00:00 to the next Monday 00:00 local (:mod:`frontdoor.weeks`); "at week end" means at the
instant ``week.end``, with the contract's rules for what is recorded by then (instants count
from their moment, dates from 00:00 local, a completion exactly at the instant counts).

Definitions (numerator / denominator):

* ``contacts_received``: contacts with ``received_at`` in the week.
* ``contact_timely``: denominator = contacts whose due moment under the contact rule
  (``contact-outcome-24h`` by default: ``received_at + 24 h``) fell in the week; numerator =
  those with ``outcome_at <= due``. (So a contact received late on Sunday belongs to the next
  week's figure, when its 24 hours run out: every contact counts in exactly one week, the
  week its due moment fell in, as breaches do.)
* ``referral_timely``, ``icpc_timely``, ``assessment_timely``: the same for the referral,
  S47 and assessment rules (due moment in the week; met = completion on or before the due
  moment; ``icpc_not_required = Y`` meets the ICPC rule).
* ``breaches``: rows of the breach ledger (``breach``) whose ``due_at`` fell in the week; for
  attendance rules, which have no due moment, the discussion's ``held_at`` (``started_at``).
  ``breaches_with_rationale`` counts those with a ``rationale`` row for the same rule and
  record recorded at or before week end; ``breaches_without_rationale`` the rest.
  ``breaches_by_rule``: the breach count per rule id.
* ``open_contacts_24_48h`` / ``_48_72h`` / ``_over_72h``: contacts received before week end
  and without an outcome recorded by week end, aged (week end - ``received_at``) in
  [24 h, 48 h), [48 h, 72 h) and >= 72 h.
* ``discussions_held``: strategy discussions with ``held_at`` in the week.
  ``discussions_all_agencies``: of those, the ones where every agency required by the
  attendance rule has ``attended = Y``. ``missing_by_agency``: per agency (police, health,
  local_authority, education), discussions held in the week without ``attended = Y`` for it.
* ``s47_open_past_limit`` / ``assessments_open_past_limit``: records overdue and still open
  at week end (the monitor's own evaluation at ``now = week.end``).
* ``re_referrals``: denominator = referrals received in the week; numerator = those whose
  child has another referral received strictly before it and at most 365 days (8,760 clock
  hours) before it.

A due moment that needs the working-day calendar is never computed per row: the calendar
turns the week into the range of clock starts whose due moment falls in it
(:func:`frontdoor.evaluate.start_threshold` at the week's two ends) and, for the "met"
test, into at most a few start-date groups that share one due day. Only a working-hours rule
(not in the default rules) has its week's candidates checked in Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
from sqlalchemy.orm import aliased

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    assessment_open_query,
    due_function,
    record_columns,
    s47_open_query,
    start_threshold,
)
from frontdoor.models import (
    Assessment,
    Breach,
    Contact,
    Rationale,
    Referral,
    S47Enquiry,
    StrategyAttendance,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weeks import ReportWeek

REPORT_AGENCIES = ("police", "health", "local_authority", "education")
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Ratio:
    """A figure as numerator over denominator."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        """100 * numerator / denominator, None when the denominator is 0."""
        if self.denominator == 0:
            return None
        return 100 * self.numerator / self.denominator


@dataclass(frozen=True)
class TeamFigures:
    """The weekly figures of one team (or of all teams: ``team_id`` None). See the module
    docstring for each definition."""

    team_id: str | None
    contacts_received: int
    contact_timely: Ratio
    breaches: int
    breaches_with_rationale: int
    breaches_without_rationale: int
    breaches_by_rule: Mapping[str, int]
    open_contacts_24_48h: int
    open_contacts_48_72h: int
    open_contacts_over_72h: int
    referral_timely: Ratio
    discussions_held: int
    discussions_all_agencies: Ratio
    missing_by_agency: Mapping[str, int]
    icpc_timely: Ratio
    s47_open_past_limit: int
    assessment_timely: Ratio
    assessments_open_past_limit: int
    re_referrals: Ratio


@dataclass(frozen=True)
class WeekFigures:
    """The figures of one week: per team (in ``team_ids`` order) and in total."""

    week: ReportWeek
    teams: list[TeamFigures]
    total: TeamFigures


def _figures(team_id: str | None, c: Counter[str]) -> TeamFigures:
    by_rule = {k.split(":", 1)[1]: v for k, v in sorted(c.items()) if k.startswith("breach:")}
    return TeamFigures(
        team_id=team_id,
        contacts_received=c["contacts_received"],
        contact_timely=Ratio(c["contact_met"], c["contact_due"]),
        breaches=c["breaches"],
        breaches_with_rationale=c["breaches_rationale"],
        breaches_without_rationale=c["breaches"] - c["breaches_rationale"],
        breaches_by_rule=by_rule,
        open_contacts_24_48h=c["open_24_48"],
        open_contacts_48_72h=c["open_48_72"],
        open_contacts_over_72h=c["open_72"],
        referral_timely=Ratio(c["referral_met"], c["referral_due"]),
        discussions_held=c["discussions"],
        discussions_all_agencies=Ratio(c["discussions_full"], c["discussions"]),
        missing_by_agency={a: c[f"missing:{a}"] for a in REPORT_AGENCIES},
        icpc_timely=Ratio(c["s47_met"], c["s47_due"]),
        s47_open_past_limit=c["s47_open_past"],
        assessment_timely=Ratio(c["assessment_met"], c["assessment_due"]),
        assessments_open_past_limit=c["assessment_open_past"],
        re_referrals=Ratio(c["rereferrals"], c["referrals_received"]),
    )


def _count(flag: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((flag, 1), else_=0)), 0)


def _shift(column: ColumnElement[datetime], delta: timedelta, dialect: str) -> ColumnElement[Any]:
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


def _timescale(
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


def _timely(
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
        met = done <= _shift(c.received_at, rule.limit_delta, dialect)
    else:
        _working_hours_timely(conn, rule, cal, due_in_week, teams, counts, prefix)
        return
    for branch in _branches(rule.record, lo.instant):
        query = (
            select(timed.team, func.count(), _count(met))
            .select_from(timed.from_)
            .where(branch, due_in_week, timed.team.in_(teams))
            .group_by(timed.team)
        )
        for team, due_n, met_n in conn.execute(query):
            counts[team][f"{prefix}_due"] += int(due_n)
            counts[team][f"{prefix}_met"] += int(met_n)


def _branches(record: str, received_from: datetime) -> tuple[ColumnElement[bool], ...]:
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


def _instant_timed(record: str, cal: WorkingCalendar) -> _Timed:
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


def _s47_timed() -> _Timed:
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


def _assessment_timed() -> _Timed:
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


def week_figures(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    week: ReportWeek,
    *,
    team_ids: Sequence[str],
) -> WeekFigures:
    """The report's figures for ``week`` per team in ``team_ids`` and in total.

    ``rules`` supplies the timescales (the first enabled rule per record kind) and the
    attendance rule's required agencies; a figure whose rule is absent is 0 of 0.
    """
    teams = list(team_ids)
    counts: dict[str, Counter[str]] = {t: Counter() for t in teams}
    start, end = week.start, week.end
    dialect = conn.dialect.name

    # Contacts received; contacts open at week end, by age.
    ct = table_of(Contact).c
    for branch in _branches("contact", start):
        query = (
            select(ct.team_id, func.count())
            .where(branch, ct.team_id.in_(teams), ct.received_at >= start, ct.received_at < end)
            .group_by(ct.team_id)
        )
        for team, received in conn.execute(query):
            counts[team]["contacts_received"] += int(received)
    # Open at week end: no outcome at all, or one recorded after week end. Two queries, so
    # the first can use the partial index on open contacts (literal IS NULL).
    for open_at_end in (ct.outcome_at.is_(None), ct.outcome_at > end):
        query = (
            select(
                ct.team_id,
                _count(ct.received_at > end - 48 * _HOUR),
                _count(and_(ct.received_at > end - 72 * _HOUR, ct.received_at <= end - 48 * _HOUR)),
                _count(ct.received_at <= end - 72 * _HOUR),
            )
            .where(open_at_end, ct.received_at <= end - 24 * _HOUR, ct.team_id.in_(teams))
            .group_by(ct.team_id)
        )
        for team, o24, o48, o72 in conn.execute(query):
            counts[team]["open_24_48"] += int(o24)
            counts[team]["open_48_72"] += int(o48)
            counts[team]["open_72"] += int(o72)

    # Timeliness of the four timescale rules (due moment in the week).
    for record, prefix, timed in (
        ("contact", "contact", _instant_timed("contact", cal)),
        ("referral", "referral", _instant_timed("referral", cal)),
        ("s47_enquiry", "s47", _s47_timed()),
        ("assessment", "assessment", _assessment_timed()),
    ):
        rule = _timescale(rules, record)
        if rule is not None:
            _timely(conn, rule, cal, week, timed, teams, counts, prefix)

    # Overdue and open at week end (S47, assessments): the monitor's evaluation at week end.
    today = cal.local_date(end)
    for record, key, build in (
        ("s47_enquiry", "s47_open_past", s47_open_query),
        ("assessment", "assessment_open_past", assessment_open_query),
    ):
        rule = _timescale(rules, record)
        if rule is None:
            continue
        sub = build(start_threshold(rule, cal, now=end), today, dialect).subquery()
        team_col = sub.c.team_id
        query = select(team_col, func.count()).where(team_col.in_(teams)).group_by(team_col)
        for team, n in conn.execute(query):
            counts[team][key] += int(n)

    _breaches(conn, week, teams, counts)
    _discussions(conn, rules, week, teams, counts)
    _re_referrals(conn, week, teams, counts, dialect)

    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    return WeekFigures(
        week=week,
        teams=[_figures(t, counts[t]) for t in teams],
        total=_figures(None, total),
    )


def _in_week(week: ReportWeek) -> ColumnElement[bool]:
    b = table_of(Breach).c
    due_in = and_(b.due_at >= week.start, b.due_at < week.end)
    held_in = and_(b.due_at.is_(None), b.started_at >= week.start, b.started_at < week.end)
    return or_(due_in, held_in)


def _has_rationale(week: ReportWeek) -> ColumnElement[bool]:
    b = table_of(Breach).c
    r = table_of(Rationale).c
    return exists().where(
        r.rule_id == b.rule_id, r.record_id == b.record_id, r.recorded_at <= week.end
    )


def _breaches(
    conn: Connection, week: ReportWeek, teams: Sequence[str], counts: dict[str, Counter[str]]
) -> None:
    b = table_of(Breach).c
    query = (
        select(b.team_id, b.rule_id, func.count(), _count(_has_rationale(week)))
        .where(_in_week(week), b.team_id.in_(teams))
        .group_by(b.team_id, b.rule_id)
    )
    for team, rule_id, n, with_rationale in conn.execute(query):
        counts[team]["breaches"] += int(n)
        counts[team][f"breach:{rule_id}"] += int(n)
        counts[team]["breaches_rationale"] += int(with_rationale)


def _discussions(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    week: ReportWeek,
    teams: Sequence[str],
    counts: dict[str, Counter[str]],
) -> None:
    d = table_of(StrategyDiscussion).c
    a = table_of(StrategyAttendance).c
    required = next(
        (list(r.required_agencies) for r in rules if isinstance(r, AttendanceRule) and r.enabled),
        [],
    )

    def attended(agencies: Sequence[str]) -> ColumnElement[Any]:
        return (
            select(func.count())
            .where(
                a.discussion_id == d.discussion_id,
                a.attended == true(),
                a.agency.in_(list(agencies)),
            )
            .scalar_subquery()
        )

    full = attended(required) == len(required) if required else false()
    columns = [_count(full)] + [_count(attended([ag]) == 0) for ag in REPORT_AGENCIES]
    query = (
        select(d.team_id, func.count(), *columns)
        .where(d.held_at >= week.start, d.held_at < week.end, d.team_id.in_(teams))
        .group_by(d.team_id)
    )
    for team, n, n_full, *missing in conn.execute(query):
        counts[team]["discussions"] += int(n)
        counts[team]["discussions_full"] += int(n_full)
        for agency, m in zip(REPORT_AGENCIES, missing, strict=True):
            counts[team][f"missing:{agency}"] += int(m)


def _re_referrals(
    conn: Connection,
    week: ReportWeek,
    teams: Sequence[str],
    counts: dict[str, Counter[str]],
    dialect: str,
) -> None:
    referral = table_of(Referral)
    r = referral.c
    earlier = aliased(referral, name="earlier")
    e = earlier.c
    repeat = exists().where(
        e.child_id == r.child_id,
        e.referral_id != r.referral_id,
        e.received_at < r.received_at,
        e.received_at >= _shift(r.received_at, timedelta(days=-365), dialect),
    )
    query = (
        select(r.team_id, func.count(), _count(repeat))
        .where(r.received_at >= week.start, r.received_at < week.end, r.team_id.in_(teams))
        .group_by(r.team_id)
    )
    for team, n, repeats in conn.execute(query):
        counts[team]["referrals_received"] += int(n)
        counts[team]["rereferrals"] += int(repeats)


@dataclass(frozen=True)
class BreachLine:
    """One breach of the week for the appendix. ``resolved_at`` is when the monitor first
    saw the record closed (None: still open at the last scan)."""

    rule_id: str
    record_id: str
    child_id: str
    team_id: str
    due_at: datetime | None
    started_at: datetime
    resolved_at: datetime | None
    has_rationale: bool


def breach_list(conn: Connection, week: ReportWeek, *, team_ids: Sequence[str]) -> list[BreachLine]:
    """Every ledger breach whose due moment (attendance: ``held_at``) fell in ``week`` for
    the teams, ordered by due moment, rule and record id. ``has_rationale`` as for
    ``breaches_with_rationale``."""
    b = table_of(Breach).c
    query = (
        select(
            b.rule_id,
            b.record_id,
            b.child_id,
            b.team_id,
            b.due_at,
            b.started_at,
            b.resolved_at,
            _has_rationale(week),
        )
        .where(_in_week(week), b.team_id.in_(list(team_ids)))
        .order_by(func.coalesce(b.due_at, b.started_at), b.rule_id, b.record_id)
    )
    return [
        BreachLine(rule, record, child, team, due, started, resolved, bool(flag))
        for rule, record, child, team, due, started, resolved, flag in conn.execute(query)
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
        query = (
            select(rid, c.child_id, c.team_id, c.received_at)
            .where(
                c.team_id.in_(teams),
                c.received_at <= at,
                or_(done.is_(None), done > at),
            )
            .order_by(c.received_at, rid)
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
