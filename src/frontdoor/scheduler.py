"""The jobs of ``frontdoor run``: what runs when (:func:`build_jobs`).

Jobs are built in code at start-up from settings and the passes the composition root supplies
(:class:`Passes`); :mod:`frontdoor.scheduler_loop` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from frontdoor import heartbeat, leader
from frontdoor.bootstrap import App
from frontdoor.errors import FrontdoorError
from frontdoor.feed import FeedVerdict, HeldBack, not_checked
from frontdoor.feed_alert import verdict_counts
from frontdoor.scheduler_loop import Clock, Counts, JobSpec, Pass, first_line, where_of
from frontdoor.slots import DigestSchedule
from frontdoor.weeks import report_due

log = structlog.get_logger()

DELIVERY_INTERVAL = timedelta(minutes=5)
#: Heartbeat detail key: the slot or due time (epoch seconds) the run handled.
HANDLED = "handled_epoch"


@dataclass(frozen=True)
class Passes:
    """The use cases the scheduler drives, supplied by the composition root
    (:func:`frontdoor.commands_run.passes_for`; tests pass fakes)."""

    scan: Pass
    full_scan: Pass
    digest: Pass
    deliver: Pass
    weekly_report: Pass
    #: ``frontdoor sync``, run before each scan; None when no source is configured.
    sync: Pass | None = None
    #: The feed's verdict at ``now`` (queues the owner's alert when stale).
    feed: Callable[[datetime], FeedVerdict] = not_checked


def build_jobs(app: App, *, clock: Clock, passes: Passes) -> list[JobSpec]:
    """The jobs from settings, in start-up order (``full-scan`` runs first, then ``digest``
    catches up a slot missed while the worker was down, then ``delivery`` retries whatever
    the last run left unsent):

    * ``full-scan``: at start and every ``full_scan_interval_minutes`` (reconciliation);
    * ``scan``: the incremental pass every ``scan_interval_minutes``;
    * ``digest``: at each slot time, Monday to Friday in the configured zone, and at start;
      it runs the digest pass only when the latest working-day slot has not been handled (no
      ``digest`` heartbeat since it), so a bank holiday logs ``digest_skipped_bank_holiday``;
    * ``weekly-report``: at ``weekly_report_at`` Monday to Friday and at start; it runs the
      report pass (for the last complete week) only when the report due most recently
      (:func:`frontdoor.weeks.report_due`: the first working day of the week) has not been
      handled, so a Monday bank holiday moves the report to Tuesday. Absent when the
      setting is ``off``.
    * ``delivery``: at start and every 5 minutes; first catches up a slot whose digest run,
      or a weekly report whose run, failed or misfired, then sends what is still pending.

    The interval jobs first fire one interval after ``clock()``; the digest slots are wall
    times in ``settings.zone``, so they follow GMT and BST.

    With ``passes.sync``, both scans sync first (a failed sync is logged, the scan runs);
    after each scan ``passes.feed`` judges the data feed. While it is stale, the digest and
    weekly-report passes raise :class:`~frontdoor.feed.HeldBack` instead of running, here
    and in the delivery job's catch-up, so their work stays due until the feed is fresh.
    """
    settings = app.settings
    zone = settings.zone
    start = clock()

    def single(name: str, run: Pass) -> Pass:
        # One process at a time per job on a shared PostgreSQL database (leader.py); the
        # full and incremental scans share a lock because both write the breach ledger.
        def guarded(now: datetime) -> Counts:
            with leader.exclusive(app.engine, name) as mine:
                if not mine:
                    raise leader.OtherWorker(name)
                return run(now)

        return guarded

    def fed(scan: Pass) -> Pass:
        # Sync first, so the scan sees the newest records, then judge the feed (which queues
        # the owner's alert when it is stale). A failing sync is logged and the scan still
        # runs on what is there: the feed check is what notices a sync that keeps failing.
        def run(now: datetime) -> Counts:
            counts: dict[str, object] = {}
            if passes.sync is not None:
                try:
                    counts.update({f"sync_{k}": v for k, v in passes.sync(now).items()})
                except Exception as exc:  # noqa: BLE001 - logged; the scan must still run
                    # frontdoor's own errors never quote data; anything else (a driver or
                    # conversion error on a source row) might, so only its class and place.
                    safe = isinstance(exc, FrontdoorError)
                    log.error(
                        "sync_failed",
                        error=type(exc).__name__,
                        message=first_line(exc) if safe else None,
                        where=where_of(exc),
                    )
                    counts["sync_failed"] = 1
            counts.update(scan(now))
            try:
                counts.update(verdict_counts(passes.feed(now)))
            except Exception as exc:  # noqa: BLE001 - the scan is done; its heartbeat stands
                log.error(
                    "feed_check_failed",
                    error=type(exc).__name__,
                    message=first_line(exc),
                    where=where_of(exc),
                )
                counts["feed_check_failed"] = 1
            return counts

        return run

    def held(job: str, run: Pass) -> Pass:
        # Breach e-mails worked out from a stopped feed would be false: hold them back
        # (alerting-lessons.md §14, inhibition) until contacts arrive again.
        def unless_stale(now: datetime) -> Counts:
            verdict = passes.feed(now)
            if verdict.stale:
                raise HeldBack(job, verdict)
            return run(now)

        return unless_stale

    passes = replace(
        passes,
        scan=single("scan", fed(passes.scan)),
        full_scan=single("scan", fed(passes.full_scan)),
        digest=single("digest", held("digest", passes.digest)),
        weekly_report=single("weekly-report", held("weekly-report", passes.weekly_report)),
    )

    def every(interval: timedelta) -> IntervalTrigger:
        return IntervalTrigger(
            seconds=int(interval.total_seconds()), start_date=start + interval, timezone=UTC
        )

    schedule = DigestSchedule(app.calendar, settings.slot_times)
    report_at = settings.report_time

    def missed(job: str, moment: datetime | None) -> bool:
        # Whether the work due at ``moment`` is still to do: decided by what the last
        # successful run *handled* (HANDLED, an epoch second stored with its counts), not by
        # when it finished, so a catch-up that starts before a slot and ends after it does
        # not count as having done the new slot.
        if moment is None:
            return False
        with app.engine.connect() as conn:
            last = heartbeat.read_heartbeats(conn).get(job)
        if last is None:
            return True
        handled = last.detail.get(HANDLED)
        if isinstance(handled, int | float):
            return handled < moment.timestamp()
        return last.last_ok_at < moment  # a row written before HANDLED existed

    def slot_of(now: datetime) -> datetime:
        return schedule.latest_at_or_before(now)  # always a working-day slot

    def due_of(now: datetime) -> datetime | None:
        due = None if report_at is None else report_due(now, app.calendar, report_at)
        return None if due is None else due[1]

    def handled(moment: datetime | None) -> dict[str, object]:
        return {} if moment is None else {HANDLED: int(moment.timestamp())}

    def digest(now: datetime) -> Counts:
        # Runs the pass when the latest slot has not been handled: at a slot, and at start
        # after the worker was down over one (a slot planned twice would add nothing, by
        # the outbox's unique key, but would cost a scan).
        slot = slot_of(now)
        if missed("digest", slot):
            return {**passes.digest(now), **handled(slot)}
        day = app.calendar.local_date(now)
        if not app.calendar.is_working_day(day):
            log.info("digest_skipped_bank_holiday", local_date=day.isoformat())
            return {"skipped_bank_holiday": 1, **handled(slot)}
        return {"slot_already_done": 1, **handled(slot)}

    def weekly_report(now: datetime) -> Counts:
        # Queued once per manager and week by the outbox's unique key; the heartbeat check
        # only saves recomputing the figures at every start and on every weekday.
        due = due_of(now)
        if missed("weekly-report", due):
            return {**passes.weekly_report(now), **handled(due)}
        return {"report_already_done": 1, **handled(due)}

    def delivery(now: datetime) -> Counts:
        # A slot whose digest run failed (say the database was locked) or was dropped as a
        # misfire is caught up here, within one delivery interval; so is a weekly report.
        # A catch-up that fails is logged and delivery still runs: one broken pass must not
        # hold back every other message in the outbox.
        counts: dict[str, object] = {}
        for job, moment, run in (
            ("digest", slot_of(now), passes.digest),
            ("weekly-report", due_of(now), passes.weekly_report),
        ):
            if not missed(job, moment):
                continue
            prefix = job.replace("-", "_")
            try:
                counts.update({f"{prefix}_{k}": v for k, v in run(now).items()})
                with app.engine.begin() as conn:
                    detail = {"caught_up": 1, **handled(moment)}
                    heartbeat.beat(conn, job, now=now, detail=detail)
            except leader.OtherWorker:
                counts[f"{prefix}_other_worker"] = 1  # it is catching up: nothing to do
            except HeldBack:
                counts[f"{prefix}_held_feed_stale"] = 1  # tried again at the next pass
            except Exception as exc:  # noqa: BLE001 - logged; delivery must still run
                log.error(
                    "catch_up_failed",
                    job=job,
                    error=type(exc).__name__,
                    message=first_line(exc),
                    where=where_of(exc),
                )
                counts[f"{prefix}_failed"] = 1
        counts.update(passes.deliver(now))
        return counts

    slots = [
        CronTrigger(day_of_week="mon-fri", hour=t.hour, minute=t.minute, timezone=zone)
        for t in settings.slot_times
    ]
    return [
        JobSpec(
            "full-scan",
            every(timedelta(minutes=settings.full_scan_interval_minutes)),
            passes.full_scan,
            run_at_start=True,
        ),
        JobSpec("scan", every(timedelta(minutes=settings.scan_interval_minutes)), passes.scan),
        JobSpec("digest", OrTrigger(slots), digest, run_at_start=True),
        *(
            []
            if report_at is None
            else [
                JobSpec(
                    "weekly-report",
                    CronTrigger(
                        day_of_week="mon-fri",
                        hour=report_at.hour,
                        minute=report_at.minute,
                        timezone=zone,
                    ),
                    weekly_report,
                    run_at_start=True,
                )
            ]
        ),
        JobSpec("delivery", every(DELIVERY_INTERVAL), delivery, run_at_start=True),
    ]
