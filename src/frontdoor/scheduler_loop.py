"""The APScheduler 3.x loop that runs frontdoor's jobs (:func:`run_scheduler`) and the
wrapper around every run (:func:`run_job`). What the jobs are is :mod:`frontdoor.scheduler`.

One worker thread runs every job, so jobs never overlap and SQLite never sees two writers; a
job still running when its next run is due is skipped (``max_instances=1``), and runs missed
while the process was busy or asleep collapse into one (``coalesce``) if they are less than
``misfire_grace_seconds`` late. Jobs are kept in memory: APScheduler's persistent job stores
pickle jobs, and frontdoor keeps its own state in its own tables.

Each run takes ``now`` from the clock, calls its pass, and on success writes the job's
heartbeat (its own transaction) and logs one ``job_finished`` line with the pass's counts. A
failure logs one ``job_failed`` line (exception class and the first line of its message, never
data), leaves the heartbeat alone so ``frontdoor status`` sees it go stale, and the scheduler
carries on. A pass held back because the data feed is stale (:class:`~frontdoor.feed.HeldBack`)
or run by another worker (:class:`~frontdoor.leader.OtherWorker`) writes no heartbeat either:
its work stays due.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import Engine

from frontdoor import heartbeat, leader
from frontdoor.feed import HeldBack
from frontdoor.scanview import iso_utc

log = structlog.get_logger()

Counts = Mapping[str, object]
Pass = Callable[[datetime], Counts]
Clock = Callable[[], datetime]

_MESSAGE_MAX = 200  # characters of an exception message kept in job_failed


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: ``run`` takes ``now`` (aware UTC) and returns counts for the log
    line and the heartbeat. ``run_at_start`` jobs also run once when the scheduler starts."""

    name: str
    trigger: BaseTrigger
    run: Pass
    run_at_start: bool = False


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
        except HeldBack as held:
            # The feed is stale: no heartbeat, so the work stays due and the delivery job
            # catches it up once contacts arrive again.
            verdict = held.verdict
            log.warning(
                "job_held_feed_stale",
                job=spec.name,
                last_contact_at=_iso(verdict.last_contact_at),
                stale_since=_iso(verdict.stale_since),
            )
            return False
        except Exception as exc:  # noqa: BLE001 - one failing run must not stop the scheduler
            log.error(
                "job_failed",
                job=spec.name,
                error=type(exc).__name__,
                message=first_line(exc),
                where=where_of(exc),
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


def first_line(exc: BaseException) -> str:
    """The first line of the message (of the driver's error for a database error, whose
    parameters the engine hides); later lines may quote data (PostgreSQL's DETAIL)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    return first[:_MESSAGE_MAX]


def where_of(exc: BaseException) -> str | None:
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
