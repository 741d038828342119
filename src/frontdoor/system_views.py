"""Views for the system messages (pure): the system owner's delivery-failure report and
"data feed stale" alert, and the ``frontdoor send-test-email`` message. See
:mod:`frontdoor.digest_view` for the digests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from frontdoor.digest_view import format_when, plural
from frontdoor.feed import FeedPolicy, FeedVerdict


@dataclass(frozen=True)
class FailedDelivery:
    """An outbox message that could not be delivered for good (as the owner is told)."""

    recipient: str
    kind: str
    slot: datetime
    message_id: str
    reply: str
    attempts: int


@dataclass(frozen=True)
class FailureRow:
    """One undelivered message, formatted."""

    recipient: str
    kind: str
    slot: str
    message_id: str
    reply: str
    attempts: int


@dataclass(frozen=True)
class FailureReportView:
    """The system owner's "these messages could not be delivered" message."""

    subject: str
    preheader: str
    heading: str
    intro: tuple[str, ...]
    generated_at: str
    timezone: str
    count: int
    rows: tuple[FailureRow, ...]


@dataclass(frozen=True)
class TestMessageView:
    """The ``frontdoor send-test-email`` message."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite its name

    subject: str
    preheader: str
    heading: str
    intro: tuple[str, ...]
    sent_at: str
    host: str
    timezone: str


def failure_report_view(
    failures: Sequence[FailedDelivery], *, tz: ZoneInfo, now: datetime
) -> FailureReportView:
    """The report of ``failures`` (in the given order) for the system owner at ``now``."""
    count = len(failures)
    return FailureReportView(
        subject=f"frontdoor: {plural(count, 'message')} could not be delivered",
        preheader=f"{plural(count, 'message')} could not be delivered",
        heading="Messages that could not be delivered",
        intro=(
            f"frontdoor gave up delivering {'this message' if count == 1 else 'these messages'}"
            ": the mail server refused them for good or every attempt failed.",
            "Check each recipient's address in teams.csv and the mail server's reply. "
            "frontdoor does not try these messages again; later digests are sent as usual.",
        ),
        generated_at=format_when(now, tz),
        timezone=tz.key,
        count=count,
        rows=tuple(
            FailureRow(
                recipient=f.recipient,
                kind=f.kind,
                slot=format_when(f.slot, tz),
                message_id=f.message_id,
                reply=" ".join(f.reply.split()),
                attempts=f.attempts,
            )
            for f in failures
        ),
    )


def test_view(*, tz: ZoneInfo, now: datetime, host: str) -> TestMessageView:
    """The test message, sent at ``now`` through the SMTP server ``host``."""
    return TestMessageView(
        subject="frontdoor: test message",
        preheader="frontdoor can send e-mail from this server.",
        heading="frontdoor test message",
        intro=(
            "This message checks that frontdoor can send e-mail. No action is needed.",
            "If it reached you, digests and escalations can reach you too. Check that it is "
            "not in a junk or spam folder.",
        ),
        sent_at=format_when(now, tz),
        host=host,
        timezone=tz.key,
    )


test_view.__test__ = False  # type: ignore[attr-defined]  # nor is this a pytest test


@dataclass(frozen=True)
class FeedStaleView:
    """The system owner's "data feed stale" alert: ``facts`` are (label, value) rows."""

    subject: str
    preheader: str
    heading: str
    intro: tuple[str, ...]
    facts: tuple[tuple[str, str], ...]
    timezone: str


def feed_stale_view(
    verdict: FeedVerdict, policy: FeedPolicy, *, tz: ZoneInfo, synced: bool
) -> FeedStaleView:
    """The alert for a stale ``verdict`` (``last_contact_at`` and ``stale_since`` set);
    ``synced``: the worker reads the feed itself (``frontdoor sync``)."""
    if verdict.last_contact_at is None or verdict.stale_since is None:
        raise ValueError("the feed is not stale: there is nothing to alert")
    last = format_when(verdict.last_contact_at, tz)
    hours = int(policy.after.total_seconds() // 3600)
    window = f"{policy.hours.start:%H:%M}-{policy.hours.end:%H:%M}"
    where = (
        "frontdoor reads the feed itself (`frontdoor sync` before each scan): check the "
        "worker's log for sync_failed and that the reporting database is being refreshed."
        if synced
        else "Check the job that exports contacts and runs `frontdoor import`, and its log."
    )
    return FeedStaleView(
        subject=f"frontdoor: data feed stale, no new contacts since {last}",
        preheader="Breach e-mails are held back until contacts arrive again.",
        heading="Data feed stale",
        intro=(
            f"frontdoor has seen no new contact for {plural(hours, 'working hour')} "
            f"({window} on working days). The import or sync that feeds it has probably "
            "stopped.",
            "Until new contacts arrive, frontdoor holds back digests, escalations and the "
            "weekly report: records whose outcome was recorded after the feed stopped would "
            "show as overdue. Once the feed has caught up, the latest digests and weekly "
            "report are worked out again from the fresh data and sent within minutes.",
            where,
            "This alert is sent once. If the feed recovers and stops again, you get a new one.",
        ),
        facts=(
            ("Newest contact received", last),
            ("Stale since", format_when(verdict.stale_since, tz)),
            ("Checked at", format_when(verdict.now, tz)),
        ),
        timezone=tz.key,
    )
