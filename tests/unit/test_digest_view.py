"""The digest view model: what a message says, decided before any template runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from frontdoor import digest_view as dv
from frontdoor import system_views as sv
from frontdoor.digest_items import (
    DigestItem,
    MessageKind,
    PlannedMessage,
    RationaleState,
    SendReason,
    TeamContacts,
)
from frontdoor.rules import AttendanceRule, TimescaleRule

LONDON = ZoneInfo("Europe/London")
# Monday 23 November 2026, 12:30 GMT (UTC+0).
NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
# Wednesday 1 July 2026, 12:30 BST (UTC+1).
SUMMER = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)

# Deliberately not alphabetical: sections and counts must follow this (rule-file) order.
RULES: list[TimescaleRule | AttendanceRule] = [
    TimescaleRule(
        id="contact-outcome-24h",
        kind="timescale",
        record="contact",
        clock="clock-hours",
        limit=24,
        description="Every contact has a recorded outcome within 24 hours of receipt.",
    ),
    TimescaleRule(
        id="referral-decision-1wd",
        kind="timescale",
        record="referral",
        clock="working-days",
        limit=1,
    ),
    AttendanceRule(
        id="strategy-partners",
        kind="attendance",
        record="strategy_discussion",
        required_agencies=["local_authority", "police", "health"],
    ),
    TimescaleRule(
        id="assessment-45wd", kind="timescale", record="assessment", clock="working-days", limit=45
    ),
]
KIND_OF = {r.id: r.record for r in RULES}
URLS = {
    "contact": "https://case.example/c/{record_id}?child={child_id}&team={team_id}",
    "strategy_discussion": "https://case.example/sd/{record_id}",
}


def make_item(n: int, *, overdue_hours: float = 5, **overrides: Any) -> DigestItem:
    """A contact item ``n`` (breach id and record id), due ``overdue_hours`` before NOW."""
    rule_id = overrides.pop("rule_id", "contact-outcome-24h")
    kind = KIND_OF.get(rule_id, "contact")
    due = NOW - timedelta(hours=overdue_hours)
    values: dict[str, Any] = {
        "breach_id": n,
        "rule_id": rule_id,
        "record_kind": kind,
        "record_id": f"X-{n:04d}",
        "child_id": f"CH-{n}",
        "team_id": "DAT-A",
        "started_at": due - timedelta(hours=24),
        "due_at": due,
        "breached_at": due,
        "first_detected_at": due,
        "missing_agencies": (),
        "worker_id": None,
        "rationale": None,
    }
    if kind == "strategy_discussion":
        values.update(due_at=None, missing_agencies=("police",))
    values.update(overrides)
    return DigestItem(**values)


def team(team_id: str, name: str = "") -> TeamContacts:
    return TeamContacts(
        team_id, name or f"Team {team_id}", "Pat Lee", "pat@example.org", "Jo Reed", "jo@ex.org"
    )


def make_message(
    items: list[DigestItem],
    *,
    new: set[int] | None = None,
    kind: MessageKind = "digest",
    reason: SendReason = "new",
    teams: tuple[TeamContacts, ...] = (),
    slot: datetime = NOW,
) -> PlannedMessage:
    return PlannedMessage(
        recipient_email="pat@example.org",
        recipient_name="Pat Lee",
        kind=kind,
        reason=reason,
        slot=slot,
        next_slot=slot + timedelta(hours=3, minutes=30),
        teams=teams or (team("DAT-A", "Duty and Advice Team A"),),
        items=tuple(items),
        new_ids=frozenset(new or set()),
    )


def view_of(msg: PlannedMessage, **kwargs: Any) -> dv.MessageView:
    options: dict[str, Any] = {
        "rules": RULES,
        "tz": LONDON,
        "case_urls": URLS,
        "now": NOW,
        "escalate_after": "1 working day",
    }
    options.update(kwargs)
    return dv.build_view(msg, **options)


def test_local_times_carry_the_zone_of_the_day_gmt_and_bst() -> None:
    assert dv.format_when(NOW, LONDON) == "Mon 23 Nov 2026 12:30 GMT"
    assert dv.format_when(SUMMER, LONDON) == "Wed 1 Jul 2026 12:30 BST"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=3, hours=4, minutes=59), "3d 4h"),
        (timedelta(days=2), "2d"),
        (timedelta(hours=5, minutes=20), "5h 20m"),
        (timedelta(hours=3), "3h"),
        (timedelta(minutes=45, seconds=59), "45m"),
        (timedelta(minutes=-5), "0m"),
    ],
)
def test_overdue_durations_are_short(delta: timedelta, text: str) -> None:
    assert dv.format_duration(delta) == text


def test_rows_are_sorted_oldest_breach_first_then_by_record_id() -> None:
    items = [
        make_item(1, overdue_hours=2),
        make_item(3, overdue_hours=30),
        make_item(2, overdue_hours=30),
        make_item(4, overdue_hours=10),
    ]
    (section,) = view_of(make_message(items)).sections
    assert [r.record_id for r in section.rows] == ["X-0002", "X-0003", "X-0004", "X-0001"]
    assert [r.overdue_by for r in section.rows] == ["1d 6h", "1d 6h", "10h", "2h"]
    assert section.more_text is None
    assert section.hidden == 0


def test_truncation_keeps_every_new_item_and_fills_up_with_the_oldest() -> None:
    items = [make_item(n, overdue_hours=100 - n) for n in range(1, 7)]  # 1 is the oldest
    view = view_of(make_message(items, new={6}), max_rows=3)
    (section,) = view.sections
    assert [r.record_id for r in section.rows] == ["X-0001", "X-0002", "X-0006"]
    assert [r.is_new for r in section.rows] == [False, False, True]
    assert (section.total, section.hidden, section.more_text) == (6, 3, "3 more not shown")


def test_new_items_are_never_dropped_even_beyond_max_rows() -> None:
    items = [make_item(n, overdue_hours=100 - n) for n in range(1, 6)]
    (section,) = view_of(make_message(items, new={3, 4, 5}), max_rows=2).sections
    assert [r.record_id for r in section.rows] == ["X-0003", "X-0004", "X-0005"]
    assert section.more_text == "2 more not shown"


def test_counts_follow_the_rule_file_order_and_split_by_team() -> None:
    current = RationaleState("awaiting_checks", "Pat Lee", NOW, NOW + timedelta(days=1), True)
    items = [
        make_item(1, rule_id="assessment-45wd", team_id="DAT-B"),
        make_item(2, rule_id="strategy-partners"),
        make_item(3, rule_id="strategy-partners", team_id="DAT-B", rationale=current),
        make_item(4),
        make_item(5, rationale=replace(current, current=False)),
    ]
    teams = (team("DAT-A", "Duty and Advice Team A"), team("DAT-B", "Duty and Advice Team B"))
    view = view_of(make_message(items, new={2, 4}, teams=teams))
    assert (view.total, view.new, view.with_rationale) == (5, 2, 1)
    assert [(c.label, c.count) for c in view.summary_counts] == [
        ("Open overdue items", 5),
        ("New since your last digest", 2),
        ("With a current rationale", 1),
    ]
    assert [(c.label, c.count) for c in view.rule_counts] == [
        ("Contacts without an outcome", 2),
        ("Strategy discussions missing an agency", 2),
        ("Assessments not authorised", 1),
    ]
    assert [s.rule_id for s in view.sections] == [
        "contact-outcome-24h",
        "strategy-partners",
        "assessment-45wd",
    ]
    assert [(c.label, c.count) for c in view.team_counts] == [
        ("DAT-A Duty and Advice Team A", 3),
        ("DAT-B Duty and Advice Team B", 2),
    ]
    assert view.team_labels == ("DAT-A Duty and Advice Team A", "DAT-B Duty and Advice Team B")
    assert view.preheader == (
        "Open overdue items: 5, New since your last digest: 2, With a current rationale: 1"
    )


def test_one_team_gets_no_per_team_counts() -> None:
    assert view_of(make_message([make_item(1), make_item(2)])).team_counts == ()


def test_sections_carry_title_rule_line_and_description() -> None:
    view = view_of(make_message([make_item(1), make_item(2, rule_id="referral-decision-1wd")]))
    contact, referral = view.sections
    assert contact.title == "Contacts without an outcome"
    assert contact.summary == RULES[0].summary()
    assert contact.summary.startswith("contact-outcome-24h: received_at -> outcome_at within 24")
    assert contact.description.startswith("Every contact has a recorded outcome")
    assert (referral.title, referral.total) == ("Referrals without a decision", 1)


def test_links_are_built_from_the_kind_template_with_quoted_values() -> None:
    item = make_item(1, record_id="C 1/2?x", child_id="CH&9", team_id="DAT A")
    (row,) = view_of(make_message([item])).sections[0].rows
    assert row.link == "https://case.example/c/C%201%2F2%3Fx?child=CH%269&team=DAT%20A"


def test_no_link_when_the_record_kind_has_no_url_template() -> None:
    referral = make_item(1, rule_id="referral-decision-1wd")
    (row,) = view_of(make_message([referral])).sections[0].rows
    assert row.link is None
    (row,) = view_of(make_message([make_item(2)]), case_urls={}).sections[0].rows
    assert row.link is None


def test_rationale_status_reads_none_current_or_expired() -> None:
    summer_review = datetime(2026, 7, 2, 16, 0, tzinfo=UTC)  # 17:00 BST
    current = RationaleState("awaiting_police-checks", "Pat Lee", NOW, summer_review, True)
    expired = RationaleState("family_away", "Pat Lee", NOW, NOW - timedelta(hours=2), False)
    items = [
        make_item(1, overdue_hours=3),
        make_item(2, overdue_hours=2, rationale=current),
        make_item(3, overdue_hours=1, rationale=expired),
    ]
    rows = view_of(make_message(items)).sections[0].rows
    assert [r.rationale for r in rows] == [
        "none",
        "awaiting police checks (by Pat Lee), review by Thu 2 Jul 2026 17:00 BST",
        "expired Mon 23 Nov 2026 10:30 GMT",
    ]


def test_attendance_rows_name_the_missing_agencies_and_have_no_due_time() -> None:
    item = make_item(
        1, rule_id="strategy-partners", missing_agencies=("local_authority", "police", "health")
    )
    (row,) = view_of(make_message([item])).sections[0].rows
    assert row.missing_agencies == "local authority, police, health"
    assert (row.due, row.overdue_by, row.worker) == (None, None, None)
    assert (row.record_kind, row.started_label) == ("Strategy discussion", "Held")
    assert row.link == "https://case.example/sd/X-0001"


def test_contacts_show_their_worker_or_unallocated_and_timescale_rows_their_due_time() -> None:
    summer_due = SUMMER - timedelta(hours=5, minutes=20)
    items = [
        make_item(1, worker_id="SW-7"),
        make_item(2, due_at=summer_due, started_at=summer_due - timedelta(hours=24)),
    ]
    rows = view_of(make_message(items), now=SUMMER).sections[0].rows
    by_id = {r.record_id: r for r in rows}
    assert by_id["X-0001"].worker == "SW-7"
    assert by_id["X-0002"].worker == "unallocated"
    assert by_id["X-0002"].due == "Wed 1 Jul 2026 07:10 BST"
    assert by_id["X-0002"].started == "Tue 30 Jun 2026 07:10 BST"
    assert by_id["X-0002"].overdue_by == "5h 20m"
    referral = make_item(3, rule_id="referral-decision-1wd")
    (row,) = view_of(make_message([referral])).sections[0].rows
    assert (row.worker, row.record_kind, row.started_label) == (None, "Referral", "Received")


def test_backlog_shows_counts_and_only_the_ten_oldest_items() -> None:
    items = [make_item(n, overdue_hours=200 - n) for n in range(1, 16)]
    items.append(make_item(16, rule_id="strategy-partners"))
    msg = make_message(items, new={i.breach_id for i in items}, kind="backlog", reason="backlog")
    view = view_of(msg)
    (section,) = view.sections
    assert section.title == "Oldest items"
    assert section.show_rule
    assert [r.record_id for r in section.rows] == [f"X-{n:04d}" for n in range(1, 11)]
    assert not any(r.is_new for r in section.rows)
    assert (section.total, section.more_text) == (16, "6 more not shown")
    assert [(c.label, c.count) for c in view.rule_counts] == [
        ("Contacts without an outcome", 15),
        ("Strategy discussions missing an agency", 1),
    ]
    assert [c.label for c in view.summary_counts] == [
        "Open overdue items",
        "With a current rationale",
    ]
    assert view.subject == "frontdoor: backlog at go-live, 16 open overdue items (DAT-A)"
    assert "one-off summary of the backlog" in view.intro[0]
    assert "reminder on the next working day" in view.intro[1]


def test_escalation_says_how_long_the_items_have_been_open_without_a_rationale() -> None:
    teams = (team("DAT-A"), team("DAT-B"))
    items = [make_item(n, team_id=t) for n, t in [(1, "DAT-A"), (2, "DAT-B"), (3, "DAT-B")]]
    msg = make_message(items, new={1, 2, 3}, kind="escalation", teams=teams)
    view = view_of(msg, escalate_after="2 working days")
    assert view.intro[0] == (
        "These items have been open more than 2 working days after their breach with no "
        "current manager rationale."
    )
    assert view.subject == (
        "frontdoor escalation: 3 items open over 2 working days without a rationale (DAT-A, DAT-B)"
    )
    assert view.summary_counts[1].label == "New since your last escalation"


def test_digest_subject_counts_new_and_open_items_with_the_local_slot() -> None:
    items = [make_item(n) for n in range(1, 13)]
    view = view_of(make_message(items, new={1, 2, 3}))
    assert view.subject == "frontdoor: 3 new, 12 open overdue items (DAT-A) - 23 Nov 12:30"
    assert view.slot == "Mon 23 Nov 2026 12:30 GMT"
    assert view.next_line == "Next digest at Mon 23 Nov 2026 16:00 GMT."
    summer = view_of(make_message(items[:1], reason="repeat", slot=SUMMER), now=SUMMER)
    assert summer.subject == "frontdoor: reminder, 1 open overdue item (DAT-A) - 1 Jul 12:30"
    assert summer.next_slot == "Wed 1 Jul 2026 16:00 BST"


def test_long_team_lists_are_cut_to_plus_n_under_150_characters() -> None:
    teams = tuple(team(f"DUTY-AND-ADVICE-{n:02d}") for n in range(30))
    items = [make_item(n, team_id=t.team_id) for n, t in enumerate(teams, start=1)]
    view = view_of(make_message(items, new={1}, teams=teams))
    assert len(view.subject) < 150
    head, _, rest = view.subject.partition(" (")
    listed, _, tail = rest.partition(")")
    shown = listed.split(", ")
    assert head == "frontdoor: 1 new, 30 open overdue items"
    assert tail == " - 23 Nov 12:30"
    assert shown[0] == "DUTY-AND-ADVICE-00"
    assert shown[-1].startswith("+")
    assert len(shown) - 1 + int(shown[-1][1:]) == 30
    # One more team would not have fitted.
    kept = len(shown) - 1
    longer = [t.team_id for t in teams[: kept + 1]] + [f"+{30 - kept - 1}"]
    assert len(f"{head} ({', '.join(longer)}){tail}") >= 150


def test_failure_report_lists_each_message_in_local_time() -> None:
    failures = [
        sv.FailedDelivery("a@example.org", "digest", SUMMER, "<m1@x>", "550 5.1.1\r\nno user", 3),
        sv.FailedDelivery("b@example.org", "escalation", NOW, "<m2@x>", "451 later", 1),
    ]
    view = sv.failure_report_view(failures, tz=LONDON, now=NOW)
    assert view.subject == "frontdoor: 2 messages could not be delivered"
    assert view.count == 2
    assert view.generated_at == "Mon 23 Nov 2026 12:30 GMT"
    assert [(r.recipient, r.slot, r.attempts) for r in view.rows] == [
        ("a@example.org", "Wed 1 Jul 2026 12:30 BST", 3),
        ("b@example.org", "Mon 23 Nov 2026 12:30 GMT", 1),
    ]
    assert view.rows[0].reply == "550 5.1.1 no user"


def test_test_message_names_the_server_and_the_time() -> None:
    view = sv.test_view(tz=LONDON, now=SUMMER, host="smtp.example.org")
    assert (view.host, view.sent_at) == ("smtp.example.org", "Wed 1 Jul 2026 12:30 BST")
    assert view.subject == "frontdoor: test message"


def test_a_subject_without_teams_has_no_empty_brackets() -> None:
    assert dv.fit_subject("frontdoor: 2 open overdue items", [], " - 1 Jul") == (
        "frontdoor: 2 open overdue items - 1 Jul"
    )
    assert len(dv.fit_subject("x" * 300, [])) == 149


def test_a_current_rationale_shows_its_configured_label() -> None:
    state = RationaleState(
        "consent-being-sought", "tm.a@example.org", NOW, NOW + timedelta(hours=20), True
    )
    item = make_item(1, rationale=state)
    labelled = view_of(make_message([item]), reasons={"consent-being-sought": "Consent sought"})
    [row] = [r for s in labelled.sections for r in s.rows]
    assert row.rationale.startswith("Consent sought (by tm.a@example.org), review by ")
    plain = view_of(make_message([item]))  # a code with no configured label: in words
    [row] = [r for s in plain.sections for r in s.rows]
    assert row.rationale.startswith("consent being sought (by tm.a@example.org)")
