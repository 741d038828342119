"""Database tables (SQLModel).

Source records mirror the CSV files of ``data-contract.md`` one to one, keyed by the source
system's stable id. Every instant is an aware UTC datetime (:class:`UtcDateTime`); dates that
the contract defines as dates (``start_date``, ``icpc_date``, ``authorised_date``) stay dates.
``ingested_at`` is when frontdoor last inserted or changed the row: the incremental scan uses it
to catch records that arrive late.

The monitor's own state is :class:`Breach` (one row per rule and record, written once when the
breach is first detected) and :class:`ScanState` (the cutoff of the last incremental pass).
Notification state is :class:`Outbox` (every message, unique per recipient, kind and slot) with
:class:`OutboxItem` (which breaches each message covered), :class:`Rationale` (managers'
append-only decisions), :class:`NotifyBaseline` (go-live) and :class:`Heartbeat` (liveness).

Index design (stack-notes.md §8): each source table has a partial index on its open records
(completion IS NULL), used by the live scan, and a partial index on completed records
(completion IS NOT NULL), used when replaying a past instant (``completion > now``). A full
index on the completion column would also match ``IS NULL``, and SQLite then prefers it to the
partial index, which made the incremental pass scan every open record.

No ``from __future__ import annotations`` here: it breaks SQLModel (stack-notes.md §7).
"""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    false,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel

from frontdoor.dbtypes import UtcDateTime


def _utc(*, nullable: bool, index: bool = False) -> Column[datetime]:
    return Column(UtcDateTime(), nullable=nullable, index=index)


def _untimed() -> Column[bool]:
    # True for records from sources with dates only (Annex A, the CIN census), stored
    # completed on receipt: they count in volumes, never in timeliness (docs/annex-a.md).
    # The server default keeps every other writer (CSV import, sync) unaware of it.
    return Column(Boolean(), nullable=False, server_default=false())


def table_of(model: type[SQLModel]) -> Table:
    """The Core :class:`~sqlalchemy.Table` behind a table model.

    Query code reads columns through it (``table_of(Contact).c.received_at``) because type
    checkers see a model's attributes as Python values (``datetime``), not SQL columns.
    """
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class Team(SQLModel, table=True):
    """A team and who receives its escalations."""

    __tablename__ = "team"

    team_id: str = Field(primary_key=True, max_length=64)
    team_name: str = Field(max_length=200)
    manager_name: str = Field(max_length=200)
    manager_email: str = Field(max_length=320)
    service_manager_name: str = Field(max_length=200)
    service_manager_email: str = Field(max_length=320)
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))


class Contact(SQLModel, table=True):
    """A contact received at the front door. ``outcome_at`` NULL means no recorded outcome."""

    __tablename__ = "contact"
    __table_args__ = (
        # Partial index on open contacts: the live scan's query repeats this predicate
        # literally so both engines can use it (stack-notes.md §8.1).
        # team_id makes it covering for the weekly report's per-team counts of open contacts.
        Index(
            "ix_contact_open",
            "received_at",
            "team_id",
            postgresql_where=text("outcome_at IS NULL"),
            sqlite_where=text("outcome_at IS NULL"),
        ),
        # Completed records only: serves replays ("done > now"); see the module docstring.
        Index(
            "ix_contact_outcome_at",
            "outcome_at",
            postgresql_where=text("outcome_at IS NOT NULL"),
            sqlite_where=text("outcome_at IS NOT NULL"),
        ),
        Index("ix_contact_ingested_at", "ingested_at"),
    )

    contact_id: str = Field(primary_key=True, max_length=64)
    child_id: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=_utc(nullable=False))
    team_id: str = Field(max_length=64)
    source: str | None = Field(default=None, max_length=8)
    worker_id: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=100)
    outcome_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))
    untimed: bool = Field(default=False, sa_column=_untimed())


class Referral(SQLModel, table=True):
    """A referral. ``decision_at`` NULL means no recorded decision."""

    __tablename__ = "referral"
    __table_args__ = (
        Index(
            "ix_referral_open",
            "received_at",
            postgresql_where=text("decision_at IS NULL"),
            sqlite_where=text("decision_at IS NULL"),
        ),
        # Completed records only: serves replays ("done > now"); see the module docstring.
        Index(
            "ix_referral_decision_at",
            "decision_at",
            postgresql_where=text("decision_at IS NOT NULL"),
            sqlite_where=text("decision_at IS NOT NULL"),
        ),
        Index("ix_referral_ingested_at", "ingested_at"),
        Index("ix_referral_child_received", "child_id", "received_at"),
        # Drives the assessment rule's incremental pass (referrals that crossed 45 working
        # days). The live referral scan still uses ix_referral_open: with statistics (the
        # importer runs ANALYZE) the planners see that this range matches almost every row.
        Index("ix_referral_received_at", "received_at"),
    )

    referral_id: str = Field(primary_key=True, max_length=64)
    child_id: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=_utc(nullable=False))
    team_id: str = Field(max_length=64)
    contact_id: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=8)
    decision: str | None = Field(default=None, max_length=100)
    decision_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))
    untimed: bool = Field(default=False, sa_column=_untimed())


