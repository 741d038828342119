"""Tests for :mod:`frontdoor.digest_plan`: who gets which message at a digest slot.

Slots are 08:30, 12:30 and 16:00 Europe/London on working days; escalation after 24 working
hours; repeats from the first slot of the next working day. All dates are in November 2026,
after the clocks went back (25 Oct), so local time is UTC and every instant below reads as
local wall time. Mon 2 Nov to Fri 6 Nov and Mon 9 Nov 2026 are ordinary working days.

Go-live (the baseline) is Mon 26 Oct 2026 08:30 unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta

import pytest

from frontdoor.clock import england_calendar
from frontdoor.digest_items import (
    DigestItem,
    History,
    PlannedMessage,
    RationaleState,
    TeamContacts,
)
from frontdoor.digest_plan import Plan, Policy, plan_slot, preview_for
from frontdoor.slots import DigestSchedule

CAL = england_calendar()
SCHEDULE = DigestSchedule(CAL, (time(8, 30), time(12, 30), time(16, 0)))
POLICY = Policy(SCHEDULE, repeat="next-working-day", escalate_after=timedelta(hours=24))


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


BASELINE = utc(2026, 10, 26, 8, 30)

ALICE = "alice@council.example"
BOB = "bob@council.example"
CAROL = "carol@council.example"
SAM = "sam@council.example"
ZOE = "zoe@council.example"

# Alice manages two teams; Sam is service manager for three teams with two team managers.
FD_A = TeamContacts("FD-A", "Front Door A", "Alice Able", ALICE, "Sam Senior", SAM)
FD_B = TeamContacts("FD-B", "Front Door B", "Alice Able", ALICE, "Sam Senior", SAM)
MASH = TeamContacts("MASH", "MASH", "Bob Baker", BOB, "Sam Senior", SAM)
EDT = TeamContacts("EDT", "Emergency Duty", "Carol Cole", CAROL, "Zoe Zeal", ZOE)
# Deliberately not in address or team-id order.
TEAMS = [EDT, MASH, FD_B, FD_A]


def rationale(*, current: bool) -> RationaleState:
    return RationaleState(
        reason="awaiting-partner-information",
        recorded_by="alice",
        recorded_at=utc(2026, 11, 2, 9, 0),
        review_by=utc(2026, 11, 20) if current else utc(2026, 11, 3),
        current=current,
    )


def item(
    breach_id: int,
    team_id: str,
    breached_at: datetime,
    *,
    detected_at: datetime | None = None,
    rule_id: str = "contact-decision-1wd",
    record_id: str | None = None,
    rationale: RationaleState | None = None,
) -> DigestItem:
    """An open breach first detected 15 minutes after it happened unless told otherwise."""
    return DigestItem(
        breach_id=breach_id,
        rule_id=rule_id,
        record_kind="contact",
        record_id=record_id or f"C{breach_id:04d}",
        child_id=f"CH{breach_id:04d}",
        team_id=team_id,
        started_at=breached_at - timedelta(days=1),
        due_at=breached_at,
        breached_at=breached_at,
        first_detected_at=detected_at or breached_at + timedelta(minutes=15),
        missing_agencies=(),
        worker_id=None,
        rationale=rationale,
    )


def plan(
    items: Sequence[DigestItem],
    *,
    slot: datetime,
    now: datetime | None = None,
    histories: Mapping[tuple[str, int], History] | None = None,
    teams: Sequence[TeamContacts] = TEAMS,
    baseline: datetime = BASELINE,
) -> Plan:
    return plan_slot(
        items,
        teams,
        histories or {},
        slot=slot,
        now=slot if now is None else now,
        baseline=baseline,
        policy=POLICY,
        cal=CAL,
    )


def at_level(p: Plan, level: int) -> list[PlannedMessage]:
    return [m for m in p.messages if m.level == level]


def summary(p: Plan) -> list[tuple[str, str, str, tuple[int, ...], frozenset[int]]]:
    """(recipient, kind, reason, item ids in order, new ids) per message, in plan order."""
    return [
        (m.recipient_email, m.kind, m.reason, tuple(i.breach_id for i in m.items), m.new_ids)
        for m in p.messages
    ]


# =================================================================================================
# New items, grouping per recipient
# =================================================================================================
def test_no_items_no_messages() -> None:
    assert plan([], slot=utc(2026, 11, 3, 12, 30)) == Plan(messages=[], unrouted=[])


def test_team_items_make_one_digest_to_the_manager_oldest_first() -> None:
    # Breached Tue 3 Nov at 11:00, 09:00 and 10:00; at 12:30 none is 24 working hours old.
    i11 = item(1, "FD-A", utc(2026, 11, 3, 11, 0))
    i09 = item(2, "FD-A", utc(2026, 11, 3, 9, 0))
    i10 = item(3, "FD-A", utc(2026, 11, 3, 10, 0))
    slot = utc(2026, 11, 3, 12, 30)
    result = plan([i11, i09, i10], slot=slot, teams=[FD_A])
    assert result.messages == [
        PlannedMessage(
            recipient_email=ALICE,
            recipient_name="Alice Able",
            kind="digest",
            reason="new",
            slot=slot,
            next_slot=utc(2026, 11, 3, 16, 0),
            teams=(FD_A,),
            items=(i09, i10, i11),
            new_ids=frozenset({1, 2, 3}),
        )
    ]
    assert result.unrouted == []


def test_same_breach_moment_orders_by_rule_then_record() -> None:
    moment = utc(2026, 11, 3, 9, 0)
    a = item(1, "FD-A", moment, rule_id="referral-decision-1wd", record_id="R0001")
    b = item(2, "FD-A", moment, rule_id="contact-decision-1wd", record_id="C0009")
    c = item(3, "FD-A", moment, rule_id="contact-decision-1wd", record_id="C0002")
    result = plan([a, b, c], slot=utc(2026, 11, 3, 12, 30), teams=[FD_A])
    assert summary(result) == [(ALICE, "digest", "new", (3, 2, 1), frozenset({1, 2, 3}))]


def test_one_manager_of_two_teams_gets_one_message() -> None:
    in_b = item(1, "FD-B", utc(2026, 11, 3, 9, 0))
    in_a = item(2, "FD-A", utc(2026, 11, 3, 10, 0))
    result = plan([in_a, in_b], slot=utc(2026, 11, 3, 12, 30))
    assert len(result.messages) == 1
    (msg,) = result.messages
    assert msg.recipient_email == ALICE
    assert msg.teams == (FD_A, FD_B)
    assert msg.items == (in_b, in_a)
    assert msg.new_ids == frozenset({1, 2})


def test_two_managers_get_separate_messages() -> None:
    alice_item = item(1, "FD-A", utc(2026, 11, 3, 9, 0))
    bob_item = item(2, "MASH", utc(2026, 11, 3, 8, 0))
    result = plan([bob_item, alice_item], slot=utc(2026, 11, 3, 12, 30))
    assert summary(result) == [
        (ALICE, "digest", "new", (1,), frozenset({1})),
        (BOB, "digest", "new", (2,), frozenset({2})),
    ]
    assert result.messages[1].teams == (MASH,)
    assert result.messages[1].recipient_name == "Bob Baker"


def test_service_manager_gets_one_escalation_across_teams() -> None:
    # Breached Mon 2 Nov; 24 working hours later is Tue 3 Nov 09:00 / 10:00 / 11:00, all
    # before the Tue 12:30 slot.
    fd_a = item(1, "FD-A", utc(2026, 11, 2, 10, 0))
    mash = item(2, "MASH", utc(2026, 11, 2, 9, 0))
    edt = item(3, "EDT", utc(2026, 11, 2, 11, 0))
    slot = utc(2026, 11, 3, 12, 30)
    result = plan([fd_a, mash, edt], slot=slot)
    escalations = at_level(result, 2)
    assert escalations == [
        PlannedMessage(
            recipient_email=SAM,
            recipient_name="Sam Senior",
            kind="escalation",
            reason="new",
            slot=slot,
            next_slot=utc(2026, 11, 3, 16, 0),
            teams=(FD_A, FD_B, MASH),
            items=(mash, fd_a),
            new_ids=frozenset({1, 2}),
        ),
        PlannedMessage(
            recipient_email=ZOE,
            recipient_name="Zoe Zeal",
            kind="escalation",
            reason="new",
            slot=slot,
            next_slot=utc(2026, 11, 3, 16, 0),
            teams=(EDT,),
            items=(edt,),
            new_ids=frozenset({3}),
        ),
    ]


def test_messages_ordered_by_level_then_address_and_carry_the_next_slot() -> None:
    # Fri 6 Nov 16:00, items breached Thu 5 Nov (escalated by Fri) in every team.
    items = [
        item(1, "EDT", utc(2026, 11, 5, 9, 0)),
        item(2, "MASH", utc(2026, 11, 5, 9, 0)),
        item(3, "FD-A", utc(2026, 11, 5, 9, 0)),
    ]
    slot = utc(2026, 11, 6, 16, 0)
    result = plan(items, slot=slot)
    assert [(m.level, m.recipient_email) for m in result.messages] == [
        (1, ALICE),
        (1, BOB),
        (1, CAROL),
        (2, SAM),
        (2, ZOE),
    ]
    # Friday's last slot is followed by Monday 9 Nov 08:30.
    assert {m.next_slot for m in result.messages} == {utc(2026, 11, 9, 8, 30)}
    assert {m.slot for m in result.messages} == {slot}


# =================================================================================================
# History: anti-noise and repeats
# =================================================================================================
NOTIFIED_AT_TUE_1230 = {(ALICE, 1): History(utc(2026, 11, 3, 12, 30), frozenset({1, 2}))}


def _notified_items(*, current: tuple[bool | None, bool | None] = (None, None)) -> list[DigestItem]:
    """Two FD-A items breached Tue 3 Nov 10:00 and 11:00, told to Alice at 12:30."""
    return [
        item(
            n,
            "FD-A",
            utc(2026, 11, 3, 9 + n, 0),
            rationale=None if c is None else rationale(current=c),
        )
        for n, c in zip((1, 2), current, strict=True)
    ]


def test_no_message_when_everything_was_told_earlier_the_same_working_day() -> None:
    result = plan(_notified_items(), slot=utc(2026, 11, 3, 16, 0), histories=NOTIFIED_AT_TUE_1230)
    assert result.messages == []


def test_repeat_at_the_first_slot_of_the_next_working_day() -> None:
    # Wed 4 Nov 08:30: the items escalate at Wed 10:00 / 11:00, so level 1 only.
    items = _notified_items()
    result = plan(items, slot=utc(2026, 11, 4, 8, 30), histories=NOTIFIED_AT_TUE_1230)
    assert summary(result) == [(ALICE, "digest", "repeat", (1, 2), frozenset())]


def test_no_repeat_when_every_item_has_a_current_rationale() -> None:
    items = _notified_items(current=(True, True))
    result = plan(items, slot=utc(2026, 11, 4, 8, 30), histories=NOTIFIED_AT_TUE_1230)
    assert result.messages == []


def test_repeat_when_one_rationale_has_lapsed() -> None:
    items = _notified_items(current=(True, False))
    result = plan(items, slot=utc(2026, 11, 4, 8, 30), histories=NOTIFIED_AT_TUE_1230)
    assert summary(result) == [(ALICE, "digest", "repeat", (1, 2), frozenset())]


def test_a_new_item_alongside_notified_ones_is_marked_new() -> None:
    fresh = item(3, "FD-A", utc(2026, 11, 3, 14, 0))
    items = [*_notified_items(), fresh]
    result = plan(items, slot=utc(2026, 11, 3, 16, 0), histories=NOTIFIED_AT_TUE_1230)
    assert summary(result) == [(ALICE, "digest", "new", (1, 2, 3), frozenset({3}))]


def test_a_new_item_is_sent_even_with_a_current_rationale() -> None:
    # The rationale only silences repeats; an item never told about still makes a message.
    fresh = item(3, "FD-A", utc(2026, 11, 3, 14, 0), rationale=rationale(current=True))
    items = [*_notified_items(current=(True, True)), fresh]
    result = plan(items, slot=utc(2026, 11, 3, 16, 0), histories=NOTIFIED_AT_TUE_1230)
    assert summary(result) == [(ALICE, "digest", "new", (1, 2, 3), frozenset({3}))]


# =================================================================================================
# Backlog at go-live
# =================================================================================================
def test_backlog_at_go_live() -> None:
    # Detected before go-live and exactly at it: both are the pre-existing backlog.
    before = item(1, "FD-A", utc(2026, 10, 20, 9, 0), detected_at=utc(2026, 10, 23, 10, 0))
    at = item(2, "FD-A", utc(2026, 10, 22, 9, 0), detected_at=BASELINE)
    result = plan([at, before], slot=BASELINE)
    # Escalation of the backlog counts from go-live (Tue 27 Oct 08:30), so level 1 only.
    assert summary(result) == [(ALICE, "backlog", "backlog", (1, 2), frozenset({1, 2}))]


def test_item_detected_after_go_live_is_new() -> None:
    backlog = item(1, "FD-A", utc(2026, 10, 20, 9, 0), detected_at=utc(2026, 10, 23, 10, 0))
    fresh = item(2, "FD-A", utc(2026, 10, 26, 9, 0))  # detected 09:15, after go-live
    histories = {(ALICE, 1): History(BASELINE, frozenset({1}))}
    result = plan([backlog, fresh], slot=utc(2026, 10, 26, 12, 30), histories=histories)
    assert summary(result) == [(ALICE, "digest", "new", (1, 2), frozenset({2}))]


def test_backlog_and_new_unseen_together_make_a_new_digest() -> None:
    # Neither was told: new_ids are the items not told before, the backlog one included.
    backlog = item(1, "FD-A", utc(2026, 10, 20, 9, 0), detected_at=utc(2026, 10, 23, 10, 0))
    fresh = item(2, "FD-A", utc(2026, 10, 26, 9, 0))
    result = plan([backlog, fresh], slot=utc(2026, 10, 26, 12, 30))
    assert summary(result) == [(ALICE, "digest", "new", (1, 2), frozenset({1, 2}))]


# =================================================================================================
# Escalation
# =================================================================================================
FRI_BREACH = item(7, "FD-A", utc(2026, 11, 6, 10, 0))  # escalates Mon 9 Nov 10:00
ALICE_TOLD_FRI = {(ALICE, 1): History(utc(2026, 11, 6, 12, 30), frozenset({7}))}


def test_not_escalated_one_microsecond_before_24_working_hours() -> None:
    result = plan(
        [FRI_BREACH],
        slot=utc(2026, 11, 9, 8, 30),
        now=utc(2026, 11, 9, 9, 59, 59, 999999),
        histories=ALICE_TOLD_FRI,
    )
    assert at_level(result, 2) == []
    # Alice gets her repeat on Monday.
    assert summary(result) == [(ALICE, "digest", "repeat", (7,), frozenset())]


@pytest.mark.parametrize(
    ("slot", "now"),
    [
        (utc(2026, 11, 9, 8, 30), utc(2026, 11, 9, 10, 0)),
        (utc(2026, 11, 9, 12, 30), utc(2026, 11, 9, 12, 30)),
    ],
    ids=["exactly-24-working-hours", "next-slot"],
)
def test_escalated_to_the_service_manager_after_24_working_hours(
    slot: datetime, now: datetime
) -> None:
    result = plan([FRI_BREACH], slot=slot, now=now, histories=ALICE_TOLD_FRI)
    assert at_level(result, 2) == [
        PlannedMessage(
            recipient_email=SAM,
            recipient_name="Sam Senior",
            kind="escalation",
            reason="new",
            slot=slot,
            next_slot=SCHEDULE.next_after(slot),
            teams=(FD_A, FD_B, MASH),
            items=(FRI_BREACH,),
            new_ids=frozenset({7}),
        )
    ]


def test_current_rationale_prevents_escalation() -> None:
    explained = item(7, "FD-A", utc(2026, 11, 6, 10, 0), rationale=rationale(current=True))
    result = plan([explained], slot=utc(2026, 11, 9, 12, 30), histories=ALICE_TOLD_FRI)
    assert result.messages == []


def test_lapsed_rationale_does_not_prevent_escalation() -> None:
    lapsed = item(7, "FD-A", utc(2026, 11, 6, 10, 0), rationale=rationale(current=False))
    result = plan([lapsed], slot=utc(2026, 11, 9, 12, 30), histories=ALICE_TOLD_FRI)
    assert [(m.recipient_email, m.reason) for m in at_level(result, 2)] == [(SAM, "new")]


def test_backlog_escalates_24_working_hours_after_go_live() -> None:
    # Breached Mon 2 Nov 10:00 (would escalate Tue 3 Nov 10:00), but go-live is Wed 4 Nov
    # 08:30: it escalates at Thu 5 Nov 08:30.
    go_live = utc(2026, 11, 4, 8, 30)
    old = item(1, "MASH", utc(2026, 11, 2, 10, 0))
    assert at_level(plan([old], slot=utc(2026, 11, 4, 16, 0), baseline=go_live), 2) == []
    assert (
        at_level(
            plan(
                [old],
                slot=utc(2026, 11, 4, 16, 0),
                now=utc(2026, 11, 5, 8, 29, 59, 999999),
                baseline=go_live,
            ),
            2,
        )
        == []
    )
    escalated = at_level(plan([old], slot=utc(2026, 11, 5, 8, 30), baseline=go_live), 2)
    assert [(m.recipient_email, m.items, m.new_ids) for m in escalated] == [
        (SAM, (old,), frozenset({1}))
    ]


SAM_TOLD_MON_1230 = {
    (ALICE, 1): History(utc(2026, 11, 9, 12, 30), frozenset({7})),
    (SAM, 2): History(utc(2026, 11, 9, 12, 30), frozenset({7})),
}


def test_already_escalated_item_is_not_repeated_the_same_day() -> None:
    result = plan([FRI_BREACH], slot=utc(2026, 11, 9, 16, 0), histories=SAM_TOLD_MON_1230)
    assert result.messages == []


def test_already_escalated_item_repeats_the_next_working_day() -> None:
    result = plan([FRI_BREACH], slot=utc(2026, 11, 10, 8, 30), histories=SAM_TOLD_MON_1230)
    assert summary(result) == [
        (ALICE, "digest", "repeat", (7,), frozenset()),
        (SAM, "escalation", "repeat", (7,), frozenset()),
    ]


def test_newly_due_item_alongside_an_escalated_one_is_new_for_the_service_manager() -> None:
    # Item 8 breached Mon 9 Nov 09:00 escalates Tue 10 Nov 09:00; at Tue 12:30 Sam gets it as
    # new together with item 7, told on Monday.
    later = item(8, "MASH", utc(2026, 11, 9, 9, 0))
    histories = {**SAM_TOLD_MON_1230, (BOB, 1): History(utc(2026, 11, 9, 12, 30), frozenset({8}))}
    result = plan(
        [later, FRI_BREACH],
        slot=utc(2026, 11, 10, 12, 30),
        histories=histories,
    )
    assert [
        (m.recipient_email, m.reason, tuple(i.breach_id for i in m.items), m.new_ids)
        for m in at_level(result, 2)
    ] == [(SAM, "new", (7, 8), frozenset({8}))]


# =================================================================================================
# Unrouted items
# =================================================================================================
def test_items_of_unknown_teams_are_unrouted() -> None:
    lost = item(1, "NO-SUCH-TEAM", utc(2026, 11, 2, 9, 0))  # long enough to escalate
    routed = item(2, "FD-A", utc(2026, 11, 2, 10, 0))
    result = plan([lost, routed], slot=utc(2026, 11, 4, 12, 30))
    assert result.unrouted == [lost]
    assert summary(result) == [
        (ALICE, "digest", "new", (2,), frozenset({2})),
        (SAM, "escalation", "new", (2,), frozenset({2})),
    ]


# =================================================================================================
# preview_for
# =================================================================================================
PREVIEW_ITEMS = [
    item(1, "FD-A", utc(2026, 11, 3, 7, 0)),  # escalates Wed 4 Nov 07:00
    item(2, "FD-B", utc(2026, 11, 2, 9, 0)),  # escalates Tue 3 Nov 09:00
    item(3, "MASH", utc(2026, 11, 2, 10, 0), rationale=rationale(current=True)),
    item(4, "EDT", utc(2026, 11, 2, 8, 0)),
]
PREVIEW_SLOT = utc(2026, 11, 3, 12, 30)


def preview(email: str) -> PlannedMessage | None:
    return preview_for(
        email,
        PREVIEW_ITEMS,
        TEAMS,
        slot=PREVIEW_SLOT,
        now=PREVIEW_SLOT,
        baseline=BASELINE,
        policy=POLICY,
        cal=CAL,
    )


def test_preview_for_a_manager_is_their_digest_regardless_of_history() -> None:
    told = {(ALICE, 1): History(utc(2026, 11, 3, 8, 30), frozenset({1, 2}))}
    # The real plan sends Alice nothing at this slot (told both items this morning)...
    planned = plan(PREVIEW_ITEMS, slot=PREVIEW_SLOT, histories=told)
    assert [m.recipient_email for m in at_level(planned, 1)] == [BOB, CAROL]
    # ...but the preview shows her digest, found whatever the case of the address.
    assert preview("  Alice@Council.EXAMPLE ") == PlannedMessage(
        recipient_email=ALICE,
        recipient_name="Alice Able",
        kind="digest",
        reason="new",
        slot=PREVIEW_SLOT,
        next_slot=utc(2026, 11, 3, 16, 0),
        teams=(FD_A, FD_B),
        items=(PREVIEW_ITEMS[1], PREVIEW_ITEMS[0]),
        new_ids=frozenset(),
    )


def test_preview_for_a_service_manager_lists_only_due_items() -> None:
    # Sam's teams hold items 1 (not due yet), 2 (due) and 3 (current rationale).
    assert preview("SAM@council.example") == PlannedMessage(
        recipient_email=SAM,
        recipient_name="Sam Senior",
        kind="escalation",
        reason="new",
        slot=PREVIEW_SLOT,
        next_slot=utc(2026, 11, 3, 16, 0),
        teams=(FD_A, FD_B, MASH),
        items=(PREVIEW_ITEMS[1],),
        new_ids=frozenset(),
    )


def test_preview_for_an_unknown_address_is_none() -> None:
    assert preview("nobody@council.example") is None
    assert preview("alice@elsewhere.example") is None
