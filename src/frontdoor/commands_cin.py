"""``frontdoor import cin-census FILE.xml``: import a CIN census and say what happened.

Prints what was read, mapped, defaulted and rejected. Exit status: 0 when everything was
imported, 1 when anything was rejected, 2 when no team is configured (``--team`` or
FRONTDOOR_DEFAULT_TEAM) or the team is unknown. A file refused whole raises
:class:`~frontdoor.errors.FileRefused` (exit 2 via the CLI); so does a malformed file after
its report is printed (the children before the error were imported).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import structlog

from frontdoor.bootstrap import App
from frontdoor.cin_census import CinReport, import_cin_census
from frontdoor.commands_sources import print_rejects, run_source_import
from frontdoor.errors import FileRefused

log = structlog.get_logger()

_LABELS = {"referrals": "referrals", "assessments": "assessments", "s47": "S47 enquiries"}


def cin_census(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """Run the import for ``args.path`` (Path) with ``args.team`` (str or None)."""
    report = run_source_import(app, args, import_cin_census, source="the CIN census", now=now)
    if report is None:
        return 2
    print_report(report)
    log.info(
        "cin_census_import_finished",
        file=args.path.name,
        children=report.children,
        rejected=report.rejected,
        stopped_early=report.error is not None,
        **{
            f"{kind}_{n}": getattr(s, n)
            for kind, s in report.tables.items()
            for n in ("inserted", "updated", "unchanged")
        },
    )
    if report.error is not None:
        raise FileRefused(report.error)
    return 1 if report.partial else 0


def print_report(report: CinReport, *, limit: int = 10) -> None:
    """The human report on stdout; the first ``limit`` rejects too."""
    out = sys.stdout.write
    state = ""
    if report.error is not None:
        state = " - stopped early, partial import"
    elif report.partial:
        state = " - partial import"
    out(
        f"{report.path.name} (CIN census): {report.children} child(ren) read, "
        f"{report.children_rejected} rejected whole{state}\n"
    )
    for kind, s in report.tables.items():
        out(
            f"  {_LABELS[kind]}: read {s.read}, inserted {s.inserted}, updated {s.updated}, "
            f"unchanged {s.unchanged}, rejected {s.rejected}\n"
        )
    out(
        f"  defaulted: team {report.team_id} on {report.defaulted_team} mapped record(s) (the "
        "census has no team)\n"
    )
    out(
        f"  defaulted: {report.defaulted_times} referral(s) received at 00:00 local time on "
        "CINreferralDate, decision time set to the receipt time (the census has dates only; "
        "the referral 1-working-day rule is not judged from it)\n"
    )
    out(
        "  not mapped: strategy discussions (the census has none; the ICPC clock starts at "
        "S47ActualStartDate), contacts, CIN plans, CP plans, InitialCPCtarget\n"
    )
    print_rejects(out, report.problems, report.rejects, limit=limit, saved=report.spill)
