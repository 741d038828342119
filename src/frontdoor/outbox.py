"""The outbox (database adapter): every message is written here before it is sent.

Delivery is at least once. :func:`enqueue` writes a message and the breaches it covers in
the caller's transaction, unique per (recipient, kind, slot), so planning a slot twice adds
nothing; a newer message to the same recipient and level supersedes their older unsent one
(the newer one lists every item still open), so an outage does not end in a burst of stale
digests. The delivery pass :func:`claim` s pending rows (compare-and-set, so two processes
never send the same row at once), sends them, then :func:`mark_sent` stamps each with the
server's reply. A crash after sending and before marking leaves the row pending; once its
claim expires the next pass sends it again with the same Message-ID (one duplicate, never a
loss). A row fails for good only when the server refuses its recipient (5xx) or it is still
undelivered ``give up`` hours after it was queued; failures are reported once
(:func:`unreported_failures`, :func:`mark_reported`).
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor.models import Outbox, OutboxItem, table_of

_REPLY_MAX = 500


@dataclass(frozen=True)
class PendingMessage:
    """A queued message, as the delivery pass needs it."""

    id: int
    recipient: str
    kind: str
    slot: datetime
    message_id: str
    attempts: int
    message: EmailMessage


def serialise(message: EmailMessage) -> str:
    """The message as stored: RFC 5322 text with CRLF line ends."""
    return message.as_string(policy=email.policy.SMTP)


def parse(text: str) -> EmailMessage:
    """A stored message back as an :class:`EmailMessage`."""
    parsed = email.message_from_string(text, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def enqueue(
    conn: Connection,
    *,
    recipient: str,
    kind: str,
    level: int,
    slot: datetime,
    message: EmailMessage,
    covers: Iterable[tuple[int, bool]] = (),
    now: datetime,
    period: str | None = None,
) -> int | None:
    """Queue ``message`` and record the breaches it covers as (breach id, is new) pairs.
    ``period`` names the reporting period of a report (``2026-W47``).

    Returns the new row's id, or None when (recipient, kind, slot) is already queued: the
    earlier message stands and nothing is written.
    """
    ins: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    table = table_of(Outbox)
    items = list(covers)
    stmt = (
        ins(table)
        .values(
            recipient=recipient,
            kind=kind,
            level=level,
            slot=slot,
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"])[:300],
            item_count=len(items),
            message=serialise(message),
            created_at=now,
            attempts=0,
            period=period,
        )
        .on_conflict_do_nothing(index_elements=["recipient", "kind", "slot"])
        .returning(table.c.id)
    )
    new_id = conn.execute(stmt).scalar_one_or_none()
    if new_id is None:
        return None
    if items:
        conn.execute(
            insert(table_of(OutboxItem)),
            [{"outbox_id": new_id, "breach_id": bid, "is_new": new} for bid, new in items],
        )
    if level > 0:
        o = table.c
        conn.execute(
            update(table)
            .where(
                o.recipient == recipient,
                o.level == level,
                o.id < new_id,
                o.sent_at.is_(None),
                o.failed_at.is_(None),
            )
            .values(failed_at=now, superseded_by=new_id, last_error="superseded by a newer message")
        )
    return int(new_id)


def claim(
    conn: Connection,
    *,
    now: datetime,
    lease: timedelta,
    only_ids: Sequence[int] | None = None,
    limit: int = 500,
) -> list[PendingMessage]:
    """Claim up to ``limit`` pending rows (oldest first; only ``only_ids`` when given) for
    ``lease`` and return them. A row claimed by another pass whose lease has not expired is
    skipped; the claim is a compare-and-set on the row, safe on both engines."""
    o = table_of(Outbox)
    c = o.c
    free = and_(
        c.sent_at.is_(None),
        c.failed_at.is_(None),
        or_(c.claimed_until.is_(None), c.claimed_until <= now),
    )
    candidates = select(c.id).where(free).order_by(c.id).limit(limit)
    if only_ids is not None:
        candidates = candidates.where(c.id.in_(list(only_ids)))
    ids = list(conn.execute(candidates).scalars())
    if not ids:
        return []
    token = uuid.uuid4().hex
    conn.execute(
        update(o).where(c.id.in_(ids), free).values(claim_token=token, claimed_until=now + lease)
    )
    rows = conn.execute(
        select(c.id, c.recipient, c.kind, c.slot, c.message_id, c.attempts, c.message)
        .where(c.claim_token == token)
        .order_by(c.id)
    )
    return [
        PendingMessage(rid, recipient, kind, slot, mid, attempts, parse(text))
        for rid, recipient, kind, slot, mid, attempts, text in rows
    ]


def mark_sent(conn: Connection, row_id: int, *, now: datetime, reply: str) -> bool:
    """Record a successful send; False when the row was already marked (by another pass)."""
    o = table_of(Outbox)
    result = conn.execute(
        update(o)
        .where(o.c.id == row_id, o.c.sent_at.is_(None))
        .values(
            sent_at=now,
            reply=reply[:_REPLY_MAX],
            attempts=o.c.attempts + 1,
            last_attempt_at=now,
            claimed_until=None,
        )
    )
    return result.rowcount == 1


def mark_failed(
    conn: Connection,
    row_id: int,
    *,
    now: datetime,
    reply: str,
    permanent: bool,
    give_up_before: datetime,
) -> bool:
    """Record a failed attempt and release the claim. The row fails for good (``failed_at``)
    when the failure is permanent or the row was queued before ``give_up_before``; returns
    True only when this call ended the row."""
    o = table_of(Outbox)
    c = o.c
    created = conn.execute(
        select(c.created_at).where(c.id == row_id, c.sent_at.is_(None), c.failed_at.is_(None))
    ).scalar_one_or_none()
    if created is None:  # sent or ended meanwhile by another pass
        return False
    final = permanent or created < give_up_before
    result = conn.execute(
        update(o)
        .where(c.id == row_id, c.sent_at.is_(None), c.failed_at.is_(None))
        .values(
            attempts=c.attempts + 1,
            last_attempt_at=now,
            last_error=reply[:_REPLY_MAX],
            failed_at=now if final else None,
            claimed_until=None,
        )
    )
    return final and result.rowcount == 1


@dataclass(frozen=True)
class Failure:
    """A row that failed for good and has not been reported yet."""

    id: int
    recipient: str
    kind: str
    slot: datetime
    message_id: str
    reply: str
    attempts: int


def unreported_failures(conn: Connection) -> list[Failure]:
    """Rows that failed for good (not superseded, not failure reports themselves) and have
    not been reported to the system owner."""
    c = table_of(Outbox).c
    rows = conn.execute(
        select(c.id, c.recipient, c.kind, c.slot, c.message_id, c.last_error, c.attempts)
        .where(
            c.failed_at.is_not(None),
            c.reported_at.is_(None),
            c.superseded_by.is_(None),
            c.kind != "delivery-failure",
        )
        .order_by(c.id)
    )
    return [Failure(i, r, k, s, m, e or "", a) for i, r, k, s, m, e, a in rows]


def mark_reported(conn: Connection, ids: Sequence[int], *, now: datetime) -> None:
    """Stamp ``reported_at`` on ``ids`` (in the transaction that queues the report)."""
    o = table_of(Outbox)
    conn.execute(update(o).where(o.c.id.in_(list(ids))).values(reported_at=now))


@dataclass(frozen=True)
class Backlog:
    """Outbox counts for ``frontdoor status`` and the logs."""

    pending: int
    oldest_pending: datetime | None
    failed: int


def backlog(conn: Connection, *, failed_since: datetime) -> Backlog:
    """Pending rows, the oldest pending creation time, and failures since ``failed_since``
    (a superseded message is not a failure)."""
    o = table_of(Outbox).c
    count, oldest = conn.execute(
        select(func.count(), func.min(o.created_at)).where(
            o.sent_at.is_(None), o.failed_at.is_(None)
        )
    ).one()
    failed = conn.execute(
        select(func.count()).where(
            o.failed_at.is_not(None), o.failed_at >= failed_since, o.superseded_by.is_(None)
        )
    ).scalar_one()
    return Backlog(pending=count, oldest_pending=oldest, failed=failed)
