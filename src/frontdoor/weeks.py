"""ISO weeks as reporting periods (pure).

A report week runs from Monday 00:00 to the next Monday 00:00 local time (Europe/London by
default), so it lasts 167 or 169 real hours in the weeks the clocks change. ``start`` and
``end`` are aware UTC instants and the week is the half-open interval ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdoor.clock import WorkingCalendar, localize

LONDON = ZoneInfo("Europe/London")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_ONE_WEEK = timedelta(days=7)


@dataclass(frozen=True, order=True)
class ReportWeek:
    """One ISO week in a time zone. Build it with :func:`week_of` or :func:`parse_week`."""

    year: int
    week: int
    tz: ZoneInfo = LONDON

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise ValueError(f"{self.year}-W{self.week:02d} is not an ISO week") from None

    @property
    def label(self) -> str:
        """``"2026-W48"``."""
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        """The local date of the week's Monday."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        """The local date of the week's Sunday (its last day)."""
        return self.monday + timedelta(days=6)

    @property
    def days(self) -> list[date]:
        """The seven local dates of the week, Monday first."""
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> datetime:
        """Monday 00:00 local, as aware UTC (inclusive)."""
        return localize(datetime.combine(self.monday, time()), self.tz)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 local, as aware UTC (exclusive)."""
        return localize(datetime.combine(self.monday + _ONE_WEEK, time()), self.tz)

    def __str__(self) -> str:
        return self.label


def week_of(day: date, tz: ZoneInfo = LONDON) -> ReportWeek:
    """The ISO week containing the local date ``day``."""
    iso = day.isocalendar()
    return ReportWeek(iso.year, iso.week, tz)


def parse_week(text: str, tz: ZoneInfo = LONDON) -> ReportWeek:
    """Parse ``"YYYY-Www"`` (e.g. ``"2026-W48"``; a lower-case ``w`` is accepted).

    Raises :class:`ValueError` naming the input when it is not of that form or the year has no
    such week (week 53 exists only in some years).
    """
    m = _WEEK.match(text.strip().upper())
    if not m:
        raise ValueError(f"week must look like 2026-W48, got {text!r}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        return ReportWeek(year, week, tz)
    except ValueError:
        raise ValueError(f"{text!r}: year {year} has no ISO week {week}") from None


def last_complete_week(now: datetime, tz: ZoneInfo = LONDON) -> ReportWeek:
    """The latest week whose end is at or before ``now`` (an aware instant).

    On Monday 00:00 local exactly, the week that just ended is complete.
    """
    if now.tzinfo is None:
        raise ValueError("expected an aware datetime")
    return previous(week_of(now.astimezone(tz).date(), tz))


def previous(week: ReportWeek) -> ReportWeek:
    """The week before ``week``."""
    return week_of(week.monday - _ONE_WEEK, week.tz)


def weeks_back(week: ReportWeek, n: int) -> list[ReportWeek]:
    """``n`` consecutive weeks ending with ``week``, oldest first (the trend; ``n >= 1``)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    return [week_of(week.monday - _ONE_WEEK * i, week.tz) for i in range(n - 1, -1, -1)]


def report_due(now: datetime, cal: WorkingCalendar, at: time) -> tuple[ReportWeek, datetime] | None:
    """The latest weekly report due at or before ``now``: (the week it covers, when it was
    due). A week's report is due at ``at`` local time on the first working day of the week
    after it (Monday, or Tuesday after Easter Monday); the search looks back four weeks and
    returns None when no report fell due in them (a run of holidays, or ``now`` before the
    first due time)."""
    week = week_of(cal.local_date(now), cal.tz)
    for _ in range(5):
        due = next(
            (localize(datetime.combine(d, at), cal.tz) for d in week.days if cal.is_working_day(d)),
            None,
        )
        if due is not None and due <= now:
            return previous(week), due
        week = previous(week)
    return None
