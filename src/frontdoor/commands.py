"""Command bodies behind ``cli.py``: run a use case and print its result for a person.

Everything printed here goes to stdout unless it is a progress bar or a diagnostic (stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import structlog
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.engine import make_url

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.csvformat import FILE_NAMES, IMPORT_ORDER, ParseContext
from frontdoor.errors import FileRefused, UsageError
from frontdoor.evaluate import Finding
from frontdoor.import_report import ImportSummary, rejects_path_for
from frontdoor.importer import import_csv, load_team_ids
from frontdoor.rules import AttendanceRule, TimescaleRule, load_rules
from frontdoor.scan import run_incremental_scan, run_scan
from frontdoor.scanview import (
    count_table,
    format_local,
    format_overdue,
    iso_utc,
    oldest_open,
    scan_document,
)
from frontdoor.settings import Settings

log = structlog.get_logger()


def stdout_console() -> Console:
    """A console for command output; wide when piped so ids and rule names are never cut."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    return console


def check_config(settings: Settings, *, out: TextIO) -> int:
    """Validate settings (already loaded) and every rule file; print what was checked."""
    rules = load_rules(settings.rules_dir)
    database = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    out.write(f"settings: OK (database {database}, time zone {settings.timezone})\n")
    out.write(f"rules: OK, {len(rules)} rule(s) in {settings.rules_dir}\n")
    for rule in rules:
        state = "" if rule.enabled else " [disabled]"
        out.write(f"  {rule.summary()}{state}\n")
    _check_mail(settings, out)
    return 0


def _check_mail(settings: Settings, out: TextIO) -> None:
    """The e-mail settings, as a system check: says plainly when nothing can be sent."""
    from frontdoor.errors import ConfigError
    from frontdoor.settings import smtp_config

    try:
        smtp = smtp_config(settings)
    except ConfigError as exc:
        out.write(f"e-mail: not configured ({exc})\n")
    else:
        auth = f", AUTH as {smtp.username}" if smtp.username else ""
        out.write(f"e-mail: {smtp.host}:{smtp.port} ({smtp.security}{auth}), from {smtp.sender}\n")
    owner = settings.system_owner_email or "not set: delivery failures are only logged"
    out.write(f"  system owner: {owner}\n")
    feed = settings.feed_policy
    out.write(
        "  data feed check: off\n"
        if feed is None
        else f"  data feed check: stale after {settings.feed_stale_after} "
        f"({settings.feed_hours} on working days): one alert to the system owner, breach "
        "e-mails held back\n"
    )
    if settings.sync_url:
        source = make_url(settings.sync_url).render_as_string(hide_password=True)
        out.write(f"  sync: before each scan from {source}\n")
    slots = ", ".join(t.strftime("%H:%M") for t in settings.slot_times)
    out.write(
        f"  digest slots: {slots} on working days ({settings.timezone}); repeat "
        f"{settings.digest_repeat}; escalate after {settings.escalate_after}\n"
    )
    at = settings.report_time
    report = "off" if at is None else f"{at:%H:%M} on the first working day of each week"
    out.write(f"  weekly report: {report}\n")
    links = ", ".join(sorted(settings.case_urls)) or "none (digests show ids without links)"
    out.write(f"  case-system links for: {links}\n")


def migrate(app: App) -> int:
    """Upgrade the schema to the newest revision."""
    before, after = db.migrate(app.engine)
    if before == after:
        print(f"database already at revision {after}")
    else:
        print(f"database migrated from {before or 'empty'} to {after}")
    log.info("migration_finished", before=before, after=after)
    return 0


