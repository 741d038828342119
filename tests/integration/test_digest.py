"""The digest pass end to end on both engines, with an in-memory mailer: go-live backlog,
new items, quiet slots, repeats, re-checks at build time, escalation, delivery failures and
at-most-one duplicate after a crash between sending and marking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from frontdoor.bootstrap import App, build_app
from frontdoor.delivery import CLAIM_LEASE, deliver_pending
from frontdoor.mailer import DeliveryResult, FakeMailer, OnMessage, message_id_of
from frontdoor.models import Contact, NotifyBaseline, Outbox, OutboxItem, Rationale, table_of
from frontdoor.notify import run_digest
from frontdoor.settings import Settings, load_settings
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load

TM = TEAM_ROW["manager_email"]
SM = TEAM_ROW["service_manager_email"]
OWNER = "owner@example.org"
# Monday 2 November 2026 (GMT, so local time = UTC). Slots 08:30, 12:30, 16:00.
MON_0830 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
MON_1230 = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)
MON_1600 = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
TUE_0830 = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
TUE_1230 = datetime(2026, 11, 3, 12, 30, tzinfo=UTC)


def make_app(engine: Engine, **overrides: object) -> App:
    settings: Settings = load_settings(
        rules_dir=REPO / "rules",
        templates_dir=REPO / "templates",
        smtp_sender="frontdoor@council.example",
        system_owner_email=OWNER,
        case_url_contact="https://cms.example/contacts/{record_id}",
        **overrides,
    )
    return build_app(settings, engine=engine)


def contact(cid: str, received: datetime, *, team: str = "DAT-A") -> dict[str, object]:
    return {
        "contact_id": cid,
        "child_id": f"CH-{cid}",
        "received_at": received.isoformat(),
        "team_id": team,
        "worker_id": "W-7",
    }


def teams(engine: Engine, tmp_path: Path) -> None:
    rows = [
        TEAM_ROW,
        {**TEAM_ROW, "team_id": "DAT-B", "team_name": "Duty and Advice Team B"},
        {
            **TEAM_ROW,
            "team_id": "DAT-C",
            "manager_email": "tm.c@example.org",
            "manager_name": "Team Manager C",
        },
    ]
    assert load(engine, tmp_path, "teams", rows).rejected == 0


def contacts(
    engine: Engine,
    tmp_path: Path,
    rows: Sequence[dict[str, object]],
    *,
    ingested_at: datetime = MON_0830 - timedelta(hours=1),
) -> None:
    """Import ``rows``, stamped as imported at ``ingested_at`` (the incremental pass finds
    late arrivals by that stamp, as it would after a real import)."""
    assert load(engine, tmp_path, "contacts", rows, ingested_at=ingested_at).rejected == 0


def sent_to(mailer: FakeMailer, address: str) -> list[EmailMessage]:
    return [m for m in mailer.outbox if m["To"] == address]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def outbox_rows(engine: Engine) -> list[Outbox]:
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox).order_by(table_of(Outbox).c.id)).all()
    return [Outbox.model_validate(r._mapping) for r in rows]


def test_go_live_backlog_is_summarised_once_then_only_new_items_send(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer()

    first = run_digest(app, now=MON_0830, mailer=mailer)
    assert first.first_pass
    assert [(m.recipient_email, m.kind) for m in first.messages] == [(TM, "backlog")]
    assert len(sent_to(mailer, TM)) == 1
    assert "C1" in text_of(sent_to(mailer, TM)[0])

    # Nothing changed: no e-mail at the next slot.
    quiet = run_digest(app, now=MON_1230, mailer=mailer)
    assert quiet.messages == []
    assert len(mailer.outbox) == 1

    # A contact received at 14:00 on Sunday becomes overdue at 14:00 on Monday: new item.
    contacts(
        engine,
        tmp_path,
        [contact("C2", MON_0830 - timedelta(hours=18, minutes=30))],
        ingested_at=MON_1230,
    )
    new = run_digest(app, now=MON_1600, mailer=mailer)
    assert [(m.kind, m.reason) for m in new.messages] == [("digest", "new")]
    digest = sent_to(mailer, TM)[-1]
    body = text_of(digest)
    assert "C1" in body
    assert "C2" in body  # the digest lists every open item, the new one marked
    assert "https://cms.example/contacts/C2" in body
    o, oi = table_of(Outbox).c, table_of(OutboxItem).c
    with engine.connect() as conn:
        covered = list(
            conn.execute(
                select(oi.is_new)
                .join_from(table_of(OutboxItem), table_of(Outbox), o.id == oi.outbox_id)
                .where(o.slot == MON_1600)
            ).scalars()
        )
    assert sorted(covered) == [False, True]


def test_a_second_run_for_the_same_slot_sends_nothing_more(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer()
    run_digest(app, now=MON_0830, mailer=mailer)
    again = run_digest(app, now=MON_0830 + timedelta(minutes=5), mailer=mailer)
    assert again.slot == MON_0830
    assert len(mailer.outbox) == 1
    assert len(outbox_rows(engine)) == 1


def test_repeat_goes_out_at_the_first_slot_of_the_next_working_day_unless_rationale(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer()
    run_digest(app, now=MON_0830, mailer=mailer)
    run_digest(app, now=MON_1600, mailer=mailer)
    assert len(sent_to(mailer, TM)) == 1
    repeat = run_digest(app, now=TUE_0830, mailer=mailer)
    assert [(m.kind, m.reason) for m in repeat.messages if m.level == 1] == [("digest", "repeat")]

    # A current rationale stops the next day's repeat for that item.
    with engine.begin() as conn:
        conn.execute(
            table_of(Rationale)
            .insert()
            .values(
                rule_id="contact-outcome-24h",
                record_id="C1",
                recorded_by=TM,
                reason="awaiting-partner-information",
                recorded_at=TUE_0830,
                review_by=TUE_0830 + timedelta(days=3),
            )
        )
    wed = run_digest(app, now=TUE_0830 + timedelta(days=1), mailer=mailer)
    assert [m for m in wed.messages if m.level == 1] == []


def test_items_resolved_since_the_scan_are_left_out(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(
        engine,
        tmp_path,
        [contact("C1", MON_0830 - timedelta(days=3)), contact("C2", MON_0830 - timedelta(days=2))],
    )
    mailer = FakeMailer()
    run_digest(app, now=MON_0830, mailer=mailer)
    # The outcome is written straight to the table (no import, so no ingested_at change the
    # incremental pass would see): only the build-time re-check can notice it.
    with engine.begin() as conn:
        conn.execute(
            update(table_of(Contact))
            .where(table_of(Contact).c.contact_id == "C1")
            .values(outcome_at=MON_0830 + timedelta(hours=1))
        )
    repeat = run_digest(app, now=TUE_0830, mailer=mailer)
    (msg,) = [m for m in repeat.messages if m.level == 1]
    assert [i.record_id for i in msg.items] == ["C2"]
    assert "C1" not in text_of(sent_to(mailer, TM)[-1]).replace("CH-C1", "")


def test_escalation_reaches_the_service_manager_a_working_day_after_go_live(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer()
    run_digest(app, now=MON_0830, mailer=mailer)
    assert sent_to(mailer, SM) == []
    tue = run_digest(app, now=TUE_0830, mailer=mailer)  # 24 working hours from go-live
    (esc,) = [m for m in tue.messages if m.level == 2]
    assert (esc.recipient_email, esc.kind, esc.reason) == (SM, "escalation", "new")
    assert [i.record_id for i in esc.items] == ["C1"]
    # Told once: no second escalation later the same day.
    later = run_digest(app, now=TUE_1230, mailer=mailer)
    assert [m for m in later.messages if m.level == 2] == []
    assert len(sent_to(mailer, SM)) == 1


def test_the_first_digest_of_a_manager_with_two_teams_covers_both(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    run_digest(app, now=MON_0830, mailer=FakeMailer())  # go-live with nothing open
    contacts(
        engine,
        tmp_path,
        [
            contact("A1", MON_0830 - timedelta(hours=25), team="DAT-A"),
            contact("B1", MON_0830 - timedelta(hours=26), team="DAT-B"),
            contact("X1", MON_0830 - timedelta(hours=27), team="DAT-C"),
        ],
    )
    mailer = FakeMailer()
    out = run_digest(app, now=MON_1230, mailer=mailer)
    by_recipient = {m.recipient_email: m for m in out.messages if m.level == 1}
    assert set(by_recipient) == {TM, "tm.c@example.org"}
    assert [i.record_id for i in by_recipient[TM].items] == ["B1", "A1"]  # oldest first
    assert [i.record_id for i in by_recipient["tm.c@example.org"].items] == ["X1"]
    assert len(mailer.outbox) == 2


def test_dry_run_records_nothing(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer()
    out = run_digest(app, now=MON_0830, mailer=mailer, dry_run=True, outbox_dir=tmp_path / "o")
    assert [m.kind for m in out.messages] == ["backlog"]
    assert mailer.batches == []
    assert outbox_rows(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(NotifyBaseline)).all() == []
    assert sorted(p.suffix for p in (tmp_path / "o").iterdir()) == [".eml", ".html"]


def test_transient_failure_stays_pending_and_is_retried(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer(fail_transient=[TM])
    out = run_digest(app, now=MON_0830, mailer=mailer)
    assert out.delivery is not None
    assert out.delivery.retry_later == 1
    (row,) = outbox_rows(engine)
    assert row.sent_at is None
    assert row.failed_at is None
    assert row.attempts == 1
    assert row.last_error == "451 fake deferral"
    mailer.fail_transient.clear()
    again = deliver_pending(app, now=MON_0830 + timedelta(minutes=5), mailer=mailer)
    assert again.sent == 1
    (row,) = outbox_rows(engine)
    assert row.sent_at == MON_0830 + timedelta(minutes=5)
    assert row.reply == "250 fake accepted"


def test_permanent_failure_is_recorded_and_reported_to_the_owner(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    mailer = FakeMailer(fail_permanent=[TM])
    out = run_digest(app, now=MON_0830, mailer=mailer)
    assert out.delivery is not None
    assert (out.delivery.failed, out.delivery.reported) == (1, 1)
    rows = {r.kind: r for r in outbox_rows(engine)}
    assert rows["backlog"].failed_at == MON_0830
    assert rows["backlog"].last_error == "550 fake rejection"
    report = rows["delivery-failure"]
    assert (report.recipient, report.sent_at) == (OWNER, MON_0830)
    (owner_mail,) = sent_to(mailer, OWNER)
    assert TM in text_of(owner_mail)
    assert "550 fake rejection" in text_of(owner_mail)
    # Failed for good: a later delivery pass does not try it again.
    assert deliver_pending(app, now=MON_1230, mailer=mailer).attempted == 0


class CrashAfterSending:
    """Delivers through a FakeMailer, then 'dies' before the caller records message
    ``crash_at`` (the process is killed between sending and marking)."""

    def __init__(self, crash_at: int) -> None:
        self.inner = FakeMailer()
        self.crash_at = crash_at

    def send_batch(
        self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
    ) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        for index, message in enumerate(messages):
            outcome = self.inner.send_batch([message])
            results += outcome
            if index == self.crash_at:
                raise KeyboardInterrupt  # stands in for SIGKILL: nothing after it runs
            if on_message is not None:
                on_message(outcome)
        return results


def test_a_crash_between_sending_and_marking_resends_that_message_once(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(
        engine,
        tmp_path,
        [
            contact("A1", MON_0830 - timedelta(days=3), team="DAT-A"),
            contact("X1", MON_0830 - timedelta(days=3), team="DAT-C"),
        ],
    )
    crashing = CrashAfterSending(crash_at=0)
    with pytest.raises(KeyboardInterrupt):
        run_digest(app, now=MON_0830, mailer=crashing)
    assert len(crashing.inner.outbox) == 1  # the first message went out, unmarked
    assert [r.sent_at for r in outbox_rows(engine)] == [None, None]

    recovery = FakeMailer()
    # The dead pass's claim holds its rows for CLAIM_LEASE; then the recovery pass takes them.
    assert deliver_pending(app, now=MON_0830 + timedelta(minutes=5), mailer=recovery).sent == 0
    out = deliver_pending(app, now=MON_0830 + CLAIM_LEASE, mailer=recovery)
    assert out.sent == 2
    first_id = crashing.inner.outbox[0]["Message-ID"]
    ids = [m["Message-ID"] for m in recovery.outbox]
    assert first_id in ids  # the duplicate, with the same Message-ID
    assert all(r.sent_at is not None for r in outbox_rows(engine))
    # Nothing is lost and nothing goes out a third time.
    assert deliver_pending(app, now=MON_1230, mailer=recovery).attempted == 0


def test_slots_follow_local_time_across_dst_and_skip_bank_holidays(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    received = datetime(2026, 12, 20, 10, 0, tzinfo=UTC)
    contacts(engine, tmp_path, [contact("C1", received)], ingested_at=received)
    mailer = FakeMailer()
    # Monday 28 December 2026 is the substitute Boxing Day: the slot due is Thursday's 16:00.
    out = run_digest(app, now=datetime(2026, 12, 28, 10, 0, tzinfo=UTC), mailer=mailer)
    assert out.slot == datetime(2026, 12, 24, 16, 0, tzinfo=UTC)
    assert out.messages[0].next_slot == datetime(2026, 12, 29, 8, 30, tzinfo=UTC)
    # Tuesday 30 March 2027 (after Easter Monday), in BST: 08:30 local is 07:30 UTC.
    bst = run_digest(app, now=datetime(2027, 3, 30, 7, 31, tzinfo=UTC), mailer=mailer)
    assert bst.slot == datetime(2027, 3, 30, 7, 30, tzinfo=UTC)
    assert "30 Mar 2027 08:30 BST" in text_of(mailer.outbox[-1])


def test_a_corrected_received_at_drops_an_item_that_is_no_longer_overdue(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(hours=30))])
    mailer = FakeMailer()
    first = run_digest(app, now=MON_0830, mailer=mailer)
    assert [i.record_id for i in first.messages[0].items] == ["C1"]
    # A corrected export: C1 was received at 11:00 on Monday, so it is due Tuesday 11:00.
    contacts(
        engine,
        tmp_path,
        [contact("C1", MON_0830 + timedelta(hours=2, minutes=30))],
        ingested_at=MON_1230,
    )
    later = run_digest(app, now=TUE_0830, mailer=mailer)
    assert later.items == 0
    assert later.messages == []


def test_a_new_item_in_a_second_run_for_the_same_slot_waits_for_the_next_slot(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    teams(engine, tmp_path)
    run_digest(app, now=MON_0830 - timedelta(days=3), mailer=FakeMailer())  # go-live, Friday
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(hours=26))])
    mailer = FakeMailer()
    first = run_digest(app, now=MON_0830, mailer=mailer)
    assert first.queued == 1
    contacts(
        engine,
        tmp_path,
        [contact("C2", MON_0830 - timedelta(hours=25))],
        ingested_at=MON_0830 + timedelta(minutes=1),
    )
    second = run_digest(app, now=MON_0830 + timedelta(minutes=2), mailer=mailer)
    assert [m.reason for m in second.messages] == ["new"]  # the planner wants to tell C2
    assert (second.queued, second.already_queued) == (0, 1)  # but the slot is taken
    assert len(mailer.outbox) == 1
    nxt = run_digest(app, now=MON_1230, mailer=mailer)
    assert nxt.queued == 1
    assert "C2" in text_of(mailer.outbox[-1])


def test_manager_addresses_differing_only_in_case_are_one_mailbox(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine)
    rows = [
        TEAM_ROW,
        {**TEAM_ROW, "team_id": "DAT-B", "manager_email": TM.upper()},
    ]
    assert load(engine, tmp_path, "teams", rows).rejected == 0
    contacts(
        engine,
        tmp_path,
        [
            contact("A1", MON_0830 - timedelta(days=2), team="DAT-A"),
            contact("B1", MON_0830 - timedelta(days=2), team="DAT-B"),
        ],
    )
    out = run_digest(app, now=MON_0830, mailer=FakeMailer())
    level1 = [m for m in out.messages if m.level == 1]
    assert [(m.recipient_email, len(m.items)) for m in level1] == [(TM, 2)]


def test_a_login_failure_fails_nothing_for_good_and_an_old_message_is_given_up_and_reported(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_app(engine, delivery_give_up_hours=24)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])

    class LoginRefused(FakeMailer):
        def send_batch(
            self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
        ) -> list[DeliveryResult]:
            results = []
            for m in messages:
                refused = "535 5.7.8 Authentication failed"
                mid, to = message_id_of(m), str(m["To"])
                mine = [DeliveryResult(mid, to, False, True, refused, connection=True)]
                results += mine
                if on_message is not None:
                    on_message(mine)
            return results

    out = run_digest(app, now=MON_0830, mailer=LoginRefused())
    assert out.delivery is not None
    assert (out.delivery.retry_later, out.delivery.failed) == (1, 0)
    (row,) = outbox_rows(engine)
    assert row.failed_at is None  # waits for the configuration to be fixed

    # Still refused a day and a half later: now given up, and reported to the owner once.
    later = MON_0830 + timedelta(hours=36)
    working = FakeMailer()
    gone = deliver_pending(app, now=later, mailer=LoginRefused())
    assert gone.failed == 1
    rows = {r.kind: r for r in outbox_rows(engine)}
    assert rows["backlog"].failed_at == later
    assert rows["backlog"].reported_at == later
    report = rows["delivery-failure"]
    assert report.recipient == OWNER
    assert report.sent_at is None  # the report itself could not be sent: it waits
    again = deliver_pending(app, now=later + timedelta(minutes=15), mailer=working)
    assert again.sent == 1
    assert again.reported == 0  # reported once, not again
    (owner_mail,) = working.outbox
    assert "535 5.7.8" in text_of(owner_mail)
    # The items of the lost message are new again for the manager at the next slot.
    nxt = run_digest(app, now=later + timedelta(minutes=30), mailer=working)
    assert [(m.kind, m.reason) for m in nxt.messages if m.level == 1] == [("backlog", "backlog")]


def test_outbox_folder_delivers_only_this_runs_messages(engine: Engine, tmp_path: Path) -> None:
    from frontdoor.filemailer import FileMailer

    app = make_app(engine)
    teams(engine, tmp_path)
    contacts(engine, tmp_path, [contact("C1", MON_0830 - timedelta(days=3))])
    run_digest(app, now=MON_0830, mailer=FakeMailer(fail_transient=[TM]))  # pending for SMTP
    contacts(
        engine,
        tmp_path,
        [contact("X1", MON_0830 - timedelta(hours=25), team="DAT-C")],
        ingested_at=MON_0830 + timedelta(hours=1),
    )
    files = FileMailer(tmp_path / "mail")
    run_digest(app, now=MON_1230, mailer=files, outbox_dir=tmp_path / "mail")
    rows = {r.recipient: r for r in outbox_rows(engine)}
    assert rows["tm.c@example.org"].reply is not None
    assert rows["tm.c@example.org"].reply.startswith("written to ")
    assert rows[TM].sent_at is None  # left for the SMTP delivery pass
    assert all("tm.c@example.org" in p.name for p in files.written)