class StrategyDiscussion(SQLModel, table=True):
    """A strategy discussion (multi-agency meeting)."""

    __tablename__ = "strategy_discussion"
    __table_args__ = (
        Index("ix_strategy_discussion_held_at", "held_at"),
        Index("ix_strategy_discussion_ingested_at", "ingested_at"),
    )

    discussion_id: str = Field(primary_key=True, max_length=64)
    child_id: str = Field(max_length=64)
    held_at: datetime = Field(sa_column=_utc(nullable=False))
    team_id: str = Field(max_length=64)
    referral_id: str | None = Field(default=None, max_length=64)
    s47_initiated: bool | None = Field(default=None)
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))


class StrategyAttendance(SQLModel, table=True):
    """One agency's participation in one discussion. No row = did not take part."""

    __tablename__ = "strategy_attendance"
    __table_args__ = (Index("ix_strategy_attendance_ingested_at", "ingested_at"),)

    discussion_id: str = Field(primary_key=True, max_length=64)
    agency: str = Field(primary_key=True, max_length=32)
    attended: bool
    role: str | None = Field(default=None, max_length=200)
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))


class S47Enquiry(SQLModel, table=True):
    """A Section 47 enquiry; the ICPC clock starts at its initiating discussion."""

    __tablename__ = "s47_enquiry"
    __table_args__ = (
        Index(
            "ix_s47_enquiry_open",
            "start_date",
            postgresql_where=text("icpc_date IS NULL"),
            sqlite_where=text("icpc_date IS NULL"),
        ),
        # Completed records only: serves replays ("done > now"); see the module docstring.
        Index(
            "ix_s47_enquiry_icpc_date",
            "icpc_date",
            postgresql_where=text("icpc_date IS NOT NULL"),
            sqlite_where=text("icpc_date IS NOT NULL"),
        ),
        Index("ix_s47_enquiry_discussion_id", "discussion_id"),
        Index("ix_s47_enquiry_ingested_at", "ingested_at"),
    )

    s47_id: str = Field(primary_key=True, max_length=64)
    child_id: str = Field(max_length=64)
    team_id: str = Field(max_length=64)
    discussion_id: str | None = Field(default=None, max_length=64)
    start_date: date
    icpc_date: date | None = Field(default=None)
    icpc_not_required: bool | None = Field(default=None)
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))


class Assessment(SQLModel, table=True):
    """A statutory assessment; its clock starts at the linked referral."""

    __tablename__ = "assessment"
    __table_args__ = (
        Index(
            "ix_assessment_open",
            "start_date",
            postgresql_where=text("authorised_date IS NULL"),
            sqlite_where=text("authorised_date IS NULL"),
        ),
        # Completed records only: serves replays ("done > now"); see the module docstring.
        Index(
            "ix_assessment_authorised_date",
            "authorised_date",
            postgresql_where=text("authorised_date IS NOT NULL"),
            sqlite_where=text("authorised_date IS NOT NULL"),
        ),
        Index("ix_assessment_referral_id", "referral_id"),
        Index("ix_assessment_ingested_at", "ingested_at"),
    )

    assessment_id: str = Field(primary_key=True, max_length=64)
    child_id: str = Field(max_length=64)
    team_id: str = Field(max_length=64)
    referral_id: str = Field(max_length=64)
    start_date: date
    authorised_date: date | None = Field(default=None)
    ingested_at: datetime = Field(sa_column=_utc(nullable=False))


