"""The outbox (database adapter): every message is written here before it is sent.

Delivery is at least once. :func:`enqueue` writes a message and the breaches it covers in
the caller's transaction, unique per (recipient, kind, slot), so planning a slot twice adds
nothing. The delivery pass reads :func:`pending` rows, sends them, then :func:`mark_sent`
stamps each with the server's reply. A crash after sending and before marking leaves the row
pending; the next pass sends it again with the same Message-ID (one duplicate, never a loss).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
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
) -> int | None:
    """Queue ``message`` and record the breaches it covers as (breach id, is new) pairs.

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
    return int(new_id)


def pending(conn: Connection, *, limit: int = 500) -> list[PendingMessage]:
    """Unsent messages that have not failed for good, oldest first."""
    o = table_of(Outbox).c
    rows = conn.execute(
        select(o.id, o.recipient, o.kind, o.slot, o.message_id, o.attempts, o.message)
        .where(o.sent_at.is_(None), o.failed_at.is_(None))
        .order_by(o.id)
        .limit(limit)
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
    max_attempts: int,
) -> bool:
    """Record a failed attempt. The row fails for good (``failed_at``) when the failure is
    permanent or this was attempt ``max_attempts``; returns True in that case."""
    o = table_of(Outbox)
    attempts = conn.execute(select(o.c.attempts).where(o.c.id == row_id)).scalar_one() + 1
    final = permanent or attempts >= max_attempts
    conn.execute(
        update(o)
        .where(o.c.id == row_id, o.c.sent_at.is_(None))
        .values(
            attempts=attempts,
            last_attempt_at=now,
            last_error=reply[:_REPLY_MAX],
            failed_at=now if final else None,
        )
    )
    return final


@dataclass(frozen=True)
class Backlog:
    """Outbox counts for ``frontdoor status`` and the logs."""

    pending: int
    oldest_pending: datetime | None
    failed: int


def backlog(conn: Connection, *, failed_since: datetime) -> Backlog:
    """Pending rows, the oldest pending creation time, and failures since ``failed_since``."""
    o = table_of(Outbox).c
    count, oldest = conn.execute(
        select(func.count(), func.min(o.created_at)).where(
            o.sent_at.is_(None), o.failed_at.is_(None)
        )
    ).one()
    failed = conn.execute(
        select(func.count()).where(o.failed_at.is_not(None), o.failed_at >= failed_since)
    ).scalar_one()
    return Backlog(pending=count, oldest_pending=oldest, failed=failed)


def ids_of(rows: Sequence[PendingMessage]) -> list[int]:
    """Row ids, for log lines."""
    return [r.id for r in rows]
