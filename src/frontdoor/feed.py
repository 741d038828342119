"""Is the data feed alive? "No new contacts for N working hours during working time".

A front door receives contacts all through the working day, so a monitor that has seen no new
contact for hours is almost always looking at a stopped import or sync, not a quiet day. Breach
e-mails computed from such data are false: outcomes recorded in the case system since the feed
stopped have not arrived. :func:`judge` decides, purely, whether the feed is stale at ``now``;
:func:`latest_contact_at` reads the one fact it needs. What to do about it (one alert to the
system owner, breach e-mails held back) is in :mod:`frontdoor.feed_alert` and the scheduler.

Working time here is working days (:class:`~frontdoor.clock.WorkingCalendar`) narrowed to a
daily window (``FRONTDOOR_FEED_HOURS``, default 09:00-17:00 local): the feed is not expected
to move at night, at weekends or on bank holidays, so those hours never count towards
staleness, and a feed that goes quiet at 16:30 on a Friday becomes stale on Monday morning,
not on Saturday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import Connection, func, select

from frontdoor.clock import OfficeHours, WorkingCalendar
from frontdoor.models import Contact, table_of

#: Heartbeat row written by the worker's feed check whenever it finds the feed fresh (a
#: marker, not a job: ``frontdoor status`` leaves it out of the job list).
FRESH_MARK = "feed-fresh"
#: How far back the fast query looks (see :func:`latest_contact_at`).
LOOKBACK = timedelta(days=35)
_AFTER = re.compile(r"^\s*(\d{1,3})\s+working\s+hours?\s*$", re.IGNORECASE)
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class HeldBack(Exception):  # noqa: N818 - not an error: the pass was held on purpose
    """Raised by a pass that sends breach e-mails while the feed is stale: the scheduler logs
    it, writes no heartbeat (so the work stays due) and tries again later."""

    def __init__(self, job: str, verdict: FeedVerdict) -> None:
        super().__init__(f"{job} held back: the data feed is stale")
        self.job = job
        self.verdict = verdict


@dataclass(frozen=True)
class FeedPolicy:
    """``after``: working time without a new contact after which the feed is stale;
    ``hours``: the daily window of local time on working days that counts."""

    after: timedelta
    hours: OfficeHours


@dataclass(frozen=True)
class FeedVerdict:
    """What :func:`judge` found at ``now``.

    ``last_contact_at`` is the newest contact's receipt time at or before ``now`` (None: no
    contacts at all). ``stale_since`` is when the feed became (or will become) stale: the
    instant ``policy.after`` of working time had passed since that contact. It also names the
    stale episode: it changes only when a newer contact arrives, so one alert per episode is
    one alert per ``stale_since``. ``stale`` is ``stale_since <= now``; a database with no
    contacts is never stale (there is nothing to hold back yet).
    """

    now: datetime
    last_contact_at: datetime | None
    stale_since: datetime | None
    after: timedelta | None

    @property
    def stale(self) -> bool:
        """True when breach e-mails must be held back."""
        return self.stale_since is not None and self.stale_since <= self.now


def not_checked(now: datetime) -> FeedVerdict:
    """The verdict when the check is turned off (``FRONTDOOR_FEED_STALE_AFTER=off``)."""
    return FeedVerdict(now=now, last_contact_at=None, stale_since=None, after=None)


def judge(
    last_contact_at: datetime | None, *, now: datetime, cal: WorkingCalendar, policy: FeedPolicy
) -> FeedVerdict:
    """Whether the feed is stale at ``now``, given the newest contact's receipt time."""
    if last_contact_at is None:
        return FeedVerdict(now=now, last_contact_at=None, stale_since=None, after=policy.after)
    since = cal.add_working_time(last_contact_at, policy.after, office=policy.hours)
    return FeedVerdict(
        now=now, last_contact_at=last_contact_at, stale_since=since, after=policy.after
    )


def latest_contact_at(conn: Connection, *, now: datetime) -> datetime | None:
    """The latest ``received_at`` at or before ``now`` over every contact (None: none).

    Fast at millions of rows without an index on ``received_at`` for completed contacts: an
    open contact is found on the open-contact index; a completed one received after
    ``now - LOOKBACK`` has its outcome after that too (the importer rejects an outcome before
    receipt), so it is found by a range on the outcome index. Only when neither finds a
    contact in the look-back window (a feed dead for weeks, or a replay far in the past) does
    it read the whole table. Contacts marked ``untimed`` (Annex A: a date, not a feed) are
    left out.
    """
    c = table_of(Contact).c
    floor = now - LOOKBACK
    recent = [
        select(func.max(c.received_at)).where(
            c.outcome_at.is_(None),
            c.received_at <= now,
            c.received_at >= floor,
            c.untimed.is_(False),
        ),
        select(func.max(c.received_at)).where(
            c.outcome_at.is_not(None),
            c.outcome_at >= floor,
            c.received_at <= now,
            c.received_at >= floor,
            c.untimed.is_(False),
        ),
    ]
    found: list[datetime] = [v for q in recent if (v := conn.execute(q).scalar()) is not None]
    if not found:
        whole: datetime | None = conn.execute(
            select(func.max(c.received_at)).where(c.received_at <= now, c.untimed.is_(False))
        ).scalar()
        return whole  # max() keeps the column's type: an aware UTC datetime
    return max(found)  # aware UTC, as above


def parse_stale_after(value: str) -> timedelta | None:
    """``"off"`` (None) or ``"N working hours"`` (N from 1 to 999)."""
    if value.strip().lower() == "off":
        return None
    m = _AFTER.match(value)
    if not m or int(m.group(1)) == 0:
        raise ValueError("use 'off' or a number of working hours such as '4 working hours'")
    return timedelta(hours=int(m.group(1)))


def parse_hours(value: str) -> OfficeHours:
    """``"HH:MM-HH:MM"`` local, start before end on the same day."""
    m = _WINDOW.match(value)
    if not m:
        raise ValueError("use local HH:MM-HH:MM such as '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    try:
        return OfficeHours(time(h1, m1), time(h2, m2))
    except ValueError as exc:
        raise ValueError(f"not a window of one day: {exc}") from None
