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
* ``breaches``: the records counted in a timeliness denominator above that did not meet
  their due moment (late or still open), plus the strategy discussions held in the week
  without every required agency; so ``breaches`` per rule = denominator - numerator, and
  a breach counts in the week its due moment fell in. Read from the records, never from
  the breach ledger, so a record completed late between two scans still counts.
  ``breaches_with_rationale``: those with a ``rationale`` row for the same rule and record
  recorded by ``rationale_by`` (default week end; the report passes the time it is made);
  ``breaches_without_rationale`` the rest. ``breaches_by_rule``: per rule id.
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
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import aliased

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    assessment_open_query,
    s47_open_query,
    start_threshold,
)
from frontdoor.models import (
    Contact,
    Referral,
    StrategyAttendance,
    StrategyDiscussion,
    table_of,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weekly_timeliness import (
    Counts,
    attendance_rule,
    contact_branches,
    count_if,
    rationale_for,
    shift_instant,
    timed_records,
    timely,
    timescale_rule,
)
from frontdoor.weekly_types import REPORT_AGENCIES as REPORT_AGENCIES
from frontdoor.weekly_types import Ratio as Ratio
from frontdoor.weekly_types import TeamFigures as TeamFigures
from frontdoor.weekly_types import WeekFigures as WeekFigures
from frontdoor.weekly_types import combine as combine
from frontdoor.weekly_types import restrict as restrict
from frontdoor.weeks import ReportWeek

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


def _figures(team_id: str | None, c: Counter[str], ended: bool) -> TeamFigures:
    # Only rules with a breach (a rule whose records all met their timescale adds a 0).
    by_rule = {k.split(":", 1)[1]: v for k, v in sorted(c.items()) if k.startswith("breach:") and v}

    def at_end(key: str) -> int | None:
        return c[key] if ended else None

    return TeamFigures(
        team_id=team_id,
        contacts_received=c["contacts_received"],
        contact_timely=Ratio(c["contact_met"], c["contact_due"]),
        breaches=c["breaches"],
        breaches_with_rationale=c["breaches_rationale"],
        breaches_without_rationale=c["breaches"] - c["breaches_rationale"],
        breaches_by_rule=by_rule,
        open_contacts_24_48h=at_end("open_24_48"),
        open_contacts_48_72h=at_end("open_48_72"),
        open_contacts_over_72h=at_end("open_72"),
        referral_timely=Ratio(c["referral_met"], c["referral_due"]),
        discussions_held=c["discussions"],
        discussions_all_agencies=Ratio(c["discussions_full"], c["discussions"]),
        missing_by_agency={a: c[f"missing:{a}"] for a in REPORT_AGENCIES},
        icpc_timely=Ratio(c["s47_met"], c["s47_due"]),
        s47_open_past_limit=at_end("s47_open_past"),
        assessment_timely=Ratio(c["assessment_met"], c["assessment_due"]),
        assessments_open_past_limit=at_end("assessment_open_past"),
        re_referrals=Ratio(c["rereferrals"], c["referrals_received"]),
    )


def week_figures(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    week: ReportWeek,
    *,
    team_ids: Sequence[str],
    rationale_by: datetime | None = None,
) -> WeekFigures:
    """The report's figures for ``week`` per team in ``team_ids`` and in total, the
    figures at week end included; rationales count when recorded by ``rationale_by``
    (default: the week's end).

    ``rules`` supplies the timescales (the first enabled rule per record kind) and the
    attendance rule's required agencies; a figure whose rule is absent is 0 of 0.
    """
    return weeks_figures(
        conn, rules, cal, [week], team_ids=team_ids, rationale_by=rationale_by, at_week_end=[week]
    )[0]


def weeks_figures(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    weeks: Sequence[ReportWeek],
    *,
    team_ids: Sequence[str],
    rationale_by: datetime | None = None,
    at_week_end: Collection[ReportWeek] = (),
) -> list[WeekFigures]:
    """:func:`week_figures` for a run of consecutive ``weeks`` (oldest first), in one query
    per figure grouped by week and team rather than one per week (the 12-week trend costs
    about what its oldest week does). The figures at week end, which need the state at each
    week's end, are computed only for the weeks in ``at_week_end`` (None for the others).
    Rationales count when recorded by ``rationale_by`` (default: the last week's end).
    """
    if not weeks:
        return []
    if any(b.start != a.end for a, b in zip(weeks, weeks[1:], strict=False)):
        raise ValueError("weeks must be consecutive, oldest first")
    teams = list(team_ids)
    counts: Counts = {i: {t: Counter() for t in teams} for i in range(len(weeks))}
    by = weeks[-1].end if rationale_by is None else rationale_by
    first, last = weeks[0].start, weeks[-1].end

    # Contacts received, by the week they were received in.
    ct = table_of(Contact).c
    received = _bucket(ct.received_at, weeks)
    for branch in contact_branches("contact", first):
        query = (
            select(ct.team_id, received, func.count())
            .where(branch, ct.team_id.in_(teams), ct.received_at >= first, ct.received_at < last)
            .group_by(ct.team_id, received)
        )
        for team, i, n in conn.execute(query):
            counts[i][team]["contacts_received"] += int(n)

    # Timeliness of the four timescale rules (due moment in the week), and their breaches.
    for record, prefix, timed in timed_records(cal):
        rule = timescale_rule(rules, record)
        if rule is not None:
            timely(conn, rule, cal, weeks, timed, teams, counts, prefix, rationale_by=by)

    _discussions(conn, rules, weeks, teams, counts, by)
    _re_referrals(conn, weeks, teams, counts, conn.dialect.name)
    ended = {w.label for w in at_week_end}
    for i, week in enumerate(weeks):
        if week.label in ended:
            _at_week_end(conn, rules, cal, week, teams, counts[i])

    out = []
    for i, week in enumerate(weeks):
        total: Counter[str] = Counter()
        for c in counts[i].values():
            total.update(c)
        done = week.label in ended
        out.append(
            WeekFigures(
                week=week,
                teams=[_figures(t, counts[i][t], done) for t in teams],
                total=_figures(None, total, done),
            )
        )
    return out


def _bucket(column: ColumnElement[datetime], weeks: Sequence[ReportWeek]) -> ColumnElement[int]:
    """SQL: the index of the week ``column`` falls in, for rows already limited to
    ``[weeks[0].start, weeks[-1].end)`` (one comparison per week; -1 after the last)."""
    return case(*((column < w.end, i) for i, w in enumerate(weeks)), else_=-1)


def _at_week_end(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    week: ReportWeek,
    teams: Sequence[str],
    counts: dict[str, Counter[str]],
) -> None:
    """Contacts open at week end by age, and S47 enquiries and assessments overdue and open
    at week end (the monitor's own evaluation at that instant)."""
    ct = table_of(Contact).c
    end = week.end
    # Open at week end: no outcome at all, or one recorded after week end. Two queries, so
    # the first can use the partial index on open contacts (literal IS NULL).
    for open_at_end in (ct.outcome_at.is_(None), ct.outcome_at > end):
        query = (
            select(
                ct.team_id,
                count_if(ct.received_at > end - 48 * _HOUR),
                count_if(
                    and_(ct.received_at > end - 72 * _HOUR, ct.received_at <= end - 48 * _HOUR)
                ),
                count_if(ct.received_at <= end - 72 * _HOUR),
            )
            .where(open_at_end, ct.received_at <= end - 24 * _HOUR, ct.team_id.in_(teams))
            .group_by(ct.team_id)
        )
        for team, o24, o48, o72 in conn.execute(query):
            counts[team]["open_24_48"] += int(o24)
            counts[team]["open_48_72"] += int(o48)
            counts[team]["open_72"] += int(o72)
    today = cal.local_date(end)
    for record, key, build in (
        ("s47_enquiry", "s47_open_past", s47_open_query),
        ("assessment", "assessment_open_past", assessment_open_query),
    ):
        rule = timescale_rule(rules, record)
        if rule is None:
            continue
        sub = build(start_threshold(rule, cal, now=end), today, conn.dialect.name).subquery()
        team_col = sub.c.team_id
        past = select(team_col, func.count()).where(team_col.in_(teams)).group_by(team_col)
        for team, n in conn.execute(past):
            counts[team][key] += int(n)


def _discussions(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    weeks: Sequence[ReportWeek],
    teams: Sequence[str],
    counts: Counts,
    rationale_by: datetime,
) -> None:
    d = table_of(StrategyDiscussion).c
    a = table_of(StrategyAttendance).c
    rule = attendance_rule(rules)
    required = [] if rule is None else list(rule.required_agencies)

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
    reason = false() if rule is None else rationale_for(rule.id, d.discussion_id, rationale_by)
    columns = [
        count_if(full),
        count_if(and_(~full, reason)),
        *(count_if(attended([ag]) == 0) for ag in REPORT_AGENCIES),
    ]
    held = _bucket(d.held_at, weeks)
    query = (
        select(d.team_id, held, func.count(), *columns)
        .where(d.held_at >= weeks[0].start, d.held_at < weeks[-1].end, d.team_id.in_(teams))
        .group_by(d.team_id, held)
    )
    for team, i, n, n_full, reasoned, *missing in conn.execute(query):
        c = counts[i][team]
        c["discussions"] += int(n)
        c["discussions_full"] += int(n_full)
        if rule is not None:  # without an attendance rule nothing is a breach
            c["breaches"] += int(n) - int(n_full)
            c[f"breach:{rule.id}"] += int(n) - int(n_full)
            c["breaches_rationale"] += int(reasoned)
        for agency, m in zip(REPORT_AGENCIES, missing, strict=True):
            c[f"missing:{agency}"] += int(m)


def _re_referrals(
    conn: Connection,
    weeks: Sequence[ReportWeek],
    teams: Sequence[str],
    counts: Counts,
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
        e.received_at >= shift_instant(r.received_at, timedelta(days=-365), dialect),
    )
    received = _bucket(r.received_at, weeks)
    query = (
        select(r.team_id, received, func.count(), count_if(repeat))
        .where(
            r.received_at >= weeks[0].start,
            r.received_at < weeks[-1].end,
            r.team_id.in_(teams),
        )
        .group_by(r.team_id, received)
    )
    for team, i, n, repeats in conn.execute(query):
        counts[i][team]["referrals_received"] += int(n)
        counts[i][team]["rereferrals"] += int(repeats)
