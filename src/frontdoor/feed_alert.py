"""The "data feed stale" check the worker runs: judge the feed, alert the system owner once.

:func:`check_feed` reads the newest contact, judges it (:func:`frontdoor.feed.judge`) and, when
the feed is stale, queues one alert for ``FRONTDOOR_SYSTEM_OWNER_EMAIL`` in the outbox; the
delivery job sends it. One alert per stoppage: each check that finds the feed fresh records
the time (heartbeat ``feed-fresh``), and a stale feed is alerted only when no alert was queued
since then. So a partial catch-up that moves the newest contact but leaves the feed stale, or
a restart with other settings, adds no second alert. The outbox's unique key (recipient,
kind, slot = ``stale_since``) keeps two workers that check at once to one row. The scheduler
uses the verdict to hold breach e-mails back (:class:`frontdoor.feed.HeldBack`).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import Connection, select

from frontdoor import heartbeat, outbox
from frontdoor.bootstrap import App
from frontdoor.delivery import email_for
from frontdoor.errors import UsageError
from frontdoor.feed import FRESH_MARK, FeedVerdict, judge, latest_contact_at, not_checked
from frontdoor.models import Outbox, table_of
from frontdoor.render import Renderer
from frontdoor.scanview import format_local, iso_utc
from frontdoor.system_views import feed_stale_view

log = structlog.get_logger()

KIND = "feed-stale"


def check_feed(app: App, *, now: datetime, alert: bool = True) -> FeedVerdict:
    """The feed's verdict at ``now``. With ``alert`` (the worker, ``now`` the real time), a
    fresh verdict is recorded and a stale one queues the owner's alert unless one was queued
    since the feed was last fresh; without it nothing is written. With
    ``FRONTDOOR_FEED_STALE_AFTER=off`` nothing is read and the verdict is never stale."""
    policy = app.settings.feed_policy
    owner = app.settings.system_owner_email
    if policy is None or owner is None:  # settings refuse a policy without an owner
        return not_checked(now)
    with app.engine.begin() as conn:
        verdict = judge(latest_contact_at(conn, now=now), now=now, cal=app.calendar, policy=policy)
        last, since = verdict.last_contact_at, verdict.stale_since
        if not alert or last is None or since is None:
            return verdict
        if not verdict.stale:
            heartbeat.beat(conn, FRESH_MARK, now=now, detail={})
            return verdict
        if _alerted_since_fresh(conn, owner):
            return verdict
        view = feed_stale_view(
            verdict, policy, tz=app.settings.zone, synced=app.settings.sync_url is not None
        )
        rendered = Renderer(app.settings.templates_dir).render(KIND, view)
        message = email_for(app, rendered, owner, KIND, since, now)
        row = outbox.enqueue(
            conn,
            recipient=owner,
            kind=KIND,
            level=0,
            slot=since,
            message=message,
            now=now,
        )
    if row is not None:
        log.warning(
            "feed_stale_alert_queued",
            outbox_id=row,
            last_contact_at=iso_utc(last),
            stale_since=iso_utc(since),
        )
    return verdict


def _alerted_since_fresh(conn: Connection, owner: str) -> bool:
    """Whether an alert to ``owner`` was queued since the feed was last judged fresh (ever,
    when it never was)."""
    fresh = heartbeat.read_heartbeats(conn).get(FRESH_MARK)
    o = table_of(Outbox).c
    query = select(o.id).where(o.kind == KIND, o.recipient == owner)
    if fresh is not None:
        query = query.where(o.created_at >= fresh.last_ok_at)
    return conn.execute(query.limit(1)).first() is not None


def verdict_counts(verdict: FeedVerdict) -> dict[str, object]:
    """The verdict for a job's log line and heartbeat (empty when the check is off)."""
    if verdict.after is None:
        return {}
    last = verdict.last_contact_at
    return {
        "feed_stale": int(verdict.stale),
        "feed_last_contact_at": None if last is None else iso_utc(last),
    }


def require_fresh_feed(app: App, *, now: datetime, what: str) -> None:
    """For a command that sends breach e-mails by hand (``digest``, ``report weekly --send``):
    raise :class:`UsageError` while the feed is stale, as the worker holds them back; the
    command's ``--even-if-stale`` skips this check. Writes nothing (the worker alerts)."""
    verdict = check_feed(app, now=now, alert=False)  # ``now`` may be a replay
    if verdict.stale and verdict.stale_since is not None:
        tz = app.settings.zone
        raise UsageError(
            f"the data feed is stale since {format_local(verdict.stale_since, tz)} (no new "
            f"contact for {app.settings.feed_stale_after}): {what} held back, as the worker "
            "does; check the import or sync (`frontdoor status`), or pass --even-if-stale "
            "to send anyway"
        )
