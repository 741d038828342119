"""Weekly report figures on both engines, every expectation counted by hand.

Week 2026-W48 is Mon 23 Nov - Sun 29 Nov 2026 (GMT, no bank holiday): [2026-11-23T00:00Z,
2026-11-30T00:00Z). 2026-W43 contains the end of BST (Sun 25 Oct 2026): [2026-10-18T23:00Z,
2026-10-26T00:00Z). 2026-W52 contains Christmas Day (Fri 25 Dec) and the substitute Boxing Day
(Mon 28 Dec, in the next week): [2026-12-21T00:00Z, 2026-12-28T00:00Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from frontdoor.clock import WorkingCalendar
from frontdoor.models import Rationale, table_of
from frontdoor.rules import TimescaleRule, load_rules
from frontdoor.weekly_figures import Ratio, week_figures, weeks_figures
from frontdoor.weekly_lists import breach_list, oldest_open
from frontdoor.weeks import parse_week
from tests.conftest import REPO
from tests.factories import load, load_team

RULES = load_rules(REPO / "rules")
A, B = "DAT-A", "DAT-B"


def z(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def contact(
    cid: str, received: str, outcome: str | None = None, team: str = A
) -> dict[str, object]:
    return {
        "contact_id": cid,
        "child_id": f"CH-{cid}",
        "received_at": received,
        "team_id": team,
        "outcome_at": outcome,
    }


def referral(rid: str, child: str, received: str, decision: str | None = None) -> dict[str, object]:
    return {
        "referral_id": rid,
        "child_id": child,
        "received_at": received,
        "team_id": A,
        "decision_at": decision,
    }


@pytest.fixture(name="teams")
def _teams(engine: Engine, tmp_path: Path) -> Engine:
    for team in (A, B, "DAT-C"):
        load_team(engine, tmp_path, team)
    return engine


def _load(engine: Engine, tmp_path: Path, kind: str, rows: list[dict[str, object]]) -> None:
    summary = load(engine, tmp_path, kind, rows)
    assert summary.rejected == 0


def _rationale(rule: str, record: str, at: str) -> dict[str, object]:
    return {
        "rule_id": rule,
        "record_id": record,
        "recorded_by": "tm.a@example.org",
        "reason": "capacity",
        "recorded_at": z(at),
        "review_by": z(at) + timedelta(days=7),
    }


EOD = "T23:59:59.999999+00:00"  # end of a GMT day


@pytest.fixture(name="w48")
def _w48(teams: Engine, tmp_path: Path) -> Engine:
    e = teams
    _load(
        e,
        tmp_path,
        "contacts",
        [
            # received in week; due Tue 24 09:00; outcome 15:00 Mon: met
            contact("C1", "2026-11-23T09:00Z", "2026-11-23T15:00Z"),
            # received Sun 22 (last week); due Mon 23 10:00 (in week); outcome exactly at due: met
            contact("C2", "2026-11-22T10:00Z", "2026-11-23T10:00Z"),
            # due Thu 26 12:00; outcome one second late
            contact("C3", "2026-11-25T12:00Z", "2026-11-26T12:00:01Z"),
            # due Sun 29 23:30 (in week), open; age at week end 24.5 h
            contact("C4", "2026-11-28T23:30Z"),
            # due Mon 30 06:00 (next week); age 18 h: no age bucket
            contact("C5", "2026-11-29T06:00Z"),
            # due Fri 27 20:00; outcome after week end: open at week end, age 76 h
            contact("C6", "2026-11-26T20:00Z", "2026-11-30T09:00Z"),
            # due Sat 28 12:00, open; age 60 h
            contact("C7", "2026-11-27T12:00Z"),
            # last week's contact, still open; age 232 h
            contact("C8", "2026-11-20T08:00Z"),
            # received Sun 29 00:00: due exactly at week end (next week); age exactly 24 h
            contact("C11", "2026-11-29T00:00Z"),
            # team B: one met, one open for 5 days 14 h
            contact("CB1", "2026-11-24T09:00Z", "2026-11-24T10:00Z", team=B),
            contact("CB2", "2026-11-24T10:00Z", team=B),
            # team C is not asked for
            contact("CC1", "2026-11-24T10:00Z", team="DAT-C"),
        ],
    )
    _load(
        e,
        tmp_path,
        "referrals",
        [
            # Fri 20 -> due end Mon 23; decided Mon 17:00: met
            referral("R1", "CH-1", "2026-11-20T16:00Z", "2026-11-23T17:00Z"),
            # Mon 23 -> due end Tue 24; decided Wed: late. Child referred 364 days earlier.
            referral("R2", "CH-2", "2026-11-23T10:00Z", "2026-11-25T09:00Z"),
            referral("R-OLD", "CH-2", "2025-11-24T10:00Z", "2025-11-25T10:00Z"),
            # Thu 26 -> due end Fri 27; decided Fri 23:59:59: met. Earlier referral 365 days and
            # one second before: not a re-referral.
            referral("R3", "CH-3", "2026-11-26T15:00Z", "2026-11-27T23:59:59Z"),
            referral("R-OLD2", "CH-3", "2025-11-26T14:59:59Z", "2025-11-27T10:00Z"),
            # Fri 27 -> due Mon 30 (next week). Child referred on Thu 19 (R5, due Fri 20).
            referral("R4", "CH-4", "2026-11-27T09:00Z"),
            referral("R5", "CH-4", "2026-11-19T10:00Z", "2026-11-20T09:00Z"),
            # Tue 24 -> due end Wed 25; met. Earlier referral exactly 365 days before: counts.
            referral("R6", "CH-6", "2026-11-24T12:00Z", "2026-11-24T13:00Z"),
            referral("R-OLD3", "CH-6", "2025-11-24T12:00Z"),
            # Assessment referrals (September, BST); decided, except RA3.
            # RA1: Sun 20 Sep 23:30 UTC = Mon 21 Sep 00:30 BST -> 45 wd due Mon 23 Nov.
            referral("RA1", "CH-A1", "2026-09-20T23:30Z", "2026-09-21T10:00Z"),
            # RA2: Fri 25 Sep -> due Fri 27 Nov.
            referral("RA2", "CH-A2", "2026-09-25T10:00+01:00", "2026-09-25T12:00Z"),
            # RA3: Sun 20 Sep 23:30 BST -> due Fri 20 Nov (last week).
            referral("RA3", "CH-A3", "2026-09-20T22:30Z"),
            # RA4: Mon 28 Sep -> due Mon 30 Nov (next week).
            referral("RA4", "CH-A4", "2026-09-28T09:00+01:00", "2026-09-28T12:00Z"),
        ],
    )
    _load(
        e,
        tmp_path,
        "strategy-discussions",
        [
            {"discussion_id": "D1", "child_id": "K1", "held_at": "2026-11-23T11:00Z", "team_id": A},
            {"discussion_id": "D2", "child_id": "K2", "held_at": "2026-11-25T14:00Z", "team_id": A},
            {
                "discussion_id": "D3",
                "child_id": "K3",
                "held_at": "2026-11-29T23:59:59Z",
                "team_id": A,
            },
            {"discussion_id": "D4", "child_id": "K4", "held_at": "2026-11-30T00:00Z", "team_id": A},
            {
                "discussion_id": "DS1",
                "child_id": "K5",
                "held_at": "2026-11-02T10:00Z",
                "team_id": A,
            },
            {
                "discussion_id": "DS3",
                "child_id": "K6",
                "held_at": "2026-11-08T12:00Z",
                "team_id": A,
            },
        ],
    )
    att = [
        ("D1", "local_authority", "Y"),
        ("D1", "police", "Y"),
        ("D1", "health", "Y"),
        ("D1", "education", "N"),
        ("D2", "local_authority", "Y"),
        ("D2", "police", "N"),
        ("D2", "education", "Y"),
        ("D3", "local_authority", "Y"),
        ("D3", "police", "Y"),
        ("D3", "health", "Y"),
        ("D3", "education", "Y"),
    ]
    _load(
        e,
        tmp_path,
        "strategy-attendance",
        [{"discussion_id": d, "agency": g, "attended": y} for d, g, y in att],
    )

    def s47(sid: str, start: str, disc: str | None = None, **kw: str) -> dict[str, object]:
        return {"s47_id": sid, "child_id": f"CH-{sid}", "team_id": A, "discussion_id": disc,
                "start_date": start, **kw}  # fmt: skip

    _load(
        e,
        tmp_path,
        "s47",
        [
            # clock starts at DS1 (Mon 2 Nov) -> 15 wd due Mon 23 Nov; ICPC that day: met
            s47("S1", "2026-11-03", "DS1", icpc_date="2026-11-23"),
            # Wed 4 Nov -> due Wed 25; ICPC Thu 26: late
            s47("S2", "2026-11-04", icpc_date="2026-11-26"),
            # DS3 Sun 8 Nov -> due Fri 27; ICPC not required: met
            s47("S3", "2026-11-09", "DS3", icpc_not_required="Y"),
            # Mon 9 Nov -> due Mon 30 (next week); open, not overdue at week end
            s47("S4", "2026-11-09"),
            # Tue 20 Oct -> due Tue 10 Nov; open at week end
            s47("S5", "2026-10-20"),
            # Mon 26 Oct -> due Mon 16 Nov; ICPC Tue 1 Dec (after week end): open at week end
            s47("S6", "2026-10-26", icpc_date="2026-12-01"),
        ],
    )

    def assessment(aid: str, ref: str, start: str, done: str | None) -> dict[str, object]:
        return {"assessment_id": aid, "child_id": f"CH-{aid}", "team_id": A,
                "referral_id": ref, "start_date": start, "authorised_date": done}  # fmt: skip

    _load(
        e,
        tmp_path,
        "assessments",
        [
            assessment("A1", "RA1", "2026-09-22", "2026-11-23"),  # due Mon 23 Nov: met
            assessment("A2", "RA2", "2026-09-28", "2026-11-28"),  # due Fri 27 Nov: late
            assessment("A3", "RA3", "2026-09-21", None),  # due Fri 20 Nov: open past limit
            assessment("A4", "RA4", "2026-09-28", None),  # due Mon 30 Nov: not yet
        ],
    )
    # No breach ledger rows: the figures and the breach list are read from the records
    # alone (a record completed late between two scans never reaches the ledger).
    rationales = [
        _rationale("contact-outcome-24h", "C3", "2026-11-27T09:00Z"),
        _rationale("contact-outcome-24h", "C4", "2026-11-30T00:00Z"),  # exactly at week end
        _rationale("contact-outcome-24h", "C6", "2026-11-30T00:00:01Z"),  # after week end
        _rationale("icpc-15wd", "D2", "2026-11-26T09:00Z"),  # other rule: not D2's rationale
        _rationale("icpc-15wd", "S2", "2026-11-20T09:00Z"),
    ]
    with e.begin() as conn:
        conn.execute(insert(table_of(Rationale)), rationales)
    return e


def test_week_48_figures_for_two_teams_and_the_total(
    w48: Engine, calendar: WorkingCalendar
) -> None:
    with w48.connect() as conn:
        figures = week_figures(conn, RULES, calendar, parse_week("2026-W48"), team_ids=[A, B])
    a, b, total = figures.teams[0], figures.teams[1], figures.total
    assert (a.team_id, b.team_id, total.team_id) == (A, B, None)

    # Received Mon 23 - Sun 29: C1, C3, C4, C5, C6, C7, C11.
    assert a.contacts_received == 7
    # Due in the week: C1, C2, C3, C4, C6, C7; met: C1, C2 (exactly at due).
    assert a.contact_timely == Ratio(2, 6)
    assert a.contact_timely.percent == pytest.approx(100 / 3)
    # Open at Mon 30 00:00: C11 (24 h), C4 (24.5 h) | C7 (60 h) | C6 (76 h), C8.
    assert (a.open_contacts_24_48h, a.open_contacts_48_72h, a.open_contacts_over_72h) == (2, 1, 2)
    # Ledger rows due in the week: C3, C4, C6, C7, R2, D2 (held), S2, A2 = 8 (C8 was due last
    # week). Rationale by week end: C3, C4 (exactly at end), S2 = 3.
    assert a.breaches == 8
    assert (a.breaches_with_rationale, a.breaches_without_rationale) == (3, 5)
    assert a.breaches_by_rule == {
        "assessment-45wd": 1,
        "contact-outcome-24h": 4,
        "icpc-15wd": 1,
        "referral-decision-1wd": 1,
        "strategy-partners": 1,
    }
    # Due in the week: R1 (Mon), R2 (Tue), R6 (Wed), R3 (Fri); late: R2.
    assert a.referral_timely == Ratio(3, 4)
    # Held in the week: D1, D2, D3 (D4 is at week end). Full: D1, D3.
    assert a.discussions_held == 3
    assert a.discussions_all_agencies == Ratio(2, 3)
    assert a.missing_by_agency == {
        "police": 1,  # D2 (N)
        "health": 1,  # D2 (no row)
        "local_authority": 0,
        "education": 1,  # D1 (N)
    }
    # Due in the week: S1 (Mon), S2 (Wed), S3 (Fri); late: S2. Open past limit: S5, S6.
    assert a.icpc_timely == Ratio(2, 3)
    assert a.s47_open_past_limit == 2
    # Due in the week: A1 (Mon, via BST local date), A2 (Fri); late: A2. Open past: A3.
    assert a.assessment_timely == Ratio(1, 2)
    assert a.assessments_open_past_limit == 1
    # Received in the week: R2, R3, R4, R6; repeats: R2 (364 d), R4 (8 d), R6 (365 d).
    assert a.re_referrals == Ratio(3, 4)

    assert b.contacts_received == 2
    assert b.contact_timely == Ratio(1, 2)
    assert (b.open_contacts_24_48h, b.open_contacts_48_72h, b.open_contacts_over_72h) == (0, 0, 1)
    assert (b.breaches, b.breaches_with_rationale, b.breaches_without_rationale) == (1, 0, 1)
    assert b.referral_timely == Ratio(0, 0)
    assert b.referral_timely.percent is None
    assert b.discussions_held == 0

    # Totals: A + B; DAT-C is left out.
    assert total.contacts_received == 9
    assert total.contact_timely == Ratio(3, 8)
    assert (total.breaches, total.breaches_with_rationale) == (9, 3)
    assert total.breaches_by_rule["contact-outcome-24h"] == 5
    assert total.open_contacts_over_72h == 3
    assert total.re_referrals == Ratio(3, 4)


def test_breach_list_orders_the_weeks_breaches_by_due_moment(
    w48: Engine, calendar: WorkingCalendar
) -> None:
    with w48.connect() as conn:
        lines = breach_list(conn, RULES, calendar, parse_week("2026-W48"), team_ids=[A])
    assert [(line.record_id, line.has_rationale) for line in lines] == [
        ("R2", False),  # Tue 24 end of day
        ("D2", False),  # held Wed 25 14:00
        ("S2", True),  # Wed 25 end of day
        ("C3", True),  # Thu 26 12:00
        ("C6", False),  # Fri 27 20:00 (rationale one second after week end)
        ("A2", False),  # Fri 27 end of day
        ("C7", False),  # Sat 28 12:00
        ("C4", True),  # Sun 29 23:30 (rationale exactly at week end)
    ]
    assert lines[0].due_at == z("2026-11-24" + EOD)
    assert lines[0].started_at == z("2026-11-23T10:00Z")
    assert lines[1].due_at is None
    assert lines[1].started_at == z("2026-11-25T14:00Z")
    assert lines[1].completed_at is None
    by_id = {line.record_id: line for line in lines}
    assert by_id["C4"].completed_at is None  # still open at the export
    assert by_id["A2"].completed_at == z("2026-11-28T00:00Z")  # a date: from 00:00 local
    # The same lines as the figures count.
    with w48.connect() as conn:
        figures = week_figures(conn, RULES, calendar, parse_week("2026-W48"), team_ids=[A])
    assert len(lines) == figures.total.breaches


def test_oldest_open_items_at_week_end_span_record_kinds(
    w48: Engine, calendar: WorkingCalendar
) -> None:
    with w48.connect() as conn:
        items = oldest_open(conn, calendar, at=z("2026-11-30T00:00Z"), team_ids=[A], limit=4)
    # R-OLD3 (no decision, Nov 2025); RA3 (Sep 20 22:30Z); A3 (start Mon 21 Sep = 20 Sep
    # 23:00Z); A4 (start Mon 28 Sep = 27 Sep 23:00Z). RA1, RA2, RA4 were decided.
    assert [(i.record, i.record_id, i.started_at) for i in items] == [
        ("referral", "R-OLD3", z("2025-11-24T12:00Z")),
        ("referral", "RA3", z("2026-09-20T22:30Z")),
        ("assessment", "A3", z("2026-09-20T23:00Z")),
        ("assessment", "A4", z("2026-09-27T23:00Z")),
    ]


def test_october_dst_week_uses_local_midnights_and_real_hours(
    teams: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    # 2026-W43 = [Sun 18 Oct 23:00Z (Mon 00:00 BST), Mon 26 Oct 00:00Z (Mon 00:00 GMT)).
    _load(
        teams,
        tmp_path,
        "contacts",
        [
            # Sun 23:59:59 BST: last week; due Mon 19 22:59:59Z (in week); met exactly at due
            contact("K0", "2026-10-18T22:59:59Z", "2026-10-19T22:59:59Z"),
            # Mon 00:30 BST: in week; due in week; open at end (7 days): over 72 h
            contact("K1", "2026-10-18T23:30Z"),
            # Sun 25 Oct 23:30 GMT: in week; due next week; age 0.5 h
            contact("K2", "2026-10-25T23:30Z"),
            # Mon 26 Oct 00:00 GMT: next week
            contact("K3", "2026-10-26T00:00Z"),
            # Sun 25 Oct 00:30 BST: due Sun 23:30 GMT (in week); met
            contact("K4", "2026-10-24T23:30Z", "2026-10-25T10:00Z"),
            # Sat 24 Oct 00:30 BST: real age at week end 48.5 h (wall clock 47.5 h): 48-72
            contact("K5", "2026-10-23T23:30Z"),
        ],
    )
    _load(
        teams,
        tmp_path,
        "referrals",
        [
            # Thu 22 Oct 23:30 BST -> due end Fri 23 (22:59:59.999999Z); decided before: met
            referral("Q1", "CH-Q1", "2026-10-22T22:30Z", "2026-10-23T22:30Z"),
            # Fri 23 Oct 00:30 BST -> due end Mon 26 Oct GMT: next week
            referral("Q2", "CH-Q2", "2026-10-22T23:30Z", "2026-10-26T23:30Z"),
            # Fri 16 Oct -> due end Mon 19 (22:59:59.999999Z); decided Tue 00:00 BST: late
            referral("Q3", "CH-Q3", "2026-10-16T10:00+01:00", "2026-10-19T23:00Z"),
        ],
    )
    with teams.connect() as conn:
        f = week_figures(conn, RULES, calendar, parse_week("2026-W43"), team_ids=[A]).total
    assert f.contacts_received == 4  # K1, K2, K4, K5
    assert f.contact_timely == Ratio(2, 4)  # due: K0, K1, K4, K5; met: K0, K4
    assert (f.open_contacts_24_48h, f.open_contacts_48_72h, f.open_contacts_over_72h) == (0, 1, 1)
    assert f.referral_timely == Ratio(1, 2)  # due: Q1, Q3; met: Q1
    assert f.re_referrals == Ratio(0, 2)  # Q1, Q2 received in the week; no earlier ones


def test_christmas_week_skips_bank_holidays_in_working_day_figures(
    teams: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    # Working days of 2026-W52: Mon 21 - Thu 24 (Fri 25 Christmas; Mon 28 is the substitute
    # Boxing Day, in W53).
    _load(
        teams,
        tmp_path,
        "referrals",
        [
            # Fri 18 Dec 16:00 -> due end Mon 21; decided Mon 23:59:59: met
            referral("P1", "CH-P1", "2026-12-18T16:00Z", "2026-12-21T23:59:59Z"),
            # Thu 24 Dec -> due end Tue 29 (W53); no decision
            referral("P2", "CH-P2", "2026-12-24T10:00Z"),
            # Wed 23 Dec -> due end Thu 24; decided Tue 29: late
            referral("P3", "CH-P3", "2026-12-23T09:00Z", "2026-12-29T09:00Z"),
            # Thu 17 Dec -> due end Fri 18 (W51)
            referral("P4", "CH-P4", "2026-12-17T12:00Z", "2026-12-17T13:00Z"),
        ],
    )
    _load(
        teams,
        tmp_path,
        "s47",
        [
            # Fri 4 Dec + 15 wd skips 25 and 28 Dec -> due Tue 29 (W53); ICPC that day: met
            {"s47_id": "T1", "child_id": "CT1", "team_id": A, "start_date": "2026-12-04",
             "icpc_date": "2026-12-29"},
            # Thu 3 Dec + 15 wd -> due Thu 24 (W52); ICPC that day: met
            {"s47_id": "T2", "child_id": "CT2", "team_id": A, "start_date": "2026-12-03",
             "icpc_date": "2026-12-24"},
        ],
    )  # fmt: skip
    _load(teams, tmp_path, "contacts", [contact("X1", "2026-12-24T16:30Z", "2026-12-25T16:30Z")])
    w52 = parse_week("2026-W52")
    assert (w52.start, w52.end) == (z("2026-12-21T00:00Z"), z("2026-12-28T00:00Z"))
    with teams.connect() as conn:
        f52 = week_figures(conn, RULES, calendar, w52, team_ids=[A]).total
        f53 = week_figures(conn, RULES, calendar, parse_week("2026-W53"), team_ids=[A]).total
    assert f52.referral_timely == Ratio(1, 2)  # P1 met, P3 late
    assert f52.icpc_timely == Ratio(1, 1)  # T2
    assert f52.contact_timely == Ratio(1, 1)  # clock hours run through Christmas Day
    assert f52.re_referrals == Ratio(0, 2)  # P2, P3 received in W52; no earlier referrals
    assert f53.referral_timely == Ratio(0, 1)  # P2 due Tue 29, no decision
    assert f53.icpc_timely == Ratio(1, 1)  # T1


def test_a_working_hours_contact_rule_is_counted_by_its_due_moment(
    teams: Engine, tmp_path: Path, calendar: WorkingCalendar
) -> None:
    # 24 working hours with no office-hours window: whole working days, weekends skipped.
    rule = TimescaleRule.model_validate(
        {"id": "contact-24wh", "kind": "timescale", "record": "contact",
         "clock": "working-hours", "limit": 24}
    )  # fmt: skip
    rules = [rule, *(r for r in RULES if r.record != "contact")]
    _load(
        teams,
        tmp_path,
        "contacts",
        [
            # Fri 20 10:00 -> due Mon 23 10:00 (W48); outcome an hour early: met
            contact("H1", "2026-11-20T10:00:00Z", "2026-11-23T09:00:00Z"),
            # Fri 20 12:00 -> due Mon 23 12:00; outcome an hour late: breach
            contact("H2", "2026-11-20T12:00:00Z", "2026-11-23T13:00:00Z"),
            # Thu 26 12:00 -> due Fri 27 12:00; never done: breach, with a rationale
            contact("H3", "2026-11-26T12:00:00Z"),
            # Fri 27 12:00 -> due Mon 30 12:00: next week
            contact("H4", "2026-11-27T12:00:00Z"),
            # Thu 19 09:00 -> due Fri 20 09:00: last week, never done
            contact("H5", "2026-11-19T09:00:00Z"),
        ],
    )
    with teams.begin() as conn:
        conn.execute(
            insert(table_of(Rationale)), [_rationale("contact-24wh", "H3", "2026-11-27T15:00Z")]
        )
    w47, w48 = parse_week("2026-W47"), parse_week("2026-W48")
    with teams.connect() as conn:
        f = week_figures(conn, rules, calendar, w48, team_ids=[A]).total
        lines = breach_list(conn, rules, calendar, w48, team_ids=[A])
        both = weeks_figures(conn, rules, calendar, [w47, w48], team_ids=[A])
    assert f.contact_timely == Ratio(1, 3)  # H1 met; H2, H3 missed
    assert f.breaches_by_rule.get("contact-24wh") == 2
    assert (f.breaches_with_rationale, f.breaches_without_rationale) == (1, 1)
    assert [(x.record_id, x.due_at, x.has_rationale) for x in lines] == [
        ("H2", z("2026-11-23T12:00Z"), False),
        ("H3", z("2026-11-27T12:00Z"), True),
    ]
    assert both[0].total.contact_timely == Ratio(0, 1)  # H5, due in week 47
    assert both[1].total.contact_timely == Ratio(1, 3)
