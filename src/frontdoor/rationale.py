"""Managers' decisions and rationales (use cases over the ``rationale`` table).

A rationale is recorded against a breached item (rule id + record id) that the breach
ledger knows, by a named person, with a reason code from the configured list
(``FRONTDOOR_RATIONALE_REASONS``), optional free text and a "review by" time (default: the
end of the next working day). Entries are append-only: a new one supersedes the previous
for the item; nothing is updated or deleted.

Meaning (read by :mod:`frontdoor.digest_data` and :mod:`frontdoor.weekly_figures`): while
its review time has not passed, the latest rationale stops repeat reminders and the second
level of escalation for the item; it never removes the item from a digest listing, the
service manager's view or the weekly report, which counts breaches with and without one.

Data protection: the free text (``note``) is stored and shown to people with access to the
item, never logged and never put in an e-mail. Log lines carry the rule and record ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, insert, select

from frontdoor.clock import WorkingCalendar
from frontdoor.errors import UsageError
from frontdoor.models import (
    Assessment,
    Breach,
    Contact,
    Rationale,
    Referral,
    S47Enquiry,
    StrategyDiscussion,
    table_of,
)

log = structlog.get_logger()

NOTE_MAX = 2000  # characters of free text
#: The latest review time allowed, in working days after today: a rationale pauses the
#: safety net (reminders, escalation), so it must come back to someone's attention.
REVIEW_MAX_WORKING_DAYS = 10
#: An identical entry submitted again within this time is the same decision (a double-click).
RESUBMIT_WINDOW = timedelta(minutes=5)
# Control characters other than tab, newline and carriage return (PostgreSQL text cannot
# hold NUL, and none belongs in a note).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: The reasons offered when FRONTDOOR_RATIONALE_REASONS is not set: code -> label.
DEFAULT_REASONS: Mapping[str, str] = {
    "awaiting-partner-information": "Awaiting information from a partner agency",
    "consent-being-sought": "Consent being sought",
    "decision-made-recording-delayed": "Decision made, recording delayed",
    "partner-unavailable-rearranged": "Partner unavailable: discussion rearranged",
    "other": "Other (explained in the note)",
}


def parse_reasons(value: str) -> dict[str, str]:
    """``"code=Label;code=Label"`` as an ordered mapping. Codes are lower-case letters,
    digits and hyphens (at most 64); labels are free text. Raises ``ValueError`` naming the
    faulty part."""
    reasons: dict[str, str] = {}
    for part in (p.strip() for p in value.split(";")):
        if not part:
            continue
        code, sep, label = part.partition("=")
        code, label = code.strip(), label.strip()
        if not sep or not label:
            raise ValueError(f"{part!r} is not code=Label")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", code):
            raise ValueError(f"reason code {code!r}: use a-z, 0-9 and '-' (at most 64)")
        if code in reasons:
            raise ValueError(f"reason code {code!r} is listed twice")
        reasons[code] = label
    if not reasons:
        raise ValueError("give at least one code=Label")
    return reasons


@dataclass(frozen=True)
class Entry:
    """One rationale entry as read back (``note`` is free text: never log it)."""

    id: int
    rule_id: str
    record_id: str
    team_id: str | None
    recorded_by: str
    reason: str
    note: str | None
    recorded_at: datetime
    review_by: datetime

    def current(self, now: datetime) -> bool:
        return self.review_by > now


def default_review_by(cal: WorkingCalendar, now: datetime) -> datetime:
    """The end of the next working day after ``now`` (local)."""
    return cal.end_of_day(cal.add_working_days(cal.local_date(now), 1))


def latest_review_by(cal: WorkingCalendar, now: datetime) -> datetime:
    """The latest review time allowed: the end of the :data:`REVIEW_MAX_WORKING_DAYS`-th
    working day after ``now`` (local)."""
    return cal.end_of_day(cal.add_working_days(cal.local_date(now), REVIEW_MAX_WORKING_DAYS))


def breached_rules(conn: Connection, record_id: str) -> list[tuple[str, str]]:
    """(rule id, team id) of every ledger breach of ``record_id``, by rule id."""
    b = table_of(Breach).c
    rows = conn.execute(
        select(b.rule_id, b.team_id).where(b.record_id == record_id).distinct().order_by(b.rule_id)
    )
    return [(str(r), str(t)) for r, t in rows]


def record_teams(conn: Connection, record_id: str) -> set[str]:
    """The teams a record with this id belongs to now, in any record table (the ledger
    keeps the team it breached in; a record can move team since)."""
    teams: set[str] = set()
    for model in (Contact, Referral, StrategyDiscussion, S47Enquiry, Assessment):
        table = table_of(model)
        key = next(iter(table.primary_key.columns))
        found = conn.execute(select(table.c.team_id).where(key == record_id)).scalar()
        if found is not None:
            teams.add(str(found))
    return teams


def may_act(ledger_team: str, current: set[str], teams: Sequence[str] | None) -> bool:
    """Whether a person with ``teams`` (None: anyone, the CLI) may see or act on an item
    breached in ``ledger_team`` whose record now belongs to ``current``: the team it
    breached in, or the team it belongs to now (the one that sees it on its dashboard)."""
    return teams is None or ledger_team in teams or bool(current & set(teams))


def add(
    conn: Connection,
    *,
    record_id: str,
    rule_id: str | None,
    recorded_by: str,
    reason: str,
    note: str | None,
    review_by: datetime | None,
    reasons: Mapping[str, str],
    cal: WorkingCalendar,
    now: datetime,
    teams: Sequence[str] | None = None,
) -> Entry:
    """Record a rationale in the caller's transaction and return it.

    ``rule_id`` may be omitted when the record has breaches of one rule only. ``teams``,
    when given, are the teams the person may act for: a record of another team is refused
    as if unknown. Raises :class:`UsageError` (naming the record id, never the note) for an
    unknown record, an ambiguous or wrong rule, an unknown reason, a bad address, a review
    time not after ``now`` or later than :func:`latest_review_by`, or a note over
    :data:`NOTE_MAX` characters or with control characters. A person may act on an item of
    the team it breached in or of the team its record belongs to now (:func:`may_act`).
    The same entry (person, reason, note and review time) submitted again within
    :data:`RESUBMIT_WINDOW` is not recorded twice: the earlier entry is returned.
    """
    by = recorded_by.strip().lower()
    if not _EMAIL.match(by):
        raise UsageError("recorded by: give the person's e-mail address")
    if reason not in reasons:
        raise UsageError(f"reason {reason!r} is not one of: {', '.join(reasons)}")
    if note is not None and len(note) > NOTE_MAX:
        raise UsageError(f"the note is longer than {NOTE_MAX} characters")
    if note is not None and _CONTROL.search(note):
        raise UsageError("the note holds control characters; use plain text")
    current = record_teams(conn, record_id)
    known = [(r, t) for r, t in breached_rules(conn, record_id) if may_act(t, current, teams)]
    if not known:
        raise UsageError(f"no breach is recorded for {record_id!r} (is it overdue, and scanned?)")
    if rule_id is None:
        if len({r for r, _ in known}) > 1:
            rules = ", ".join(sorted({r for r, _ in known}))
            raise UsageError(f"{record_id!r} has breaches of several rules ({rules}): give one")
        rule_id = known[0][0]
    elif rule_id not in {r for r, _ in known}:
        raise UsageError(f"{record_id!r} has no breach of rule {rule_id!r}")
    review = review_by or default_review_by(cal, now)
    if review.tzinfo is None:
        raise UsageError("the review time needs a UTC offset")
    if review <= now:
        raise UsageError("the review time must be in the future")
    latest = latest_review_by(cal, now)
    if review > latest:
        raise UsageError(
            f"the review time must be within {REVIEW_MAX_WORKING_DAYS} working days "
            f"(by {latest.astimezone(cal.tz):%d %b %Y %H:%M})"
        )
    text = (note or "").strip() or None
    team = next(t for r, t in known if r == rule_id)
    # A double-click on Save (or a resent form) must not record the same decision twice.
    r = table_of(Rationale).c
    twin = conn.execute(
        select(r.id, r.recorded_at)
        .where(
            r.rule_id == rule_id,
            r.record_id == record_id,
            r.recorded_by == by,
            r.reason == reason,
            r.note.is_(None) if text is None else r.note == text,
            r.review_by == review,
            r.recorded_at >= now - RESUBMIT_WINDOW,
        )
        .order_by(r.recorded_at.desc())
        .limit(1)
    ).first()
    if twin is not None:
        return Entry(
            int(twin.id), rule_id, record_id, team, by, reason, text, twin.recorded_at, review
        )
    new_id = conn.execute(
        insert(table_of(Rationale))
        .values(
            rule_id=rule_id,
            record_id=record_id,
            recorded_by=by,
            reason=reason,
            note=text,
            recorded_at=now,
            review_by=review,
        )
        .returning(table_of(Rationale).c.id)
    ).scalar_one()
    log.info("rationale_recorded", rule_id=rule_id, record_id=record_id, reason=reason)
    return Entry(int(new_id), rule_id, record_id, team, by, reason, text, now, review)


def entries(
    conn: Connection,
    *,
    team_ids: Sequence[str] | None = None,
    item: tuple[str, str] | None = None,
) -> list[Entry]:
    """Rationale entries, newest first: all, those of items of ``team_ids`` (by the breach
    ledger's team), or those of one (rule id, record id) ``item``."""
    r = table_of(Rationale).c
    b = table_of(Breach).c
    team = (
        select(b.team_id)
        .where(b.rule_id == r.rule_id, b.record_id == r.record_id)
        .limit(1)
        .scalar_subquery()
    )
    query = select(
        r.id,
        r.rule_id,
        r.record_id,
        team,
        r.recorded_by,
        r.reason,
        r.note,
        r.recorded_at,
        r.review_by,
    ).order_by(r.recorded_at.desc(), r.id.desc())
    if team_ids is not None:
        query = query.where(team.in_(list(team_ids)))
    if item is not None:
        query = query.where(r.rule_id == item[0], r.record_id == item[1])
    return [Entry(*row) for row in conn.execute(query)]
