"""Command bodies for e-mail: ``digest``, ``preview digest`` and ``send-test-email``.

Commands that send build the SMTP mailer first, so they refuse to start without SMTP settings
and name the missing variable. ``--dry-run`` and ``--outbox DIR`` need no SMTP settings.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

import structlog

from frontdoor import db
from frontdoor.bootstrap import App
from frontdoor.errors import FrontdoorError, UsageError
from frontdoor.filemailer import FileMailer
from frontdoor.mailer import FakeMailer, Mailer
from frontdoor.scanview import format_local

log = structlog.get_logger()


def digest(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor digest [--now ISO] [--dry-run] [--outbox DIR]``: 0 when every message
    was delivered (or none was due), 1 when some failed or wait in the outbox for a retry."""
    from frontdoor.delivery import build_mailer
    from frontdoor.feed_alert import require_fresh_feed
    from frontdoor.notify import run_digest

    db.require_current_schema(app.engine)
    mailer: Mailer
    if args.dry_run:
        mailer = FakeMailer()  # never called: a dry run delivers nothing
    elif args.outbox is not None:
        mailer = FileMailer(args.outbox)
    else:
        mailer = build_mailer(app)
    if not args.dry_run and not args.even_if_stale:
        # --outbox too: its rows take the slot's outbox key, which would stop the worker's
        # catch-up from e-mailing that slot once the feed is fresh.
        require_fresh_feed(app, now=now, what="digests and escalations are")
    out = run_digest(app, now=now, mailer=mailer, dry_run=args.dry_run, outbox_dir=args.outbox)
    log.info("digest_finished", slot=out.slot.isoformat(), **out.counts())
    tz = app.settings.zone
    verb = "would send" if args.dry_run else "queued"
    print(
        f"digest slot {format_local(out.slot, tz)}: {out.items} open item(s); "
        f"{verb} {len(out.messages)} message(s)"
        + (f" ({out.already_queued} already queued for this slot)" if out.already_queued else "")
        + (" [first pass: existing breaches are the go-live backlog]" if out.first_pass else "")
    )
    for m in out.messages:
        print(
            f"  {m.kind:<10} {m.reason:<7} to {m.recipient_email}: {len(m.items)} item(s), "
            f"{len(m.new_ids)} new"
        )
    if out.unrouted:
        print(f"  {out.unrouted} open item(s) belong to no known team (see the log)")
    if out.delivery is not None:
        d = out.delivery
        print(
            f"delivery: {d.sent} sent, {d.retry_later} to retry, {d.failed} failed"
            + (f", {d.reported} reported to the system owner" if d.reported else "")
        )
    if args.outbox is not None and isinstance(mailer, FileMailer) and mailer.written:
        print(f"messages written to {args.outbox}:")
        for path in mailer.written:
            print(f"  {path}")
    elif args.outbox is not None and args.dry_run:
        print(f"messages written to {args.outbox} (dry run: nothing recorded)")
    undelivered = 0 if out.delivery is None else out.delivery.failed + out.delivery.retry_later
    return 1 if undelivered else 0


def preview_digest(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor preview digest --manager EMAIL [--now ISO] [--html FILE]``: print the text
    part of the message that address would get now; nothing is recorded or sent."""
    from frontdoor.notify import preview

    db.require_current_schema(app.engine)
    found = preview(app, email=args.manager, now=now)
    if found is None:
        raise UsageError(
            f"{args.manager} is not a team manager or service manager in the teams file"
        )
    msg, message = found
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    print(f"Subject: {message['Subject']}")
    print(f"To: {message['To']}  ({msg.kind}, {len(msg.items)} item(s))\n")
    sys.stdout.write(str(text.get_content()) if text is not None else "")
    if args.html is not None and html is not None:
        args.html.write_text(str(html.get_content()), encoding="utf-8")
        print(f"\nHTML part written to {args.html}")
    return 0


def send_test_email(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor send-test-email --to ADDR``: one message now, the server's reply printed."""
    from frontdoor.delivery import build_mailer
    from frontdoor.notify import send_test_email

    mailer = build_mailer(app)
    result = send_test_email(app, to=args.to, now=now, mailer=mailer)
    if result.ok:
        print(f"sent to {args.to}: {result.reply}")
        return 0
    kind = "permanent" if result.permanent else "temporary"
    raise FrontdoorError(f"test e-mail to {args.to} failed ({kind}): {result.reply}")