class Breach(SQLModel, table=True):
    """A rule breach, recorded once when a scan at the current time first detects it.

    ``due_at`` is NULL for attendance rules; ``missing_agencies`` (comma separated, sorted) is
    NULL for time rules. ``resolved_at`` is when a later pass first saw the record closed.
    """

    __tablename__ = "breach"
    __table_args__ = (
        UniqueConstraint("rule_id", "record_id", name="uq_breach_rule_record"),
        Index("ix_breach_first_detected_at", "first_detected_at"),
        Index(
            "ix_breach_unresolved",
            "rule_id",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    team_id: str = Field(max_length=64)
    child_id: str = Field(max_length=64)
    started_at: datetime = Field(sa_column=_utc(nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    missing_agencies: str | None = Field(default=None, max_length=200)
    first_detected_at: datetime = Field(sa_column=_utc(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class ScanState(SQLModel, table=True):
    """Per rule: the start threshold (instant and local day) of the last recording pass, and
    when it ran. Attendance rules keep only the time."""

    __tablename__ = "scan_state"

    rule_id: str = Field(primary_key=True, max_length=64)
    cutoff: datetime = Field(sa_column=_utc(nullable=False))
    cutoff_day: date | None = Field(default=None)
    ran_at: datetime = Field(sa_column=_utc(nullable=False))
    rule_fingerprint: str = Field(max_length=64)


class Rationale(SQLModel, table=True):
    """A manager's recorded decision or rationale for one breached item. Append-only: a new
    entry supersedes the previous one; nothing is updated or deleted.

    It is *current* while ``review_by`` is after now: a current rationale stops repeat
    reminders and second-level escalation for the item, never its listing or its count.
    ``note`` is free text: it is never logged and never put in an e-mail.
    """

    __tablename__ = "rationale"
    __table_args__ = (Index("ix_rationale_item", "rule_id", "record_id", "recorded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    recorded_by: str = Field(max_length=320)
    reason: str = Field(max_length=64)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_at: datetime = Field(sa_column=_utc(nullable=False))
    review_by: datetime = Field(sa_column=_utc(nullable=False))


class Outbox(SQLModel, table=True):
    """Every e-mail frontdoor sends, written before it is sent.

    Unique per (recipient, kind, slot): planning the same slot twice adds nothing. A row is
    *pending* while ``sent_at`` and ``failed_at`` are both NULL; a delivery pass claims
    pending rows (``claim_token`` until ``claimed_until``, so two processes never send the
    same row at once), sends them and stamps ``sent_at`` with the server's reply, so a crash
    between the two re-sends one message (same Message-ID) and never loses one.
    ``failed_at`` ends a row without sending it: the server refused the recipient for good
    (5xx), the row was still undelivered after ``delivery_give_up_hours``, or a newer message
    to the same recipient and level (which lists every item still open) superseded it
    (``superseded_by``). ``reported_at``: when a failure was reported to the system owner.
    ``level`` is 1 for team managers, 2 for service managers, 0 for messages to the owner
    and for weekly reports. ``period`` names the reporting period a report covers
    (``2026-W47``; None for every other message).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("recipient", "kind", "slot", name="uq_outbox_recipient_kind_slot"),
        Index(
            "ix_outbox_pending",
            "id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
        Index("ix_outbox_recipient_level", "recipient", "level", "slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=320)
    kind: str = Field(max_length=32)
    level: int
    slot: datetime = Field(sa_column=_utc(nullable=False))
    message_id: str = Field(max_length=255)
    subject: str = Field(max_length=300)
    item_count: int
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc(nullable=False))
    attempts: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    reply: str | None = Field(default=None, max_length=500)
    failed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    superseded_by: int | None = Field(default=None)
    reported_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    period: str | None = Field(default=None, max_length=16)


class OutboxItem(SQLModel, table=True):
    """One breach covered by one outbox message; ``is_new`` when the message first told this
    recipient about it. Written in the same transaction as its :class:`Outbox` row."""

    __tablename__ = "outbox_item"
    __table_args__ = (Index("ix_outbox_item_breach_id", "breach_id"),)

    outbox_id: int = Field(
        sa_column=Column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    )
    breach_id: int = Field(
        sa_column=Column(Integer, ForeignKey("breach.id", ondelete="CASCADE"), primary_key=True)
    )
    is_new: bool


class NotifyBaseline(SQLModel, table=True):
    """Go-live: when the first digest pass ran. Breaches due before it are the pre-existing
    backlog, summarised once rather than e-mailed as new. One row (``id`` = 1)."""

    __tablename__ = "notify_baseline"

    id: int = Field(default=1, primary_key=True)
    started_at: datetime = Field(sa_column=_utc(nullable=False))


class Heartbeat(SQLModel, table=True):
    """Per job (scan, digest, delivery, ...): when it last finished successfully, and a short
    JSON summary of counts (never record content)."""

    __tablename__ = "heartbeat"

    job: str = Field(primary_key=True, max_length=64)
    last_ok_at: datetime = Field(sa_column=_utc(nullable=False))
    detail: str | None = Field(default=None, max_length=1000)


class SyncWatermark(SQLModel, table=True):
    """Per ``frontdoor sync`` entity: the highest source ``changed_at`` already applied
    (NULL: the query has no change column, so every sync reads it whole) and when the
    entity's rows were last committed. Written only after those rows are committed."""

    __tablename__ = "sync_watermark"

    entity: str = Field(primary_key=True, max_length=32)
    watermark: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    synced_at: datetime = Field(sa_column=_utc(nullable=False))
