"""Command body for ``frontdoor report weekly``.

Without ``--send`` or ``--out`` it prints each report's text part and records nothing.
``--out DIR`` writes ``DIR/<manager address>/report.html``, ``report.txt`` and
``report.xlsx`` (``DIR/all-teams/`` with ``--all-teams``) and records nothing. ``--send``
queues each service manager's report in the outbox (once per manager and week, again with
``--resend``) and delivers it; it needs the SMTP settings.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import structlog

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.errors import ConfigError, UsageError
from frontdoor.scanview import format_local
from frontdoor.weekly_send import Report, UnknownManager, make_reports, send_weekly_reports
from frontdoor.weeks import ReportWeek, last_complete_week, parse_week

log = structlog.get_logger()


def report_week(app: App, text: str | None, *, now: datetime) -> ReportWeek:
    """``--week`` or, by default, the last complete week at ``now``. A week that has not
    ended at ``now`` is refused (its figures would be partial)."""
    tz = app.settings.zone
    try:
        week = last_complete_week(now, tz) if text is None else parse_week(text, tz)
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None
    if week.end > now:
        raise UsageError(
            f"week {week.label} is not complete until {format_local(week.end, tz)}; "
            "pick an earlier --week or a later --now"
        )
    return week


def write_report(report: Report, folder: Path) -> list[Path]:
    """Write ``report.html``, ``report.txt`` and ``report.xlsx`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.html", folder / "report.txt", folder / "report.xlsx"]
    paths[0].write_text(report.rendered.html, encoding="utf-8")
    paths[1].write_text(report.rendered.text, encoding="utf-8")
    paths[2].write_bytes(report.xlsx)
    return paths


def weekly(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor report weekly [--week W] [--now ISO] [--send [--resend] | --out DIR]
    [--manager EMAIL ...] [--all-teams]``: 0 on success, 1 when a sent report waits in the
    outbox for a retry or failed."""
    from frontdoor.delivery import build_mailer
    from frontdoor.feed_alert import require_fresh_feed

    if args.resend and not args.send:
        raise UsageError("--resend only goes with --send")
    if args.all_teams and (args.send or args.manager):
        raise UsageError("--all-teams is for --out or printing; it has no recipient to send to")
    try:
        mailer = build_mailer(app) if args.send else None  # names missing SMTP settings first
    except ConfigError as exc:
        hint = "; without them, --out DIR writes the reports as files"
        raise ConfigError(str(exc).split(" (try ")[0] + hint) from None
    db.require_current_schema(app.engine)
    if args.send and not args.even_if_stale:
        require_fresh_feed(app, now=now, what="the weekly report is")
    week = report_week(app, args.week, now=now)
    tz = app.settings.zone
    print(
        f"weekly report {week.label}: {format_local(week.start, tz)} to "
        f"{format_local(week.end, tz)} (end exclusive)"
    )
    try:
        if mailer is not None:
            out = send_weekly_reports(
                app, week=week, now=now, mailer=mailer, managers=args.manager, resend=args.resend
            )
            for email, state in out.results:
                print(f"  {email}: {state}")
            if not out.results:
                print("  no service manager in the teams file: nothing to send")
            d = out.delivery
            if d is None:
                return 0
            print(f"delivery: {d.sent} sent, {d.retry_later} to retry, {d.failed} failed")
            return 1 if d.failed or d.retry_later else 0
        reports = make_reports(
            app, week=week, now=now, managers=args.manager, all_teams=args.all_teams
        )
    except UnknownManager as exc:
        raise UsageError(f"not a service manager in the teams file: {exc.args[0]}") from None
    if not reports:
        print("  no service manager in the teams file: no report")
    for report in reports:
        if args.out is not None:
            print(f"  {report.recipient.email}:")
            for path in write_report(report, args.out / report.recipient.email):
                print(f"    {path}")
        else:
            print(f"\nTo: {report.recipient.email}\nSubject: {report.rendered.subject}\n")
            sys.stdout.write(report.rendered.text)
    if args.out is None and reports:
        print("\n(printed only: nothing recorded or sent; use --send or --out DIR)")
    return 0
