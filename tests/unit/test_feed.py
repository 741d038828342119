"""The "data feed stale" verdict (pure): working hours within a daily window on working days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdoor.clock import OfficeHours, WorkingCalendar, england_calendar
from frontdoor.feed import FeedPolicy, judge, not_checked, parse_hours, parse_stale_after

LONDON = ZoneInfo("Europe/London")
FOUR_HOURS = FeedPolicy(timedelta(hours=4), OfficeHours(time(9), time(17)))


@pytest.fixture(name="cal")
def _cal() -> WorkingCalendar:
    return england_calendar("Europe/London")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_stale_once_four_working_hours_pass_inside_the_window(cal: WorkingCalendar) -> None:
    last = utc(2026, 11, 23, 10, 2)  # Monday 10:02 GMT
    at_limit = utc(2026, 11, 23, 14, 2)
    assert (
        judge(last, now=at_limit - timedelta(seconds=1), cal=cal, policy=FOUR_HOURS).stale is False
    )
    verdict = judge(last, now=at_limit, cal=cal, policy=FOUR_HOURS)
    assert verdict.stale
    assert verdict.stale_since == at_limit
    assert verdict.last_contact_at == last
    assert verdict.after == timedelta(hours=4)


def test_nights_weekends_and_bank_holidays_do_not_count(cal: WorkingCalendar) -> None:
    # Friday 18 December 2026 15:30: 1.5 h left in the day; the rest falls on Monday 21st.
    friday = utc(2026, 12, 18, 15, 30)
    verdict = judge(friday, now=utc(2026, 12, 20, 23, 0), cal=cal, policy=FOUR_HOURS)
    assert not verdict.stale
    assert verdict.stale_since == utc(2026, 12, 21, 11, 30)
    # Thursday 24 December 16:00: Christmas, Boxing Day (observed Monday 28th) skipped.
    christmas_eve = utc(2026, 12, 24, 16, 0)
    since = judge(christmas_eve, now=christmas_eve, cal=cal, policy=FOUR_HOURS).stale_since
    assert since == utc(2026, 12, 29, 12, 0)


def test_a_contact_outside_the_window_starts_counting_at_the_next_opening(
    cal: WorkingCalendar,
) -> None:
    evening = utc(2026, 11, 23, 19, 45)
    since = judge(evening, now=evening, cal=cal, policy=FOUR_HOURS).stale_since
    assert since == utc(2026, 11, 24, 13, 0)


def test_the_window_is_local_time_in_summer(cal: WorkingCalendar) -> None:
    # Monday 6 July 2026, 07:00 BST (06:00 UTC): counting starts at 09:00 BST = 08:00 UTC.
    verdict = judge(utc(2026, 7, 6, 6, 0), now=utc(2026, 7, 6, 6, 0), cal=cal, policy=FOUR_HOURS)
    assert verdict.stale_since == utc(2026, 7, 6, 12, 0)
    assert verdict.stale_since.astimezone(LONDON).hour == 13


def test_no_contacts_is_never_stale_and_off_is_never_stale(cal: WorkingCalendar) -> None:
    now = utc(2026, 11, 23, 12)
    empty = judge(None, now=now, cal=cal, policy=FOUR_HOURS)
    assert not empty.stale
    assert empty.stale_since is None
    off = not_checked(now)
    assert not off.stale
    assert off.after is None


def test_the_episode_key_is_fixed_by_the_newest_contact(cal: WorkingCalendar) -> None:
    last = utc(2026, 11, 23, 9, 0)
    a = judge(last, now=utc(2026, 11, 23, 15), cal=cal, policy=FOUR_HOURS)
    b = judge(last, now=utc(2026, 11, 25, 15), cal=cal, policy=FOUR_HOURS)
    assert a.stale
    assert b.stale
    assert a.stale_since == b.stale_since  # same episode: one alert
    c = judge(utc(2026, 11, 25, 9, 30), now=utc(2026, 11, 25, 15), cal=cal, policy=FOUR_HOURS)
    assert c.stale
    assert c.stale_since != a.stale_since


@pytest.mark.parametrize(
    ("value", "hours"),
    [
        ("off", None),
        ("OFF", None),
        ("4 working hours", 4),
        ("1 working hour", 1),
        (" 12 Working Hours ", 12),
    ],
)
def test_parse_stale_after(value: str, hours: int | None) -> None:
    parsed = parse_stale_after(value)
    assert parsed == (None if hours is None else timedelta(hours=hours))


@pytest.mark.parametrize(
    "value", ["", "4", "4h", "0 working hours", "2 working days", "-1 working hours", "4 hours"]
)
def test_parse_stale_after_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="working hours"):
        parse_stale_after(value)


def test_parse_hours() -> None:
    assert parse_hours("09:00-17:00") == OfficeHours(time(9), time(17))
    assert parse_hours(" 8:30 - 18:15 ") == OfficeHours(time(8, 30), time(18, 15))
    for bad in ("9-5", "17:00-09:00", "09:00-09:00", "25:00-26:00", "09:00"):
        with pytest.raises(ValueError, match="HH:MM-HH:MM|one day"):
            parse_hours(bad)
