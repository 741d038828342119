"""The weekly report's figures as values (pure): :class:`Ratio`, one team's
:class:`TeamFigures`, one week's :class:`WeekFigures`, and summing teams together
(:func:`combine`, :func:`restrict`). The SQL that computes them is
:mod:`frontdoor.weekly_figures`, whose docstring defines every figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from frontdoor.weeks import ReportWeek

REPORT_AGENCIES = ("police", "health", "local_authority", "education")


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
    docstring for each definition. The figures "at week end" (open contacts by age, open
    past the limit) are None for weeks computed without them (the trend's older weeks)."""

    team_id: str | None
    contacts_received: int
    contact_timely: Ratio
    breaches: int
    breaches_with_rationale: int
    breaches_without_rationale: int
    breaches_by_rule: Mapping[str, int]
    open_contacts_24_48h: int | None
    open_contacts_48_72h: int | None
    open_contacts_over_72h: int | None
    referral_timely: Ratio
    discussions_held: int
    discussions_all_agencies: Ratio
    missing_by_agency: Mapping[str, int]
    icpc_timely: Ratio
    s47_open_past_limit: int | None
    assessment_timely: Ratio
    assessments_open_past_limit: int | None
    re_referrals: Ratio


@dataclass(frozen=True)
class WeekFigures:
    """The figures of one week: per team (in ``team_ids`` order) and in total."""

    week: ReportWeek
    teams: list[TeamFigures]
    total: TeamFigures


def combine(parts: Sequence[TeamFigures], team_id: str | None = None) -> TeamFigures:
    """The figures of several teams together (every count and both sides of every ratio
    summed): the total of a service manager's teams out of a report over all teams."""
    by_rule: Counter[str] = Counter()  # the parts list no rule with 0, nor will the sum
    missing: Counter[str] = Counter(dict.fromkeys(REPORT_AGENCIES, 0))
    for p in parts:
        by_rule.update(p.breaches_by_rule)
        missing.update(p.missing_by_agency)

    def total(name: str) -> int:
        return sum(int(getattr(p, name)) for p in parts)

    def at_end(name: str) -> int | None:
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else sum(values)

    def ratio(name: str) -> Ratio:
        rs = [getattr(p, name) for p in parts]
        return Ratio(sum(r.numerator for r in rs), sum(r.denominator for r in rs))

    return TeamFigures(
        team_id=team_id,
        contacts_received=total("contacts_received"),
        contact_timely=ratio("contact_timely"),
        breaches=total("breaches"),
        breaches_with_rationale=total("breaches_with_rationale"),
        breaches_without_rationale=total("breaches_without_rationale"),
        breaches_by_rule=dict(sorted(by_rule.items())),
        open_contacts_24_48h=at_end("open_contacts_24_48h"),
        open_contacts_48_72h=at_end("open_contacts_48_72h"),
        open_contacts_over_72h=at_end("open_contacts_over_72h"),
        referral_timely=ratio("referral_timely"),
        discussions_held=total("discussions_held"),
        discussions_all_agencies=ratio("discussions_all_agencies"),
        missing_by_agency={a: missing[a] for a in REPORT_AGENCIES},
        icpc_timely=ratio("icpc_timely"),
        s47_open_past_limit=at_end("s47_open_past_limit"),
        assessment_timely=ratio("assessment_timely"),
        assessments_open_past_limit=at_end("assessments_open_past_limit"),
        re_referrals=ratio("re_referrals"),
    )


def restrict(figures: WeekFigures, team_ids: Sequence[str]) -> WeekFigures:
    """``figures`` for ``team_ids`` only (in that order; a team not in ``figures`` is left
    out), with their total."""
    by_id = {t.team_id: t for t in figures.teams}
    teams = [by_id[t] for t in team_ids if t in by_id]
    return WeekFigures(week=figures.week, teams=teams, total=combine(teams))
