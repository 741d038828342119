"""What the weekly report says (pure): :func:`build_report_view` turns
:class:`~frontdoor.weekly_report.ReportData` into a :class:`ReportView` of sections, bar
charts and typed tables (:mod:`frontdoor.report_tables`). The HTML and text templates
(``templates/email/weekly-report-*``) and the XLSX writer only print what is here, so every
figure is worded and rounded once.

Data protection: record, child and team ids, team names, rule ids and times only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo

from frontdoor.digest_view import (
    format_case_url,
    format_duration,
    format_when,
    team_label,
)
from frontdoor.report_tables import (
    Column,
    Section,
    Table,
    chart,
    count_cell,
    count_change,
    percent_text,
    point_change,
    ratio_cell,
    text_cell,
    when_cell,
)
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.weekly_figures import Ratio, TeamFigures
from frontdoor.weekly_lists import BreachLine, OpenItem
from frontdoor.weekly_report import ReportData
from frontdoor.weekly_sections import Spec, limits, team_sections
from frontdoor.weeks import ReportWeek

RECORD_LABELS = {
    "contact": "Contact",
    "referral": "Referral",
    "strategy_discussion": "Strategy discussion",
    "s47_enquiry": "S47 enquiry",
    "assessment": "Assessment",
}

#: The most breaches the e-mail lists (the XLSX lists them all): a long list would make
#: the message too big for webmail (Gmail cuts messages over about 100 KB).
BREACHES_SHOWN = 100

#: How each figure is counted, printed at the end of every report.
DEFINITIONS = (
    "Every percentage is numerator / denominator; '-' means there was nothing to measure.",
    "Timeliness (contacts, referrals, ICPC, assessments) counts each record in the week its "
    "due moment fell in, so every record counts in exactly one week, as breaches do.",
    "Contacts and referrals imported from Annex A or the CIN census have dates but no times: "
    "they count in 'received' and re-referrals, never in contact or referral timeliness.",
    "A breach counts in the week its due moment fell in (strategy discussions: the week "
    "they were held). 'With rationale' means a manager recorded one for the item by the time "
    "the report was made.",
    "Open at week end: contacts received by the end of the week with no outcome recorded "
    "by then, by age.",
    "Strategy discussions: all required agencies attended ('attended = Y'); an agency is "
    "missing when the discussion has no attendance row for it with 'attended = Y'.",
    "Re-referrals: referrals received in the week whose child had another referral in the "
    "365 days before.",
    "Open past the limit: S47 enquiries without an ICPC (or ICPC not required) and "
    "assessments not authorised, overdue at the end of the week.",
)


@dataclass(frozen=True)
class ReportView:
    """The whole report, ready to print. ``tables`` (the summary, every section's tables,
    then the appendix) is also the XLSX's sheet order."""

    kind: str
    subject: str
    preheader: str
    heading: str
    week_label: str
    period: str
    timezone: str
    generated: str
    recipient_name: str
    team_labels: tuple[str, ...]
    summary: Table
    sections: tuple[Section, ...]
    trend: Section
    appendix: tuple[Table, ...]
    definitions: tuple[str, ...]
    rule_lines: tuple[str, ...]

    @property
    def tables(self) -> tuple[Table, ...]:
        inner = tuple(t for s in (*self.sections, self.trend) for t in s.tables)
        return (self.summary, *inner, *self.appendix)


def period_text(week: ReportWeek) -> str:
    """``Monday 16 November to Sunday 22 November 2026`` (year once when both days share it)."""
    mon, sun = week.monday, week.sunday
    first = f"Monday {mon.day} {mon:%B}" + ("" if mon.year == sun.year else f" {mon.year}")
    return f"{first} to Sunday {sun.day} {sun:%B %Y}"


