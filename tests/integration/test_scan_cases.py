"""Hand-checked scan results on both engines: bank holidays, DST changes, exact due instants.

Every expected due moment below was counted by hand from the calendar (comments show the
count); none is computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from frontdoor.clock import WorkingCalendar
from frontdoor.rules import load_rules
from frontdoor.scan import run_scan
from tests.conftest import REPO
from tests.factories import load, load_team

RULES = load_rules(REPO / "rules")
US = timedelta(microseconds=1)


def z(text: str) -> datetime:
    """Parse an ISO instant that carries its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def findings_at(engine: Engine, calendar: WorkingCalendar, now: datetime) -> dict[str, object]:
    result = run_scan(engine, RULES, calendar, now=now)
    return {f.record_id: f for f in result.findings}


@pytest.fixture(name="team")
def _team(engine: Engine, tmp_path: Path) -> Engine:
    load_team(engine, tmp_path)
    return engine


# --- contact-outcome-24h: 24 clock hours ------------------------------------------------------

CONTACT_CASES = [
    # Saturday before the clocks go forward: 10:00 GMT + 24 h = 11:00 BST Sunday.
    ("2027-03-27T10:00:00+00:00", "2027-03-28T10:00:00Z"),
    # Saturday before the clocks go back: 10:00 BST + 24 h = 09:00 GMT Sunday.
    ("2027-10-30T10:00:00+01:00", "2027-10-31T09:00:00Z"),
    # Christmas Eve: bank holidays do not stop clock hours.
    ("2026-12-24T16:30:00+00:00", "2026-12-25T16:30:00Z"),
    # New Year's Eve late evening.
    ("2026-12-31T23:15:00+00:00", "2027-01-01T23:15:00Z"),
]


@pytest.mark.parametrize(("received", "due"), CONTACT_CASES)
def test_contact_is_met_at_its_due_instant_and_late_one_second_after(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar, received: str, due: str
) -> None:
    load(
        team,
        tmp_path,
        "contacts",
        [
            {"contact_id": "C1", "child_id": "CH1", "received_at": received, "team_id": "DAT-A"},
        ],
    )
    assert "C1" not in findings_at(team, calendar, z(due))
    late = findings_at(team, calendar, z(due) + timedelta(seconds=1))
    assert late["C1"].due_at == z(due)  # type: ignore[attr-defined]
    assert late["C1"].started_at == z(received)  # type: ignore[attr-defined]


