"""Reads for the web app (database adapter): who manages which team, one item's ledger row
and notifications, and a person's archive of weekly reports.

Every function takes an open :class:`~sqlalchemy.Connection` and returns plain values; none
writes. Access control is the caller's job (:mod:`frontdoor.web_app` checks the grant before
showing anything these return), except :func:`report_message`, which takes the recipient so
that another person's report can never be read by id alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from frontdoor import outbox
from frontdoor.models import Breach, Outbox, OutboxItem, Team, table_of

#: The outbox kind of a weekly report (as :mod:`frontdoor.weekly_send` queues it).
REPORT_KIND = "weekly-report"


def teams_managed_by(conn: Connection, email: str) -> tuple[str, ...]:
    """The ids of the teams whose team manager or service manager is ``email`` (compared
    case-insensitively), sorted. Used for an identity asserted by the council's proxy."""
    t = table_of(Team).c
    address = email.strip().lower()
    rows = conn.execute(
        select(t.team_id)
        .where(
            or_(
                func.lower(t.manager_email) == address,
                func.lower(t.service_manager_email) == address,
            )
        )
        .order_by(t.team_id)
    )
    return tuple(str(r) for r in rows.scalars())


@dataclass(frozen=True)
class LedgerRow:
    """The breach ledger's row for one (rule, record): written once when first detected."""

    id: int
    rule_id: str
    record_id: str
    team_id: str
    child_id: str
    started_at: datetime
    due_at: datetime | None
    missing_agencies: tuple[str, ...]
    first_detected_at: datetime
    resolved_at: datetime | None


def ledger_row(conn: Connection, rule_id: str, record_id: str) -> LedgerRow | None:
    """The ledger row of (``rule_id``, ``record_id``), or None when it never breached."""
    b = table_of(Breach).c
    row = conn.execute(
        select(
            b.id,
            b.rule_id,
            b.record_id,
            b.team_id,
            b.child_id,
            b.started_at,
            b.due_at,
            b.missing_agencies,
            b.first_detected_at,
            b.resolved_at,
        ).where(b.rule_id == rule_id, b.record_id == record_id)
    ).one_or_none()
    if row is None:
        return None
    missing = tuple(a for a in (row.missing_agencies or "").split(",") if a)
    return LedgerRow(
        int(row.id),
        row.rule_id,
        row.record_id,
        row.team_id,
        row.child_id,
        row.started_at,
        row.due_at,
        missing,
        row.first_detected_at,
        row.resolved_at,
    )


@dataclass(frozen=True)
class Notification:
    """One message that listed a breach: to whom, at which level, and what became of it."""

    kind: str
    recipient: str
    level: int
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    superseded: bool
    is_new: bool


def notifications(conn: Connection, breach_id: int) -> list[Notification]:
    """Every outbox message that covered ``breach_id``, oldest first."""
    o = table_of(Outbox).c
    oi = table_of(OutboxItem).c
    rows = conn.execute(
        select(
            o.kind,
            o.recipient,
            o.level,
            o.created_at,
            o.sent_at,
            o.failed_at,
            o.superseded_by,
            oi.is_new,
        )
        .join_from(table_of(OutboxItem), table_of(Outbox), o.id == oi.outbox_id)
        .where(oi.breach_id == breach_id)
        .order_by(o.created_at, o.id)
    )
    return [
        Notification(kind, to, level, created, sent, failed, sup is not None, bool(new))
        for kind, to, level, created, sent, failed, sup, new in rows
    ]


@dataclass(frozen=True)
class ReportEntry:
    """One weekly report in a person's archive (no content: that is read on demand)."""

    id: int
    period: str
    subject: str
    created_at: datetime
    sent_at: datetime | None


def reports_for(conn: Connection, email: str) -> list[ReportEntry]:
    """The weekly reports queued for ``email`` (case-insensitive), newest period first.
    Reports that failed for good are left out: they never reached the person."""
    o = table_of(Outbox).c
    rows = conn.execute(
        select(o.id, o.period, o.subject, o.created_at, o.sent_at)
        .where(
            o.kind == REPORT_KIND,
            func.lower(o.recipient) == email.strip().lower(),
            o.failed_at.is_(None),
        )
        .order_by(o.period.desc(), o.created_at.desc(), o.id.desc())
    )
    return [
        ReportEntry(int(i), period or "", subject, created, sent)
        for i, period, subject, created, sent in rows
    ]


def report_html(conn: Connection, report_id: int, email: str) -> str | None:
    """The HTML part of weekly report ``report_id`` if it was queued for ``email``; None when
    it is unknown, not a weekly report, another person's, or has no HTML part."""
    o = table_of(Outbox).c
    text = conn.execute(
        select(o.message).where(
            o.id == report_id,
            o.kind == REPORT_KIND,
            func.lower(o.recipient) == email.strip().lower(),
        )
    ).scalar_one_or_none()
    if text is None:
        return None
    part = outbox.parse(text).get_body(preferencelist=("html",))
    return None if part is None else str(part.get_content())


def database_ok(conn: Connection) -> bool:
    """True when the database answers ``SELECT 1``."""
    return bool(conn.execute(select(1)).scalar_one() == 1)