def _summary(data: ReportData, lim: Mapping[str, str]) -> Table:
    now, before = data.current.total, data.previous.total
    counts: list[tuple[str, Callable[[TeamFigures], int | None]]] = [
        ("Contacts received", lambda f: f.contacts_received),
        ("Breaches", lambda f: f.breaches),
        ("Breaches without a rationale", lambda f: f.breaches_without_rationale),
        ("Contacts open over 72 hours at week end", lambda f: f.open_contacts_over_72h),
        ("Strategy discussions held", lambda f: f.discussions_held),
        ("S47 enquiries open past the limit without an ICPC", lambda f: f.s47_open_past_limit),
        ("Assessments open past the limit", lambda f: f.assessments_open_past_limit),
    ]
    ratios: list[tuple[str, Callable[[TeamFigures], Ratio]]] = [
        (f"Contacts with an outcome within {lim['contact']}", lambda f: f.contact_timely),
        (f"Referrals decided within {lim['referral']}", lambda f: f.referral_timely),
        ("Strategy discussions with every required agency", lambda f: f.discussions_all_agencies),
        (f"ICPCs within {lim['s47_enquiry']}", lambda f: f.icpc_timely),
        (f"Assessments within {lim['assessment']}", lambda f: f.assessment_timely),
        ("Re-referrals within 12 months", lambda f: f.re_referrals),
    ]
    rows = [
        (
            text_cell(name),
            ratio_cell(get(now)),
            ratio_cell(get(before)),
            point_change(get(now), get(before)),
        )
        for name, get in ratios
    ] + [
        (
            text_cell(name),
            count_cell(get(now)),
            count_cell(get(before)),
            count_change(get(now), get(before)),
        )
        for name, get in counts
    ]
    return Table(
        sheet="Summary",
        title="This week and the week before (all your teams)",
        columns=(
            Column("Figure", "text", 48),
            Column("This week", "figure"),
            Column("Week before", "figure"),
            Column("Change (points or count)", "change"),
        ),
        rows=tuple(rows),
    )


def _trend(data: ReportData, lim: Mapping[str, str]) -> Section:
    weeks = data.weeks

    def label(w: ReportWeek) -> str:
        return f"{w.label} ({w.monday.day} {w.monday:%b})"

    labels = [label(w.week) for w in weeks]
    cols: list[Spec] = [
        ("Contacts received", "count", lambda f: count_cell(f.contacts_received)),
        (f"Outcome within {lim['contact']}", "ratio", lambda f: ratio_cell(f.contact_timely)),
        ("Breaches", "count", lambda f: count_cell(f.breaches)),
        ("Every required agency", "ratio", lambda f: ratio_cell(f.discussions_all_agencies)),
        (f"ICPC within {lim['s47_enquiry']}", "ratio", lambda f: ratio_cell(f.icpc_timely)),
        ("Re-referrals", "ratio", lambda f: ratio_cell(f.re_referrals)),
    ]
    table = Table(
        sheet="Trend",
        title=f"The last {len(weeks)} weeks (all your teams)",
        columns=(Column("Week", "text", 18), *(Column(h, k) for h, k, _ in cols)),
        rows=tuple(
            (text_cell(w.week.label), *(make(w.total) for _, _, make in cols)) for w in weeks
        ),
    )
    return Section(
        title=f"Trend over {len(weeks)} weeks",
        intro="All your teams together, oldest week first.",
        charts=(
            chart(
                f"Contacts with an outcome within {lim['contact']}",
                labels,
                [w.total.contact_timely for w in weeks],
            ),
            chart(
                "Strategy discussions with every required agency",
                labels,
                [w.total.discussions_all_agencies for w in weeks],
            ),
        ),
        tables=(table,),
    )


