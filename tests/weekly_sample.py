"""A hand-made weekly report (no database) for the view, template and XLSX tests.

Two teams, twelve weeks, a few breaches (one with a rationale, one attendance breach with no
due moment) and open items. ``sample_report()`` varies its figures week by week so the trend
is not flat; the report's own week is 2026-W47 (16-22 November 2026, GMT).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from frontdoor.digest_items import TeamContacts
from frontdoor.rules import load_rules
from frontdoor.weekly_figures import REPORT_AGENCIES, Ratio, TeamFigures, WeekFigures, combine
from frontdoor.weekly_lists import BreachLine, OpenItem
from frontdoor.weekly_report import Recipient, ReportData
from frontdoor.weeks import ReportWeek, weeks_back

LONDON = ZoneInfo("Europe/London")
WEEK = ReportWeek(2026, 47)
GENERATED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CASE_URLS = {"contact": "https://case.example.org/contacts/{record_id}"}
REPO = Path(__file__).resolve().parents[1]
RULES = load_rules(REPO / "rules")


def team(team_id: str, name: str) -> TeamContacts:
    return TeamContacts(team_id, name, "Pat Lee", "pat@example.org", "Jo Reed", "jo@example.org")


TEAMS = (team("DAT-A", "Duty and Advice A"), team("DAT-B", "Duty and Advice B"))


def figures(team_id: str | None, k: int) -> TeamFigures:
    """A team's figures in trend week ``k`` (0 oldest .. 11 the report's week)."""
    base = 3 if team_id == "DAT-A" else 5
    return TeamFigures(
        team_id=team_id,
        contacts_received=40 + base + k,
        contact_timely=Ratio(30 + k, 40 + base),
        breaches=base + k % 3,
        breaches_with_rationale=1,
        breaches_without_rationale=base + k % 3 - 1,
        breaches_by_rule={"contact-outcome-24h": base + k % 3 - 1, "strategy-partners": 1},
        open_contacts_24_48h=2,
        open_contacts_48_72h=1,
        open_contacts_over_72h=base,
        referral_timely=Ratio(7, 8),
        discussions_held=4,
        discussions_all_agencies=Ratio(1 + k % 2, 4),
        missing_by_agency=dict(zip(REPORT_AGENCIES, (2, 1, 0, 3), strict=True)),
        icpc_timely=Ratio(0, 0) if team_id == "DAT-B" else Ratio(2, 3),
        s47_open_past_limit=1,
        assessment_timely=Ratio(9, 10),
        assessments_open_past_limit=0,
        re_referrals=Ratio(1, 6),
    )


def sample_report(*, breaches: bool = True) -> ReportData:
    weeks = []
    for k, w in enumerate(weeks_back(WEEK, 12)):
        teams = [figures(t.team_id, k) for t in TEAMS]
        weeks.append(WeekFigures(week=w, teams=teams, total=combine(teams)))
    due = WEEK.start + timedelta(days=1, hours=10)
    day = timedelta(days=1)
    # BreachLine(rule, record, child, team, started, due, completed, has rationale)
    lines = (
        BreachLine("contact-outcome-24h", "C-1001", "CH-77", "DAT-A", due - day, due, None, False),
        BreachLine(
            "contact-outcome-24h",
            "C-1002",
            "CH-78",
            "DAT-B",
            due - day + timedelta(hours=3),
            due + timedelta(hours=3),
            due + day,
            True,
        ),
        BreachLine("strategy-partners", "SD-9", "CH-79", "DAT-A", due, None, None, False),
    )
    oldest = (
        OpenItem("contact", "C-0900", "CH-70", "DAT-A", WEEK.start - timedelta(days=9)),
        OpenItem("assessment", "A-50", "CH-71", "DAT-B", WEEK.start - timedelta(days=60)),
    )
    return ReportData(
        recipient=Recipient("jo@example.org", "Jo Reed", TEAMS),
        weeks=tuple(weeks),
        breaches=lines if breaches else (),
        oldest=tuple(sorted(oldest, key=lambda i: i.started_at)),
        generated_at=GENERATED,
    )
