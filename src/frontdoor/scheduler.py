"""The long-running scheduler behind ``frontdoor run`` (APScheduler 3.x).

Jobs are built in code at start-up (:func:`build_jobs`) and kept in memory: APScheduler's
persistent job stores pickle jobs, and frontdoor keeps its own state in its own tables. One
worker thread runs every job, so jobs never overlap and SQLite never sees two writers; a job
still running when its next run is due is skipped (``max_instances=1``), and runs missed
while the process was busy or asleep collapse into one (``coalesce``) if they are less than
``misfire_grace_seconds`` late.

Each job is wrapped (:func:`run_job`): it takes ``now`` from the clock, calls its pass, and
on success writes the job's heartbeat (its own transaction) and logs one ``job_finished``
line with the pass's counts. A failure logs one ``job_failed`` line (exception class and the
first line of its message, never data), leaves the heartbeat alone so ``frontdoor status``
sees it go stale, and the scheduler carries on.

SIGTERM and SIGINT ask the scheduler to stop: no new job starts, the running job finishes,
then :func:`run_scheduler` returns 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.executors.pool import (
    ThreadPoolExecutor,
)
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import (
    BackgroundScheduler,
)
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from frontdoor import heartbeat, leader
from frontdoor.bootstrap import App
from frontdoor.scanview import iso_utc
from frontdoor.slots import DigestSchedule
from frontdoor.weeks import report_due

log = structlog.get_logger()

Counts = Mapping[str, object]
Pass = Callable[[datetime], Counts]
Clock = Callable[[], datetime]

DELIVERY_INTERVAL = timedelta(minutes=5)
_MESSAGE_MAX = 200  # characters of an exception message kept in job_failed
#: Heartbeat detail key: the slot or due time (epoch seconds) the run handled.
HANDLED = "handled_epoch"


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: ``run`` takes ``now`` (aware UTC) and returns counts for the log
    line and the heartbeat. ``run_at_start`` jobs also run once when the scheduler starts."""

    name: str
    trigger: BaseTrigger
    run: Pass
    run_at_start: bool = False