def test_outcome_recorded_exactly_at_due_is_met_and_one_second_later_is_closed_late(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load(
        team,
        tmp_path,
        "contacts",
        [
            {
                "contact_id": "ON-TIME",
                "child_id": "CH1",
                "received_at": "2027-03-27T10:00:00Z",
                "team_id": "DAT-A",
                "outcome_at": "2027-03-28T11:00:00+01:00",
            },
            {
                "contact_id": "LATE",
                "child_id": "CH2",
                "received_at": "2027-03-27T10:00:00Z",
                "team_id": "DAT-A",
                "outcome_at": "2027-03-28T11:00:01+01:00",
            },
        ],
    )
    # Between due and the late outcome the late one is open and overdue.
    mid = findings_at(team, calendar, z("2027-03-28T10:00:00.5Z"))
    assert set(mid) == {"LATE"}
    # After its outcome it is closed: no longer a finding (it stays a breach for reports).
    assert findings_at(team, calendar, z("2027-03-29T10:00:00Z")) == {}


def test_replaying_a_past_instant_ignores_later_outcomes_and_later_contacts(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load(
        team,
        tmp_path,
        "contacts",
        [
            {
                "contact_id": "C1",
                "child_id": "CH1",
                "received_at": "2026-11-02T09:00:00Z",
                "team_id": "DAT-A",
                "outcome": "NFA",
                "outcome_at": "2026-11-05T09:00:00Z",
            },
            {
                "contact_id": "C2",
                "child_id": "CH2",
                "received_at": "2026-11-04T09:00:00Z",
                "team_id": "DAT-A",
            },
        ],
    )
    at = findings_at(team, calendar, z("2026-11-04T12:00:00Z"))
    assert set(at) == {"C1"}  # C2 received later than 24 h before; C1's outcome not yet made
    assert findings_at(team, calendar, z("2026-11-02T08:00:00Z")) == {}


def test_outcome_text_without_outcome_time_is_still_open(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load(
        team,
        tmp_path,
        "contacts",
        [
            {
                "contact_id": "C1",
                "child_id": "CH1",
                "received_at": "2026-11-02T09:00:00Z",
                "team_id": "DAT-A",
                "outcome": "NFA",
            },
        ],
    )
    assert set(findings_at(team, calendar, z("2026-11-04T12:00:00Z"))) == {"C1"}


# --- referral-decision-1wd: 1 working day -----------------------------------------------------

REFERRAL_CASES = [
    # Contract example: Fri 18 Dec 2026 16:00 -> end of Mon 21 Dec.
    ("2026-12-18T16:00:00+00:00", "2026-12-21T23:59:59.999999Z"),
    # Contract example: Thu 24 Dec 2026 -> Fri 25 (Christmas), Mon 28 (Boxing Day substitute)
    # are bank holidays -> end of Tue 29 Dec.
    ("2026-12-24T10:00:00+00:00", "2026-12-29T23:59:59.999999Z"),
    # Thu 31 Dec 2026 -> Fri 1 Jan 2027 is New Year's Day -> end of Mon 4 Jan 2027.
    ("2026-12-31T15:00:00+00:00", "2027-01-04T23:59:59.999999Z"),
    # Thu 25 Mar 2027 -> Good Friday 26 Mar, weekend (clocks go forward on Sunday 28),
    # Easter Monday 29 Mar -> end of Tue 30 Mar in BST = 22:59:59.999999Z.
    ("2027-03-25T11:00:00+00:00", "2027-03-30T22:59:59.999999Z"),
    # Received on Saturday 27 Mar 2027 (day 0, not a working day) -> same due as above.
    ("2027-03-27T09:00:00+00:00", "2027-03-30T22:59:59.999999Z"),
    # Fri 29 Oct 2027 15:00 BST, clocks go back Sun 31 Oct -> end of Mon 1 Nov in GMT.
    ("2027-10-29T15:00:00+01:00", "2027-11-01T23:59:59.999999Z"),
    # Received at 23:30 local on Sun 31 Oct 2027 (GMT): day 0 is the Sunday -> end of Mon.
    ("2027-10-31T23:30:00+00:00", "2027-11-01T23:59:59.999999Z"),
    # Received 00:30 BST on Fri 29 Oct 2027 (23:30Z on Thursday!): local date is Friday.
    ("2027-10-28T23:30:00+00:00", "2027-11-01T23:59:59.999999Z"),
]


@pytest.mark.parametrize(("received", "due"), REFERRAL_CASES)
def test_referral_decision_due_by_end_of_next_working_day(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar, received: str, due: str
) -> None:
    load(
        team,
        tmp_path,
        "referrals",
        [
            {"referral_id": "R1", "child_id": "CH1", "received_at": received, "team_id": "DAT-A"},
        ],
    )
    assert "R1" not in findings_at(team, calendar, z(due))
    late = findings_at(team, calendar, z(due) + US)
    assert late["R1"].due_at == z(due)  # type: ignore[attr-defined]


def test_decision_stamped_exactly_at_now_counts_as_recorded(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load(
        team,
        tmp_path,
        "referrals",
        [
            {
                "referral_id": "AT-DUE",
                "child_id": "CH1",
                "received_at": "2026-12-18T16:00:00Z",
                "team_id": "DAT-A",
                "decision_at": "2026-12-21T23:59:59.999999+00:00",
            },
            {
                "referral_id": "AT-NOW",
                "child_id": "CH2",
                "received_at": "2026-12-18T16:00:00Z",
                "team_id": "DAT-A",
                "decision_at": "2026-12-22T00:00:00+00:00",
            },
            {
                "referral_id": "AFTER-NOW",
                "child_id": "CH3",
                "received_at": "2026-12-18T16:00:00Z",
                "team_id": "DAT-A",
                "decision_at": "2026-12-22T00:00:00.000001+00:00",
            },
        ],
    )
    assert set(findings_at(team, calendar, z("2026-12-22T00:00:00Z"))) == {"AFTER-NOW"}


# --- icpc-15wd and assessment-45wd: date-based working days -----------------------------------


def _discussion(engine: Engine, tmp_path: Path, held: str) -> None:
    load(
        engine,
        tmp_path,
        "strategy-discussions",
        [
            {
                "discussion_id": "SD1",
                "child_id": "CH1",
                "held_at": held,
                "team_id": "DAT-A",
                "s47_initiated": "Y",
            },
        ],
    )


# Discussion Thu 10 Dec 2026. Working days: Dec 11(1) 14(2) 15(3) 16(4) 17(5) 18(6) 21(7)
# 22(8) 23(9) 24(10); 25 and 28 bank holidays; 29(11) 30(12) 31(13); 1 Jan bank holiday;
# Jan 4(14) 5(15) -> due end of Tue 5 Jan 2027 (GMT).
ICPC_DUE = "2027-01-05T23:59:59.999999Z"


@pytest.mark.parametrize(
    ("icpc_date", "not_required", "now", "expected"),
    [
        (None, None, ICPC_DUE, False),
        (None, None, "2027-01-06T00:00:00Z", True),
        ("2027-01-05", None, "2027-01-20T12:00:00Z", False),  # met on the due date
        ("2027-01-06", None, "2027-01-06T00:00:00Z", False),  # recorded from 00:00 local
        ("2027-01-07", None, "2027-01-06T12:00:00Z", True),  # recorded after now: open
        ("2027-01-07", None, "2027-01-07T00:00:00Z", False),  # closed late
        (None, "Y", "2027-02-01T00:00:00Z", False),
        (None, "N", "2027-02-01T00:00:00Z", True),
    ],
)
def test_icpc_due_fifteen_working_days_after_the_discussion(
    team: Engine,
    tmp_path: Path,
    calendar: WorkingCalendar,
    icpc_date: str | None,
    not_required: str | None,
    now: str,
    expected: bool,
) -> None:
    _discussion(team, tmp_path, "2026-12-10T14:00:00Z")
    load(
        team,
        tmp_path,
        "s47",
        [
            {
                "s47_id": "S1",
                "child_id": "CH1",
                "team_id": "DAT-A",
                "discussion_id": "SD1",
                "start_date": "2026-12-11",
                "icpc_date": icpc_date,
                "icpc_not_required": not_required,
            },
        ],
    )
    found = findings_at(team, calendar, z(now))
    assert ("S1" in found) is expected
    if expected:
        assert found["S1"].due_at == z(ICPC_DUE)  # type: ignore[attr-defined]
        assert found["S1"].started_at == z("2026-12-10T14:00:00Z")  # type: ignore[attr-defined]


def test_icpc_clock_starts_at_start_date_when_no_discussion_is_linked(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    # Start Mon 29 Mar 2027 (Easter Monday, day 0): Mar 30(1) 31(2) Apr 1(3) 2(4) 5(5) 6(6)
    # 7(7) 8(8) 9(9) 12(10) 13(11) 14(12) 15(13) 16(14) 19(15) -> end of Mon 19 Apr BST.
    load(
        team,
        tmp_path,
        "s47",
        [
            {"s47_id": "S2", "child_id": "CH1", "team_id": "DAT-A", "start_date": "29/03/2027"},
        ],
    )
    assert findings_at(team, calendar, z("2027-04-19T22:59:59.999999Z")) == {}
    found = findings_at(team, calendar, z("2027-04-19T23:00:00Z"))
    assert found["S2"].due_at == z("2027-04-19T22:59:59.999999Z")  # type: ignore[attr-defined]
    assert found["S2"].started_at == z("2027-03-28T23:00:00Z")  # type: ignore[attr-defined]


def test_s47_that_starts_after_now_is_not_evaluated(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load(
        team,
        tmp_path,
        "s47",
        [
            {"s47_id": "S3", "child_id": "CH1", "team_id": "DAT-A", "start_date": "2027-06-01"},
        ],
    )
    assert findings_at(team, calendar, z("2027-05-31T22:59:59Z")) == {}


# Referral Mon 1 Mar 2027 (day 0). Working days: Mar 2-5 (4), 8-12 (9), 15-19 (14),
# 22-25 (18); 26 Good Friday, 29 Easter Monday; 30-31 (20), Apr 1-2 (22), 5-9 (27),
# 12-16 (32), 19-23 (37), 26-30 (42); 3 May Early May bank holiday; May 4 (43) 5 (44)
# 6 (45) -> due end of Thu 6 May 2027 BST = 22:59:59.999999Z.
ASSESSMENT_DUE = "2027-05-06T22:59:59.999999Z"


@pytest.mark.parametrize(
    ("authorised", "now", "expected"),
    [
        (None, ASSESSMENT_DUE, False),
        (None, "2027-05-06T23:00:00Z", True),
        ("2027-05-06", "2027-06-01T00:00:00Z", False),
        ("2027-05-10", "2027-05-08T12:00:00Z", True),
    ],
)
def test_assessment_due_forty_five_working_days_after_the_referral(
    team: Engine,
    tmp_path: Path,
    calendar: WorkingCalendar,
    authorised: str | None,
    now: str,
    expected: bool,
) -> None:
    load(
        team,
        tmp_path,
        "referrals",
        [
            {
                "referral_id": "R1",
                "child_id": "CH1",
                "received_at": "2027-03-01T09:30:00Z",
                "team_id": "DAT-A",
                "decision_at": "2027-03-01T12:00:00Z",
            },
        ],
    )
    load(
        team,
        tmp_path,
        "assessments",
        [
            {
                "assessment_id": "A1",
                "child_id": "CH1",
                "team_id": "DAT-A",
                "referral_id": "R1",
                "start_date": "2027-03-03",
                "authorised_date": authorised,
            },
        ],
    )
    found = findings_at(team, calendar, z(now))
    assert ("A1" in found) is expected
    if expected:
        assert found["A1"].due_at == z(ASSESSMENT_DUE)  # type: ignore[attr-defined]


# --- strategy-partners ------------------------------------------------------------------------


def test_strategy_discussions_missing_agencies_within_the_lookback_window(
    team: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    now = z("2027-03-31T12:00:00Z")
    held = {
        "ALL": "2027-03-30T10:00:00Z",
        "NO-POLICE": "2027-03-30T11:00:00Z",  # police attended = N
        "NO-HEALTH": "2027-03-30T12:00:00Z",  # no health row at all
        "EDGE-IN": "2027-03-01T12:00:00Z",  # exactly now - 30 days: inside
        "EDGE-OUT": "2027-03-01T11:59:59Z",  # one second older: outside
        "FUTURE": "2027-03-31T12:00:01Z",  # after now: does not exist yet
    }
    load(
        team,
        tmp_path,
        "strategy-discussions",
        [
            {"discussion_id": k, "child_id": f"CH-{k}", "held_at": v, "team_id": "DAT-A"}
            for k, v in held.items()
        ],
    )
    rows = []
    for k in held:
        rows.append({"discussion_id": k, "agency": "local_authority", "attended": "Y"})
        rows.append(
            {"discussion_id": k, "agency": "police", "attended": "N" if k == "NO-POLICE" else "yes"}
        )
        if k != "NO-HEALTH":
            rows.append({"discussion_id": k, "agency": "health", "attended": "1"})
        rows.append({"discussion_id": k, "agency": "education", "attended": "N"})
    load(team, tmp_path, "strategy-attendance", rows)
    load(
        team,
        tmp_path,
        "strategy-attendance",
        [
            {"discussion_id": "EDGE-IN", "agency": "police", "attended": "N"},
            {"discussion_id": "EDGE-OUT", "agency": "police", "attended": "N"},
            {"discussion_id": "FUTURE", "agency": "health", "attended": "N"},
        ],
    )
    found = findings_at(team, calendar, now)
    assert {k: f.missing_agencies for k, f in found.items()} == {  # type: ignore[attr-defined]
        "NO-POLICE": ("police",),
        "NO-HEALTH": ("health",),
        "EDGE-IN": ("police",),
    }
    assert all(f.due_at is None for f in found.values())  # type: ignore[attr-defined]