def _progress(err: Console) -> Progress | None:
    if not err.is_terminal:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def import_one(
    app: App, kind: str, path: Path, *, now: datetime, report_dir: Path | None, err: Console
) -> ImportSummary:
    """Import one file, write its rejects file, print the summary line and first rejects.

    Raises :class:`FileRefused` for a file refused whole, and also (after printing the
    summary and writing the rejects file) when a CSV or encoding error stopped the import
    part-way: the message says which rows were processed.
    """
    ctx = ParseContext(tz=app.settings.zone, team_ids=load_team_ids(app.engine))
    target = rejects_path_for(path, report_dir)
    bar = _progress(err)
    with bar if bar is not None else nullcontext():
        progress = None
        if bar is not None:
            task = bar.add_task(path.name, total=None)
            progress = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
        summary = import_csv(
            app.engine,
            kind,
            path,
            ctx=ctx,
            ingested_at=now,
            batch_size=app.settings.import_batch_size,
            progress=progress,
            rejects_path=target,
        )
    for warning in summary.warnings:
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    print(summary.line())
    if summary.rejects_path is not None:
        for r in summary.rejects[:10]:  # in row order
            err.print(
                f"  {path.name} row {r.row}, column {r.column}: {r.reason}",
                markup=False,
                soft_wrap=True,
            )
        if summary.problems > 10:
            err.print(f"  ... and {summary.problems - 10} more", markup=False, soft_wrap=True)
        err.print(
            f"  rejected rows are listed in {summary.rejects_path}", markup=False, soft_wrap=True
        )
    log.info(
        "import_finished",
        kind=kind,
        file=path.name,
        read=summary.read,
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        rejected=summary.rejected,
        stopped_early=summary.error is not None,
    )
    if summary.error is not None:
        raise FileRefused(summary.error)
    return summary


def import_files(app: App, args: argparse.Namespace, *, now: datetime, err: Console) -> int:
    """``frontdoor import KIND PATH`` or ``import all DIR``; 1 when any row was rejected."""
    db.require_current_schema(app.engine)
    if args.kind != "all":
        summary = import_one(
            app, args.kind, args.path, now=now, report_dir=args.report_dir, err=err
        )
        return 1 if summary.partial else 0
    folder: Path = args.path
    if not folder.is_dir():
        raise FileRefused(f"{folder}: not a folder (import all expects a folder of CSV files)")
    partial = False
    found = 0
    for kind in IMPORT_ORDER:
        path = folder / FILE_NAMES[kind]
        if not path.exists():
            err.print(f"skipped {kind}: {path} not found", markup=False)
            continue
        found += 1
        partial |= import_one(app, kind, path, now=now, report_dir=args.report_dir, err=err).partial
    if not found:
        raise FileRefused(f"{folder}: none of {', '.join(FILE_NAMES.values())} found")
    return 1 if partial else 0


def print_scan(
    app: App,
    result_now: datetime,
    findings: Sequence[Finding],
    rules: Sequence[TimescaleRule | AttendanceRule],
    out: Console,
) -> None:
    """The human scan report: counts by team and rule, then the oldest open items."""
    tz = app.settings.zone
    out.print(f"Scan at {format_local(result_now, tz)}: {len(findings)} finding(s)")
    table = count_table(findings, rules)
    t = Table(title="Open overdue items by team and rule", title_justify="left")
    t.add_column("team", no_wrap=True)
    for rule_id in table.rules:
        t.add_column(rule_id, justify="right", no_wrap=True)
    t.add_column("total", justify="right")
    for team, cells, total in table.rows:
        t.add_row(team, *(str(c) for c in cells), str(total))
    t.add_section()
    t.add_row("all teams", *(str(c) for c in table.totals), str(table.total))
    out.print(t)
    oldest = oldest_open(findings)
    if oldest:
        o = Table(title="Oldest open overdue items", title_justify="left")
        for col in ("rule", "record", "team", "child", "started", "due", "overdue by"):
            o.add_column(col, no_wrap=True)
        for f in oldest:
            if f.due_at is None:  # oldest_open() returns timescale findings only
                continue
            o.add_row(
                f.rule,
                f.record_id,
                f.team_id,
                f.child_id,
                format_local(f.started_at, tz),
                format_local(f.due_at, tz),
                format_overdue(f.overdue_hours(result_now) or 0),
            )
        out.print(o)
    missing = [f for f in findings if f.missing_agencies]
    if missing:
        m = Table(
            title="Strategy discussions missing a required agency (most recent first)",
            title_justify="left",
        )
        for col in ("discussion", "team", "child", "held", "missing"):
            m.add_column(col, no_wrap=True)
        for f in sorted(missing, key=lambda f: f.started_at, reverse=True)[:10]:
            m.add_row(
                f.record_id,
                f.team_id,
                f.child_id,
                format_local(f.started_at, tz),
                ", ".join(f.missing_agencies or ()),
            )
        out.print(m)
    out.print("Rules:")
    for rule in rules:
        out.print(f"  {rule.summary()}", markup=False, highlight=False, soft_wrap=True)


