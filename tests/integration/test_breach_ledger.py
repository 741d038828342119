"""The breach ledger: live scans record each breach once; incremental passes agree with full
scans; closed records are resolved. Both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from frontdoor.clock import WorkingCalendar
from frontdoor.models import Breach, ScanState
from frontdoor.rules import load_rules
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
    return {"contact_id": cid, "child_id": f"CH-{cid}", "received_at": received.isoformat(),
            "team_id": "DAT-A", "outcome_at": outcome_at.isoformat() if outcome_at else None}


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
    load(engine, tmp_path, "contacts", [
        contact("OLD", T0 - timedelta(days=3)),
        contact("SOON", T0 + timedelta(minutes=10)),
        contact("LATER", T0 + timedelta(hours=3)),
    ], ingested_at=T0 + timedelta(hours=3))
    load(engine, tmp_path, "referrals", [
        {"referral_id": "R1", "child_id": "CH1", "received_at": T0.isoformat(),
         "team_id": "DAT-A"},
    ], ingested_at=T0 + timedelta(hours=3))
    start = T0 + timedelta(hours=24)
    first = run_incremental_scan(engine, RULES, calendar, now=start)
    assert "contact-outcome-24h" in first.full_rules  # no cutoff yet: full evaluation
    assert set(breaches(engine)) == {("contact-outcome-24h", "OLD")}

    # 15 minutes later SOON has crossed its due.
    run_incremental_scan(engine, RULES, calendar, now=start + timedelta(minutes=15))
    assert ("contact-outcome-24h", "SOON") in breaches(engine)
    with engine.connect() as conn:
        state = conn.execute(
            select(ScanState.cutoff).where(ScanState.rule_id == "contact-outcome-24h")
        ).scalar_one()
    assert state == start + timedelta(minutes=15) - timedelta(hours=24)

    # A contact received two days ago but only exported now, still open.
    late_now = start + timedelta(hours=1)
    load(engine, tmp_path, "contacts", [contact("LATE-IMPORT", T0 - timedelta(days=2))],
         ingested_at=late_now - timedelta(minutes=5))
    # SOON gets its outcome (late) and must be resolved.
    load(engine, tmp_path, "contacts", [
        contact("SOON", T0 + timedelta(minutes=10), late_now - timedelta(minutes=1)),
    ], ingested_at=late_now - timedelta(minutes=1))
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
    load(engine, tmp_path, "strategy-discussions", [
        {"discussion_id": "SD1", "child_id": "CH1", "held_at": T0.isoformat(),
         "team_id": "DAT-A"},
    ])
    load(engine, tmp_path, "strategy-attendance", [
        {"discussion_id": "SD1", "agency": "local_authority", "attended": "Y"},
        {"discussion_id": "SD1", "agency": "health", "attended": "Y"},
    ])
    run_scan(engine, RULES, calendar, now=T0 + timedelta(hours=1), record=True)
    ledger = breaches(engine)
    assert ledger[("strategy-partners", "SD1")].missing_agencies == "police"
    load(engine, tmp_path, "strategy-attendance", [
        {"discussion_id": "SD1", "agency": "police", "attended": "Y"},
    ], ingested_at=T0 + timedelta(minutes=90))
    inc = run_incremental_scan(engine, RULES, calendar, now=T0 + timedelta(hours=2))
    assert inc.resolved_breaches == 1
