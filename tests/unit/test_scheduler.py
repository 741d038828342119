"""The scheduler: job triggers and fire times, the job wrapper (heartbeat, one log line,
failures), start-up jobs, stopping (a running job finishes) and signals. Database writes go
to a migrated SQLite file; the heartbeat SQL itself is tested on both engines in
tests/integration/test_status.py."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from structlog.testing import capture_logs

from frontdoor.bootstrap import App, build_app
from frontdoor.heartbeat import beat, read_heartbeats
from frontdoor.scheduler import HANDLED, Passes, build_jobs
from frontdoor.scheduler_loop import JobSpec, run_job, run_scheduler
from frontdoor.settings import load_settings
from tests.conftest import REPO

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday, GMT


class Recorder:
    """Fake passes that record (pass name, now) and return fixed counts."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.delivered = threading.Event()

    def _pass(self, name: str) -> Callable[[datetime], Mapping[str, object]]:
        def run(now: datetime) -> Mapping[str, object]:
            self.calls.append((name, now))
            if name == "deliver":
                self.delivered.set()
            return {"calls": 1, "name_is_not_a_count": name}

        return run

    def passes(self) -> Passes:
        return Passes(
            scan=self._pass("scan"),
            full_scan=self._pass("full_scan"),
            digest=self._pass("digest"),
            deliver=self._pass("deliver"),
            weekly_report=self._pass("weekly_report"),
        )


def counts_of(counts: Mapping[str, object]) -> dict[str, object]:
    """A job's counts without the handled slot or due time (checked separately)."""
    return {k: v for k, v in counts.items() if k != HANDLED}


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def fixed(now: datetime) -> Callable[[], datetime]:
    return lambda: now


@pytest.fixture(name="app")
def _app(sqlite_engine: Engine) -> App:
    return build_app(load_settings(rules_dir=REPO / "rules"), engine=sqlite_engine)


def jobs_by_name(app: App, passes: Passes, now: datetime = T0) -> dict[str, JobSpec]:
    return {j.name: j for j in build_jobs(app, clock=fixed(now), passes=passes)}


