"""The weekly report's per-team sections (pure): contacts, referrals, strategy
discussions, S47 enquiries, assessments and breaches by rule, each a bar chart of the
team percentages and a by-team table (:mod:`frontdoor.report_tables`). Part of
:func:`frontdoor.weekly_view.build_report_view`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from frontdoor.digest_view import AGENCY_LABELS
from frontdoor.report_tables import (
    Cell,
    Chart,
    Column,
    ColumnKind,
    Section,
    Table,
    chart,
    count_cell,
    ratio_cell,
    text_cell,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weekly_figures import REPORT_AGENCIES, Ratio, TeamFigures
from frontdoor.weekly_report import ReportData
from frontdoor.weekly_timeliness import timescale_rule

#: A by-team column: header, kind, and how to make a team's cell.
Spec = tuple[str, ColumnKind, Callable[[TeamFigures], Cell]]


def _by_team(
    data: ReportData,
    sheet: str,
    title: str,
    columns: Sequence[Spec],
    labels: Mapping[str, str],
    note: str = "",
) -> Table:
    def row(f: TeamFigures) -> tuple[Cell, ...]:
        name = "Total" if f.team_id is None else labels.get(f.team_id, f.team_id)
        return (text_cell(name), *(make(f) for _, _, make in columns))

    current = data.current
    return Table(
        sheet=sheet,
        title=title,
        columns=(Column("Team", "text", 28), *(Column(h, k, None) for h, k, _ in columns)),
        rows=tuple(row(f) for f in current.teams),
        total=row(current.total),
        by_team=True,
        note=note,
    )


def _team_chart(data: ReportData, title: str, get: Callable[[TeamFigures], Ratio]) -> Chart:
    figs = (
        [*data.current.teams, data.current.total]
        if len(data.current.teams) > 1
        else [data.current.total]
    )
    labels = ["Total" if f.team_id is None else f.team_id for f in figs]
    return chart(title, labels, [get(f) for f in figs])


def _rule_columns(data: ReportData, rules: Sequence[TimescaleRule | AttendanceRule]) -> list[Spec]:
    seen = {r for f in data.current.teams for r in f.breaches_by_rule}
    ids = [r.id for r in rules if r.enabled or r.id in seen]
    ids += sorted(seen - set(ids))

    def by(rule_id: str) -> Callable[[TeamFigures], Cell]:
        return lambda f: count_cell(f.breaches_by_rule.get(rule_id, 0))

    return [(rule_id, "count", by(rule_id)) for rule_id in ids] + [
        ("All rules", "count", lambda f: count_cell(f.breaches)),
        ("With a rationale", "count", lambda f: count_cell(f.breaches_with_rationale)),
        ("Without a rationale", "count", lambda f: count_cell(f.breaches_without_rationale)),
    ]


def _missing(agency: str) -> Callable[[TeamFigures], Cell]:
    return lambda f: count_cell(f.missing_by_agency[agency])


def limits(rules: Sequence[TimescaleRule | AttendanceRule]) -> dict[str, str]:
    """Per record kind, its timescale in words from the rule the figures use (the first
    enabled one): ``24 hours``, ``24 working hours``, ``1 working day``, ``15 working days``;
    ``its timescale`` when the kind has no rule."""
    out: dict[str, str] = {}
    for record in ("contact", "referral", "s47_enquiry", "assessment"):
        rule = timescale_rule(rules, record)
        if rule is None:
            out[record] = "its timescale"
            continue
        n = rule.limit
        unit = {
            "clock-hours": "hour",
            "working-hours": "working hour",
            "working-days": "working day",
        }
        out[record] = f"{n} {unit[rule.clock]}{'' if n == 1 else 's'}"
    return out


def team_sections(
    data: ReportData,
    rules: Sequence[TimescaleRule | AttendanceRule],
    labels: Mapping[str, str],
) -> tuple[Section, ...]:
    """The per-team sections of ``data``'s week; ``labels`` name the teams by id."""
    lim = limits(rules)
    agencies: list[Spec] = [
        (f"{AGENCY_LABELS.get(a, a).capitalize()} missing", "count", _missing(a))
        for a in REPORT_AGENCIES
    ]
    return (
        Section(
            "Contacts",
            f"Contacts received, outcomes within {lim['contact']}, breaches and what was "
            "still open.",
            (
                _team_chart(
                    data,
                    f"Contacts with an outcome within {lim['contact']}",
                    lambda f: f.contact_timely,
                ),
            ),
            (
                _by_team(
                    data,
                    "Contacts",
                    "Contacts",
                    [
                        ("Received", "count", lambda f: count_cell(f.contacts_received)),
                        (
                            f"Outcome within {lim['contact']}",
                            "ratio",
                            lambda f: ratio_cell(f.contact_timely),
                        ),
                        ("Breaches", "count", lambda f: count_cell(f.breaches)),
                        (
                            "With a rationale",
                            "count",
                            lambda f: count_cell(f.breaches_with_rationale),
                        ),
                        (
                            "Without a rationale",
                            "count",
                            lambda f: count_cell(f.breaches_without_rationale),
                        ),
                        ("Open 24-48 hours", "count", lambda f: count_cell(f.open_contacts_24_48h)),
                        ("Open 48-72 hours", "count", lambda f: count_cell(f.open_contacts_48_72h)),
                        (
                            "Open over 72 hours",
                            "count",
                            lambda f: count_cell(f.open_contacts_over_72h),
                        ),
                    ],
                    labels,
                    "Breaches here are of every rule; open counts are at the end of the week.",
                ),
            ),
        ),
        Section(
            "Referrals",
            f"Decisions within {lim['referral']}, and re-referrals within 12 months.",
            (
                _team_chart(
                    data, f"Referrals decided within {lim['referral']}", lambda f: f.referral_timely
                ),
            ),
            (
                _by_team(
                    data,
                    "Referrals",
                    "Referrals",
                    [
                        (
                            f"Decision within {lim['referral']}",
                            "ratio",
                            lambda f: ratio_cell(f.referral_timely),
                        ),
                        (
                            "Re-referrals within 12 months",
                            "ratio",
                            lambda f: ratio_cell(f.re_referrals),
                        ),
                    ],
                    labels,
                ),
            ),
        ),
        Section(
            "Strategy discussions",
            "Discussions held this week, and which agencies were missing.",
            (
                _team_chart(
                    data,
                    "Strategy discussions with every required agency",
                    lambda f: f.discussions_all_agencies,
                ),
            ),
            (
                _by_team(
                    data,
                    "Strategy discussions",
                    "Strategy discussions",
                    [
                        ("Held", "count", lambda f: count_cell(f.discussions_held)),
                        (
                            "Every required agency",
                            "ratio",
                            lambda f: ratio_cell(f.discussions_all_agencies),
                        ),
                        *agencies,
                    ],
                    labels,
                ),
            ),
        ),
        Section(
            "S47 enquiries and ICPCs",
            f"Initial child protection conferences within {lim['s47_enquiry']} of the strategy "
            "discussion.",
            (_team_chart(data, f"ICPCs within {lim['s47_enquiry']}", lambda f: f.icpc_timely),),
            (
                _by_team(
                    data,
                    "S47 and ICPC",
                    "S47 enquiries",
                    [
                        (
                            f"ICPC within {lim['s47_enquiry']}",
                            "ratio",
                            lambda f: ratio_cell(f.icpc_timely),
                        ),
                        (
                            f"Open past {lim['s47_enquiry']} without an ICPC",
                            "count",
                            lambda f: count_cell(f.s47_open_past_limit),
                        ),
                    ],
                    labels,
                ),
            ),
        ),
        Section(
            "Assessments",
            f"Assessments authorised within {lim['assessment']}.",
            (
                _team_chart(
                    data, f"Assessments within {lim['assessment']}", lambda f: f.assessment_timely
                ),
            ),
            (
                _by_team(
                    data,
                    "Assessments",
                    "Assessments",
                    [
                        (
                            f"Authorised within {lim['assessment']}",
                            "ratio",
                            lambda f: ratio_cell(f.assessment_timely),
                        ),
                        (
                            f"Open past {lim['assessment']}",
                            "count",
                            lambda f: count_cell(f.assessments_open_past_limit),
                        ),
                    ],
                    labels,
                ),
            ),
        ),
        Section(
            "Breaches by rule",
            "Breaches whose due moment fell this week, per rule, with and without a rationale.",
            (),
            (
                _by_team(
                    data, "Breaches by rule", "Breaches by rule", _rule_columns(data, rules), labels
                ),
            ),
        ),
    )
