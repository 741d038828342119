"""start_threshold is exact for every clock: started before it <=> overdue at now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdoor.clock import WorkingCalendar, england_calendar
from frontdoor.evaluate import due_at, start_threshold
from frontdoor.rules import TimescaleRule, parse_rules

CAL: WorkingCalendar = england_calendar()
US = timedelta(microseconds=1)


def rule(clock: str, limit: int, office: str | None = None) -> TimescaleRule:
    data: dict[str, object] = {
        "id": "r",
        "kind": "timescale",
        "record": "contact",
        "clock": clock,
        "limit": limit,
    }
    if office:
        data["office_hours"] = office
    parsed = parse_rules({"rule": [data]}, source="test")[0]
    assert isinstance(parsed, TimescaleRule)
    return parsed


RULES = [
    rule("clock-hours", 24),
    rule("working-days", 1),
    rule("working-hours", 24),
    rule("working-hours", 8, "09:00-17:00"),
    rule("working-hours", 240, "09:00-17:00"),  # about six weeks of wall time
]

instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(now=instants, which=st.integers(min_value=0, max_value=len(RULES) - 1))
def test_the_threshold_separates_overdue_from_not_yet_due_starts(now: datetime, which: int) -> None:
    r = RULES[which]
    th = start_threshold(r, CAL, now=now)
    assert due_at(r, CAL, th.instant) >= now  # the first start that is not overdue
    assert due_at(r, CAL, th.instant - US) < now  # the last start that is


def test_a_long_office_hours_limit_spans_weeks_and_the_threshold_follows() -> None:
    """240 working hours at 8 a day is 30 working days: received Tue 1 Sep 2026 09:00 BST,
    due at the end of the office day on Mon 12 Oct 2026 (Sep: 22 working days from the 1st,
    Oct 1-12: 8 more)."""
    r = RULES[4]
    received = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert due_at(r, CAL, received) == datetime(2026, 10, 12, 16, 0, tzinfo=UTC)
    # Overdue means "started before the threshold".
    at_due = start_threshold(r, CAL, now=datetime(2026, 10, 12, 16, 0, tzinfo=UTC))
    assert not received < at_due.instant  # not overdue at the due moment ...
    # (every start from the end of Friday 28 Aug through the bank holiday Monday 31 Aug
    # shares this due moment, so the threshold is Friday 17:00 BST)
    assert at_due.instant == datetime(2026, 8, 28, 16, 0, tzinfo=UTC)
    later = start_threshold(r, CAL, now=datetime(2026, 10, 12, 16, 0, 0, 1, tzinfo=UTC))
    assert received < later.instant  # ... and overdue one microsecond later
