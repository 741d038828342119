"""The scheduler with a data feed: sync before each scan, the feed judged after it, breach
e-mails (digest, weekly report) held back while the feed is stale and caught up after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from structlog.testing import capture_logs

from frontdoor.bootstrap import App
from frontdoor.errors import FrontdoorError
from frontdoor.feed import FeedVerdict, not_checked
from frontdoor.heartbeat import beat, read_heartbeats
from frontdoor.scheduler import HANDLED
from frontdoor.scheduler_loop import run_job
from tests.unit.test_scheduler import Recorder, epoch, fixed, jobs_by_name
from tests.unit.test_scheduler import _app as _app  # noqa: F401 - the `app` fixture

MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # latest slot: 08:30


class Feed:
    """A fake feed check: stale or fresh as the test sets it; records each call."""

    def __init__(self) -> None:
        self.stale = False
        self.calls: list[datetime] = []

    def __call__(self, now: datetime) -> FeedVerdict:
        self.calls.append(now)
        if not self.stale:
            last = now - timedelta(minutes=5)
            return FeedVerdict(now, last, now + timedelta(hours=4), timedelta(hours=4))
        last = now - timedelta(days=1)
        return FeedVerdict(now, last, now - timedelta(hours=1), timedelta(hours=4))


def test_sync_runs_before_the_scan_and_the_feed_is_judged_after_it(app: App) -> None:
    rec = Recorder()
    feed = Feed()

    def feed_after_scan(now: datetime) -> FeedVerdict:
        rec.calls.append(("feed", now))
        return feed(now)

    passes = replace(rec.passes(), sync=rec._pass("sync"), feed=feed_after_scan)
    jobs = jobs_by_name(app, passes)
    for name, pass_name in (("scan", "scan"), ("full-scan", "full_scan")):
        rec.calls.clear()
        counts = jobs[name].run(MONDAY_0900)
        assert rec.calls == [("sync", MONDAY_0900), (pass_name, MONDAY_0900), ("feed", MONDAY_0900)]
        assert counts["sync_calls"] == 1  # the sync's counts are kept, prefixed
        assert counts["calls"] == 1
        assert counts["feed_stale"] == 0
        assert counts["feed_last_contact_at"] == "2026-11-23T08:55:00Z"


def test_a_failing_sync_is_logged_and_the_scan_still_runs(app: App) -> None:
    rec = Recorder()

    def failed(now: datetime) -> Mapping[str, object]:
        raise FrontdoorError("the contacts query failed (OperationalError)")

    def crashed(now: datetime) -> Mapping[str, object]:
        raise ValueError("could not convert 'Jane Doe, 1 High St'")  # source data in it

    for sync, message in (
        (failed, "the contacts query failed (OperationalError)"),
        (crashed, None),  # only frontdoor's own messages are logged: they never quote data
    ):
        rec.calls.clear()
        jobs = jobs_by_name(app, replace(rec.passes(), sync=sync))
        with capture_logs() as logs:
            counts = jobs["scan"].run(MONDAY_0900)
        assert rec.calls == [("scan", MONDAY_0900)]
        assert counts["sync_failed"] == 1
        [line] = [e for e in logs if e["event"] == "sync_failed"]
        assert line["message"] == message
        assert line["where"].startswith("test_scheduler_feed.py:")
        assert "Jane" not in repr(logs)


def test_a_failing_feed_check_is_logged_and_the_scan_still_counts(app: App) -> None:
    rec = Recorder()

    def broken(now: datetime) -> FeedVerdict:
        raise RuntimeError("database is locked")

    jobs = jobs_by_name(app, replace(rec.passes(), feed=broken))
    with capture_logs() as logs:
        assert run_job(jobs["scan"], engine=app.engine, clock=fixed(MONDAY_0900)) is True
    assert rec.calls == [("scan", MONDAY_0900)]
    assert [e["error"] for e in logs if e["event"] == "feed_check_failed"] == ["RuntimeError"]
    with app.engine.connect() as conn:
        assert read_heartbeats(conn)["scan"].detail["feed_check_failed"] == 1


def test_without_a_source_the_scan_does_not_sync(app: App) -> None:
    rec = Recorder()
    jobs = jobs_by_name(app, rec.passes())  # sync=None, feed not checked
    counts = jobs["scan"].run(MONDAY_0900)
    assert rec.calls == [("scan", MONDAY_0900)]
    assert not any(k.startswith(("sync_", "feed_")) for k in counts)


def test_a_stale_feed_holds_the_digest_back_without_a_heartbeat(app: App) -> None:
    rec = Recorder()
    feed = Feed()
    feed.stale = True
    jobs = jobs_by_name(app, replace(rec.passes(), feed=feed))
    with capture_logs() as logs:
        assert run_job(jobs["digest"], engine=app.engine, clock=fixed(MONDAY_0900)) is False
    assert rec.calls == []  # the digest pass never ran: nothing planned, nothing queued
    [held] = [e for e in logs if e["event"] == "job_held_feed_stale"]
    assert held["job"] == "digest"
    assert held["log_level"] == "warning"
    with app.engine.connect() as conn:
        assert "digest" not in read_heartbeats(conn)  # still due


def test_delivery_keeps_holding_then_catches_up_once_the_feed_is_fresh(app: App) -> None:
    rec = Recorder()
    feed = Feed()
    feed.stale = True
    jobs = jobs_by_name(app, replace(rec.passes(), feed=feed))
    with app.engine.begin() as conn:  # this week's report went out; the 08:30 digest is due
        beat(
            conn,
            "weekly-report",
            now=datetime(2026, 11, 23, 8, 0, 2, tzinfo=UTC),
            detail={HANDLED: epoch(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))},
        )
    counts = jobs["delivery"].run(MONDAY_0900)
    assert counts["digest_held_feed_stale"] == 1
    assert rec.calls == [("deliver", MONDAY_0900)]  # other mail (the owner's alert) still goes
    with app.engine.connect() as conn:
        assert "digest" not in read_heartbeats(conn)
    # Contacts arrive again: the next delivery pass works the 08:30 digest out and marks it.
    feed.stale = False
    rec.calls.clear()
    later = MONDAY_0900 + timedelta(minutes=5)
    counts = jobs["delivery"].run(later)
    assert rec.calls == [("digest", later), ("deliver", later)]
    assert counts["digest_calls"] == 1
    with app.engine.connect() as conn:
        hb = read_heartbeats(conn)["digest"]
    assert hb.detail[HANDLED] == epoch(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))


def test_a_stale_feed_holds_the_weekly_report_back_too(app: App) -> None:
    rec = Recorder()
    feed = Feed()
    feed.stale = True
    jobs = jobs_by_name(app, replace(rec.passes(), feed=feed))
    at = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
    assert run_job(jobs["weekly-report"], engine=app.engine, clock=fixed(at)) is False
    assert rec.calls == []
    feed.stale = False
    assert run_job(jobs["weekly-report"], engine=app.engine, clock=fixed(at)) is True
    assert rec.calls == [("weekly_report", at)]


def test_the_default_feed_check_is_off() -> None:
    verdict = not_checked(MONDAY_0900)
    assert not verdict.stale
    assert Recorder().passes().feed(MONDAY_0900) == verdict
