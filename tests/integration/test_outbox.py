"""The outbox adapter on both engines: unique per (recipient, kind, slot), superseding,
claims that two passes cannot both win, and failures reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine, select

from frontdoor import outbox
from frontdoor.models import Outbox, OutboxItem, table_of

SLOT = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def message(n: int, to: str = "tm@example.org") -> EmailMessage:
    m = EmailMessage()
    m["To"] = to
    m["Subject"] = f"digest {n}"
    m["Message-ID"] = f"<m{n}@example.org>"
    m.set_content(f"body {n}\n")
    return m


def queue(engine: Engine, n: int, *, slot: datetime = SLOT, kind: str = "digest") -> int | None:
    with engine.begin() as conn:
        return outbox.enqueue(
            conn,
            recipient="tm@example.org",
            kind=kind,
            level=1,
            slot=slot,
            message=message(n),
            now=slot,
        )


def test_a_second_message_for_the_same_recipient_kind_and_slot_is_not_queued(
    engine: Engine,
) -> None:
    first = queue(engine, 1)
    assert first is not None
    assert queue(engine, 2) is None
    with engine.connect() as conn:
        rows = conn.execute(select(table_of(Outbox).c.subject)).scalars().all()
        items = conn.execute(select(table_of(OutboxItem).c.outbox_id)).all()
    assert rows == ["digest 1"]
    assert items == []


def test_a_newer_message_supersedes_the_unsent_older_one(engine: Engine) -> None:
    old = queue(engine, 1)
    new = queue(engine, 2, slot=SLOT + timedelta(hours=4))
    c = table_of(Outbox).c
    with engine.connect() as conn:
        rows = dict(conn.execute(select(c.id, c.superseded_by)).all())
        backlog = outbox.backlog(conn, failed_since=SLOT)
    assert rows == {old: new, new: None}
    assert (backlog.pending, backlog.failed) == (1, 0)  # superseded is not a failure


def test_two_passes_cannot_claim_the_same_row_until_the_lease_expires(engine: Engine) -> None:
    queue(engine, 1)
    with engine.begin() as conn:
        mine = outbox.claim(conn, now=SLOT, lease=LEASE)
    with engine.begin() as conn:
        theirs = outbox.claim(conn, now=SLOT + timedelta(minutes=1), lease=LEASE)
    assert [m.message_id for m in mine] == ["<m1@example.org>"]
    assert theirs == []
    with engine.begin() as conn:
        after = outbox.claim(conn, now=SLOT + LEASE, lease=LEASE)  # the first pass died
    assert [m.id for m in after] == [m.id for m in mine]


def test_a_row_marked_sent_by_one_pass_is_not_failed_by_another(engine: Engine) -> None:
    row = queue(engine, 1)
    assert row is not None
    with engine.begin() as conn:
        assert outbox.mark_sent(conn, row, now=SLOT, reply="250 ok")
        assert not outbox.mark_sent(conn, row, now=SLOT, reply="250 again")
        ended = outbox.mark_failed(
            conn, row, now=SLOT, reply="550 no", permanent=True, give_up_before=SLOT
        )
        assert not ended
        assert outbox.unreported_failures(conn) == []


def test_failures_are_listed_until_reported(engine: Engine) -> None:
    row = queue(engine, 1)
    assert row is not None
    with engine.begin() as conn:
        assert outbox.mark_failed(
            conn, row, now=SLOT, reply="550 5.1.1 no such user", permanent=True,
            give_up_before=SLOT - timedelta(hours=48),
        )  # fmt: skip
        (failure,) = outbox.unreported_failures(conn)
        assert (failure.id, failure.reply, failure.attempts) == (row, "550 5.1.1 no such user", 1)
        outbox.mark_reported(conn, [row], now=SLOT)
        assert outbox.unreported_failures(conn) == []
