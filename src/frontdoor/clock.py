"""The statutory clock: clock hours, working hours and working days.

Pure functions and one immutable calendar value. Nothing here reads the real time: every
function that needs "now" takes it as a parameter. All datetimes passed in must be aware;
all datetimes returned are aware UTC.

Definitions follow ``data-contract.md`` (binding):

* **Clock hours** are real elapsed time (``start + limit`` in UTC), so DST changes shorten or
  lengthen the local-time span.
* **Working days** are Monday to Friday except England and Wales bank holidays (substitute and
  one-off days included). A limit of N working days is date based: the due moment is the end
  (23:59:59.999999 local) of the Nth working day after the local date of the start; the start
  day is day 0 whether or not it is a working day.
* **Working hours** count only time that falls on working days, optionally narrowed to an
  office-hours window (for example 09:00-17:00 local). The due moment is the earliest instant at
  which the required amount of working time has elapsed since the start.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

END_OF_DAY = time(23, 59, 59, 999999)
_ONE_DAY = timedelta(days=1)


class NonExistentLocalTime(ValueError):
    """A wall-clock time that does not exist in the zone (the spring-forward gap)."""


def bank_holidays_england(years: Iterable[int]) -> frozenset[date]:
    """England and Wales bank holidays for ``years`` from the ``holidays`` package.

    Includes substitute days ("Boxing Day (observed)") and one-off days (jubilees, state
    funerals, coronations) that the package knows about. ``subdiv="ENG"`` is explicit because
    Scotland's list differs.
    """
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=list(years)).keys())


@dataclass(frozen=True)
class OfficeHours:
    """A daily window of local time that counts as working time, ``start <= t < end``."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("office hours must start before they end on the same day")


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days in a time zone: weekdays that are not bank holidays.

    ``holidays`` is the set of non-working weekdays (bank holidays). Build one with
    :func:`england_calendar`; tests may pass any set.
    """

    tz: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)

    # -- dates ------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        """True for Monday to Friday that is not a holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, day: date, n: int) -> date:
        """The Nth working day after ``day`` (``day`` itself is day 0, working or not).

        ``n`` must be >= 0; ``n == 0`` returns ``day`` unchanged.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        return _add_working_days(self, day, n)

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days d with ``start < d <= end`` (0 when ``end <= start``)."""
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count

    # -- instants ---------------------------------------------------------------------------
    def local_date(self, instant: datetime) -> date:
        """The local calendar date of an aware instant (a naive one raises ``ValueError``)."""
        if instant.tzinfo is None:
            raise ValueError("expected an aware datetime")
        return instant.astimezone(self.tz).date()

    def start_of_day(self, day: date) -> datetime:
        """00:00 local on ``day`` as aware UTC (midnight always exists in Europe/London)."""
        return localize(datetime.combine(day, time()), self.tz)

    def end_of_day(self, day: date) -> datetime:
        """23:59:59.999999 local on ``day`` as aware UTC."""
        return localize(datetime.combine(day, END_OF_DAY), self.tz)

    def due_working_days(self, start: datetime | date, n: int) -> datetime:
        """Due moment of an N-working-day limit that starts at ``start`` (instant or date)."""
        day = start if not isinstance(start, datetime) else self.local_date(start)
        return self.end_of_day(self.add_working_days(day, n))

    def latest_overdue_start_date(self, n: int, *, now: datetime) -> date:
        """The last local start date whose N-working-day due moment is strictly before ``now``.

        Every start date on or before the returned date is overdue at ``now`` (if still open);
        every later one is not. Because the due moment is the end of a local day, "due < now"
        is exactly "due date < local date of now".
        """
        today = self.local_date(now)
        # add_working_days is non-decreasing in its argument, so walk back from today.
        d = today
        while self.add_working_days(d, n) >= today:
            d -= _ONE_DAY
        return d

    # -- working hours ----------------------------------------------------------------------
    def _working_spans(self, day: date, office: OfficeHours | None) -> tuple[datetime, datetime]:
        """UTC [start, end) of the working time on a working ``day``."""
        if office is None:
            return self.start_of_day(day), self.start_of_day(day + _ONE_DAY)
        return (
            localize(datetime.combine(day, office.start), self.tz),
            localize(datetime.combine(day, office.end), self.tz),
        )

    def add_working_time(
        self, start: datetime, amount: timedelta, *, office: OfficeHours | None = None
    ) -> datetime:
        """Earliest instant at which ``amount`` of working time has elapsed since ``start``.

        Working time is time on working days, narrowed to ``office`` hours when given. Real
        elapsed time is used within a day, so a working day of 23 or 25 hours (DST change on a
        weekday never happens in the UK, but other zones may) counts as it is.
        ``amount`` must be positive.
        """
        if amount <= timedelta(0):
            raise ValueError("amount must be positive")
        if start.tzinfo is None:
            raise ValueError("expected an aware datetime")
        remaining = amount
        cursor = start.astimezone(UTC)
        day = self.local_date(cursor)
        while True:
            if self.is_working_day(day):
                span_start, span_end = self._working_spans(day, office)
                begin = max(cursor, span_start)
                if begin < span_end:
                    available = span_end - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += _ONE_DAY
            cursor = max(cursor, self.start_of_day(day))


@functools.lru_cache(maxsize=65536)
def _add_working_days(cal: WorkingCalendar, day: date, n: int) -> date:
    d = day
    remaining = n
    while remaining:
        d += _ONE_DAY
        if cal.is_working_day(d):
            remaining -= 1
    return d


def england_calendar(
    tz_name: str = "Europe/London", *, years: Iterable[int] | None = None
) -> WorkingCalendar:
    """A :class:`WorkingCalendar` with England and Wales bank holidays.

    ``years`` defaults to 2000-2060, wide enough for any record a monitor will see; the
    ``holidays`` package computes them offline.
    """
    yrs = range(2000, 2061) if years is None else years
    return WorkingCalendar(tz=ZoneInfo(tz_name), holidays=bank_holidays_england(yrs))


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Interpret a naive local wall time in ``tz`` and return aware UTC.

    A time in the spring-forward gap raises :class:`NonExistentLocalTime`. An ambiguous time
    (the repeated autumn hour) is read as its first occurrence (``fold=0``).
    """
    if naive.tzinfo is not None:
        raise ValueError("expected a naive local datetime")
    first = naive.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    # A non-existent wall time does not survive the round trip back to local time.
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise NonExistentLocalTime(f"{naive.isoformat()} does not exist in {tz.key}")
    return utc


def add_clock_hours(start: datetime, amount: timedelta) -> datetime:
    """``start + amount`` in real elapsed time, returned as aware UTC."""
    return start.astimezone(UTC) + amount
