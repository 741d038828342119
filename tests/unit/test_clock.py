"""Tests for :mod:`frontdoor.clock`, the statutory clock (data-contract.md, "Timescales").

Hand-checked expectations are literal UTC instants worked out by hand from the calendar (bank
holiday dates checked against the ``holidays`` package), never computed with the code under
test. The property tests compare against small, independent oracles built here from
``zoneinfo`` and the ``holidays`` package directly.

Europe/London: GMT (UTC+0) in winter, BST (UTC+1) in summer. In 2027 the clocks go forward at
01:00 UTC on Sunday 28 March and back at 01:00 UTC on Sunday 31 October, so the end of a local
day is 23:59:59.999999Z in winter and 22:59:59.999999Z in summer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor.clock import (
    END_OF_DAY,
    NonExistentLocalTime,
    OfficeHours,
    WorkingCalendar,
    add_clock_hours,
    bank_holidays_england,
    england_calendar,
    localize,
)

LONDON = ZoneInfo("Europe/London")
CAL = england_calendar()
NINE_TO_FIVE = OfficeHours(time(9), time(17))
ONE_US = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

# An independent copy of the England and Wales list for the oracles below.
_PKG_HOLIDAYS = frozenset(
    holidays.country_holidays("GB", subdiv="ENG", years=list(range(2000, 2061))).keys()
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def ldn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    """An aware Europe/London wall time (zoneinfo, not the code under test)."""
    return datetime(y, mo, d, h, mi, s, us, tzinfo=LONDON)


# -- independent oracles -------------------------------------------------------------------------
def _oracle_is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _PKG_HOLIDAYS


def _oracle_add_working_days(day: date, n: int) -> date:
    d = day
    for _ in range(n):
        d += ONE_DAY
        while not _oracle_is_working_day(d):
            d += ONE_DAY
    return d


def _oracle_end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=LONDON).astimezone(UTC)


def _oracle_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def _oracle_span(day: date, office: OfficeHours | None) -> tuple[datetime, datetime]:
    """UTC [open, close) of a working day. UTC throughout: subtracting two aware datetimes
    that share a tzinfo ignores the offset, which would hide DST bugs."""
    if office is None:
        return _oracle_midnight(day), _oracle_midnight(day + ONE_DAY)
    return (
        datetime.combine(day, office.start, tzinfo=LONDON).astimezone(UTC),
        datetime.combine(day, office.end, tzinfo=LONDON).astimezone(UTC),
    )


def _oracle_working_time(start: datetime, end: datetime, office: OfficeHours | None) -> timedelta:
    """Total working time in [start, end), by summing overlaps day by day."""
    total = timedelta(0)
    day = start.astimezone(LONDON).date() - ONE_DAY
    last = end.astimezone(LONDON).date() + ONE_DAY
    while day <= last:
        if _oracle_is_working_day(day):
            lo, hi = _oracle_span(day, office)
            overlap = min(end, hi) - max(start, lo)
            if overlap > timedelta(0):
                total += overlap
        day += ONE_DAY
    return total


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month, 31)
    return d - timedelta(days=(d.weekday() - 6) % 7)


def _in_spring_gap(wall: datetime) -> bool:
    """01:00 <= t < 02:00 on the last Sunday of March does not exist in London (2000-2059)."""
    return wall.date() == _last_sunday(wall.year, 3) and wall.hour == 1


def _in_autumn_overlap(wall: datetime) -> bool:
    """01:00 <= t < 02:00 on the last Sunday of October happens twice in London."""
    return wall.date() == _last_sunday(wall.year, 10) and wall.hour == 1


# -- strategies ----------------------------------------------------------------------------------
_TRANSITIONS = [
    datetime.combine(_last_sunday(y, m), time(1), tzinfo=UTC)
    for y in range(2000, 2060)
    for m in (3, 10)
]
_TRANSITION_DATES = [t.date() for t in _TRANSITIONS]

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2059, 12, 31))

# Instants: uniform over 2000-2059, biased towards DST changes and towards local midnights (the
# boundary between one day's due moment and the next day) give or take a few microseconds.
instants = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2059, 12, 31)).map(
        lambda x: x.replace(tzinfo=UTC)
    ),
    st.builds(
        lambda t, off: t + off,
        st.sampled_from(_TRANSITIONS),
        st.timedeltas(min_value=timedelta(days=-4), max_value=timedelta(days=4)),
    ),
    st.builds(
        lambda d, us: _oracle_midnight(d) + timedelta(microseconds=us),
        st.one_of(dates, st.sampled_from(_TRANSITION_DATES)),
        st.integers(min_value=-2, max_value=2),
    ),
)

naive_walls = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2059, 12, 31)),
    st.builds(datetime.combine, st.sampled_from(_TRANSITION_DATES), st.times()),
)


@st.composite
def office_hours(draw: st.DrawFn) -> OfficeHours | None:
    """None (whole working days), a common window, or a random window of at least an hour."""
    kind = draw(st.integers(min_value=0, max_value=2))
    if kind == 0:
        return None
    if kind == 1:
        return draw(
            st.sampled_from(
                [
                    NINE_TO_FIVE,
                    OfficeHours(time(8, 30), time(17, 30)),
                    OfficeHours(time(0), END_OF_DAY),
                ]
            )
        )
    day_us = 86_400_000_000
    start_us = draw(st.integers(min_value=0, max_value=day_us - 3_600_000_001))
    end_us = draw(st.integers(min_value=start_us + 3_600_000_000, max_value=day_us - 1))

    def to_time(us: int) -> time:
        s, micro = divmod(us, 1_000_000)
        return time(s // 3600, s // 60 % 60, s % 60, micro)

    return OfficeHours(to_time(start_us), to_time(end_us))


amounts = st.timedeltas(min_value=ONE_US, max_value=timedelta(days=5))


# =================================================================================================
# Bank holidays
# =================================================================================================
@pytest.mark.parametrize(
    "day",
    [
        pytest.param(date(2022, 6, 3), id="platinum-jubilee-2022"),
        pytest.param(date(2022, 9, 19), id="state-funeral-2022"),
        pytest.param(date(2023, 5, 8), id="coronation-2023"),
        pytest.param(date(2020, 5, 8), id="early-may-moved-for-ve-day-2020"),
        pytest.param(date(2026, 12, 25), id="christmas-2026-friday"),
        pytest.param(date(2026, 12, 28), id="substitute-boxing-day-2026"),
        pytest.param(date(2027, 1, 1), id="new-year-2027-friday"),
        pytest.param(date(2027, 3, 26), id="good-friday-2027"),
        pytest.param(date(2027, 3, 29), id="easter-monday-2027"),
        pytest.param(date(2027, 5, 31), id="spring-bank-holiday-2027"),
        pytest.param(date(2027, 12, 27), id="substitute-christmas-2027"),
        pytest.param(date(2027, 12, 28), id="substitute-boxing-day-2027"),
        pytest.param(date(2000, 1, 3), id="substitute-new-year-2000-range-start"),
        pytest.param(date(2060, 12, 27), id="substitute-boxing-day-2060-range-end"),
    ],
)
def test_bank_holidays_including_one_offs_and_substitutes_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5  # a weekday, so only the holiday list can make it non-working
    assert day in CAL.holidays
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        pytest.param(date(2026, 11, 30), id="st-andrews-day-scotland-only"),
        pytest.param(date(2026, 8, 3), id="summer-bank-holiday-scotland-only"),
        pytest.param(date(2027, 1, 4), id="2-january-substitute-scotland-only"),
        pytest.param(date(2027, 3, 17), id="st-patricks-day-northern-ireland-only"),
        pytest.param(date(2027, 7, 12), id="battle-of-the-boyne-northern-ireland-only"),
        pytest.param(date(2022, 9, 20), id="day-after-state-funeral"),
        pytest.param(date(2026, 12, 29), id="tuesday-after-christmas-2026"),
    ],
)
def test_holidays_of_other_uk_nations_and_ordinary_weekdays_are_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert CAL.is_working_day(day)


def test_weekends_are_never_working_days_even_with_an_empty_holiday_list() -> None:
    cal = WorkingCalendar(tz=LONDON)
    assert [cal.is_working_day(date(2027, 6, d)) for d in range(5, 12)] == [
        False,  # Sat 5
        False,  # Sun 6
        True,
        True,
        True,
        True,
        True,  # Fri 11
    ]


def test_bank_holidays_england_matches_the_package_list_for_england_and_wales() -> None:
    got = bank_holidays_england([2026, 2027])
    assert got == frozenset(d for d in _PKG_HOLIDAYS if d.year in (2026, 2027))
    assert date(2026, 11, 30) not in got  # Scotland's St Andrew's Day


# =================================================================================================
# Working days: hand-checked due moments
# =================================================================================================
@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # The contract's two examples.
        pytest.param(
            ldn(2026, 12, 18, 16), 1, utc(2026, 12, 21, 23, 59, 59, 999999), id="fri-to-mon"
        ),
        # Thu 24 Dec: Fri 25 (Christmas), Sat, Sun, Mon 28 (substitute Boxing Day) -> Tue 29.
        pytest.param(
            ldn(2026, 12, 24, 9), 1, utc(2026, 12, 29, 23, 59, 59, 999999), id="christmas"
        ),
        # Tue 22 Dec + 3: Wed 23 (1), Thu 24 (2), [25, 26, 27, 28], Tue 29 (3).
        pytest.param(ldn(2026, 12, 22, 9), 3, utc(2026, 12, 29, 23, 59, 59, 999999), id="xmas-3"),
        # New Year 2027: Thu 31 Dec + 1 skips Fri 1 Jan (bank holiday) and the weekend.
        pytest.param(ldn(2026, 12, 31, 10), 1, utc(2027, 1, 4, 23, 59, 59, 999999), id="new-year"),
        pytest.param(ldn(2026, 12, 30, 10), 1, utc(2026, 12, 31, 23, 59, 59, 999999), id="nye"),
        # Easter 2027 and spring forward: Thu 25 Mar (GMT) + 1 skips Good Friday 26, the weekend
        # (clocks change on Sun 28) and Easter Monday 29 -> Tue 30 Mar, whose end is in BST.
        pytest.param(ldn(2027, 3, 25, 16), 1, utc(2027, 3, 30, 22, 59, 59, 999999), id="easter"),
        # Fall back: Fri 29 Oct 2027 (BST) + 1 -> Mon 1 Nov, whose end is in GMT.
        pytest.param(
            ldn(2027, 10, 29, 10), 1, utc(2027, 11, 1, 23, 59, 59, 999999), id="fall-back"
        ),
        # Wed 27 Oct (BST) + 2 -> Fri 29 Oct, still BST: end of day is 22:59:59.999999Z.
        pytest.param(ldn(2027, 10, 27, 10), 2, utc(2027, 10, 29, 22, 59, 59, 999999), id="bst-eod"),
        # Summer: end of day is 22:59:59.999999Z.
        pytest.param(ldn(2027, 6, 7, 9), 1, utc(2027, 6, 8, 22, 59, 59, 999999), id="summer"),
        # The start day is the *local* date: 00:30 BST Tue 8 Jun is still Mon 7 Jun in UTC.
        pytest.param(
            utc(2027, 6, 7, 23, 30), 1, utc(2027, 6, 9, 22, 59, 59, 999999), id="local-date"
        ),
        # ... and 23:30 GMT on Mon 4 Jan is Mon 4 Jan (no offset in winter).
        pytest.param(
            utc(2027, 1, 4, 23, 30), 1, utc(2027, 1, 5, 23, 59, 59, 999999), id="winter-late"
        ),
        # Start day is day 0 even when it is not a working day.
        pytest.param(ldn(2027, 6, 5, 12), 1, utc(2027, 6, 7, 22, 59, 59, 999999), id="saturday"),
        pytest.param(ldn(2027, 6, 6, 23, 59), 1, utc(2027, 6, 7, 22, 59, 59, 999999), id="sunday"),
        # Christmas Day 2026 (Fri): Sat, Sun, Mon 28 (substitute) -> Tue 29.
        pytest.param(
            ldn(2026, 12, 25, 12), 1, utc(2026, 12, 29, 23, 59, 59, 999999), id="xmas-day"
        ),
        # Christmas Day 2027 (Sat): Sun 26, Mon 27 and Tue 28 (both substitutes) -> Wed 29.
        pytest.param(ldn(2027, 12, 25, 12), 1, utc(2027, 12, 29, 23, 59, 59, 999999), id="xmas-27"),
        # Good Friday 2027 + 1: Sat, Sun (DST), Easter Monday -> Tue 30 Mar.
        pytest.param(ldn(2027, 3, 26, 12), 1, utc(2027, 3, 30, 22, 59, 59, 999999), id="good-fri"),
        # n == 0 is the end of the start day itself, working or not.
        pytest.param(
            ldn(2027, 3, 28, 12), 0, utc(2027, 3, 28, 22, 59, 59, 999999), id="n0-dst-sun"
        ),
        pytest.param(
            ldn(2027, 10, 31, 12), 0, utc(2027, 10, 31, 23, 59, 59, 999999), id="n0-gmt-sun"
        ),
        # A date (not an instant) is taken as the local date directly.
        pytest.param(date(2026, 12, 18), 1, utc(2026, 12, 21, 23, 59, 59, 999999), id="date-input"),
    ],
)
def test_due_working_days_is_the_end_of_the_nth_working_day_after_the_local_start_date(
    start: datetime | date, n: int, due: datetime
) -> None:
    got = CAL.due_working_days(start, n)
    assert got == due
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # icpc-15wd: discussion held Mon 15 Mar 2027. Tue 16 (1), Wed 17 (2), Thu 18 (3),
        # Fri 19 (4), Mon 22 (5), Tue 23 (6), Wed 24 (7), Thu 25 (8), [Good Fri 26, Sat 27,
        # Sun 28 (clocks go forward), Easter Mon 29], Tue 30 (9), Wed 31 (10), Thu 1 Apr (11),
        # Fri 2 (12), Mon 5 (13), Tue 6 (14), Wed 7 Apr (15); BST, so 22:59:59.999999Z.
        pytest.param(
            ldn(2027, 3, 15, 14), 15, utc(2027, 4, 7, 22, 59, 59, 999999), id="icpc-easter"
        ),
        # icpc-15wd: held Fri 11 Dec 2026. Mon 14 - Fri 18 (1-5), Mon 21 - Thu 24 (6-9),
        # [Fri 25, Sat, Sun, Mon 28], Tue 29 (10), Wed 30 (11), Thu 31 (12), [Fri 1 Jan, Sat,
        # Sun], Mon 4 (13), Tue 5 (14), Wed 6 Jan 2027 (15); GMT.
        pytest.param(
            ldn(2026, 12, 11, 11), 15, utc(2027, 1, 6, 23, 59, 59, 999999), id="icpc-xmas"
        ),
        # assessment-45wd: referral Tue 4 May 2027. May 5-7 (1-3), 10-14 (4-8), 17-21 (9-13),
        # 24-28 (14-18), [Mon 31 May spring bank holiday], Jun 1-4 (19-22), 7-11 (23-27),
        # 14-18 (28-32), 21-25 (33-37), 28-30 (38-40), Jul 1-2 (41-42), Jul 5-7 (43-45)
        # -> Wed 7 Jul 2027; BST.
        pytest.param(
            ldn(2027, 5, 4, 10), 45, utc(2027, 7, 7, 22, 59, 59, 999999), id="45wd-summer"
        ),
        # assessment-45wd: referral Mon 16 Nov 2026. Nov 17-20 (1-4), 23-27 (5-9),
        # Nov 30-Dec 4 (10-14), Dec 7-11 (15-19), 14-18 (20-24), 21-24 (25-28), [25, 28 Dec],
        # 29-31 (29-31), [1 Jan], Jan 4-8 (32-36), 11-15 (37-41), 18-21 (42-45)
        # -> Thu 21 Jan 2027; GMT.
        pytest.param(
            ldn(2026, 11, 16, 10), 45, utc(2027, 1, 21, 23, 59, 59, 999999), id="45wd-xmas"
        ),
    ],
)
def test_icpc_and_assessment_limits_count_working_days_by_hand(
    start: datetime, n: int, due: datetime
) -> None:
    assert CAL.due_working_days(start, n) == due


@pytest.mark.parametrize(
    "day",
    [date(2027, 6, 5), date(2027, 6, 6), date(2026, 12, 25), date(2027, 6, 7)],
    ids=["saturday", "sunday", "christmas", "monday"],
)
def test_zero_working_days_returns_the_start_date_unchanged_even_when_it_is_not_working(
    day: date,
) -> None:
    assert CAL.add_working_days(day, 0) == day


def test_working_days_between_counts_working_days_after_start_up_to_and_including_end() -> None:
    # Fri 18 Dec 2026 -> Tue 29 Dec: Mon 21, Tue 22, Wed 23, Thu 24, Tue 29.
    assert CAL.working_days_between(date(2026, 12, 18), date(2026, 12, 29)) == 5
    # The start itself is excluded, the end included.
    assert CAL.working_days_between(date(2027, 6, 7), date(2027, 6, 8)) == 1
    assert CAL.working_days_between(date(2027, 6, 7), date(2027, 6, 7)) == 0
    assert CAL.working_days_between(date(2027, 6, 8), date(2027, 6, 7)) == 0
    # A weekend and a bank holiday Monday contain no working days.
    assert CAL.working_days_between(date(2027, 5, 28), date(2027, 5, 31)) == 0


def test_a_custom_holiday_set_is_respected_and_not_confused_with_another_calendar() -> None:
    """add_working_days is memoised on the calendar value; two calendars must not share."""
    plain = WorkingCalendar(tz=LONDON)
    with_monday_off = WorkingCalendar(tz=LONDON, holidays=frozenset({date(2027, 6, 7)}))
    fri = date(2027, 6, 4)
    assert plain.add_working_days(fri, 1) == date(2027, 6, 7)
    assert with_monday_off.add_working_days(fri, 1) == date(2027, 6, 8)
    assert plain.add_working_days(fri, 1) == date(2027, 6, 7)


# =================================================================================================
# Clock hours
# =================================================================================================
@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        # The contract's example: 10:00 GMT Sat 27 Mar 2027 + 24 h = 11:00 BST Sun 28 Mar.
        pytest.param(ldn(2027, 3, 27, 10), timedelta(hours=24), utc(2027, 3, 28, 10), id="spring"),
        # Fall back: 10:00 BST Sat 30 Oct 2027 + 24 h = 09:00 GMT Sun 31 Oct.
        pytest.param(ldn(2027, 10, 30, 10), timedelta(hours=24), utc(2027, 10, 31, 9), id="autumn"),
        # Clock hours ignore weekends and bank holidays.
        pytest.param(ldn(2026, 12, 24, 16), timedelta(hours=24), utc(2026, 12, 25, 16), id="xmas"),
        pytest.param(
            utc(2027, 1, 1, 0), timedelta(microseconds=1), utc(2027, 1, 1, 0, 0, 0, 1), id="us"
        ),
    ],
)
def test_clock_hours_are_real_elapsed_time_across_dst_changes(
    start: datetime, amount: timedelta, due: datetime
) -> None:
    got = add_clock_hours(start, amount)
    assert got == due
    assert got.tzinfo is UTC


def test_twenty_four_clock_hours_before_spring_forward_reads_eleven_bst_locally() -> None:
    got = add_clock_hours(ldn(2027, 3, 27, 10), timedelta(hours=24)).astimezone(LONDON)
    assert (got.date(), got.time(), got.utcoffset()) == (date(2027, 3, 28), time(11), HOUR)


# =================================================================================================
# Working hours
# =================================================================================================
@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        # The contract's examples: Fri 15:00 + 24 working hours -> Mon 15:00 ...
        pytest.param(ldn(2027, 6, 4, 15), timedelta(hours=24), utc(2027, 6, 7, 14), id="fri-mon"),
        # ... or Tue 15:00 when Monday (31 May 2027, spring bank holiday) is a bank holiday.
        pytest.param(ldn(2027, 5, 28, 15), timedelta(hours=24), utc(2027, 6, 1, 14), id="bh-mon"),
        # Winter: Fri 18 Dec 2026 15:00 GMT -> Mon 21 Dec 15:00 GMT.
        pytest.param(
            ldn(2026, 12, 18, 15), timedelta(hours=24), utc(2026, 12, 21, 15), id="winter"
        ),
        # Thu 24 Dec 2026 15:00: 9 h left on Thu, then Fri 25 .. Mon 28 off -> Tue 29 15:00.
        pytest.param(ldn(2026, 12, 24, 15), timedelta(hours=24), utc(2026, 12, 29, 15), id="xmas"),
        # New Year 2027: Thu 31 Dec 15:00 -> (Fri 1 Jan off) Mon 4 Jan 15:00 GMT.
        pytest.param(
            ldn(2026, 12, 31, 15), timedelta(hours=24), utc(2027, 1, 4, 15), id="new-year"
        ),
        # Easter + spring forward: Thu 25 Mar 15:00 GMT, 9 h on Thu, Good Friday, weekend,
        # Easter Monday off, 15 h on Tue 30 Mar -> 15:00 BST = 14:00Z.
        pytest.param(ldn(2027, 3, 25, 15), timedelta(hours=24), utc(2027, 3, 30, 14), id="easter"),
        # Fall back: Fri 29 Oct 15:00 BST -> Mon 1 Nov 15:00 GMT.
        pytest.param(
            ldn(2027, 10, 29, 15), timedelta(hours=24), utc(2027, 11, 1, 15), id="fall-back"
        ),
        # Filling a day exactly ends at the closing boundary (local midnight), not on Monday.
        pytest.param(
            ldn(2027, 6, 4, 15), timedelta(hours=9), utc(2027, 6, 4, 23), id="to-midnight"
        ),
        pytest.param(
            ldn(2027, 6, 4, 15),
            timedelta(hours=9) + ONE_US,
            utc(2027, 6, 6, 23, 0, 0, 1),
            id="past",
        ),
        # A weekend start counts from Monday 00:00 local.
        pytest.param(ldn(2027, 6, 5, 12), timedelta(hours=1), utc(2027, 6, 7, 0), id="weekend"),
        # Several whole working days: Mon 7 Jun 12:00 + 72 h -> Thu 10 Jun 12:00.
        pytest.param(ldn(2027, 6, 7, 12), timedelta(hours=72), utc(2027, 6, 10, 11), id="3-days"),
    ],
)
def test_working_hours_count_only_time_on_working_days(
    start: datetime, amount: timedelta, due: datetime
) -> None:
    got = CAL.add_working_time(start, amount)
    assert got == due
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        # Fri 16:00 + 2 h: 1 h on Friday, 1 h from Monday 09:00 -> Mon 10:00 BST.
        pytest.param(ldn(2027, 6, 4, 16), timedelta(hours=2), utc(2027, 6, 7, 9), id="fri-mon"),
        # Before opening: Mon 07:00 + 1 h -> 10:00.
        pytest.param(ldn(2027, 6, 7, 7), timedelta(hours=1), utc(2027, 6, 7, 9), id="before-open"),
        # After closing: Mon 18:00 + 1 h -> Tue 10:00.
        pytest.param(ldn(2027, 6, 7, 18), timedelta(hours=1), utc(2027, 6, 8, 9), id="after-close"),
        # Weekend: Sat 12:00 + 3 h -> Mon 12:00.
        pytest.param(ldn(2027, 6, 5, 12), timedelta(hours=3), utc(2027, 6, 7, 11), id="weekend"),
        # Exactly at closing counts nothing that day: Mon 17:00 + 30 min -> Tue 09:30.
        pytest.param(
            ldn(2027, 6, 7, 17), timedelta(minutes=30), utc(2027, 6, 8, 8, 30), id="at-closing"
        ),
        # Exactly at opening: Mon 09:00 + 8 h -> Mon 17:00 (the closing boundary).
        pytest.param(ldn(2027, 6, 7, 9), timedelta(hours=8), utc(2027, 6, 7, 16), id="full-day"),
        # Reaching closing exactly stays on that day: Mon 16:00 + 1 h -> Mon 17:00, not Tue 09:00.
        pytest.param(ldn(2027, 6, 7, 16), timedelta(hours=1), utc(2027, 6, 7, 16), id="to-closing"),
        # Three office days: Mon 09:00 + 24 h -> Wed 17:00.
        pytest.param(ldn(2027, 6, 7, 9), timedelta(hours=24), utc(2027, 6, 9, 16), id="24h-3-days"),
        # Bank holiday Monday: Fri 28 May 15:00 + 8 h: 2 h Fri, Mon 31 May off, 6 h Tue -> 15:00.
        pytest.param(ldn(2027, 5, 28, 15), timedelta(hours=8), utc(2027, 6, 1, 14), id="bank-hol"),
        # Christmas: Thu 24 Dec 2026 16:00 + 2 h -> Tue 29 Dec 10:00 GMT.
        pytest.param(ldn(2026, 12, 24, 16), timedelta(hours=2), utc(2026, 12, 29, 10), id="xmas"),
        # Easter + spring forward: Thu 25 Mar 16:00 GMT + 2 h -> Tue 30 Mar 10:00 BST.
        pytest.param(ldn(2027, 3, 25, 16), timedelta(hours=2), utc(2027, 3, 30, 9), id="easter"),
        # Fall back: Fri 29 Oct 16:00 BST + 2 h -> Mon 1 Nov 10:00 GMT.
        pytest.param(
            ldn(2027, 10, 29, 16), timedelta(hours=2), utc(2027, 11, 1, 10), id="fall-back"
        ),
    ],
)
def test_working_hours_narrowed_to_office_hours(
    start: datetime, amount: timedelta, due: datetime
) -> None:
    assert CAL.add_working_time(start, amount, office=NINE_TO_FIVE) == due


# =================================================================================================
# localize
# =================================================================================================
@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        pytest.param(datetime(2027, 1, 15, 12), utc(2027, 1, 15, 12), id="winter"),
        pytest.param(datetime(2027, 6, 15, 12), utc(2027, 6, 15, 11), id="summer"),
        pytest.param(
            datetime(2027, 3, 28, 0, 59, 59, 999999),
            utc(2027, 3, 28, 0, 59, 59, 999999),
            id="pre-gap",
        ),
        pytest.param(datetime(2027, 3, 28, 2), utc(2027, 3, 28, 1), id="post-gap"),
        # The repeated autumn hour is read as its first (BST) occurrence.
        pytest.param(datetime(2027, 10, 31, 1, 30), utc(2027, 10, 31, 0, 30), id="ambiguous"),
        pytest.param(datetime(2027, 10, 31, 1), utc(2027, 10, 31, 0), id="ambiguous-start"),
        pytest.param(datetime(2027, 10, 31, 0, 59), utc(2027, 10, 30, 23, 59), id="pre-overlap"),
        pytest.param(datetime(2027, 10, 31, 2), utc(2027, 10, 31, 2), id="post-overlap"),
        pytest.param(datetime(2027, 10, 31, 0), utc(2027, 10, 30, 23), id="midnight-bst"),
    ],
)
def test_localize_reads_a_wall_time_in_the_zone(wall: datetime, expected: datetime) -> None:
    got = localize(wall, LONDON)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "wall",
    [
        datetime(2027, 3, 28, 1),
        datetime(2027, 3, 28, 1, 30),
        datetime(2027, 3, 28, 1, 59, 59, 999999),
    ],
    ids=["01:00", "01:30", "01:59:59.999999"],
)
def test_localize_rejects_a_wall_time_in_the_spring_forward_gap(wall: datetime) -> None:
    with pytest.raises(NonExistentLocalTime, match="does not exist in Europe/London"):
        localize(wall, LONDON)


def test_localize_rejects_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        localize(ldn(2027, 6, 1, 12), LONDON)
    with pytest.raises(ValueError, match="naive"):
        localize(utc(2027, 6, 1, 12), LONDON)


def test_non_existent_local_time_is_a_value_error() -> None:
    assert issubclass(NonExistentLocalTime, ValueError)


def test_start_and_end_of_day_follow_the_local_offset() -> None:
    assert CAL.start_of_day(date(2027, 3, 28)) == utc(2027, 3, 28, 0)  # GMT midnight
    assert CAL.end_of_day(date(2027, 3, 28)) == utc(2027, 3, 28, 22, 59, 59, 999999)  # 23 h day
    assert CAL.start_of_day(date(2027, 10, 31)) == utc(2027, 10, 30, 23)  # BST midnight
    assert CAL.end_of_day(date(2027, 10, 31)) == utc(2027, 10, 31, 23, 59, 59, 999999)  # 25 h


# =================================================================================================
# latest_overdue_start_date
# =================================================================================================
@pytest.mark.parametrize(
    ("n", "now", "latest"),
    [
        # Due of a Thu 28 Oct 2027 start (n=1) is end of Fri 29 Oct BST = 22:59:59.999999Z.
        # now == due is not overdue, so the latest overdue start is Wed 27.
        pytest.param(1, utc(2027, 10, 29, 22, 59, 59, 999999), date(2027, 10, 27), id="now-eq-due"),
        # One microsecond later (local midnight, Sat 30 Oct) it is.
        pytest.param(1, utc(2027, 10, 29, 23), date(2027, 10, 28), id="due-plus-1us"),
        # 23:30Z on Fri 29 Oct is already Sat 00:30 BST; a UTC-date reading would say Wed 27.
        pytest.param(1, utc(2027, 10, 29, 23, 30), date(2027, 10, 28), id="utc-date-trap"),
        # Winter: starts Fri 18, Sat 19, Sun 20 Dec 2026 are all due end of Mon 21 Dec.
        pytest.param(1, utc(2026, 12, 21, 23, 59, 59, 999999), date(2026, 12, 17), id="winter-eq"),
        pytest.param(1, utc(2026, 12, 22, 0), date(2026, 12, 20), id="winter-plus-1us-sunday"),
        # Spring forward, n=0: due of a Sun 28 Mar 2027 start is the end of that (23 h) day,
        # 22:59:59.999999Z; local midnight of Mon 29 Mar is 23:00Z.
        pytest.param(0, utc(2027, 3, 28, 22, 59, 59, 999999), date(2027, 3, 27), id="dst-n0-eq"),
        pytest.param(0, utc(2027, 3, 28, 23), date(2027, 3, 28), id="dst-n0-midnight"),
        # Fall back, n=0: Sun 31 Oct 2027 is a 25 h day ending 23:59:59.999999Z.
        pytest.param(0, utc(2027, 10, 31, 22, 59, 59, 999999), date(2027, 10, 30), id="fb-n0"),
        pytest.param(0, utc(2027, 11, 1, 0), date(2027, 10, 31), id="fb-n0-midnight"),
        # Easter, n=1: at local midnight of Tue 30 Mar only starts due by Mon 29 are overdue;
        # the last working day before Tue 30 is Thu 25 (Fri 26 and Mon 29 are holidays), so
        # the latest overdue start is Wed 24.
        pytest.param(1, utc(2027, 3, 29, 23), date(2027, 3, 24), id="easter-n1"),
        # icpc-15wd: Mon 15 Mar 2027 start is due end of Wed 7 Apr (see the hand count above);
        # Sun 14 Mar is due Tue 6 Apr.
        pytest.param(15, utc(2027, 4, 7, 22, 59, 59, 999999), date(2027, 3, 14), id="icpc-eq"),
        pytest.param(15, utc(2027, 4, 7, 23), date(2027, 3, 15), id="icpc-plus-1us"),
    ],
)
def test_latest_overdue_start_date_hand_cases(n: int, now: datetime, latest: date) -> None:
    assert CAL.latest_overdue_start_date(n, now=now) == latest


_BOUNDARY_NOWS = [
    utc(2026, 12, 21, 23, 59, 59, 999999),
    utc(2026, 12, 22, 0),
    utc(2027, 1, 4, 23, 59, 59, 999999),
    utc(2027, 3, 28, 22, 59, 59, 999999),
    utc(2027, 3, 28, 23),
    utc(2027, 3, 29, 23),
    utc(2027, 3, 30, 22, 59, 59, 999999),
    utc(2027, 3, 30, 23),
    utc(2027, 10, 29, 22, 59, 59, 999999),
    utc(2027, 10, 29, 23),
    utc(2027, 10, 31, 23, 59, 59, 999999),
    utc(2027, 11, 1, 0),
    utc(2027, 11, 1, 12, 0, 0, 1),
]


@pytest.mark.parametrize("now", _BOUNDARY_NOWS, ids=[n.isoformat() for n in _BOUNDARY_NOWS])
@pytest.mark.parametrize("n", [0, 1, 15, 45])
def test_latest_overdue_start_date_splits_start_dates_exactly_like_brute_force(
    n: int, now: datetime
) -> None:
    """Every start on or before the answer is overdue (due < now) and every later one is not."""
    latest = CAL.latest_overdue_start_date(n, now=now)
    today = now.astimezone(LONDON).date()
    for offset in range(-100, 4):
        d = today + timedelta(days=offset)
        overdue = _oracle_end_of_day(_oracle_add_working_days(d, n)) < now
        assert overdue == (d <= latest), d


# =================================================================================================
# Error cases
# =================================================================================================
def test_negative_working_days_are_rejected() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.add_working_days(date(2027, 6, 7), -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.due_working_days(ldn(2027, 6, 7, 12), -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        CAL.latest_overdue_start_date(-1, now=utc(2027, 6, 7, 12))


@pytest.mark.parametrize(
    "amount", [timedelta(0), -ONE_US, timedelta(hours=-24)], ids=["zero", "-1us", "-24h"]
)
@pytest.mark.parametrize("office", [None, NINE_TO_FIVE], ids=["whole-day", "9-5"])
def test_non_positive_working_time_is_rejected(
    amount: timedelta, office: OfficeHours | None
) -> None:
    with pytest.raises(ValueError, match="amount must be positive"):
        CAL.add_working_time(ldn(2027, 6, 7, 12), amount, office=office)


@pytest.mark.parametrize(
    ("start", "end"), [(time(17), time(9)), (time(9), time(9))], ids=["reversed", "empty"]
)
def test_office_hours_must_start_before_they_end(start: time, end: time) -> None:
    with pytest.raises(ValueError, match="office hours must start before they end"):
        OfficeHours(start, end)


# =================================================================================================
# Properties
# =================================================================================================
@PROPERTY_SETTINGS
@given(start=st.one_of(instants, dates), n=st.integers(min_value=1, max_value=60))
def test_due_working_days_is_always_the_end_of_a_working_day(
    start: datetime | date, n: int
) -> None:
    due = CAL.due_working_days(start, n)
    local = due.astimezone(LONDON)
    assert local.time() == END_OF_DAY
    assert _oracle_is_working_day(local.date())
    # One microsecond later it is local midnight of the next day: truly the end of the day.
    assert (due + ONE_US).astimezone(LONDON).time() == time(0)
    start_day = start.astimezone(LONDON).date() if isinstance(start, datetime) else start
    assert local.date() == _oracle_add_working_days(start_day, n)


@PROPERTY_SETTINGS
@given(d=dates, n=st.integers(min_value=0, max_value=60), m=st.integers(min_value=0, max_value=60))
def test_adding_working_days_composes(d: date, n: int, m: int) -> None:
    """add(add(d, n), m) == add(d, n + m) for *all* n, m >= 0, including 0.

    add(d, n) is "step to the next working day" applied n times, and add(d, 0) is d itself (not
    the next working day), so composition holds even from a Saturday. What does *not* hold for
    n == 0 is "the result is a working day" (see the next test); a scheme that first rolled a
    non-working start forward to a working day would break composition instead (Sat + 1 would be
    Tue, not Mon).
    """
    assert CAL.add_working_days(CAL.add_working_days(d, n), m) == CAL.add_working_days(d, n + m)


@PROPERTY_SETTINGS
@given(d=dates, n=st.integers(min_value=0, max_value=60))
def test_add_working_days_lands_on_a_working_day_exactly_when_n_is_positive_or_d_is_working(
    d: date, n: int
) -> None:
    got = CAL.add_working_days(d, n)
    assert got == _oracle_add_working_days(d, n)
    assert CAL.is_working_day(got) == (n >= 1 or _oracle_is_working_day(d))


@PROPERTY_SETTINGS
@given(d1=dates, d2=dates, n=st.integers(min_value=0, max_value=60))
def test_add_working_days_is_monotonic(d1: date, d2: date, n: int) -> None:
    lo, hi = min(d1, d2), max(d1, d2)
    assert CAL.add_working_days(lo, n) <= CAL.add_working_days(hi, n)


@PROPERTY_SETTINGS
@given(d=dates, n=st.integers(min_value=0, max_value=60))
def test_working_days_between_inverts_add_working_days(d: date, n: int) -> None:
    end = CAL.add_working_days(d, n)
    assert CAL.working_days_between(d, end) == n
    if n >= 1:
        # ... and end is the *first* date with n working days: the day before has n - 1.
        assert CAL.working_days_between(d, end - ONE_DAY) == n - 1


@PROPERTY_SETTINGS
@given(start=instants, amount=amounts, office=office_hours())
def test_add_working_time_spends_exactly_the_amount_and_ends_inside_working_time(
    start: datetime, amount: timedelta, office: OfficeHours | None
) -> None:
    due = CAL.add_working_time(start, amount, office=office)
    assert due.tzinfo is UTC
    # Working time never runs faster than the wall clock.
    assert due - start >= amount
    # The due moment is inside a working span or exactly at its closing boundary:
    # open < due <= close on a working day (due - 1us is on that day locally).
    day = (due - ONE_US).astimezone(LONDON).date()
    assert _oracle_is_working_day(day)
    lo, hi = _oracle_span(day, office)
    assert lo < due <= hi
    # Exactly `amount` of working time has elapsed at `due`, and not a microsecond earlier.
    assert _oracle_working_time(start, due, office) == amount
    assert _oracle_working_time(start, due - ONE_US, office) == amount - ONE_US


@PROPERTY_SETTINGS
@given(start=instants, a=amounts, b=amounts, office=office_hours())
def test_add_working_time_is_additive(
    start: datetime, a: timedelta, b: timedelta, office: OfficeHours | None
) -> None:
    """add(add(s, a), b) == add(s, a + b) exactly, boundaries included.

    The result is the *earliest* instant with the amount elapsed, so when add(s, a) lands
    exactly on a closing boundary (17:00, or local midnight without office hours) the second
    call starts there, counts nothing more that day and skips the same non-working gap that the
    single call skips. Working time over [s, t] is additive, and both sides are the earliest t
    with a + b of it, so they are equal.
    """
    step = CAL.add_working_time(CAL.add_working_time(start, a, office=office), b, office=office)
    assert step == CAL.add_working_time(start, a + b, office=office)


@PROPERTY_SETTINGS
@given(now=instants, n=st.integers(min_value=0, max_value=60))
def test_latest_overdue_start_date_is_the_boundary_between_overdue_and_not(
    now: datetime, n: int
) -> None:
    d = CAL.latest_overdue_start_date(n, now=now)
    assert CAL.due_working_days(d, n) < now
    assert CAL.due_working_days(d + ONE_DAY, n) >= now
    assert _oracle_end_of_day(_oracle_add_working_days(d, n)) < now
    assert _oracle_end_of_day(_oracle_add_working_days(d + ONE_DAY, n)) >= now


@PROPERTY_SETTINGS
@given(wall=naive_walls)
def test_localize_round_trips_every_existing_wall_time(wall: datetime) -> None:
    if _in_spring_gap(wall):
        with pytest.raises(NonExistentLocalTime):
            localize(wall, LONDON)
        return
    got = localize(wall, LONDON)
    back = got.astimezone(LONDON)
    assert back.replace(tzinfo=None) == wall
    # The repeated autumn hour is read as its first occurrence.
    assert back.fold == 0
    if _in_autumn_overlap(wall):
        assert back.utcoffset() == HOUR


@PROPERTY_SETTINGS
@given(instant=instants)
def test_localize_of_an_instants_wall_time_is_that_instant_or_its_first_occurrence(
    instant: datetime,
) -> None:
    local = instant.astimezone(LONDON)
    got = localize(local.replace(tzinfo=None), LONDON)
    assert got == (instant - HOUR if local.fold else instant)


@PROPERTY_SETTINGS
@given(start=instants, amount=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_clock_hours_add_real_elapsed_time(start: datetime, amount: timedelta) -> None:
    got = add_clock_hours(start.astimezone(LONDON), amount)
    assert got.tzinfo is UTC
    assert got - start == amount
