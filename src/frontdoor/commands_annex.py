"""``frontdoor import annex-a FILE.xlsx``: import an Ofsted Annex A workbook and report.

Prints, per list (1 contacts, 3 referrals, 4 assessments, 5 S47 enquiries), the sheet and
header row used, rows read, mapped, written and rejected, and which fields were defaulted;
then the first rejects (file, sheet, row, column, reason; never cell text). Exit status: 0 when
everything was imported, 1 when any row or list was rejected, 2 when no team is configured
(``--team`` or FRONTDOOR_DEFAULT_TEAM) or the team is unknown. A file refused whole (not an
.xlsx workbook, no Annex A lists) raises :class:`~frontdoor.errors.FileRefused` (exit 2 via
the CLI). The CLI passes ``args.path`` (Path) and ``args.team`` (str or None).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import structlog

from frontdoor.annex_a import LIST_NO, AnnexAReport, import_annex_a
from frontdoor.bootstrap import App
from frontdoor.commands_sources import print_rejects, run_source_import

log = structlog.get_logger()

_LABELS = {
    "contacts": "contacts",
    "referrals": "referrals",
    "assessments": "assessments",
    "s47": "S47 enquiries",
}
#: Which rule each list can feed (docs/annex-a.md explains why).
_FEEDS = {
    "contacts": "volumes and sources only, never contact-outcome-24h",
    "referrals": "volumes and sources only, never referral-decision-1wd",
    "assessments": "assessment-45wd",
    "s47": "icpc-15wd",
}


def annex_a(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """Run the import for ``args.path`` with ``args.team`` or the default team."""
    report = run_source_import(app, args, import_annex_a, source="Annex A", now=now)
    if report is None:
        return 2
    print_report(report)
    log.info(
        "annex_a_import_finished",
        file=args.path.name,
        rejected=report.rejected,
        **{
            f"{kind}_{n}": getattr(r.summary, n)
            for kind, r in report.lists.items()
            for n in ("read", "inserted", "updated", "unchanged", "rejected")
        },
    )
    return 1 if report.partial else 0


def print_report(report: AnnexAReport, *, limit: int = 10) -> None:
    """The human report on stdout; the first ``limit`` rejects too."""
    out = sys.stdout.write
    state = " - partial import" if report.partial else ""
    out(f"{report.path.name} (Annex A): team {report.team_id}{state}\n")
    for kind, r in report.lists.items():
        label = f"  List {LIST_NO[kind]} {_LABELS[kind]}"
        if r.sheet is None:
            out(f"{label}: no sheet found, nothing read\n")
            continue
        if r.problem is not None:
            out(f"{label} (sheet '{r.sheet}'): {r.problem}\n")
            continue
        s = r.summary
        out(
            f"{label} (sheet '{r.sheet}', header row {r.header_row}): read {s.read}, "
            f"mapped {r.mapped}, inserted {s.inserted}, updated {s.updated}, "
            f"unchanged {s.unchanged}, rejected {s.rejected}; feeds {_FEEDS[kind]}\n"
        )
        for name, n in sorted(r.defaulted.items()):
            out(f"    defaulted: {name} on {n} row(s)\n")
    out(
        "  not read: Lists 2 and 6-11, and every name, worker, team, gender, ethnicity, "
        "date of birth and count column\n"
    )
    print_rejects(out, report.problems, report.rejects, limit=limit, saved=report.spill)
