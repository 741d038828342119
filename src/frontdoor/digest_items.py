"""Value types shared by digest planning, rendering and the outbox.

Plain frozen dataclasses with no behaviour that touches a database, a clock or a template:
the planner (:mod:`frontdoor.digest_plan`) turns :class:`DigestItem` lists into
:class:`PlannedMessage` values, the view builder (:mod:`frontdoor.digest_view`) turns those
into strings for the templates, and the outbox stores them.

Data protection: these carry ids, team ids, timestamps, agency codes, a rationale *reason code*
and the manager's and service manager's own names and addresses. Never a child's name, an
address or the free text of a rationale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# What a message is. "digest": team manager, level 1. "backlog": the one-off summary of the
# pre-existing backlog at go-live, level 1. "escalation": service manager, level 2.
MessageKind = Literal["digest", "backlog", "escalation"]
# Why it is sent at this slot: something new, the repeat interval passed, or go-live.
SendReason = Literal["new", "repeat", "backlog"]

LEVEL_OF: dict[MessageKind, int] = {"digest": 1, "backlog": 1, "escalation": 2}


@dataclass(frozen=True)
class RationaleState:
    """The latest rationale recorded for an item. ``current`` while ``review_by`` > now."""

    reason: str
    recorded_by: str
    recorded_at: datetime
    review_by: datetime
    current: bool


@dataclass(frozen=True)
class DigestItem:
    """One open breach as a digest lists it, re-checked against its record at build time.

    ``breached_at`` is when the item became a breach: the due moment of a timescale rule, the
    discussion's ``held_at`` for an attendance rule. ``due_at`` is None and
    ``missing_agencies`` non-empty for attendance rules. ``team_id`` and ``child_id`` are the
    record's current values (a record can move team after its breach was recorded).
    """

    breach_id: int
    rule_id: str
    record_kind: str
    record_id: str
    child_id: str
    team_id: str
    started_at: datetime
    due_at: datetime | None
    breached_at: datetime
    first_detected_at: datetime
    missing_agencies: tuple[str, ...]
    worker_id: str | None
    rationale: RationaleState | None

    @property
    def has_current_rationale(self) -> bool:
        """True while a manager's rationale for this item is within its review time."""
        return self.rationale is not None and self.rationale.current


@dataclass(frozen=True)
class TeamContacts:
    """Who receives a team's messages (from teams.csv)."""

    team_id: str
    team_name: str
    manager_name: str
    manager_email: str
    service_manager_name: str
    service_manager_email: str


@dataclass(frozen=True)
class History:
    """What one recipient was already told at one level.

    ``last_slot`` is the slot of their latest message at that level (None: never);
    ``notified`` the breach ids any earlier message at that level covered.
    """

    last_slot: datetime | None
    notified: frozenset[int]


@dataclass(frozen=True)
class PlannedMessage:
    """One message the planner decided to send at ``slot``.

    ``items`` are every item the message lists (oldest breach first); ``new_ids`` those the
    recipient has not been told about at this level before.
    """

    recipient_email: str
    recipient_name: str
    kind: MessageKind
    reason: SendReason
    slot: datetime
    next_slot: datetime
    teams: tuple[TeamContacts, ...]
    items: tuple[DigestItem, ...]
    new_ids: frozenset[int]

    @property
    def level(self) -> int:
        """1 for team managers, 2 for service managers."""
        return LEVEL_OF[self.kind]
