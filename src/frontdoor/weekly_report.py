"""Gathering the weekly report's data (database adapter): who gets a report, and the
figures, trend and lists for each of them.

Each service manager in the teams file gets one report covering their teams. The figures
of every week in the trend are computed once for all teams together
(:func:`frontdoor.weekly_figures.week_figures`, set-based) and then cut per manager
(:func:`frontdoor.weekly_figures.restrict`), so the cost does not grow with the number of
managers. Nothing here formats anything (:mod:`frontdoor.weekly_view` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from frontdoor.clock import WorkingCalendar
from frontdoor.digest_items import TeamContacts
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weekly_figures import WeekFigures, restrict, weeks_figures
from frontdoor.weekly_lists import BreachLine, OpenItem, breach_list, oldest_open
from frontdoor.weeks import ReportWeek, weeks_back

#: Weeks in the trend, the report's own week included.
TREND_WEEKS = 12
#: Items in the "oldest open" appendix.
OLDEST_ITEMS = 10


@dataclass(frozen=True)
class Recipient:
    """A service manager and the teams their report covers (sorted by team id).
    ``email`` is lower-cased: addresses differing only in case are one mailbox."""

    email: str
    name: str
    teams: tuple[TeamContacts, ...]

    @property
    def team_ids(self) -> list[str]:
        return [t.team_id for t in self.teams]


def recipients(teams: Sequence[TeamContacts]) -> list[Recipient]:
    """One :class:`Recipient` per service manager address in ``teams`` (sorted by address;
    the name is the first one given for the address). Teams without a service manager
    address get no report."""
    grouped: dict[str, list[TeamContacts]] = {}
    names: dict[str, str] = {}
    for team in sorted(teams, key=lambda t: t.team_id):
        email = team.service_manager_email.strip().lower()
        if not email:
            continue
        grouped.setdefault(email, []).append(team)
        names.setdefault(email, team.service_manager_name.strip())
    return [Recipient(e, names[e], tuple(grouped[e])) for e in sorted(grouped)]


def all_teams_recipient(teams: Sequence[TeamContacts], label: str) -> Recipient:
    """A pseudo-recipient covering every team (the whole front door's report for the
    analyst); ``label`` stands in for the address."""
    return Recipient(label, "All teams", tuple(sorted(teams, key=lambda t: t.team_id)))


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows. ``weeks`` are :data:`TREND_WEEKS` consecutive weeks,
    oldest first, ending with the report's week; ``breaches`` every breach whose due moment
    fell in the week; ``oldest`` the oldest items still open at week end."""

    recipient: Recipient
    weeks: tuple[WeekFigures, ...]
    breaches: tuple[BreachLine, ...]
    oldest: tuple[OpenItem, ...]
    generated_at: datetime

    @property
    def week(self) -> ReportWeek:
        return self.weeks[-1].week

    @property
    def current(self) -> WeekFigures:
        return self.weeks[-1]

    @property
    def previous(self) -> WeekFigures:
        return self.weeks[-2]


def gather(
    conn: Connection,
    rules: Sequence[TimescaleRule | AttendanceRule],
    cal: WorkingCalendar,
    week: ReportWeek,
    who: Sequence[Recipient],
    *,
    now: datetime,
    trend_weeks: int = TREND_WEEKS,
) -> list[ReportData]:
    """The data of each recipient's report for ``week``, in ``who`` order, read in one
    transaction by the caller (so every report sees the same snapshot). ``now`` is when the
    report is made: rationales recorded by then count (by the week's end if that is later)."""
    if trend_weeks < 2:
        raise ValueError("trend_weeks must be at least 2 (the week and the one before)")
    team_ids = sorted({t for r in who for t in r.team_ids})
    # Rationales count when recorded by the time the report is made: a breach late on
    # Sunday can only be explained after the week. The figures at week end are needed for
    # the report's week and the one before (the summary), not for the rest of the trend.
    by = max(now, week.end)
    run = weeks_back(week, trend_weeks)
    weeks = weeks_figures(
        conn, rules, cal, run, team_ids=team_ids, rationale_by=by, at_week_end=run[-2:]
    )
    breaches = breach_list(conn, rules, cal, week, team_ids=team_ids, rationale_by=by)
    out = []
    for r in who:
        mine = set(r.team_ids)
        out.append(
            ReportData(
                recipient=r,
                weeks=tuple(restrict(f, r.team_ids) for f in weeks),
                breaches=tuple(b for b in breaches if b.team_id in mine),
                oldest=tuple(
                    oldest_open(conn, cal, at=week.end, team_ids=r.team_ids, limit=OLDEST_ITEMS)
                ),
                generated_at=now,
            )
        )
    return out
