"""Recording and reading managers' rationale on both engines: validation, the default review
time, append-only history, team scoping, and its effect on the weekly figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from frontdoor import rationale
from frontdoor.clock import WorkingCalendar
from frontdoor.errors import UsageError
from frontdoor.models import Rationale, table_of
from frontdoor.rules import load_rules
from frontdoor.scan import run_scan
from frontdoor.weekly_figures import week_figures
from frontdoor.weeks import parse_week
from tests.conftest import REPO
from tests.factories import load, load_team

RULES = load_rules(REPO / "rules")
REASONS = dict(rationale.DEFAULT_REASONS)
# Friday 27 November 2026 10:00 GMT; the next working day is Monday 30 November.
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(name="breached")
def _breached(engine: Engine, tmp_path: Path, calendar: WorkingCalendar) -> Engine:
    """C1 (DAT-A) and C2 (DAT-B) breached the 24-hour rule; C3 is not overdue."""
    load_team(engine, tmp_path, "DAT-A")
    load_team(engine, tmp_path, "DAT-B")
    rows = [
        {"contact_id": "C1", "child_id": "CH1", "received_at": "2026-11-25T09:00:00Z",
         "team_id": "DAT-A"},
        {"contact_id": "C2", "child_id": "CH2", "received_at": "2026-11-25T09:00:00Z",
         "team_id": "DAT-B"},
        {"contact_id": "C3", "child_id": "CH3", "received_at": "2026-11-27T09:00:00Z",
         "team_id": "DAT-A"},
    ]  # fmt: skip
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    run_scan(engine, RULES, calendar, now=NOW, record=True)
    return engine


def add(engine: Engine, cal: WorkingCalendar, **kw: object) -> rationale.Entry:
    args: dict[str, object] = {
        "record_id": "C1",
        "rule_id": None,
        "recorded_by": "TM.A@Example.org",
        "reason": "consent-being-sought",
        "note": "free text",
        "review_by": None,
        "reasons": REASONS,
        "cal": cal,
        "now": NOW,
        **kw,
    }
    with engine.begin() as conn:
        return rationale.add(conn, **args)  # type: ignore[arg-type]


def test_a_rationale_is_recorded_with_the_default_review_time(
    breached: Engine, calendar: WorkingCalendar
) -> None:
    entry = add(breached, calendar)
    assert (entry.rule_id, entry.record_id, entry.team_id) == ("contact-outcome-24h", "C1", "DAT-A")
    assert entry.recorded_by == "tm.a@example.org"
    # End of Monday 30 November (the next working day after a Friday), local time.
    assert entry.review_by == datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert entry.current(NOW)
    assert not entry.current(entry.review_by)
    with breached.connect() as conn:
        [got] = rationale.entries(conn, team_ids=["DAT-A"])
    assert got == entry
    assert got.note == "free text"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"record_id": "NOPE"}, "no breach is recorded for 'NOPE'"),
        ({"record_id": "C3"}, "no breach is recorded for 'C3'"),
        ({"rule_id": "icpc-15wd"}, "no breach of rule 'icpc-15wd'"),
        ({"reason": "busy"}, "reason 'busy' is not one of"),
        ({"recorded_by": "not an address"}, "e-mail address"),
        ({"note": "x" * 2001}, "longer than 2000"),
        ({"review_by": NOW}, "must be in the future"),
        ({"teams": ["DAT-B"]}, "no breach is recorded for 'C1'"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    breached: Engine, calendar: WorkingCalendar, change: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        add(breached, calendar, **change)
    with breached.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table_of(Rationale))).scalar() == 0


def test_entries_are_append_only_newest_first_and_scoped_by_team(
    breached: Engine, calendar: WorkingCalendar
) -> None:
    first = add(breached, calendar)
    later = add(
        breached,
        calendar,
        now=NOW + timedelta(hours=1),
        reason="awaiting-partner-information",
        review_by=NOW + timedelta(days=3),
    )
    other = add(breached, calendar, record_id="C2", recorded_by="tm.b@example.org")
    with breached.connect() as conn:
        assert rationale.entries(conn, team_ids=["DAT-A"]) == [later, first]
        assert rationale.entries(conn, team_ids=["DAT-B"]) == [other]
        assert rationale.entries(conn, item=("contact-outcome-24h", "C1")) == [later, first]
        assert len(rationale.entries(conn)) == 3


def test_a_double_submission_records_one_entry(breached: Engine, calendar: WorkingCalendar) -> None:
    first = add(breached, calendar)
    again = add(breached, calendar, now=NOW + timedelta(seconds=2))  # a double-click
    assert again == first
    # Anything different, or the same a while later, is a new entry.
    other_note = add(breached, calendar, now=NOW + timedelta(seconds=3), note="changed")
    no_note = add(breached, calendar, now=NOW + timedelta(seconds=4), note=None)
    no_note_again = add(breached, calendar, now=NOW + timedelta(seconds=5), note=None)
    later = add(breached, calendar, now=NOW + rationale.RESUBMIT_WINDOW + timedelta(seconds=1))
    assert no_note_again == no_note
    assert len({first.id, other_note.id, no_note.id, later.id}) == 4
    with breached.connect() as conn:
        assert len(rationale.entries(conn)) == 4


def test_a_rationale_marks_the_breach_in_the_weekly_figures_but_keeps_it(
    breached: Engine, calendar: WorkingCalendar
) -> None:
    add(breached, calendar)
    with breached.connect() as conn:
        f = week_figures(conn, RULES, calendar, parse_week("2026-W48"), team_ids=["DAT-A"])
    # C1 (due Thu 26) still counts, with its rationale; C3 falls due on Sat 28 without one.
    assert f.total.breaches == 2
    assert f.total.breaches_with_rationale == 1


def test_reason_lists_parse_and_refuse_bad_ones() -> None:
    assert rationale.parse_reasons("a-b=First; c=Second, with a comma") == {
        "a-b": "First",
        "c": "Second, with a comma",
    }
    for bad, message in (
        ("", "at least one"),
        ("code", "not code=Label"),
        ("Code=X", "use a-z"),
        ("a=X;a=Y", "twice"),
    ):
        with pytest.raises(ValueError, match=message):
            rationale.parse_reasons(bad)
