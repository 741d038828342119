"""Command bodies for ``frontdoor rationale add`` and ``frontdoor rationale list``.

The command line equivalent of the web form: the manager's own terminal, so ``list`` shows
the free-text notes (they are never logged).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from frontdoor import db, rationale
from frontdoor.bootstrap import App
from frontdoor.errors import UsageError
from frontdoor.scanview import format_local


def add(app: App, args: argparse.Namespace, *, now: datetime) -> int:
    """``frontdoor rationale add RECORD_ID --by EMAIL --reason CODE [--rule ID] [--note TEXT |
    --note-file FILE] [--until ISO]``: 0 when recorded, 2 (with the reason) when refused."""
    db.require_current_schema(app.engine)
    note = args.note if args.note_file is None else _read_note(args.note_file)
    with app.engine.begin() as conn:
        entry = rationale.add(
            conn,
            record_id=args.record_id,
            rule_id=args.rule,
            recorded_by=args.by,
            reason=args.reason,
            note=note,
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


def _read_note(path: Path) -> str:
    """The note in ``path`` (``-``: standard input), without its trailing newline."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise UsageError(f"--note-file {path}: cannot read it ({reason})") from None
    return text.rstrip("\r\n")


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
