"""Delivery of the outbox: send pending messages, record each outcome, report failures.

:func:`deliver_pending` claims pending rows (so two processes never send one row at once),
sends them over one connection and marks each message as soon as its outcome is known.
Messages that fail for good (the server refuses the recipient with a 5xx, or the message is
still undelivered ``FRONTDOOR_DELIVERY_GIVE_UP_HOURS`` after it was queued) are reported to
the system owner, once, in one ``delivery-failure`` message queued in the transaction that
marks them reported. A server that refuses the login or cannot be reached fails nothing for
good: the messages wait in the outbox until it can be reached again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import structlog

from frontdoor import outbox
from frontdoor.bootstrap import App
from frontdoor.mailer import DeliveryResult, Mailer, SmtpMailer
from frontdoor.render import RenderedMessage, Renderer, build_email, message_id_for, thread_key_for
from frontdoor.settings import smtp_config
from frontdoor.system_views import FailedDelivery, failure_report_view

log = structlog.get_logger()

# Used as From and for Message-IDs when no sender is configured (dry runs, --outbox).
FALLBACK_SENDER = "frontdoor@localhost"


@dataclass
class DeliveryOutcome:
    """What one delivery pass did."""

    attempted: int = 0
    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    reported: int = 0

    def counts(self) -> dict[str, int]:
        """Counts for the log line."""
        return {
            "attempted": self.attempted,
            "sent": self.sent,
            "retry_later": self.retry_later,
            "failed": self.failed,
            "reported": self.reported,
        }


def build_mailer(app: App) -> Mailer:
    """The SMTP mailer; :class:`~frontdoor.errors.ConfigError` names missing settings."""
    return SmtpMailer(smtp_config(app.settings))


def sender_of(app: App) -> str:
    """The From address: the configured sender, or a placeholder for dry runs."""
    return app.settings.smtp_sender or FALLBACK_SENDER


def email_for(
    app: App, rendered: RenderedMessage, recipient: str, kind: str, slot: datetime, now: datetime
) -> EmailMessage:
    """The e-mail for ``rendered``: its Message-ID is fixed by kind, recipient and slot (a
    resend of the same outbox row keeps it), and it threads per recipient, kind and day."""
    sender = sender_of(app)
    domain = sender.rpartition("@")[2] or "localhost"
    return build_email(
        rendered,
        sender=sender,
        recipient=recipient,
        message_id=message_id_for(kind, recipient, slot, domain),
        date=now,
        thread_key=thread_key_for(kind, recipient, app.calendar.local_date(slot)),
        domain=domain,
    )


# The default of FRONTDOOR_DELIVERY_CLAIM_SECONDS: how long a delivery pass holds the rows it
# claimed; the rows of a pass that died are sent by another pass after it.
CLAIM_LEASE = timedelta(minutes=10)


def _lease(app: App) -> timedelta:
    return timedelta(seconds=app.settings.delivery_claim_seconds)


def deliver_pending(
    app: App, *, now: datetime, mailer: Mailer, only_ids: Sequence[int] | None = None
) -> DeliveryOutcome:
    """Send every pending outbox message (or only ``only_ids``) and record each outcome,
    then report new permanent failures to the system owner. Safe to run at any time and
    from several processes (the recovery pass)."""
    give_up_before = now - timedelta(hours=app.settings.delivery_give_up_hours)
    with app.engine.begin() as conn:
        rows = outbox.claim(conn, now=now, lease=_lease(app), only_ids=only_ids)
    result = DeliveryOutcome()
    _deliver(app, rows, now=now, mailer=mailer, result=result, give_up_before=give_up_before)
    if only_ids is None:
        result.reported = _report_failures(app, now=now, mailer=mailer, result=result)
    return result


def _deliver(
    app: App,
    rows: Sequence[outbox.PendingMessage],
    *,
    now: datetime,
    mailer: Mailer,
    result: DeliveryOutcome,
    give_up_before: datetime,
) -> None:
    """Send ``rows`` as one batch, recording each message's outcome (in its own transaction)
    as soon as it is known."""
    if not rows:
        return
    by_mid = {r.message_id.strip(): r for r in rows}

    def record(results: list[DeliveryResult]) -> None:
        row = by_mid[results[0].message_id.strip()]  # one recipient per outbox message
        res = results[0]
        result.attempted += 1
        with app.engine.begin() as conn:
            if res.ok:
                outbox.mark_sent(conn, row.id, now=now, reply=res.reply)
                result.sent += 1
                return
            # A failure to connect or log in is the server's or the configuration's, not
            # this recipient's: the message stays pending until it is fixed (or given up).
            permanent = res.permanent and not res.connection
            gave_up = outbox.mark_failed(
                conn,
                row.id,
                now=now,
                reply=res.reply,
                permanent=permanent,
                give_up_before=give_up_before,
            )
        log_fn = log.error if res.connection else log.warning
        log_fn(
            "delivery_failed",
            outbox_id=row.id,
            recipient=row.recipient,
            kind=row.kind,
            reply=res.reply,
            permanent=permanent,
            smtp_unavailable=res.connection,
            given_up=gave_up,
        )
        if gave_up:
            result.failed += 1
        else:
            result.retry_later += 1

    mailer.send_batch([r.message for r in rows], on_message=record)


def _report_failures(app: App, *, now: datetime, mailer: Mailer, result: DeliveryOutcome) -> int:
    """Queue one report of the failures not yet reported, stamping them reported in the same
    transaction, then send it. Returns how many failures it reported."""
    owner = app.settings.system_owner_email
    with app.engine.begin() as conn:
        failures = outbox.unreported_failures(conn)
        if not failures:
            return 0
        ids = [f.id for f in failures]
        if owner is None:
            log.error("delivery_failed_no_owner_configured", outbox_ids=ids)
            outbox.mark_reported(conn, ids, now=now)
            return 0
        report = _failure_report(app, owner, failures, now=now)
        row_id = outbox.enqueue(
            conn,
            recipient=owner,
            kind="delivery-failure",
            level=0,
            slot=now,
            message=report,
            now=now,
        )
        if row_id is None:  # a report for this instant exists: the next pass reports these
            return 0
        outbox.mark_reported(conn, ids, now=now)
    give_up_before = now - timedelta(hours=app.settings.delivery_give_up_hours)
    with app.engine.begin() as conn:
        mine = outbox.claim(conn, now=now, lease=_lease(app), only_ids=[row_id])
    _deliver(app, mine, now=now, mailer=mailer, result=result, give_up_before=give_up_before)
    return len(failures)


def _failure_report(
    app: App, owner: str, failures: Sequence[outbox.Failure], *, now: datetime
) -> EmailMessage:
    renderer = Renderer(app.settings.templates_dir)
    view = failure_report_view(
        [
            FailedDelivery(f.recipient, f.kind, f.slot, f.message_id, f.reply, f.attempts)
            for f in failures
        ],
        tz=app.settings.zone,
        now=now,
    )
    rendered = renderer.render("delivery-failure", view)
    return email_for(app, rendered, owner, "delivery-failure", now, now)
