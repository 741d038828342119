"""Command bodies for the worker: ``frontdoor run`` and ``frontdoor status``.

``run`` builds the SMTP mailer before anything else, so the worker refuses to start without
SMTP settings and names the missing variable (exit 2), then checks the schema (exit 3).

``status`` exits 0 when healthy and 1 when the scan heartbeat is stale or missing (see
:mod:`frontdoor.status`), so it can serve as a container or monitoring health check.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta

import structlog

from frontdoor import db
from frontdoor.bootstrap import App, system_now
from frontdoor.errors import FrontdoorError, UsageError
from frontdoor.feed import FeedVerdict
from frontdoor.mailer import Mailer
from frontdoor.scan import run_incremental_scan, run_scan
from frontdoor.scheduler import Passes, build_jobs
from frontdoor.scheduler_loop import Counts, Pass, run_scheduler
from frontdoor.status import gather_status, print_status, status_document

log = structlog.get_logger()


def passes_for(app: App, mailer: Mailer) -> Passes:
    """The real passes: incremental and full (recording) scans, digest, weekly report and
    delivery."""

    def scan(now: datetime) -> Counts:
        r = run_incremental_scan(app.engine, app.rules, app.calendar, now=now)
        return {
            "new_breaches": r.new_breaches,
            "reopened_breaches": r.reopened_breaches,
            "resolved_breaches": r.resolved_breaches,
            "full_rules": len(r.full_rules),
        }

    def full_scan(now: datetime) -> Counts:
        r = run_scan(app.engine, app.rules, app.calendar, now=now, record=True)
        return {
            "rules": len(r.rules),
            "findings": len(r.findings),
            "new_breaches": r.new_breaches,
            "reopened_breaches": r.reopened_breaches,
            "resolved_breaches": r.resolved_breaches,
        }

    def digest(now: datetime) -> Counts:
        from frontdoor.notify import run_digest

        return run_digest(app, now=now, mailer=mailer).counts()

    def deliver(now: datetime) -> Counts:
        from frontdoor.delivery import deliver_pending

        return deliver_pending(app, now=now, mailer=mailer).counts()

    def weekly_report(now: datetime) -> Counts:
        from frontdoor.weekly_send import send_weekly_reports
        from frontdoor.weeks import last_complete_week, report_due

        # The week of the report due most recently (not simply the last complete week: on a
        # Monday before the report time that would send the week just ended early).
        at = app.settings.report_time
        due = None if at is None else report_due(now, app.calendar, at)
        week = due[0] if due is not None else last_complete_week(now, app.settings.zone)
        # Delivery is left to the delivery job that follows, as for a caught-up digest.
        out = send_weekly_reports(app, week=week, now=now, mailer=mailer, deliver=False)
        return out.counts()

    def feed(now: datetime) -> FeedVerdict:
        from frontdoor.feed_alert import check_feed

        return check_feed(app, now=now)

    return Passes(
        scan=scan,
        full_scan=full_scan,
        digest=digest,
        deliver=deliver,
        weekly_report=weekly_report,
        sync=None if app.settings.sync_url is None else sync_pass(app),
        feed=feed,
    )


def sync_pass(app: App) -> Pass:
    """``frontdoor sync`` as the worker runs it before each scan: one source engine for the
    life of the worker; rejected rows are logged by id (never their values); an entity that
    could not be synced raises :class:`SyncFailed` after the entities before it are stored."""
    from frontdoor.commands_sync import sync_once
    from frontdoor.sync import source_engine
    from frontdoor.sync_queries import load_queries

    settings = app.settings
    assert settings.sync_url is not None  # only built when a source is configured
    source = source_engine(settings.sync_url)
    queries = load_queries(settings.sync_queries_dir)

    def run(now: datetime) -> Counts:
        report = sync_once(app, source, queries, now=now)
        for reject in report.rejects:
            log.warning(
                "sync_rejected",
                entity=reject.entity,
                record_id=reject.record_id or None,
                column=reject.column,
                reason=reject.reason,
            )
        for e in report.entities:
            if e.error is not None:
                raise SyncFailed(e.error)
        return {
            n: sum(getattr(e.summary, n) for e in report.entities)
            for n in ("read", "inserted", "updated", "rejected")
        }

    return run


class SyncFailed(FrontdoorError):
    """An entity could not be synced; the message names it and never quotes source data."""


def run(app: App, args: argparse.Namespace) -> int:
    """``frontdoor run``: the scheduler, until SIGTERM or SIGINT (then exit 0)."""
    from frontdoor.delivery import build_mailer

    del args  # no options yet
    mailer = build_mailer(app)  # ConfigError (exit 2) names a missing SMTP variable
    db.require_current_schema(app.engine)
    jobs = build_jobs(app, clock=system_now, passes=passes_for(app, mailer))
    return run_scheduler(
        app.engine,
        jobs,
        clock=system_now,
        misfire_grace_s=app.settings.misfire_grace_seconds,
    )


def status(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor status [--json] [--max-age-minutes N]``: 0 healthy, 1 stale or missing."""
    minutes = args.max_age_minutes
    if minutes is None:
        minutes = app.settings.heartbeat_max_age_minutes
    if minutes < 1:
        raise UsageError("--max-age-minutes must be at least 1")
    db.require_current_schema(app.engine)
    feed = None
    if app.settings.feed_policy is not None:
        from frontdoor.feed_alert import check_feed

        feed = check_feed(app, now=now, alert=False)
    with app.engine.connect() as conn:
        state = gather_status(conn, now=now, max_age=timedelta(minutes=minutes), feed=feed)
    if args.json:
        json.dump(status_document(state), sys.stdout)
        sys.stdout.write("\n")
    else:
        print_status(state, app.settings.zone, sys.stdout)
    return 0 if state.healthy else 1
