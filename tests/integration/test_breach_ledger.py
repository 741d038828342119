"""The breach ledger: live scans record each breach once; incremental passes agree with full
scans; closed records are resolved. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from frontdoor.clock import WorkingCalendar
from frontdoor.models import Breach, ScanState, table_of
from frontdoor.rules import AttendanceRule, TimescaleRule, load_rules
from frontdoor.scan import run_incremental_scan, run_scan
from tests.conftest import REPO
from tests.factories import load, load_team

RULES = load_rules(REPO / "rules")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def breaches(engine: Engine) -> dict[tuple[str, str], Breach]:
    with engine.connect() as conn:
        rows = conn.execute(select(Breach)).all()
    return {(r.rule_id, r.record_id): r for r in (Breach.model_validate(r._mapping) for r in rows)}


def contact(cid: str, received: datetime, outcome_at: datetime | None = None) -> dict[str, object]:
    return {
        "contact_id": cid,
        "child_id": f"CH-{cid}",
        "received_at": received.isoformat(),
        "team_id": "DAT-A",
        "outcome_at": outcome_at.isoformat() if outcome_at else None,
    }


def test_a_live_scan_records_each_breach_once_with_its_first_detection(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    load(engine, tmp_path, "contacts", [contact("C1", T0), contact("C2", T0 + timedelta(hours=2))])
    first = run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=25), record=True)
    assert first.new_breaches == 1
    again = run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=27), record=True)
    assert again.new_breaches == 1  # only C2, which crossed its due since
    ledger = breaches(engine)
    assert set(ledger) == {("contact-outcome-24h", "C1"), ("contact-outcome-24h", "C2")}
    assert ledger[("contact-outcome-24h", "C1")].first_detected_at == T0 + timedelta(hours=25)
    assert ledger[("contact-outcome-24h", "C1")].due_at == T0 + timedelta(hours=24)


def test_a_replay_scan_writes_nothing(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    load(engine, tmp_path, "contacts", [contact("C1", T0)])
    result = run_scan(engine, RULES, calendar, now=T0 + timedelta(days=3))
    assert len(result.findings) == 1
    assert breaches(engine) == {}


def test_a_breach_is_resolved_once_the_outcome_is_recorded(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    load(engine, tmp_path, "contacts", [contact("C1", T0)])
    run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=30), record=True)
    load(engine, tmp_path, "contacts", [contact("C1", T0, T0 + timedelta(hours=31))])
    later = T0 + timedelta(hours=32)
    result = run_scan(engine, RULES, calendar, now=later, record=True)
    assert result.resolved_breaches == 1
    assert breaches(engine)[("contact-outcome-24h", "C1")].resolved_at == later


def test_incremental_passes_find_what_a_full_scan_finds(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    """Records crossing their due between passes, and a late import of an old open contact,
    both end up in the ledger; a closed one is resolved."""
    load_team(engine, tmp_path)
    load(
        engine,
        tmp_path,
        "contacts",
        [
            contact("OLD", T0 - timedelta(days=3)),
            contact("SOON", T0 + timedelta(minutes=10)),
            contact("LATER", T0 + timedelta(hours=3)),
        ],
        ingested_at=T0 + timedelta(hours=3),
    )
    load(
        engine,
        tmp_path,
        "referrals",
        [
            {
                "referral_id": "R1",
                "child_id": "CH1",
                "received_at": T0.isoformat(),
                "team_id": "DAT-A",
            },
        ],
        ingested_at=T0 + timedelta(hours=3),
    )
    start = T0 + timedelta(hours=24)
    first = run_incremental_scan(engine, RULES, calendar, now=start)
    assert "contact-outcome-24h" in first.full_rules  # no cutoff yet: full evaluation
    assert set(breaches(engine)) == {("contact-outcome-24h", "OLD")}

    # 15 minutes later SOON has crossed its due.
    run_incremental_scan(engine, RULES, calendar, now=start + timedelta(minutes=15))
    assert ("contact-outcome-24h", "SOON") in breaches(engine)
    with engine.connect() as conn:
        state = conn.execute(
            select(table_of(ScanState).c.cutoff).where(
                table_of(ScanState).c.rule_id == "contact-outcome-24h"
            )
        ).scalar_one()
    assert state == start + timedelta(minutes=15) - timedelta(hours=24)

    # A contact received two days ago but only exported now, still open.
    late_now = start + timedelta(hours=1)
    load(
        engine,
        tmp_path,
        "contacts",
        [contact("LATE-IMPORT", T0 - timedelta(days=2))],
        ingested_at=late_now - timedelta(minutes=5),
    )
    # SOON gets its outcome (late) and must be resolved.
    load(
        engine,
        tmp_path,
        "contacts",
        [
            contact("SOON", T0 + timedelta(minutes=10), late_now - timedelta(minutes=1)),
        ],
        ingested_at=late_now - timedelta(minutes=1),
    )
    inc = run_incremental_scan(engine, RULES, calendar, now=late_now)
    assert inc.resolved_breaches == 1
    # Referral R1 (Monday 09:00) is due by the end of Tuesday: not yet at Tuesday 10:00.
    assert ("referral-decision-1wd", "R1") not in breaches(engine)
    wednesday = T0 + timedelta(days=2)
    run_incremental_scan(engine, RULES, calendar, now=wednesday)

    ledger = breaches(engine)
    full = run_scan(engine, RULES, calendar, now=wednesday)
    open_in_ledger = {k for k, b in ledger.items() if b.resolved_at is None}
    assert open_in_ledger == {(f.rule, f.record_id) for f in full.findings}
    assert ledger[("contact-outcome-24h", "SOON")].resolved_at == late_now
    assert ("contact-outcome-24h", "LATE-IMPORT") in ledger
    assert ("referral-decision-1wd", "R1") in ledger


def test_attendance_breaches_resolve_when_attendance_is_completed(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    load(
        engine,
        tmp_path,
        "strategy-discussions",
        [
            {
                "discussion_id": "SD1",
                "child_id": "CH1",
                "held_at": T0.isoformat(),
                "team_id": "DAT-A",
            },
        ],
    )
    load(
        engine,
        tmp_path,
        "strategy-attendance",
        [
            {"discussion_id": "SD1", "agency": "local_authority", "attended": "Y"},
            {"discussion_id": "SD1", "agency": "health", "attended": "Y"},
        ],
    )
    run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=1), record=True)
    ledger = breaches(engine)
    assert ledger[("strategy-partners", "SD1")].missing_agencies == "police"
    load(
        engine,
        tmp_path,
        "strategy-attendance",
        [
            {"discussion_id": "SD1", "agency": "police", "attended": "Y"},
        ],
        ingested_at=T0 + timedelta(minutes=90),
    )
    inc = run_incremental_scan(engine, RULES, calendar, now=T0 + timedelta(hours=2))
    assert inc.resolved_breaches == 1


def _daily(
    engine: Engine,
    calendar: WorkingCalendar,
    start: datetime,
    days: int,
    rules: list[TimescaleRule | AttendanceRule] | None = None,
) -> None:
    for day in range(days):
        run_incremental_scan(
            engine,
            rules or RULES,
            calendar,
            now=start + timedelta(days=day),
        )


def test_an_assessment_breach_appears_when_its_referral_is_corrected_to_an_earlier_date(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    t = datetime(2026, 10, 1, 9, tzinfo=UTC)
    load(
        engine,
        tmp_path,
        "referrals",
        [
            {
                "referral_id": "R1",
                "child_id": "CH1",
                "received_at": t.isoformat(),
                "team_id": "DAT-A",
                "decision_at": (t + timedelta(hours=2)).isoformat(),
            },
        ],
        ingested_at=t,
    )
    load(
        engine,
        tmp_path,
        "assessments",
        [
            {
                "assessment_id": "A1",
                "child_id": "CH1",
                "team_id": "DAT-A",
                "referral_id": "R1",
                "start_date": "2026-10-02",
            },
        ],
        ingested_at=t,
    )
    _daily(engine, calendar, t + timedelta(days=1), 4)
    assert ("assessment-45wd", "A1") not in breaches(engine)
    # The case system corrects the referral date to 1 July: 45 working days have passed.
    corrected = t + timedelta(days=4, hours=1)
    load(
        engine,
        tmp_path,
        "referrals",
        [
            {
                "referral_id": "R1",
                "child_id": "CH1",
                "received_at": "2026-07-01T09:00:00Z",
                "team_id": "DAT-A",
                "decision_at": "2026-07-01T11:00:00Z",
            },
        ],
        ingested_at=corrected,
    )
    run_incremental_scan(engine, RULES, calendar, now=corrected + timedelta(minutes=15))
    assert ("assessment-45wd", "A1") in breaches(engine)


def test_a_conference_booked_in_advance_resolves_its_breach_when_its_date_arrives(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    held = datetime(2026, 10, 1, 10, tzinfo=UTC)
    load(
        engine,
        tmp_path,
        "strategy-discussions",
        [
            {
                "discussion_id": "D1",
                "child_id": "CH1",
                "held_at": held.isoformat(),
                "team_id": "DAT-A",
                "s47_initiated": "Y",
            },
        ],
        ingested_at=held,
    )
    # Booked on 20 October for 2 November; due by the end of 22 October.
    load(
        engine,
        tmp_path,
        "s47",
        [
            {
                "s47_id": "S1",
                "child_id": "CH1",
                "team_id": "DAT-A",
                "discussion_id": "D1",
                "start_date": "2026-10-01",
                "icpc_date": "2026-11-02",
            },
        ],
        ingested_at=datetime(2026, 10, 20, tzinfo=UTC),
    )
    _daily(engine, calendar, datetime(2026, 10, 21, 12, tzinfo=UTC), 16)  # to 5 November
    breach = breaches(engine)[("icpc-15wd", "S1")]
    assert breach.first_detected_at == datetime(2026, 10, 23, 12, tzinfo=UTC)
    assert breach.resolved_at == datetime(2026, 11, 2, 12, tzinfo=UTC)


def test_an_outcome_stamped_after_now_leaves_the_contact_open_for_the_incremental_pass(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    t = datetime(2026, 10, 1, 10, tzinfo=UTC)
    run_incremental_scan(engine, RULES, calendar, now=t - timedelta(hours=1))  # state exists
    load(
        engine,
        tmp_path,
        "contacts",
        [contact("C1", t, t + timedelta(days=4))],
        ingested_at=t + timedelta(minutes=5),
    )
    _daily(engine, calendar, t + timedelta(hours=2), 6)
    breach = breaches(engine)[("contact-outcome-24h", "C1")]
    assert breach.first_detected_at == t + timedelta(days=1, hours=2)
    assert breach.resolved_at == t + timedelta(days=4, hours=2)


def test_a_breach_reopens_when_a_corrected_file_removes_the_outcome(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    load_team(engine, tmp_path)
    load(engine, tmp_path, "contacts", [contact("C1", T0)], ingested_at=T0)
    run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=30), record=True)
    load(
        engine,
        tmp_path,
        "contacts",
        [contact("C1", T0, T0 + timedelta(hours=31))],
        ingested_at=T0 + timedelta(hours=31),
    )
    run_incremental_scan(engine, RULES, calendar, now=T0 + timedelta(hours=32))
    assert breaches(engine)[("contact-outcome-24h", "C1")].resolved_at is not None
    load(engine, tmp_path, "contacts", [contact("C1", T0)], ingested_at=T0 + timedelta(hours=33))
    inc = run_incremental_scan(engine, RULES, calendar, now=T0 + timedelta(hours=34))
    assert (inc.new_breaches, inc.reopened_breaches) == (0, 1)
    reopened = breaches(engine)[("contact-outcome-24h", "C1")]
    assert reopened.resolved_at is None
    assert reopened.first_detected_at == T0 + timedelta(hours=30)


def test_a_changed_rule_definition_is_evaluated_in_full(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    from frontdoor.rules import parse_rules

    load_team(engine, tmp_path)
    load(engine, tmp_path, "contacts", [contact("C1", T0)], ingested_at=T0)
    run_incremental_scan(engine, RULES, calendar, now=T0 + timedelta(hours=13))
    assert breaches(engine) == {}
    raw = {
        "id": "contact-outcome-24h",
        "kind": "timescale",
        "record": "contact",
        "clock": "clock-hours",
        "limit": 12,
    }
    stricter = parse_rules({"rule": [raw]}, source="test")
    inc = run_incremental_scan(engine, stricter, calendar, now=T0 + timedelta(hours=14))
    assert inc.full_rules == ["contact-outcome-24h"]
    assert ("contact-outcome-24h", "C1") in breaches(engine)