def scan(app: App, args: argparse.Namespace, *, now: datetime, live: bool) -> int:
    """``frontdoor scan``: a live scan records breaches; ``--now`` replays read-only."""
    db.require_current_schema(app.engine)
    if args.incremental:
        if not live:
            raise UsageError("--incremental records breaches, so it cannot take --now")
        inc = run_incremental_scan(app.engine, app.rules, app.calendar, now=now)
        counts = {
            "new_breaches": inc.new_breaches,
            "reopened_breaches": inc.reopened_breaches,
            "resolved_breaches": inc.resolved_breaches,
            "full_rules": inc.full_rules,
        }
        log.info("incremental_scan_finished", **counts, duration_ms=round(inc.duration_ms, 1))
        if args.json:
            json.dump({"now": iso_utc(now), **counts}, sys.stdout)
            sys.stdout.write("\n")
        else:
            print(
                f"incremental pass: {inc.new_breaches} new breach(es), "
                f"{inc.reopened_breaches} reopened, {inc.resolved_breaches} resolved, "
                f"{inc.duration_ms:.0f} ms"
            )
        return 0
    result = run_scan(app.engine, app.rules, app.calendar, now=now, record=live)
    log.info(
        "scan_finished",
        findings=len(result.findings),
        per_rule=result.per_rule,
        new_breaches=result.new_breaches,
        reopened_breaches=result.reopened_breaches,
        resolved_breaches=result.resolved_breaches,
        recorded=live,
        duration_ms=round(result.duration_ms, 1),
    )
    if args.json:
        json.dump(scan_document(result.now, result.findings), sys.stdout)
        sys.stdout.write("\n")
        return 0
    out = stdout_console()
    print_scan(app, result.now, result.findings, result.rules, out)
    if live:
        out.print(
            f"Recorded {result.new_breaches} new breach(es); {result.reopened_breaches} "
            f"reopened and {result.resolved_breaches} resolved since the last scan."
        )
    return 0


def generate(args: argparse.Namespace, settings: Settings, *, err: Console) -> int:
    """``frontdoor generate``: synthetic CSV files in the contract format."""
    from frontdoor.bootstrap import system_now
    from frontdoor.clock import england_calendar
    from frontdoor.generate import generate_dataset

    start = args.start or (
        system_now().astimezone(settings.zone).date() - timedelta(days=args.days)
    )
    summary = generate_dataset(
        args.out,
        seed=args.seed,
        start=start,
        days=args.days,
        contacts_per_day=args.contacts_per_day,
        calendar=england_calendar(settings.timezone),
    )
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in summary.counts.items())
    print(f"wrote synthetic data to {args.out}: {counts}")
    print(f"export taken at {summary.as_of.isoformat()} (records after it are not included)")
    del err
    return 0


def demo(args: argparse.Namespace, settings: Settings, *, err: Console) -> int:
    """``frontdoor demo``: see :mod:`frontdoor.demo`."""
    from frontdoor.demo import run_demo

    return run_demo(settings, keep=args.keep, err=err, web=args.web, port=args.port)
