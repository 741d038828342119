"""``frontdoor status``: is the scheduler alive, when did it last scan and send, and what is
waiting in the outbox. A read of the database only; ``now`` is passed in.

*Stale* means that neither the ``scan`` nor the ``full-scan`` heartbeat is newer than
``now - max_age``: the scheduler is down, stuck, or every scan is failing. A database that
no scheduler has ever run against has no heartbeat at all, which counts as stale too.
*Mail stuck* means a message has waited in the outbox for longer than ``max_age``: the SMTP
server is unreachable or refuses the login. Either makes the status unhealthy.

With the feed check on, the data feed's verdict is shown too. A stale feed does not make the
status unhealthy: the worker is doing its job (holding breach e-mails back and alerting the
system owner), and restarting it would not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, TextIO

from sqlalchemy import Connection, func, select

from frontdoor import outbox
from frontdoor.feed import FRESH_MARK, FeedVerdict
from frontdoor.heartbeat import HeartbeatRow, read_heartbeats
from frontdoor.models import Outbox, ScanState, table_of
from frontdoor.scanview import format_local, iso_utc

SCAN_JOBS = ("full-scan", "scan")
JOB_ORDER = ("full-scan", "scan", "digest", "delivery")
FAILED_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Status:
    """What ``frontdoor status`` reports.

    ``heartbeats`` holds every job's last success. ``last_scan_state_at`` is when any
    recording scan (scheduled or ``frontdoor scan``) last stored rule state;
    ``last_sent_at`` is when the outbox last had a message accepted by the SMTP server.
    """

    now: datetime
    max_age: timedelta
    heartbeats: dict[str, HeartbeatRow]
    last_scan_state_at: datetime | None
    last_sent_at: datetime | None
    pending: int
    oldest_pending_at: datetime | None
    failed_recently: int
    feed: FeedVerdict | None = None

    @property
    def last_scan_at(self) -> datetime | None:
        """The newest ``scan`` or ``full-scan`` heartbeat (None when neither exists)."""
        times = [self.heartbeats[j].last_ok_at for j in SCAN_JOBS if j in self.heartbeats]
        return max(times, default=None)

    @property
    def stale(self) -> bool:
        """No scan heartbeat newer than ``now - max_age`` (or none at all)."""
        last = self.last_scan_at
        return last is None or last < self.now - self.max_age

    @property
    def mail_stuck(self) -> bool:
        """A message has waited in the outbox for longer than ``max_age``."""
        oldest = self.oldest_pending_at
        return oldest is not None and oldest < self.now - self.max_age

    @property
    def healthy(self) -> bool:
        """Neither stale nor with mail stuck in the outbox."""
        return not self.stale and not self.mail_stuck

    @property
    def problem(self) -> str | None:
        """Why the status is unhealthy, in one sentence; None when healthy."""
        last = self.last_scan_at
        if last is None:
            return "no scheduled scan has ever finished (is `frontdoor run` running?)"
        if self.stale:
            minutes = int(self.max_age.total_seconds() // 60)
            return f"no scheduled scan has finished in the last {minutes} minutes"
        if self.mail_stuck:
            minutes = int(self.max_age.total_seconds() // 60)
            return (
                f"{self.pending} message(s) waiting in the outbox, the oldest for more than "
                f"{minutes} minutes (is the SMTP server reachable and the login right?)"
            )
        return None


def gather_status(
    conn: Connection, *, now: datetime, max_age: timedelta, feed: FeedVerdict | None = None
) -> Status:
    """Read heartbeats, the scan state and the outbox as of ``now``; ``feed`` is the data
    feed's verdict (None: the check is off)."""
    s = table_of(ScanState).c
    o = table_of(Outbox).c
    backlog = outbox.backlog(conn, failed_since=now - FAILED_WINDOW)
    return Status(
        now=now,
        max_age=max_age,
        heartbeats=read_heartbeats(conn),
        last_scan_state_at=conn.execute(select(func.max(s.ran_at))).scalar_one(),
        last_sent_at=conn.execute(select(func.max(o.sent_at))).scalar_one(),
        pending=backlog.pending,
        oldest_pending_at=backlog.oldest_pending,
        failed_recently=backlog.failed,
        feed=feed,
    )


