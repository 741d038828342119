"""Digest and delivery use cases: plan a slot's messages, queue them, deliver the outbox.

:func:`run_digest` runs at a slot. In one transaction it records the breaches that appeared
since the last scan (an incremental pass), re-checks every open item against its record,
plans who gets what (:mod:`frontdoor.digest_plan`), renders each message and writes it to
the outbox together with the items it covers. After the commit, :func:`deliver_pending`
sends every unsent message. A message is therefore never sent before it is recorded, and a
crash anywhere leaves either nothing (rolled back) or a pending row that the next pass sends.

Delivery itself, and the reporting of failures, is :mod:`frontdoor.delivery`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import structlog
from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from frontdoor import digest_data, outbox
from frontdoor.bootstrap import App
from frontdoor.delivery import DeliveryOutcome, deliver_pending, email_for
from frontdoor.digest_items import PlannedMessage
from frontdoor.digest_plan import Policy, plan_slot, preview_for
from frontdoor.digest_view import WebLinks, build_view
from frontdoor.filemailer import FileMailer
from frontdoor.mailer import DeliveryResult, Mailer
from frontdoor.models import NotifyBaseline, table_of
from frontdoor.render import Renderer
from frontdoor.scan import IncrementalResult, incremental_pass
from frontdoor.settings import parse_repeat, parse_working_duration
from frontdoor.slots import DigestSchedule
from frontdoor.system_views import test_view
from frontdoor.tokens import Grant, sign

log = structlog.get_logger()


@dataclass
class DigestOutcome:
    """What one digest pass planned, queued and delivered."""

    slot: datetime
    first_pass: bool
    items: int
    messages: list[PlannedMessage] = field(default_factory=list)
    queued: int = 0
    already_queued: int = 0
    unrouted: int = 0
    scan: IncrementalResult | None = None
    delivery: DeliveryOutcome | None = None

    def counts(self) -> dict[str, int]:
        """Counts for the log line."""
        out = {
            "open_items": self.items,
            "planned": len(self.messages),
            "queued": self.queued,
            "already_queued": self.already_queued,
            "unrouted": self.unrouted,
            "first_pass": int(self.first_pass),
        }
        if self.scan is not None:
            out["new_breaches"] = self.scan.new_breaches
        if self.delivery is not None:
            out.update({f"delivery_{k}": v for k, v in self.delivery.counts().items()})
        return out


def policy_of(app: App) -> Policy:
    """The notification policy from settings."""
    return Policy(
        schedule=DigestSchedule(app.calendar, app.settings.slot_times),
        repeat=parse_repeat(app.settings.digest_repeat),
        escalate_after=parse_working_duration(app.settings.escalate_after),
    )


def compose(
    app: App, renderer: Renderer, msg: PlannedMessage, *, now: datetime, preview: bool = False
) -> EmailMessage:
    """Render ``msg`` and build the e-mail (Message-ID fixed by recipient, kind and slot)."""
    view = build_view(
        msg,
        rules=app.rules,
        tz=app.settings.zone,
        case_urls=app.settings.case_urls,
        now=now,
        escalate_after=app.settings.escalate_after,
        web=web_links(app, msg, now=now, preview=preview),
        reasons=app.settings.reasons,
    )
    return email_for(
        app, renderer.render(msg.kind, view), msg.recipient_email, msg.kind, msg.slot, now
    )


#: Stands in for the access token in previews: not a valid token.
PREVIEW_TOKEN = "preview-only-not-a-valid-link"  # noqa: S105 - a placeholder, not a secret


def web_links(
    app: App, msg: PlannedMessage, *, now: datetime, preview: bool = False
) -> WebLinks | None:
    """The web app links for ``msg``: a token bound to its recipient and their teams,
    expiring after ``FRONTDOOR_LINK_DAYS``; None unless both ``FRONTDOOR_WEB_URL`` and
    ``FRONTDOOR_SECRET_KEY`` are set. A ``preview`` gets a placeholder that grants nothing
    (a printed preview must not hand out someone's access)."""
    settings = app.settings
    if settings.web_url is None or settings.secret_key is None:
        return None
    if preview:
        return WebLinks(settings.web_url, PREVIEW_TOKEN)
    grant = Grant(
        email=msg.recipient_email.strip().lower(),
        teams=tuple(sorted({t.team_id for t in msg.teams})),
        expires=now + timedelta(days=settings.link_days),
    )
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return WebLinks(settings.web_url, sign(grant, key))


def baseline(conn: Connection, *, now: datetime) -> tuple[datetime, bool]:
    """The go-live instant, set to ``now`` on the first digest pass; (instant, first pass)."""
    nb = table_of(NotifyBaseline)
    found = conn.execute(select(nb.c.started_at).where(nb.c.id == 1)).scalar_one_or_none()
    if found is not None:
        return found, False
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(ins(nb).values(id=1, started_at=now).on_conflict_do_nothing())
    started = conn.execute(select(nb.c.started_at).where(nb.c.id == 1)).scalar_one()
    return started, started == now


def run_digest(
    app: App,
    *,
    now: datetime,
    mailer: Mailer,
    dry_run: bool = False,
    outbox_dir: Path | None = None,
) -> DigestOutcome:
    """Plan, queue and deliver the messages due at the slot at or before ``now``.

    ``dry_run`` rolls everything back (scan, baseline, outbox) and sends nothing; with
    ``outbox_dir`` it still writes the messages there as files. Without ``dry_run``,
    ``outbox_dir`` means ``mailer`` writes files: only this run's messages are delivered
    (and recorded as written), never rows queued earlier for SMTP.
    """
    policy = policy_of(app)
    renderer = Renderer(app.settings.templates_dir)
    slot = policy.schedule.latest_at_or_before(now)
    with app.engine.connect() as conn:
        trans = conn.begin()
        try:
            scan = incremental_pass(conn, app.rules, app.calendar, now=now)
            start, first = baseline(conn, now=now)
            items = digest_data.open_items(conn, app.rules, app.calendar, now=now)
            plan = plan_slot(
                items,
                digest_data.teams(conn),
                digest_data.histories(conn, [i.breach_id for i in items]),
                slot=slot,
                now=now,
                baseline=start,
                policy=policy,
                cal=app.calendar,
            )
            out = DigestOutcome(slot=slot, first_pass=first, items=len(items), scan=scan)
            out.messages = plan.messages
            out.unrouted = len(plan.unrouted)
            built = [(m, compose(app, renderer, m, now=now)) for m in plan.messages]
            queued_ids: list[int] = []
            for m, message in built:
                row = outbox.enqueue(
                    conn,
                    recipient=m.recipient_email,
                    kind=m.kind,
                    level=m.level,
                    slot=m.slot,
                    message=message,
                    covers=[(i.breach_id, i.breach_id in m.new_ids) for i in m.items],
                    now=now,
                )
                if row is None:
                    out.already_queued += 1
                else:
                    out.queued += 1
                    queued_ids.append(row)
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
    if plan.unrouted:
        log.warning(
            "items_without_team",
            count=len(plan.unrouted),
            record_ids=[i.record_id for i in plan.unrouted[:20]],
        )
    if dry_run:
        if outbox_dir is not None:
            FileMailer(outbox_dir).send_batch([message for _, message in built])
        return out
    # Writing to a folder replaces sending for this run's messages only: rows queued earlier
    # for SMTP (say, during an outage) stay pending for the real delivery pass.
    only = queued_ids if outbox_dir is not None else None
    out.delivery = deliver_pending(app, now=now, mailer=mailer, only_ids=only)
    return out


def preview(app: App, *, email: str, now: datetime) -> tuple[PlannedMessage, EmailMessage] | None:
    """The message ``email`` would get at the slot due at ``now`` whatever the anti-noise
    policy says; nothing is recorded. None when the address is no manager's."""
    policy = policy_of(app)
    slot = policy.schedule.latest_at_or_before(now)
    with app.engine.connect() as conn:
        trans = conn.begin()
        try:
            incremental_pass(conn, app.rules, app.calendar, now=now)
            start, _ = baseline(conn, now=now)
            items = digest_data.open_items(conn, app.rules, app.calendar, now=now)
            msg = preview_for(
                email,
                items,
                digest_data.teams(conn),
                slot=slot,
                now=now,
                baseline=start,
                policy=policy,
                cal=app.calendar,
            )
        finally:
            trans.rollback()
    if msg is None:
        return None
    return msg, compose(app, Renderer(app.settings.templates_dir), msg, now=now, preview=True)


def send_test_email(app: App, *, to: str, now: datetime, mailer: Mailer) -> DeliveryResult:
    """Send one test message straight away (not through the outbox)."""
    host = app.settings.smtp_host or "(no SMTP host)"
    view = test_view(tz=app.settings.zone, now=now, host=host)
    message = email_for(
        app, Renderer(app.settings.templates_dir).render("test", view), to, "test", now, now
    )
    results = mailer.send_batch([message])
    return results[0]