@dataclass(frozen=True)
class Passes:
    """The use cases the scheduler drives, supplied by the composition root
    (:func:`frontdoor.commands_run.passes_for`; tests pass fakes)."""

    scan: Pass
    full_scan: Pass
    digest: Pass
    deliver: Pass
    weekly_report: Pass


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

    passes = replace(
        passes,
        scan=single("scan", passes.scan),
        full_scan=single("scan", passes.full_scan),
        digest=single("digest", passes.digest),
        weekly_report=single("weekly-report", passes.weekly_report),
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
            except Exception as exc:  # noqa: BLE001 - logged; delivery must still run
                log.error(
                    "catch_up_failed",
                    job=job,
                    error=type(exc).__name__,
                    message=_first_line(exc),
                    where=_where(exc),
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


def run_job(
    spec: JobSpec,
    *,
    engine: Engine,
    clock: Clock,
    lock: threading.Lock | None = None,
    stop: threading.Event | None = None,
) -> bool:
    """Run ``spec`` once; True when it succeeded (see the module docstring).

    ``lock`` serialises this run with every other run sharing it. A run that would start
    after ``stop`` is set is skipped (returns False): a stopping scheduler starts nothing new.
    Never raises for a failure of the pass or of the heartbeat write.
    """
    with lock if lock is not None else _no_lock():
        if stop is not None and stop.is_set():
            log.info("job_skipped_stopping", job=spec.name)
            return False
        started = time.perf_counter()
        try:
            counts = dict(spec.run(clock()))
            with engine.begin() as conn:
                heartbeat.beat(conn, spec.name, now=clock(), detail=counts)
        except leader.OtherWorker:
            # Another worker runs this job now; its heartbeat will record the outcome.
            log.info("job_skipped_other_worker", job=spec.name)
            return False
        except Exception as exc:  # noqa: BLE001 - one failing run must not stop the scheduler
            log.error(
                "job_failed",
                job=spec.name,
                error=type(exc).__name__,
                message=_first_line(exc),
                where=_where(exc),
                duration_ms=_ms_since(started),
            )
            return False
        reserved = {"event", "job", "duration_ms"}
        extra = {k: v for k, v in counts.items() if k not in reserved}
        log.info("job_finished", job=spec.name, duration_ms=_ms_since(started), **extra)
        return True


def run_scheduler(
    engine: Engine,
    jobs: Sequence[JobSpec],
    *,
    clock: Clock,
    misfire_grace_s: int,
    stop: threading.Event | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Run ``jobs`` until ``stop`` is set (or SIGTERM/SIGINT arrives); return 0.

    Starts the scheduler, runs the ``run_at_start`` jobs once in list order (in the calling
    thread, never alongside a scheduled run), then waits. On stop, no new job starts and the
    one running finishes before this returns. ``install_signal_handlers`` needs the main
    thread; the previous handlers are restored on return.
    """
    stop = stop if stop is not None else threading.Event()
    lock = threading.Lock()
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace_s,
        },
        timezone=UTC,
    )
    for spec in jobs:
        scheduler.add_job(
            run_job,
            trigger=spec.trigger,
            kwargs={"spec": spec, "engine": engine, "clock": clock, "lock": lock, "stop": stop},
            id=spec.name,
            name=spec.name,
        )
    received: list[int] = []
    with (
        _apscheduler_logs_to_structlog(),
        _stop_on_signals(stop, received, install_signal_handlers),
    ):
        scheduler.start()
        log.info(
            "scheduler_started",
            jobs=[spec.name for spec in jobs],
            next_run={job.id: _iso(job.next_run_time) for job in scheduler.get_jobs()},
            misfire_grace_s=misfire_grace_s,
        )
        try:
            for spec in jobs:
                if spec.run_at_start:
                    run_job(spec, engine=engine, clock=clock, lock=lock, stop=stop)
            stop.wait()
        finally:
            stop.set()  # also when an exception escapes: scheduled runs must not start
            if received:
                log.info("scheduler_stopping", signal=signal.Signals(received[0]).name)
            scheduler.shutdown(wait=True)
    log.info("scheduler_stopped")
    return 0


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _first_line(exc: BaseException) -> str:
    """The first line of the message (of the driver's error for a database error, whose
    parameters the engine hides); later lines may quote data (PostgreSQL's DETAIL)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    return first[:_MESSAGE_MAX]


def _where(exc: BaseException) -> str | None:
    """``file.py:line`` of the innermost frame: where it failed, without any values."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


@contextmanager
def _stop_on_signals(stop: threading.Event, received: list[int], install: bool) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop`` (the signal number goes to ``received``)."""
    if not install:
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        # Event.set() takes a lock the interrupted main thread may hold (inside Event.wait),
        # so it is called from a short-lived thread rather than from the handler itself.
        threading.Thread(target=stop.set, name="frontdoor-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _StructlogHandler(logging.Handler):
    """Forwards APScheduler's stdlib records (WARNING and above) as structlog events."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            log.log(
                record.levelno,
                "apscheduler_message",
                logger=record.name,
                message=record.getMessage(),
            )
        except Exception:  # noqa: BLE001 - logging must never break the scheduler
            self.handleError(record)


@contextmanager
def _apscheduler_logs_to_structlog() -> Iterator[None]:
    """Route ``apscheduler`` logging through structlog at WARNING (its per-run INFO lines
    are noise next to ``job_finished``); restore the logger afterwards."""
    logger = logging.getLogger("apscheduler")
    saved: tuple[int, bool, list[Any]] = (logger.level, logger.propagate, list(logger.handlers))
    handler = _StructlogHandler(level=logging.WARNING)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logger.handlers = [handler]
    try:
        yield
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers = saved[2]