def _breach_table(
    lines: Sequence[BreachLine],
    rules: Sequence[TimescaleRule | AttendanceRule],
    case_urls: Mapping[str, str],
    tz: tzinfo,
) -> Table:
    kinds = {r.id: r.record for r in rules}
    return Table(
        sheet="Breaches",
        title="Every breach due this week",
        columns=(
            Column("Rule", "text", 26),
            Column("Record", "text", 14),
            Column("Child", "text", 12),
            Column("Team", "text", 10),
            Column("Started", "when", 17),
            Column("Due", "when", 17),
            Column("Completed", "when", 17),
            Column("Rationale", "text", 10),
        ),
        rows=tuple(
            (
                text_cell(b.rule_id),
                text_cell(b.record_id, case_url(kinds.get(b.rule_id), b, case_urls)),
                text_cell(b.child_id),
                text_cell(b.team_id),
                when_cell(b.started_at, tz),
                when_cell(b.due_at, tz),
                when_cell(b.completed_at, tz),
                text_cell("yes" if b.has_rationale else "no"),
            )
            for b in lines
        ),
        note=(
            "Started: received, held or started (a date counts from 00:00). Due: '-' for "
            "strategy discussions missing an agency. Completed: '-' if not completed."
        ),
        empty="No breach fell due this week.",
        shown_limit=BREACHES_SHOWN,
    )


def case_url(
    kind: str | None, item: BreachLine | OpenItem, case_urls: Mapping[str, str]
) -> str | None:
    """The case-system link for a listed record, from its kind's URL template."""
    return format_case_url(case_urls.get(kind or ""), item.record_id, item.child_id, item.team_id)


def _oldest_table(
    items: Sequence[OpenItem], end: ReportWeek, case_urls: Mapping[str, str], tz: tzinfo
) -> Table:
    return Table(
        sheet="Oldest open",
        title=f"The {len(items)} oldest items open at week end" if items else "Oldest open items",
        columns=(
            Column("Record kind", "text", 18),
            Column("Record", "text", 14),
            Column("Child", "text", 12),
            Column("Team", "text", 10),
            Column("Open since", "when", 17),
            Column("Age at week end", "text", 14),
        ),
        rows=tuple(
            (
                text_cell(RECORD_LABELS.get(i.record, i.record)),
                text_cell(i.record_id, case_url(i.record, i, case_urls)),
                text_cell(i.child_id),
                text_cell(i.team_id),
                when_cell(i.started_at, tz),
                text_cell(format_duration(end.end - i.started_at)),
            )
            for i in items
        ),
        empty="Nothing was open at the end of the week.",
    )


def build_report_view(
    data: ReportData,
    *,
    rules: Sequence[TimescaleRule | AttendanceRule],
    tz: ZoneInfo,
    case_urls: Mapping[str, str],
) -> ReportView:
    """The view of one recipient's report; times are shown in ``tz``."""
    labels = {t.team_id: team_label(t) for t in data.recipient.teams}
    now = data.current.total
    week = data.week
    sections = team_sections(data, rules, labels)
    lim = limits(rules)
    subject = (
        f"Weekly report {week.label}: {percent_text(now.contact_timely)} of contacts within "
        f"{lim['contact']}, {now.breaches} breach{'es' if now.breaches != 1 else ''} "
        f"({now.breaches_without_rationale} without a rationale)"
    )
    return ReportView(
        kind="weekly-report",
        subject=subject,
        preheader=(
            f"{period_text(week)}: {now.contacts_received} contacts, "
            f"{percent_text(now.discussions_all_agencies)} of strategy discussions with every "
            "required agency"
        ),
        heading=f"Front door weekly report, {week.label}",
        week_label=week.label,
        period=period_text(week),
        timezone=tz.key,
        generated=format_when(data.generated_at, tz),
        recipient_name=data.recipient.name,
        team_labels=tuple(labels.values()),
        summary=_summary(data, lim),
        sections=sections,
        trend=_trend(data, lim),
        appendix=(
            _breach_table(data.breaches, rules, case_urls, tz),
            _oldest_table(data.oldest, week, case_urls, tz),
        ),
        definitions=DEFINITIONS,
        # The council's own wording of each rule (its rule file), else the generated one.
        rule_lines=tuple(
            f"{r.id}: {r.description}" if r.description else r.summary() for r in rules if r.enabled
        ),
    )
