"""Tests for :mod:`frontdoor.slots`: digest slots on the working calendar, repeats, escalation.

The schedule is 08:30, 12:30 and 16:00 Europe/London on England and Wales working days.
Expectations are literal UTC instants worked out by hand (data-contract.md): in winter (GMT)
08:30 local is 08:30Z, in summer (BST) it is 07:30Z. Relevant calendar facts:

* 2026: BST ended Sun 25 Oct; Fri 25 Dec Christmas, Mon 28 Dec substitute Boxing Day.
* 2027: Fri 1 Jan New Year; Good Friday 26 Mar, BST starts Sun 28 Mar 01:00Z, Easter Monday
  29 Mar; BST ends Sun 31 Oct 01:00Z.

The property test compares against an independent oracle built from ``zoneinfo`` and the
``holidays`` package directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor.clock import england_calendar
from frontdoor.slots import (
    DigestSchedule,
    Repeat,
    escalation_cutoff,
    escalation_moment,
    repeat_due,
)

LONDON = ZoneInfo("Europe/London")
CAL = england_calendar()
TIMES = (time(8, 30), time(12, 30), time(16, 0))
SCHEDULE = DigestSchedule(CAL, TIMES)
ONE_US = timedelta(microseconds=1)
DAY = timedelta(hours=24)

_PKG_HOLIDAYS = frozenset(
    holidays.country_holidays("GB", subdiv="ENG", years=list(range(2025, 2030))).keys()
)

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


# =================================================================================================
# latest_at_or_before
# =================================================================================================
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Tue 3 Nov 2026 (GMT): exactly at a slot is that slot (inclusive).
        (utc(2026, 11, 3, 8, 30), utc(2026, 11, 3, 8, 30)),
        (utc(2026, 11, 3, 12, 30), utc(2026, 11, 3, 12, 30)),
        (utc(2026, 11, 3, 16, 0), utc(2026, 11, 3, 16, 0)),
        # Between slots, and one microsecond before a slot.
        (utc(2026, 11, 3, 14, 0), utc(2026, 11, 3, 12, 30)),
        (utc(2026, 11, 3, 12, 29, 59, 999999), utc(2026, 11, 3, 8, 30)),
        # After the last slot, up to local midnight.
        (utc(2026, 11, 3, 23, 59, 59, 999999), utc(2026, 11, 3, 16, 0)),
    ],
    ids=["at-0830", "at-1230", "at-1600", "between", "1us-before-1230", "late-evening"],
)
def test_latest_at_or_before_on_a_working_day(now: datetime, expected: datetime) -> None:
    assert SCHEDULE.latest_at_or_before(now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Mon 2 Nov 2026 before 08:30 -> Fri 30 Oct 2026 16:00 GMT.
        (utc(2026, 11, 2, 8, 29, 59, 999999), utc(2026, 10, 30, 16, 0)),
        (utc(2026, 11, 2, 0, 0), utc(2026, 10, 30, 16, 0)),
        # Saturday 31 Oct and Sunday 1 Nov 2026 -> Friday 16:00.
        (utc(2026, 10, 31, 12, 0), utc(2026, 10, 30, 16, 0)),
        (utc(2026, 11, 1, 23, 0), utc(2026, 10, 30, 16, 0)),
        # Christmas Day (Fri) and the substitute Boxing Day (Mon 28 Dec) -> Thu 24 Dec 16:00.
        (utc(2026, 12, 25, 12, 0), utc(2026, 12, 24, 16, 0)),
        (utc(2026, 12, 28, 10, 0), utc(2026, 12, 24, 16, 0)),
        (utc(2026, 12, 29, 8, 29), utc(2026, 12, 24, 16, 0)),
        # New Year's Day 2027 (Fri) -> Thu 31 Dec 2026 16:00.
        (utc(2027, 1, 1, 9, 0), utc(2026, 12, 31, 16, 0)),
    ],
    ids=[
        "monday-before-first",
        "monday-midnight",
        "saturday",
        "sunday-late",
        "christmas-day",
        "substitute-boxing-day",
        "tuesday-before-first",
        "new-years-day",
    ],
)
def test_latest_at_or_before_goes_back_to_the_previous_working_day(
    now: datetime, expected: datetime
) -> None:
    assert SCHEDULE.latest_at_or_before(now) == expected


def test_latest_at_or_before_across_the_spring_clock_change() -> None:
    # Good Friday 26 Mar 2027 and Easter Monday 29 Mar are holidays; the clocks go forward in
    # between. The first slot after Easter is Tue 30 Mar 08:30 BST = 07:30Z.
    tue_0830_bst = utc(2027, 3, 30, 7, 30)
    assert SCHEDULE.latest_at_or_before(tue_0830_bst) == tue_0830_bst
    # 08:30Z is 09:30 BST: still the 08:30 slot.
    assert SCHEDULE.latest_at_or_before(utc(2027, 3, 30, 8, 30)) == tue_0830_bst
    # One microsecond earlier (08:29:59.999999 BST) the latest slot is Thu 25 Mar 16:00 GMT.
    assert SCHEDULE.latest_at_or_before(tue_0830_bst - ONE_US) == utc(2027, 3, 25, 16, 0)
    # Easter Monday, all day.
    assert SCHEDULE.latest_at_or_before(utc(2027, 3, 29, 12, 0)) == utc(2027, 3, 25, 16, 0)


def test_latest_at_or_before_in_winter_is_wall_time_in_utc() -> None:
    # Thu 5 Nov 2026 is GMT: 08:30 local is 08:30Z, and 08:29:59Z is before it.
    assert SCHEDULE.latest_at_or_before(utc(2026, 11, 5, 8, 30)) == utc(2026, 11, 5, 8, 30)
    assert SCHEDULE.latest_at_or_before(utc(2026, 11, 5, 8, 29, 59)) == utc(2026, 11, 4, 16, 0)


def test_latest_at_or_before_uses_the_local_date() -> None:
    # Mon 7 Jun 2027 23:30Z is Tue 8 Jun 00:30 BST: the latest slot is Mon 16:00 BST (15:00Z).
    assert SCHEDULE.latest_at_or_before(utc(2027, 6, 7, 23, 30)) == utc(2027, 6, 7, 15, 0)
    # Fri 4 Jun 2027 23:30Z is Sat 5 Jun 00:30 BST: still Friday's 16:00 BST.
    assert SCHEDULE.latest_at_or_before(utc(2027, 6, 4, 23, 30)) == utc(2027, 6, 4, 15, 0)


def test_latest_at_or_before_accepts_any_aware_zone() -> None:
    local = datetime(2027, 6, 8, 8, 30, tzinfo=LONDON)  # 07:30Z
    assert SCHEDULE.latest_at_or_before(local) == utc(2027, 6, 8, 7, 30)


# =================================================================================================
# next_after
# =================================================================================================
@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Strictly after: a slot is followed by the next one, not itself.
        (utc(2026, 11, 3, 8, 30), utc(2026, 11, 3, 12, 30)),
        (utc(2026, 11, 3, 8, 29, 59, 999999), utc(2026, 11, 3, 8, 30)),
        (utc(2026, 11, 3, 12, 30), utc(2026, 11, 3, 16, 0)),
        (utc(2026, 11, 3, 16, 0), utc(2026, 11, 4, 8, 30)),
        # Fri 6 Nov 16:00 -> Mon 9 Nov 08:30; Saturday too.
        (utc(2026, 11, 6, 16, 0), utc(2026, 11, 9, 8, 30)),
        (utc(2026, 11, 7, 10, 0), utc(2026, 11, 9, 8, 30)),
        # Christmas: Thu 24 Dec 16:00 -> (Fri 25, Sat, Sun, Mon 28 substitute) Tue 29 Dec 08:30.
        (utc(2026, 12, 24, 16, 0), utc(2026, 12, 29, 8, 30)),
        (utc(2026, 12, 28, 9, 0), utc(2026, 12, 29, 8, 30)),
        # New Year: Thu 31 Dec 16:00 -> (Fri 1 Jan, Sat, Sun) Mon 4 Jan 2027 08:30.
        (utc(2026, 12, 31, 16, 0), utc(2027, 1, 4, 8, 30)),
        # Easter 2027 across the clock change: Thu 25 Mar 16:00 GMT -> Tue 30 Mar 08:30 BST.
        (utc(2027, 3, 25, 16, 0), utc(2027, 3, 30, 7, 30)),
        # Autumn 2027: Fri 29 Oct 16:00 BST (15:00Z) -> Mon 1 Nov 08:30 GMT.
        (utc(2027, 10, 29, 15, 0), utc(2027, 11, 1, 8, 30)),
        # Summer, in BST: 07:30Z is the 08:30 slot, so 07:29Z is followed by it.
        (utc(2027, 6, 8, 7, 29), utc(2027, 6, 8, 7, 30)),
    ],
    ids=[
        "at-0830",
        "1us-before-0830",
        "at-1230",
        "at-1600",
        "friday-1600",
        "saturday",
        "christmas-eve-1600",
        "substitute-boxing-day",
        "new-years-eve-1600",
        "easter-2027-dst",
        "autumn-2027-dst",
        "summer",
    ],
)
def test_next_after(instant: datetime, expected: datetime) -> None:
    assert SCHEDULE.next_after(instant) == expected


# =================================================================================================
# first_of_next_working_day, is_slot
# =================================================================================================
@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Tue 3 Nov 2026: after the first slot, before it, and at the last: all -> Wed 08:30.
        (utc(2026, 11, 3, 12, 30), utc(2026, 11, 4, 8, 30)),
        (utc(2026, 11, 3, 7, 0), utc(2026, 11, 4, 8, 30)),
        (utc(2026, 11, 3, 16, 0), utc(2026, 11, 4, 8, 30)),
        # Friday before its own first slot: the next working day, Monday, not Friday 08:30.
        (utc(2026, 11, 6, 8, 0), utc(2026, 11, 9, 8, 30)),
        (utc(2026, 11, 7, 12, 0), utc(2026, 11, 9, 8, 30)),
        (utc(2026, 12, 24, 16, 0), utc(2026, 12, 29, 8, 30)),
        # Thu 24 Jun 2027 23:30Z is Fri 25 Jun 00:30 BST: after Friday comes Mon 28 Jun
        # 08:30 BST (07:30Z), not Friday's slots.
        (utc(2027, 6, 24, 23, 30), utc(2027, 6, 28, 7, 30)),
    ],
    ids=[
        "weekday-midday",
        "weekday-early",
        "weekday-last-slot",
        "friday-early",
        "saturday",
        "christmas-eve",
        "local-date-in-bst",
    ],
)
def test_first_of_next_working_day(instant: datetime, expected: datetime) -> None:
    assert SCHEDULE.first_of_next_working_day(instant) == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2026, 11, 3, 8, 30), True),
        (utc(2026, 11, 3, 12, 30), True),
        (utc(2026, 11, 3, 16, 0), True),
        (utc(2026, 11, 3, 8, 30, 0, 1), False),
        (utc(2026, 11, 3, 8, 29, 59, 999999), False),
        (utc(2026, 11, 3, 10, 0), False),
        # Summer: 08:30 BST is 07:30Z; 08:30Z is 09:30 BST.
        (utc(2027, 6, 8, 7, 30), True),
        (utc(2027, 6, 8, 8, 30), False),
        # Not working days.
        (utc(2026, 11, 7, 8, 30), False),
        (utc(2026, 12, 25, 8, 30), False),
        (utc(2026, 12, 28, 8, 30), False),
        (utc(2027, 3, 29, 7, 30), False),
    ],
    ids=[
        "0830",
        "1230",
        "1600",
        "1us-after",
        "1us-before",
        "not-a-slot-time",
        "summer-0830-bst",
        "summer-0830z",
        "saturday",
        "christmas",
        "substitute-boxing-day",
        "easter-monday",
    ],
)
def test_is_slot(instant: datetime, expected: bool) -> None:
    assert SCHEDULE.is_slot(instant) is expected


def test_instants_on_a_working_day_and_a_holiday() -> None:
    assert SCHEDULE.instants_on(date(2027, 6, 8)) == [
        utc(2027, 6, 8, 7, 30),
        utc(2027, 6, 8, 11, 30),
        utc(2027, 6, 8, 15, 0),
    ]
    assert SCHEDULE.instants_on(date(2026, 12, 28)) == []


# =================================================================================================
# repeat_due
# =================================================================================================
@pytest.mark.parametrize(
    ("last", "slot", "expected"),
    [
        # Mon 2 Nov 2026 12:30: not again on Monday, from Tuesday's first slot.
        (utc(2026, 11, 2, 12, 30), utc(2026, 11, 2, 16, 0), False),
        (utc(2026, 11, 2, 12, 30), utc(2026, 11, 3, 8, 30), True),
        (utc(2026, 11, 2, 12, 30), utc(2026, 11, 3, 12, 30), True),
        # A message at Monday's *first* slot still waits for Tuesday.
        (utc(2026, 11, 2, 8, 30), utc(2026, 11, 2, 16, 0), False),
        # Fri 6 Nov 16:00 -> Mon 9 Nov 08:30.
        (utc(2026, 11, 6, 16, 0), utc(2026, 11, 9, 8, 30), True),
        # Thu 24 Dec 2026 -> Tue 29 Dec 08:30 (Fri 25 and Mon 28 Dec are holidays).
        (utc(2026, 12, 24, 8, 30), utc(2026, 12, 24, 16, 0), False),
        (utc(2026, 12, 24, 16, 0), utc(2026, 12, 29, 8, 30), True),
        # Across Easter 2027 and the clock change: Thu 25 Mar -> Tue 30 Mar 08:30 BST (07:30Z).
        (utc(2027, 3, 25, 16, 0), utc(2027, 3, 30, 7, 30), True),
    ],
    ids=[
        "same-day",
        "next-day-first",
        "next-day-later",
        "first-slot-same-day",
        "over-weekend",
        "christmas-eve-same-day",
        "over-christmas",
        "over-easter-dst",
    ],
)
def test_repeat_next_working_day(last: datetime, slot: datetime, expected: bool) -> None:
    assert repeat_due(SCHEDULE, "next-working-day", last=last, slot=slot) is expected


def test_substitute_boxing_day_has_no_slot_to_repeat_at() -> None:
    # Mon 28 Dec 2026 is a bank holiday: no slot exists, so the repeat after Thu 24 Dec
    # happens at Tue 29 Dec 08:30, the first slot after Christmas.
    assert SCHEDULE.instants_on(date(2026, 12, 28)) == []
    assert not SCHEDULE.is_slot(utc(2026, 12, 28, 8, 30))
    assert SCHEDULE.next_after(utc(2026, 12, 24, 16, 0)) == utc(2026, 12, 29, 8, 30)


@pytest.mark.parametrize(
    ("last", "slot"),
    [
        # Any later slot, even the very next one the same day (which next-working-day refuses).
        (utc(2026, 11, 2, 8, 30), utc(2026, 11, 2, 12, 30)),
        (utc(2026, 11, 2, 12, 30), utc(2026, 11, 2, 16, 0)),
        (utc(2026, 11, 6, 16, 0), utc(2026, 11, 9, 8, 30)),
    ],
    ids=["0830-1230", "1230-1600", "over-weekend"],
)
def test_repeat_every_slot_at_any_later_slot(last: datetime, slot: datetime) -> None:
    assert repeat_due(SCHEDULE, "every-slot", last=last, slot=slot) is True


@pytest.mark.parametrize(
    ("last", "slot", "expected"),
    [
        # 08:30 -> 12:30 is exactly 4 h: due (the boundary is inclusive).
        (utc(2026, 11, 2, 8, 30), utc(2026, 11, 2, 12, 30), True),
        # 12:30 -> 16:00 is 3.5 h: not yet.
        (utc(2026, 11, 2, 12, 30), utc(2026, 11, 2, 16, 0), False),
        # 08:30 -> 16:00 is 7.5 h.
        (utc(2026, 11, 2, 8, 30), utc(2026, 11, 2, 16, 0), True),
        # 16:00 -> next day 08:30 is 16.5 h.
        (utc(2026, 11, 2, 16, 0), utc(2026, 11, 3, 8, 30), True),
        # One microsecond short of 4 h.
        (utc(2026, 11, 2, 8, 30, 0, 1), utc(2026, 11, 2, 12, 30), False),
    ],
    ids=["exactly-4h", "3h30", "7h30", "overnight", "4h-minus-1us"],
)
def test_repeat_every_four_hours(last: datetime, slot: datetime, expected: bool) -> None:
    assert repeat_due(SCHEDULE, timedelta(hours=4), last=last, slot=slot) is expected


@pytest.mark.parametrize(
    "repeat",
    ["next-working-day", "every-slot", timedelta(hours=4), timedelta(hours=1)],
    ids=["next-working-day", "every-slot", "4h", "1h"],
)
@pytest.mark.parametrize(
    ("last", "slot"),
    [
        (utc(2026, 11, 3, 12, 30), utc(2026, 11, 3, 12, 30)),
        (utc(2026, 11, 4, 8, 30), utc(2026, 11, 3, 12, 30)),
        (utc(2026, 11, 9, 8, 30), utc(2026, 11, 3, 8, 30)),
    ],
    ids=["same-slot", "slot-before-last", "week-before-last"],
)
def test_no_repeat_at_or_before_the_last_message(
    repeat: Repeat, last: datetime, slot: datetime
) -> None:
    assert repeat_due(SCHEDULE, repeat, last=last, slot=slot) is False


# =================================================================================================
# escalation_moment
# =================================================================================================
EARLY_BASELINE = utc(2026, 1, 5, 8, 30)


@pytest.mark.parametrize(
    ("breached_at", "expected"),
    [
        # Fri 6 Nov 2026 10:00: 14 h on Friday, weekend skipped, 10 h on Monday.
        (utc(2026, 11, 6, 10, 0), utc(2026, 11, 9, 10, 0)),
        # Thu 24 Dec 2026 10:00: 14 h on Thursday; Fri 25, Sat, Sun, Mon 28 skipped.
        (utc(2026, 12, 24, 10, 0), utc(2026, 12, 29, 10, 0)),
        # Sat 7 Nov 2026: all of Monday 9 Nov, i.e. Tue 10 Nov 00:00 GMT.
        (utc(2026, 11, 7, 10, 0), utc(2026, 11, 10, 0, 0)),
        # Sat 5 Jun 2027: all of Mon 7 Jun, i.e. Tue 8 Jun 00:00 BST = Mon 23:00Z.
        (utc(2027, 6, 5, 10, 0), utc(2027, 6, 7, 23, 0)),
        # Thu 25 Mar 2027 10:00 GMT: 14 h on Thursday; Good Friday, the weekend (clocks go
        # forward) and Easter Monday skipped; Tue 30 Mar from 00:00 BST (Mon 23:00Z) + 10 h.
        (utc(2027, 3, 25, 10, 0), utc(2027, 3, 30, 9, 0)),
    ],
    ids=["friday", "christmas-eve", "saturday-gmt", "saturday-bst", "easter-dst"],
)
def test_escalation_moment_is_24_working_hours_after_the_breach(
    breached_at: datetime, expected: datetime
) -> None:
    assert (
        escalation_moment(CAL, breached_at=breached_at, baseline=EARLY_BASELINE, after=DAY)
        == expected
    )


def test_escalation_moment_counts_from_the_baseline_for_the_backlog() -> None:
    # Breach Mon 2 Nov 2026 10:00, go-live Wed 4 Nov 14:00: 24 working hours from go-live is
    # Thu 5 Nov 14:00 (from the breach it would have been Tue 3 Nov 10:00).
    breach = utc(2026, 11, 2, 10, 0)
    baseline = utc(2026, 11, 4, 14, 0)
    assert escalation_moment(CAL, breached_at=breach, baseline=baseline, after=DAY) == utc(
        2026, 11, 5, 14, 0
    )
    # A baseline before the breach changes nothing.
    assert escalation_moment(
        CAL, breached_at=breach, baseline=utc(2026, 11, 2, 9, 0), after=DAY
    ) == utc(2026, 11, 3, 10, 0)


def test_escalation_moment_with_working_hours() -> None:
    # 4 working hours from Fri 6 Nov 2026 22:00: 2 h on Friday, 2 h on Monday.
    assert escalation_moment(
        CAL, breached_at=utc(2026, 11, 6, 22, 0), baseline=EARLY_BASELINE, after=timedelta(hours=4)
    ) == utc(2026, 11, 9, 2, 0)


# =================================================================================================
# Properties
# =================================================================================================
def _oracle_slots(day: date) -> list[datetime]:
    """Slot instants on ``day``, from zoneinfo and the holidays package only."""
    if day.weekday() >= 5 or day in _PKG_HOLIDAYS:
        return []
    return [datetime.combine(day, t, tzinfo=LONDON).astimezone(UTC) for t in TIMES]


def _oracle_window(instant: datetime, days_before: int, days_after: int) -> list[datetime]:
    # The longest run of non-working days in England is 4 (Christmas, Easter): 8 is ample.
    local = instant.astimezone(LONDON).date()
    out: list[datetime] = []
    for i in range(-days_before, days_after + 1):
        out.extend(_oracle_slots(local + timedelta(days=i)))
    return out


_slot_dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))
instants = st.one_of(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)).map(
        lambda x: x.replace(tzinfo=UTC)
    ),
    # Near a (possible) slot instant, give or take a microsecond: the inclusive boundaries.
    st.builds(
        lambda d, t, us: (
            datetime.combine(d, t, tzinfo=LONDON).astimezone(UTC) + timedelta(microseconds=us)
        ),
        _slot_dates,
        st.sampled_from(TIMES),
        st.integers(min_value=-1, max_value=1),
    ),
)


@PROPERTY_SETTINGS
@given(now=instants)
def test_latest_slot_brackets_now(now: datetime) -> None:
    latest = SCHEDULE.latest_at_or_before(now)
    following = SCHEDULE.next_after(latest)
    assert latest <= now < following
    assert SCHEDULE.is_slot(latest)
    local = latest.astimezone(LONDON)
    assert local.time() in TIMES
    assert local.date().weekday() < 5
    assert local.date() not in _PKG_HOLIDAYS
    assert latest == max(s for s in _oracle_window(now, 8, 0) if s <= now)


@PROPERTY_SETTINGS
@given(instant=instants)
def test_next_after_is_the_first_later_slot(instant: datetime) -> None:
    nxt = SCHEDULE.next_after(instant)
    assert nxt > instant
    assert SCHEDULE.is_slot(nxt)
    assert nxt == min(s for s in _oracle_window(instant, 0, 8) if s > instant)


# escalation_cutoff
# =================================================================================================


@settings(max_examples=300, deadline=None)
@given(
    breach_offset=st.integers(min_value=0, max_value=60 * 24 * 20),
    now_offset=st.integers(min_value=0, max_value=60 * 24 * 20),
    start=st.sampled_from(
        [
            utc(2026, 12, 18, 9, 0),  # over Christmas and Boxing Day (substitute Monday)
            utc(2027, 3, 20, 9, 0),  # over Easter and the clocks going forward
            utc(2026, 10, 20, 9, 0),  # over the clocks going back
        ]
    ),
    hours=st.sampled_from([1, 4, 24, 48]),
)
def test_escalation_cutoff_agrees_with_the_moment_of_every_item(
    breach_offset: int, now_offset: int, start: datetime, hours: int
) -> None:
    """``max(breach, baseline) <= cutoff`` exactly when the escalation moment is due."""
    after = timedelta(hours=hours)
    breach = start + timedelta(minutes=breach_offset, microseconds=breach_offset % 7)
    now = start + timedelta(minutes=now_offset)
    cutoff = escalation_cutoff(CAL, now=now, after=after)
    moment = escalation_moment(CAL, breached_at=breach, baseline=EARLY_BASELINE, after=after)
    assert (max(breach, EARLY_BASELINE) <= cutoff) == (moment <= now)
    # and the cutoff is the last such start, to the microsecond
    assert CAL.add_working_time(cutoff, after) <= now
    assert CAL.add_working_time(cutoff + timedelta(microseconds=1), after) > now