def fire_times(trigger: Any, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of ``trigger`` from ``start`` up to ``end`` (exclusive)."""
    out: list[datetime] = []
    now = start
    while True:
        fire = trigger.get_next_fire_time(None, now)
        if fire is None or fire >= end:
            return out
        out.append(fire)
        now = fire + timedelta(seconds=1)


# --- build_jobs -------------------------------------------------------------------------------


def test_build_jobs_makes_five_jobs_with_their_triggers_and_start_up_order(app: App) -> None:
    jobs = build_jobs(app, clock=fixed(T0), passes=Recorder().passes())
    assert [j.name for j in jobs] == ["full-scan", "scan", "digest", "weekly-report", "delivery"]
    assert [j.name for j in jobs if j.run_at_start] == [
        "full-scan",
        "digest",
        "weekly-report",
        "delivery",
    ]
    by = {j.name: j for j in jobs}
    for name, minutes in (("full-scan", 60), ("scan", 15), ("delivery", 5)):
        trigger = by[name].trigger
        assert isinstance(trigger, IntervalTrigger)
        assert trigger.interval == timedelta(minutes=minutes)
        # The first run comes one interval after the clock's now, then every interval.
        first = trigger.get_next_fire_time(None, T0)
        assert first == T0 + timedelta(minutes=minutes)
        assert trigger.get_next_fire_time(first, first) == first + timedelta(minutes=minutes)
    digest = by["digest"].trigger
    assert isinstance(digest, OrTrigger)
    assert len(digest.triggers) == 3
    assert all(isinstance(t, CronTrigger) for t in digest.triggers)


def test_intervals_follow_the_settings(sqlite_engine: Engine) -> None:
    settings = load_settings(
        rules_dir=REPO / "rules", scan_interval_minutes=7, full_scan_interval_minutes=90
    )
    app = build_app(settings, engine=sqlite_engine)
    by = jobs_by_name(app, Recorder().passes())
    assert by["scan"].trigger.interval == timedelta(minutes=7)
    assert by["full-scan"].trigger.interval == timedelta(minutes=90)


def test_digest_fires_at_each_slot_in_london_time_on_weekdays_in_gmt(app: App) -> None:
    trigger = jobs_by_name(app, Recorder().passes())["digest"].trigger
    # Saturday 21 November to Monday 30 November 2026 (GMT: local time = UTC).
    fires = fire_times(
        trigger, datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    )
    expected = [
        datetime(2026, 11, day, h, m, tzinfo=UTC)
        for day in range(23, 28)
        for h, m in ((8, 30), (12, 30), (16, 0))
    ]
    assert fires == expected
    assert {f.astimezone(LONDON).strftime("%H:%M %Z") for f in fires} == {
        "08:30 GMT",
        "12:30 GMT",
        "16:00 GMT",
    }


def test_digest_fires_at_the_same_wall_times_in_bst_and_never_at_the_weekend(app: App) -> None:
    trigger = jobs_by_name(app, Recorder().passes())["digest"].trigger
    # Saturday 26 June to Monday 5 July 2027 (BST: local = UTC + 1).
    fires = fire_times(trigger, datetime(2027, 6, 26, tzinfo=UTC), datetime(2027, 7, 5, tzinfo=UTC))
    days = [datetime(2027, 6, d) for d in (28, 29, 30)] + [datetime(2027, 7, d) for d in (1, 2)]
    expected = [
        datetime(d.year, d.month, d.day, h, m, tzinfo=UTC)
        for d in days
        for h, m in ((7, 30), (11, 30), (15, 0))
    ]
    assert fires == expected
    local = [f.astimezone(LONDON) for f in fires]
    assert {f.strftime("%H:%M %Z") for f in local} == {"08:30 BST", "12:30 BST", "16:00 BST"}
    assert {f.weekday() for f in local} == {0, 1, 2, 3, 4}


def test_the_digest_job_runs_only_when_the_latest_slot_has_not_been_handled(app: App) -> None:
    rec = Recorder()
    digest = jobs_by_name(app, rec.passes())["digest"]
    monday_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # latest slot: Monday 08:30
    with app.engine.begin() as conn:  # the 08:30 slot ran at 08:30:02
        beat(conn, "digest", now=datetime(2026, 11, 23, 8, 30, 2, tzinfo=UTC), detail={})
    done = digest.run(monday_0900)
    assert counts_of(done) == {"slot_already_done": 1}
    assert done[HANDLED] == epoch(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    assert rec.calls == []
    with app.engine.begin() as conn:  # the worker was down from Friday: 08:30 was missed
        beat(conn, "digest", now=datetime(2026, 11, 20, 16, 0, 1, tzinfo=UTC), detail={})
    assert counts_of(digest.run(monday_0900)) == {"calls": 1, "name_is_not_a_count": "digest"}
    assert rec.calls == [("digest", monday_0900)]


def test_a_restart_on_a_bank_holiday_catches_up_a_missed_slot_and_delivery_catches_up_too(
    app: App,
) -> None:
    rec = Recorder()
    jobs = jobs_by_name(app, rec.passes())
    with app.engine.begin() as conn:  # last handled: Thursday 24 December 12:30
        beat(conn, "digest", now=datetime(2026, 12, 24, 12, 30, 2, tzinfo=UTC), detail={})
        # and the weekly report due on Monday 21 December went out
        beat(conn, "weekly-report", now=datetime(2026, 12, 21, 8, 0, 5, tzinfo=UTC), detail={})
    boxing_day_observed = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)
    ran = jobs["digest"].run(boxing_day_observed)
    assert counts_of(ran) == {"calls": 1, "name_is_not_a_count": "digest"}
    assert rec.calls == [("digest", boxing_day_observed)]
    # The delivery job catches up the same way (a failed or misfired slot run) and then
    # records the digest heartbeat, so the next delivery does not run it again.
    rec.calls.clear()
    counts = jobs["delivery"].run(boxing_day_observed)
    assert rec.calls == [("digest", boxing_day_observed), ("deliver", boxing_day_observed)]
    assert counts["digest_calls"] == 1
    rec.calls.clear()
    jobs["delivery"].run(boxing_day_observed)
    assert rec.calls == [("deliver", boxing_day_observed)]


def test_digest_skips_a_substitute_bank_holiday_without_calling_the_digest_pass(
    app: App,
) -> None:
    rec = Recorder()
    digest = jobs_by_name(app, rec.passes())["digest"]
    boxing_day_observed = datetime(2026, 12, 28, 8, 30, tzinfo=UTC)  # a Monday
    # The trigger fires (it only knows weekdays); the job itself skips.
    assert (
        digest.trigger.get_next_fire_time(None, datetime(2026, 12, 26, tzinfo=UTC))
        == boxing_day_observed
    )
    with app.engine.begin() as conn:  # Thursday 24 December's 16:00 slot was handled
        beat(conn, "digest", now=datetime(2026, 12, 24, 16, 0, 3, tzinfo=UTC), detail={})
    with capture_logs() as logs:
        counts = digest.run(boxing_day_observed)
    assert rec.calls == []
    assert counts_of(counts) == {"skipped_bank_holiday": 1}
    assert logs == [
        {"event": "digest_skipped_bank_holiday", "local_date": "2026-12-28", "log_level": "info"}
    ]
    # The next working day runs the digest pass with the slot's now.
    tuesday = datetime(2026, 12, 29, 8, 30, tzinfo=UTC)
    assert counts_of(digest.run(tuesday)) == {"calls": 1, "name_is_not_a_count": "digest"}
    assert rec.calls == [("digest", tuesday)]


# --- the job wrapper --------------------------------------------------------------------------


def test_a_successful_job_writes_its_heartbeat_and_logs_one_line(sqlite_engine: Engine) -> None:
    seen: list[datetime] = []

    def work(now: datetime) -> Mapping[str, object]:
        seen.append(now)
        return {"new_breaches": 3, "resolved_breaches": 1}

    spec = JobSpec("scan", IntervalTrigger(minutes=15), work)
    with capture_logs() as logs:
        assert run_job(spec, engine=sqlite_engine, clock=fixed(T0)) is True
    assert seen == [T0]
    with sqlite_engine.connect() as conn:
        hb = read_heartbeats(conn)
    assert list(hb) == ["scan"]
    assert hb["scan"].last_ok_at == T0
    assert hb["scan"].detail == {"new_breaches": 3, "resolved_breaches": 1}
    assert len(logs) == 1
    line = logs[0]
    assert line["event"] == "job_finished"
    assert line["log_level"] == "info"
    assert line["job"] == "scan"
    assert isinstance(line["duration_ms"], float)
    assert line["new_breaches"] == 3
    assert line["resolved_breaches"] == 1


def test_a_failing_job_logs_one_line_without_data_and_leaves_the_heartbeat(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.begin() as conn:
        beat(conn, "scan", now=T0, detail={"new_breaches": 0})

    def work(now: datetime) -> Mapping[str, object]:
        raise RuntimeError("query failed for rule contact-decision\nDETAIL: child CH-123 Smith")

    spec = JobSpec("scan", IntervalTrigger(minutes=15), work)
    with capture_logs() as logs:
        ok = run_job(spec, engine=sqlite_engine, clock=fixed(T0 + timedelta(minutes=15)))
    assert ok is False
    with sqlite_engine.connect() as conn:
        assert read_heartbeats(conn)["scan"].last_ok_at == T0  # not updated
    assert len(logs) == 1
    line = logs[0]
    assert line["event"] == "job_failed"
    assert line["log_level"] == "error"
    assert line["job"] == "scan"
    assert line["error"] == "RuntimeError"
    assert line["message"] == "query failed for rule contact-decision"
    assert line["where"].startswith("test_scheduler.py:")
    assert "Smith" not in repr(logs)
    assert "exc_info" not in line


def test_a_failing_job_writes_no_heartbeat_when_it_never_succeeded(sqlite_engine: Engine) -> None:
    def work(now: datetime) -> Mapping[str, object]:
        raise ValueError("bad")

    with capture_logs():
        assert not run_job(
            JobSpec("digest", IntervalTrigger(minutes=1), work),
            engine=sqlite_engine,
            clock=fixed(T0),
        )
    with sqlite_engine.connect() as conn:
        assert read_heartbeats(conn) == {}


def test_a_job_due_after_stop_was_requested_does_not_start(sqlite_engine: Engine) -> None:
    ran: list[datetime] = []
    stop = threading.Event()
    stop.set()

    def record(now: datetime) -> dict[str, object]:
        ran.append(now)
        return {}

    spec = JobSpec("scan", IntervalTrigger(minutes=1), record)
    with capture_logs() as logs:
        assert not run_job(spec, engine=sqlite_engine, clock=fixed(T0), stop=stop)
    assert ran == []
    assert [e["event"] for e in logs] == ["job_skipped_stopping"]


# --- run_scheduler ----------------------------------------------------------------------------


def stop_when(event: threading.Event, stop: threading.Event, timeout: float = 10) -> None:
    """From another thread: set ``stop`` once ``event`` is set."""

    def wait_then_stop() -> None:
        event.wait(timeout)
        stop.set()

    threading.Thread(target=wait_then_stop, daemon=True).start()


def test_run_scheduler_runs_the_start_up_jobs_in_order_then_stops_with_0(app: App) -> None:
    rec = Recorder()
    # Interval triggers start one interval after the build clock: far in the future here, so
    # no scheduled run can slip in between the start-up jobs and the stop.
    jobs = build_jobs(app, clock=fixed(datetime(2099, 1, 1, tzinfo=UTC)), passes=rec.passes())
    stop = threading.Event()
    stop_when(rec.delivered, stop)
    with capture_logs() as logs:
        code = run_scheduler(
            app.engine,
            jobs,
            clock=fixed(T0),
            misfire_grace_s=600,
            stop=stop,
            install_signal_handlers=False,
        )
    assert code == 0
    # No digest has ever run, so the start-up digest catches up the 08:30 slot; nor has a
    # weekly report, so the one due at 08:00 this Monday is caught up too.
    assert rec.calls == [
        ("full_scan", T0),
        ("digest", T0),
        ("weekly_report", T0),
        ("deliver", T0),
    ]
    with app.engine.connect() as conn:
        hb = read_heartbeats(conn)
    assert sorted(hb) == ["delivery", "digest", "full-scan", "weekly-report"]
    assert hb["full-scan"].last_ok_at == T0
    assert hb["full-scan"].detail == {"calls": 1}  # the name string is not a count: dropped
    events = [e["event"] for e in logs]
    assert events == [
        "scheduler_started",
        "job_finished",
        "job_finished",
        "job_finished",
        "job_finished",
        "scheduler_stopped",
    ]
    started = logs[0]
    names = ["full-scan", "scan", "digest", "weekly-report", "delivery"]
    assert started["jobs"] == names
    assert set(started["next_run"]) == set(names)
    assert all(v.endswith("Z") for v in started["next_run"].values())
    finished = [e["job"] for e in logs if e["event"] == "job_finished"]
    assert finished == ["full-scan", "digest", "weekly-report", "delivery"]


def test_a_failing_start_up_job_does_not_stop_the_next_one(sqlite_engine: Engine) -> None:
    done = threading.Event()

    def fail(now: datetime) -> Mapping[str, object]:
        raise RuntimeError("down")

    def deliver(now: datetime) -> Mapping[str, object]:
        done.set()
        return {"sent": 0}

    jobs = [
        JobSpec("full-scan", IntervalTrigger(hours=1), fail, run_at_start=True),
        JobSpec("delivery", IntervalTrigger(hours=1), deliver, run_at_start=True),
    ]
    stop = threading.Event()
    stop_when(done, stop)
    with capture_logs() as logs:
        code = run_scheduler(
            sqlite_engine,
            jobs,
            clock=fixed(T0),
            misfire_grace_s=60,
            stop=stop,
            install_signal_handlers=False,
        )
    assert code == 0
    with sqlite_engine.connect() as conn:
        assert list(read_heartbeats(conn)) == ["delivery"]
    assert [(e["event"], e.get("job")) for e in logs if e["event"].startswith("job_")] == [
        ("job_failed", "full-scan"),
        ("job_finished", "delivery"),
    ]


def test_the_scheduler_keeps_running_scheduled_jobs_after_one_fails(
    sqlite_engine: Engine,
) -> None:
    failures: list[datetime] = []
    successes = threading.Event()
    count = {"ok": 0}

    def fail(now: datetime) -> Mapping[str, object]:
        failures.append(now)
        raise RuntimeError("down")

    def work(now: datetime) -> Mapping[str, object]:
        count["ok"] += 1
        if len(failures) >= 2:
            successes.set()
        return {"ok": count["ok"]}

    jobs = [
        JobSpec("scan", IntervalTrigger(seconds=1), fail),
        JobSpec("delivery", IntervalTrigger(seconds=1), work),
    ]
    stop = threading.Event()
    stop_when(successes, stop, timeout=15)
    with capture_logs():
        run_scheduler(
            sqlite_engine,
            jobs,
            clock=fixed(T0),
            misfire_grace_s=60,
            stop=stop,
            install_signal_handlers=False,
        )
    assert successes.is_set(), "the working job stopped running after the other one failed"
    assert len(failures) >= 2  # the failing job itself kept being scheduled
    with sqlite_engine.connect() as conn:
        assert list(read_heartbeats(conn)) == ["delivery"]


def test_stopping_lets_the_running_job_finish(sqlite_engine: Engine) -> None:
    started = threading.Event()
    finished: list[bool] = []

    def slow(now: datetime) -> Mapping[str, object]:
        started.set()
        time.sleep(0.5)
        finished.append(True)
        return {"slept_ms": 500}

    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    # An interval trigger, not a one-shot DateTrigger: APScheduler 3 removes a one-shot job
    # right after submitting it, which races the shutdown this test starts at once
    # (JobLookupError in its thread under load). The worker's own jobs never end.
    jobs = [JobSpec("digest", IntervalTrigger(hours=1, start_date=soon), slow)]
    stop = threading.Event()
    stop_when(started, stop)
    with capture_logs() as logs:
        code = run_scheduler(
            sqlite_engine,
            jobs,
            clock=fixed(T0),
            misfire_grace_s=60,
            stop=stop,
            install_signal_handlers=False,
        )
    assert code == 0
    assert finished == [True]  # shutdown waited for the job
    with sqlite_engine.connect() as conn:
        assert read_heartbeats(conn)["digest"].detail == {"slept_ms": 500}
    events = [e["event"] for e in logs]
    assert events.index("job_finished") < events.index("scheduler_stopped")


def test_a_job_still_running_when_due_again_is_skipped_with_a_warning(
    sqlite_engine: Engine,
) -> None:
    runs: list[float] = []
    enough = threading.Event()

    def slow(now: datetime) -> Mapping[str, object]:
        runs.append(time.monotonic())
        time.sleep(1.6)
        if len(runs) >= 2:
            enough.set()
        return {}

    jobs = [JobSpec("scan", IntervalTrigger(seconds=1), slow)]
    stop = threading.Event()
    stop_when(enough, stop, timeout=15)
    with capture_logs() as logs:
        run_scheduler(
            sqlite_engine,
            jobs,
            clock=fixed(T0),
            misfire_grace_s=60,
            stop=stop,
            install_signal_handlers=False,
        )
    assert enough.is_set()
    assert runs[1] - runs[0] >= 1.6  # never two at once
    skipped = [e for e in logs if e["event"] == "apscheduler_message"]
    assert skipped, "APScheduler's max-instances warning was not routed to structlog"
    assert all(e["log_level"] == "warning" for e in skipped)
    assert any("maximum number of running instances" in e["message"] for e in skipped)
    # APScheduler's per-run INFO lines ("Running job", "executed successfully") are silenced.
    assert not any("executed successfully" in e.get("message", "") for e in logs)


def test_sigterm_stops_the_scheduler_and_restores_the_previous_handler(
    sqlite_engine: Engine,
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    done = threading.Event()

    def deliver(now: datetime) -> Mapping[str, object]:
        done.set()
        return {}

    def send_sigterm() -> None:
        done.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    jobs = [JobSpec("delivery", IntervalTrigger(hours=1), deliver, run_at_start=True)]
    threading.Thread(target=send_sigterm, daemon=True).start()
    with capture_logs() as logs:
        code = run_scheduler(sqlite_engine, jobs, clock=fixed(T0), misfire_grace_s=60)
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) is before
    assert {"event": "scheduler_stopping", "signal": "SIGTERM", "log_level": "info"} in logs
    assert logs[-1]["event"] == "scheduler_stopped"


# --- weekly report ------------------------------------------------------------------------------


def test_weekly_report_fires_at_eight_local_on_weekdays_in_bst_and_gmt(app: App) -> None:
    trigger = jobs_by_name(app, Recorder().passes())["weekly-report"].trigger
    # Mon 19 - Sun 25 Oct 2026 is BST (08:00 local = 07:00 UTC); Mon 26 Oct is GMT.
    fires = fire_times(
        trigger, datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC)
    )
    assert fires[0] == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    assert len(fires) == 6  # Mon-Fri, then Monday 26 October
    assert fires[-1] == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_weekly_report_runs_once_per_due_time_and_waits_for_the_bank_holiday(app: App) -> None:
    rec = Recorder()
    report = jobs_by_name(app, rec.passes())["weekly-report"]
    # Easter Monday 6 April 2026 is a bank holiday: the report for week 14 is due on Tuesday
    # 7 April at 08:00 BST (07:00 UTC). The report due on Monday 30 March went out.
    with app.engine.begin() as conn:
        beat(conn, "weekly-report", now=datetime(2026, 3, 30, 7, 0, 3, tzinfo=UTC), detail={})
    easter_monday = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
    assert counts_of(report.run(easter_monday)) == {"report_already_done": 1}
    assert rec.calls == []
    tuesday = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
    ran = report.run(tuesday)
    assert counts_of(ran) == {"calls": 1, "name_is_not_a_count": "weekly_report"}
    assert ran[HANDLED] == epoch(tuesday)
    assert rec.calls == [("weekly_report", tuesday)]
    with app.engine.begin() as conn:  # run_job records the heartbeat after a success
        beat(conn, "weekly-report", now=tuesday, detail=ran)
    assert counts_of(report.run(tuesday + timedelta(days=1))) == {"report_already_done": 1}


def test_delivery_catches_up_a_missed_weekly_report_once(app: App) -> None:
    rec = Recorder()
    jobs = jobs_by_name(app, rec.passes())
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with app.engine.begin() as conn:  # the digest is up to date; the report was missed
        beat(conn, "digest", now=datetime(2026, 11, 23, 8, 30, 1, tzinfo=UTC), detail={})
        beat(conn, "weekly-report", now=datetime(2026, 11, 16, 8, 0, 2, tzinfo=UTC), detail={})
    counts = jobs["delivery"].run(monday)
    assert rec.calls == [("weekly_report", monday), ("deliver", monday)]
    assert counts["weekly_report_calls"] == 1
    rec.calls.clear()
    jobs["delivery"].run(monday + timedelta(minutes=5))
    assert rec.calls == [("deliver", monday + timedelta(minutes=5))]


def test_weekly_report_off_removes_the_job(sqlite_engine: Engine) -> None:
    settings = load_settings(rules_dir=REPO / "rules", weekly_report_at="off")
    app = build_app(settings, engine=sqlite_engine)
    rec = Recorder()
    jobs = jobs_by_name(app, rec.passes())
    assert "weekly-report" not in jobs
    with app.engine.begin() as conn:
        beat(conn, "digest", now=T0, detail={})
    jobs["delivery"].run(T0)
    assert rec.calls == [("deliver", T0)]


def test_a_catch_up_that_ends_after_the_next_due_time_does_not_count_for_it(app: App) -> None:
    rec = Recorder()
    report = jobs_by_name(app, rec.passes())["weekly-report"]
    # The worker came back at 07:59:58 on Monday 23 November and caught up the report due on
    # Monday 16 November; that run finished at 08:00:03, after this week's report fell due.
    with app.engine.begin() as conn:
        beat(
            conn,
            "weekly-report",
            now=datetime(2026, 11, 23, 8, 0, 3, tzinfo=UTC),
            detail={HANDLED: epoch(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))},
        )
    at = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
    assert counts_of(report.run(at)) == {"calls": 1, "name_is_not_a_count": "weekly_report"}
    assert rec.calls == [("weekly_report", at)]


def test_a_failing_catch_up_is_logged_and_delivery_still_runs(app: App) -> None:
    rec = Recorder()
    passes = rec.passes()

    def broken(now: datetime) -> Mapping[str, object]:
        raise RuntimeError("figures failed")

    jobs = jobs_by_name(app, replace(passes, weekly_report=broken))
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with app.engine.begin() as conn:  # the digest is up to date; the report is missing
        beat(
            conn,
            "digest",
            now=monday,
            detail={HANDLED: epoch(monday.replace(minute=0, hour=8) + timedelta(minutes=30))},
        )
    with capture_logs() as logs:
        counts = jobs["delivery"].run(monday)
    assert rec.calls == [("deliver", monday)]
    assert counts["weekly_report_failed"] == 1
    [failed] = [e for e in logs if e["event"] == "catch_up_failed"]
    assert (failed["job"], failed["error"]) == ("weekly-report", "RuntimeError")
    with app.engine.connect() as conn:  # not marked done: the next delivery tries again
        assert "weekly-report" not in read_heartbeats(conn)
