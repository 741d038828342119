"""ISO report weeks: labels, parsing, DST-correct boundaries, previous weeks and trends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from frontdoor.clock import england_calendar
from frontdoor.weeks import (
    ReportWeek,
    last_complete_week,
    parse_week,
    previous,
    report_due,
    weeks_back,
)


def test_parse_week_gives_label_and_london_midnight_boundaries_in_winter() -> None:
    week = parse_week("2026-W48")
    assert week.label == "2026-W48"
    # 2026-W48 is Mon 23 Nov - Sun 29 Nov 2026; GMT, so local midnight is 00:00 UTC.
    assert week.start == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_summer_week_starts_at_2300_utc_on_sunday() -> None:
    week = parse_week("2026-W30")  # Mon 20 Jul 2026, BST (UTC+1)
    assert week.start == datetime(2026, 7, 19, 23, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 7, 26, 23, 0, tzinfo=UTC)


def test_week_containing_the_october_change_lasts_169_hours() -> None:
    # BST ends Sun 25 Oct 2026 02:00 BST -> 01:00 GMT. 2026-W43 = Mon 19 - Sun 25 Oct.
    week = parse_week("2026-W43")
    assert week.start == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)  # Mon 00:00 BST
    assert week.end == datetime(2026, 10, 26, 0, 0, tzinfo=UTC)  # Mon 00:00 GMT
    assert week.end - week.start == timedelta(hours=169)


def test_week_containing_the_march_change_lasts_167_hours() -> None:
    # BST starts Sun 29 Mar 2026 01:00 GMT. 2026-W13 = Mon 23 - Sun 29 Mar.
    week = parse_week("2026-W13")
    assert week.start == datetime(2026, 3, 23, 0, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert week.end - week.start == timedelta(hours=167)


def test_iso_week_one_can_start_in_the_previous_calendar_year() -> None:
    week = parse_week("2027-W01")  # Mon 4 Jan 2027 (1 Jan 2027 is a Friday, in 2026-W53)
    assert week.start == datetime(2027, 1, 4, tzinfo=UTC)
    assert parse_week("2026-W53").start == datetime(2026, 12, 28, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-48", "2026-W4", "26-W48", "2026-W00", "2025-W53", "", "x"])
def test_parse_week_rejects_bad_input_with_the_input_in_the_message(bad: str) -> None:
    with pytest.raises(ValueError, match="week"):
        parse_week(bad)


def test_last_complete_week_is_the_previous_iso_week() -> None:
    # Mon 30 Nov 2026 08:00 GMT: the last complete week is 2026-W48.
    assert last_complete_week(datetime(2026, 11, 30, 8, 0, tzinfo=UTC)).label == "2026-W48"
    # Sun 29 Nov 23:59 GMT: W48 is not complete yet.
    assert last_complete_week(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)).label == "2026-W47"
    # Exactly Monday 00:00 local counts as complete.
    assert last_complete_week(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)).label == "2026-W48"


def test_last_complete_week_uses_local_time_in_summer() -> None:
    # Sun 26 Jul 2026 23:30 UTC is Mon 27 Jul 00:30 BST: 2026-W30 has ended.
    assert last_complete_week(datetime(2026, 7, 26, 23, 30, tzinfo=UTC)).label == "2026-W30"


def test_last_complete_week_rejects_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        last_complete_week(datetime(2026, 11, 30, 8, 0))  # noqa: DTZ001


def test_previous_crosses_year_boundaries() -> None:
    assert previous(parse_week("2027-W01")).label == "2026-W53"
    assert previous(parse_week("2026-W01")).label == "2025-W52"


def test_weeks_back_gives_twelve_consecutive_weeks_oldest_first() -> None:
    trend = weeks_back(parse_week("2027-W02"), 12)
    assert [w.label for w in trend] == [
        "2026-W44",
        "2026-W45",
        "2026-W46",
        "2026-W47",
        "2026-W48",
        "2026-W49",
        "2026-W50",
        "2026-W51",
        "2026-W52",
        "2026-W53",
        "2027-W01",
        "2027-W02",
    ]
    with pytest.raises(ValueError, match="n must be"):
        weeks_back(parse_week("2027-W02"), 0)


def test_report_week_rejects_a_week_the_year_does_not_have() -> None:
    with pytest.raises(ValueError, match="not an ISO week"):
        ReportWeek(2025, 53)


def test_report_due_is_the_first_working_day_of_the_week_at_the_time() -> None:
    cal = england_calendar("Europe/London")
    at = time(8, 0)
    monday_gmt = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert report_due(monday_gmt, cal, at) == (parse_week("2026-W47"), monday_gmt)
    # One microsecond earlier the latest due report is last week's.
    before = monday_gmt - timedelta(microseconds=1)
    assert report_due(before, cal, at) == (
        parse_week("2026-W46"),
        datetime(2026, 11, 16, 8, 0, tzinfo=UTC),
    )
    # BST: 08:00 local is 07:00 UTC.
    assert report_due(datetime(2026, 10, 19, 7, 0, tzinfo=UTC), cal, at) == (
        parse_week("2026-W42"),
        datetime(2026, 10, 19, 7, 0, tzinfo=UTC),
    )
    # Easter Monday 2026 (6 April): due on Tuesday.
    tuesday = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
    assert report_due(datetime(2026, 4, 6, 12, 0, tzinfo=UTC), cal, at) == (
        parse_week("2026-W13"),
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
    )
    assert report_due(tuesday, cal, at) == (parse_week("2026-W14"), tuesday)
    # Christmas 2026: Mon 28 Dec is the substitute Boxing Day, so week 52's report is due on
    # Tuesday 29 December.
    assert report_due(datetime(2026, 12, 29, 8, 0, tzinfo=UTC), cal, at) == (
        parse_week("2026-W52"),
        datetime(2026, 12, 29, 8, 0, tzinfo=UTC),
    )
