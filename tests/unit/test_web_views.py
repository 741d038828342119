"""The web pages' pure helpers: local review times from a datetime-local input, form
validation, rule limits and rationale status words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdoor.digest_items import RationaleState
from frontdoor.rationale import DEFAULT_REASONS
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.web_views import (
    item_href,
    local_input,
    parse_local_input,
    rationale_status,
    rule_limit,
    validate,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # BST: local = UTC + 1


def test_a_local_input_is_read_in_the_councils_time_zone() -> None:
    assert parse_local_input("2026-06-01T17:00", LONDON) == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    assert parse_local_input("2026-12-01T17:00", LONDON) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert local_input(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), LONDON) == "2026-06-01T17:00"


def test_a_local_time_skipped_by_the_clocks_is_refused_and_a_repeated_one_is_the_first() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        parse_local_input("2027-03-28T01:30", LONDON)  # clocks go forward at 01:00
    # 01:30 on 25 October 2026 happens twice; the first (BST) is taken.
    assert parse_local_input("2026-10-25T01:30", LONDON) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    for bad in ("", "tomorrow", "2026-06-01T17:00+01:00"):
        with pytest.raises(ValueError, match="isoformat|local date"):
            parse_local_input(bad, LONDON)


def test_validation_reports_every_field_in_page_order() -> None:
    form = {"reason": "nope", "note": "x" * 2001, "review_by": "2026-06-01T09:30"}
    submission, errors = validate(form, reasons=DEFAULT_REASONS, tz=LONDON, now=NOW)
    assert submission is None
    assert [e.field for e in errors] == ["reason", "note", "review_by"]  # 09:30 BST is past

    good = {"reason": "other", "note": "  line\r\nnext  ", "review_by": "2026-06-02T10:00"}
    submission, errors = validate(good, reasons=DEFAULT_REASONS, tz=LONDON, now=NOW)
    assert errors == ()
    assert submission is not None
    assert submission.note == "line\nnext"
    assert submission.review_by == datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    empty, _ = validate({**good, "note": "   "}, reasons=DEFAULT_REASONS, tz=LONDON, now=NOW)
    assert empty is not None
    assert empty.note is None


def test_rule_limits_and_rationale_status_read_as_words() -> None:
    contact = TimescaleRule(
        id="c", kind="timescale", record="contact", clock="clock-hours", limit=24
    )
    referral = TimescaleRule(
        id="r", kind="timescale", record="referral", clock="working-days", limit=1
    )
    strategy = AttendanceRule(
        id="s",
        kind="attendance",
        record="strategy_discussion",
        required_agencies=["local_authority", "police"],
    )
    assert rule_limit(contact) == "Within 24 clock hours"
    assert rule_limit(referral) == "Within 1 working day"
    assert rule_limit(strategy) == "Required to take part: local authority, police"

    later = NOW + timedelta(days=1)
    state = RationaleState("consent-being-sought", "tm@example.org", NOW, later, True)
    assert rationale_status(None, DEFAULT_REASONS, LONDON, NOW) == ("none", "None recorded")
    assert rationale_status(state, DEFAULT_REASONS, LONDON, NOW) == (
        "current",
        "Consent being sought until Tue 2 Jun 2026 10:00 BST",
    )
    assert rationale_status(state, DEFAULT_REASONS, LONDON, later) == (
        "expired",
        "Expired Tue 2 Jun 2026 10:00 BST (Consent being sought)",
    )
    assert item_href("contact-outcome-24h", "C/1 ?") == "/items/contact-outcome-24h/C%2F1%20%3F"
