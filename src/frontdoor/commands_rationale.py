"""Command bodies for ``frontdoor rationale add`` and ``frontdoor rationale list``.

The command line equivalent of the web form: the manager's own terminal, so ``list`` shows
the free-text notes (they are never logged).
"""

from __future__ import annotations

import argparse
from datetime import datetime

from frontdoor import db, rationale
from frontdoor.bootstrap import App
from frontdoor.scanview import format_local


def add(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor rationale add RECORD_ID --by EMAIL --reason CODE [--rule ID] [--note TEXT]
    [--until ISO]``: 0 when recorded, 2 (with the reason) when refused."""
    db.require_current_schema(app.engine)
    with app.engine.begin() as conn:
        entry = rationale.add(
            conn,
            record_id=args.record_id,
            rule_id=args.rule,
            recorded_by=args.by,
            reason=args.reason,
            note=args.note,
            review_by=args.until,
            reasons=app.settings.reasons,
            cal=app.calendar,
            now=now,
        )
    tz = app.settings.zone
    print(
        f"recorded for {entry.record_id} ({entry.rule_id}, team {entry.team_id}): "
        f"{entry.reason}, by {entry.recorded_by}; reminders and escalation pause until "
        f"{format_local(entry.review_by, tz)}"
    )
    return 0


def list_(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor rationale list [--team ID] [--record ID]``: newest first."""
    db.require_current_schema(app.engine)
    with app.engine.connect() as conn:
        found = rationale.entries(conn, team_ids=[args.team] if args.team else None)
    if args.record:
        found = [e for e in found if e.record_id == args.record]
    tz = app.settings.zone
    if not found:
        print("no rationale recorded" + (f" for team {args.team}" if args.team else ""))
        return 0
    for e in found:
        state = "current" if e.current(now) else "expired"
        print(
            f"{format_local(e.recorded_at, tz)}  {e.record_id}  {e.rule_id}  "
            f"team {e.team_id or '?'}  {e.reason}  by {e.recorded_by}  "
            f"review by {format_local(e.review_by, tz)} ({state})"
        )
        if e.note:
            print(f"    note: {e.note}")
    return 0
