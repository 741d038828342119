"""Digest slots on the working calendar, and the repeat and escalation clocks.

Pure: every function takes the instants it needs. A slot is a local wall time (for example
08:30 Europe/London) on a working day; its *instant* is that wall time as aware UTC, so 08:30
is 08:30 GMT in winter and 08:30 BST in summer. Settings refuse slots from 01:00 to 02:59, so
every slot instant exists and is unique.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from frontdoor.clock import WorkingCalendar, localize

# A year without a working day does not exist; this bound only stops a bad calendar looping.
_MAX_DAYS = 400


@dataclass(frozen=True)
class DigestSchedule:
    """Slot times on working days of ``calendar``. ``times`` must be sorted and unique."""

    calendar: WorkingCalendar
    times: tuple[time, ...]

    def instants_on(self, day: date) -> list[datetime]:
        """The slot instants on ``day`` (none when it is not a working day)."""
        if not self.calendar.is_working_day(day):
            return []
        return [localize(datetime.combine(day, t), self.calendar.tz) for t in self.times]

    def _days_from(self, day: date, step: int) -> Iterator[date]:
        for i in range(_MAX_DAYS):
            yield day + timedelta(days=i * step)
        raise ValueError("no working day within a year")  # pragma: no cover

    def latest_at_or_before(self, now: datetime) -> datetime:
        """The most recent slot instant at or before ``now`` (the slot due at ``now``)."""
        for day in self._days_from(self.calendar.local_date(now), -1):
            earlier = [s for s in self.instants_on(day) if s <= now]
            if earlier:
                return earlier[-1]
        raise AssertionError("unreachable")  # pragma: no cover

    def next_after(self, instant: datetime) -> datetime:
        """The first slot instant strictly after ``instant``."""
        for day in self._days_from(self.calendar.local_date(instant), 1):
            later = [s for s in self.instants_on(day) if s > instant]
            if later:
                return later[0]
        raise AssertionError("unreachable")  # pragma: no cover

    def first_of_next_working_day(self, instant: datetime) -> datetime:
        """The first slot of the first working day after the local date of ``instant``."""
        day = self.calendar.local_date(instant) + timedelta(days=1)
        for d in self._days_from(day, 1):
            slots = self.instants_on(d)
            if slots:
                return slots[0]
        raise AssertionError("unreachable")  # pragma: no cover

    def is_slot(self, instant: datetime) -> bool:
        """True when ``instant`` is exactly a slot instant."""
        return instant in self.instants_on(self.calendar.local_date(instant))


Repeat = Literal["next-working-day", "every-slot"] | timedelta


def repeat_due(schedule: DigestSchedule, repeat: Repeat, *, last: datetime, slot: datetime) -> bool:
    """Whether a reminder may repeat at ``slot`` when the last message went at slot ``last``.

    ``next-working-day`` (the default): from the first slot of the next working day after
    ``last``. ``every-slot``: at any later slot. A timedelta: once that much time has passed.
    """
    if slot <= last:
        return False
    if repeat == "every-slot":
        return True
    if repeat == "next-working-day":
        return slot >= schedule.first_of_next_working_day(last)
    assert isinstance(repeat, timedelta)
    return slot - last >= repeat


_MICROSECOND = timedelta(microseconds=1)


def escalation_moment(
    cal: WorkingCalendar, *, breached_at: datetime, baseline: datetime, after: timedelta
) -> datetime:
    """When an item that breached at ``breached_at`` goes to the second level if still open
    without a current rationale: ``after`` working time from its breach, counted from go-live
    (``baseline``) for the pre-existing backlog so that go-live does not escalate everything.
    """
    return cal.add_working_time(max(breached_at, baseline), after)


def escalation_cutoff(cal: WorkingCalendar, *, now: datetime, after: timedelta) -> datetime:
    """The latest start ``s`` whose escalation moment ``cal.add_working_time(s, after)`` is at
    or before ``now``: an item escalates at ``now`` exactly when ``max(breached_at,
    baseline) <= cutoff``. Found once per slot by bisection (about 50 calls) instead of one
    call per open item: ``add_working_time`` never decreases as its start grows, and
    datetimes are whole microseconds, so the search is exact."""
    step = after + timedelta(days=1)
    lo = now - after  # working time never runs faster than the clock: the moment is >= now
    for _ in range(1000):  # back over weekends and holidays until a start is due
        if cal.add_working_time(lo, after) <= now:
            break
        lo -= step
    else:  # pragma: no cover - a calendar with no working time in ~1000 days
        return lo
    lo_us, hi_us = 0, (now - lo) // _MICROSECOND  # offsets from lo: lo is due, now is not
    while hi_us - lo_us > 1:
        mid = (lo_us + hi_us) // 2
        if cal.add_working_time(lo + mid * _MICROSECOND, after) <= now:
            lo_us = mid
        else:
            hi_us = mid
    return lo + lo_us * _MICROSECOND