def _ago(status: Status, when: datetime | None, tz: tzinfo) -> str:
    if when is None:
        return "never"
    minutes = int((status.now - when).total_seconds() // 60)
    if minutes < 0:
        age = "in the future"
    elif minutes < 120:
        age = f"{minutes} min ago"
    elif minutes < 48 * 60:
        age = f"{minutes // 60} h ago"
    else:
        age = f"{minutes // (24 * 60)} days ago"
    return f"{format_local(when, tz)} ({age})"


def _jobs(status: Status) -> list[str]:
    others = (j for j in status.heartbeats if j not in JOB_ORDER and j != FRESH_MARK)
    return [*JOB_ORDER, *sorted(others)]


def print_status(status: Status, tz: tzinfo, out: TextIO) -> None:
    """The status for a person, times in ``tz``."""
    label = "STALE" if status.stale else "MAIL STUCK"
    verdict = "OK" if status.healthy else f"{label}: {status.problem}"
    out.write(f"frontdoor status at {format_local(status.now, tz)}: {verdict}\n")
    out.write("Scheduler jobs, last success:\n")
    for job in _jobs(status):
        row = status.heartbeats.get(job)
        line = f"  {job:<10} {_ago(status, row.last_ok_at if row else None, tz)}"
        if row and row.detail:
            line += "  " + " ".join(f"{k}={v}" for k, v in row.detail.items())
        out.write(line + "\n")
    out.write(f"Last recording scan (any): {_ago(status, status.last_scan_state_at, tz)}\n")
    out.write(f"Last e-mail sent: {_ago(status, status.last_sent_at, tz)}\n")
    oldest = (
        f" (oldest queued {_ago(status, status.oldest_pending_at, tz)})"
        if status.oldest_pending_at is not None
        else ""
    )
    out.write(
        f"Outbox: {status.pending} pending{oldest}, {status.failed_recently} failed in the "
        f"last {FAILED_WINDOW.days} days\n"
    )
    out.write(_feed_line(status, tz) + "\n")


def _feed_line(status: Status, tz: tzinfo) -> str:
    feed = status.feed
    if feed is None:
        return "Data feed check: off (FRONTDOOR_FEED_STALE_AFTER)"
    newest = _ago(status, feed.last_contact_at, tz)
    if feed.stale and feed.stale_since is not None:
        return (
            f"Data feed: STALE since {format_local(feed.stale_since, tz)}, newest contact "
            f"{newest}; digests, escalations and the weekly report are held back"
        )
    return f"Data feed: OK, newest contact {newest}"


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def _job_document(row: HeartbeatRow | None) -> dict[str, Any]:
    if row is None:
        return {"last_ok_at": None, "detail": None}
    return {"last_ok_at": iso_utc(row.last_ok_at), "detail": dict(row.detail)}


def status_document(status: Status) -> dict[str, Any]:
    """The ``status --json`` document (instants as ISO 8601 UTC)."""
    return {
        "now": iso_utc(status.now),
        "healthy": status.healthy,
        "stale": status.stale,
        "problem": status.problem,
        "max_age_minutes": int(status.max_age.total_seconds() // 60),
        "last_scan_at": _iso(status.last_scan_at),
        "jobs": {job: _job_document(status.heartbeats.get(job)) for job in _jobs(status)},
        "last_scan_state_at": _iso(status.last_scan_state_at),
        "last_sent_at": _iso(status.last_sent_at),
        "outbox": {
            "pending": status.pending,
            "oldest_pending_created_at": _iso(status.oldest_pending_at),
            "failed_last_7_days": status.failed_recently,
        },
        "feed": None
        if status.feed is None
        else {
            "stale": status.feed.stale,
            "last_contact_at": _iso(status.feed.last_contact_at),
            "stale_since": _iso(status.feed.stale_since),
        },
    }
