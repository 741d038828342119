"""Who gets which message at a digest slot: the anti-noise and escalation policy (pure).

Inputs are the open items (already re-checked against their records at build time), the
teams, what each recipient was told before, and the go-live baseline. Nothing here reads a
database or the clock.

The policy, per recipient and level (1 = team manager digest, 2 = service manager escalation):

* **New**: an item the recipient has never been told about at this level makes a message
  at this slot. The message lists every open item, the new ones marked.
* **Backlog**: at go-live (the first digest pass) every breach already recorded is the
  pre-existing backlog. A team manager whose unseen items are all backlog gets one
  ``backlog`` summary instead of a digest of "new" items; from then on only newer breaches
  count as new.
* **Repeat**: with nothing new, a reminder listing the open items goes out once the repeat
  interval has passed since the recipient's last message at this level (default: the first
  slot of the next working day), and only if some item has no current manager rationale.
* **Escalation**: an item goes to the team's service manager once it has been open
  ``escalate_after`` working time after its breach (counted from go-live for the backlog)
  and has no current rationale. Each service manager is told about an item once, then only
  by the repeat rule.

No message is planned for a recipient with nothing open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdoor.clock import WorkingCalendar
from frontdoor.digest_items import (
    DigestItem,
    History,
    MessageKind,
    PlannedMessage,
    SendReason,
    TeamContacts,
)
from frontdoor.slots import DigestSchedule, Repeat, escalation_cutoff, repeat_due

_NEVER = History(last_slot=None, notified=frozenset())


@dataclass(frozen=True)
class Policy:
    """The notification settings the planner applies."""

    schedule: DigestSchedule
    repeat: Repeat
    escalate_after: timedelta


@dataclass(frozen=True)
class Plan:
    """The messages for one slot, and the items no team routes (their team is unknown)."""

    messages: list[PlannedMessage]
    unrouted: list[DigestItem]


def oldest_first(items: Iterable[DigestItem]) -> list[DigestItem]:
    """Items by breach moment, then rule and record id (a stable, readable order)."""
    return sorted(items, key=lambda i: (i.breached_at, i.rule_id, i.record_id))


def escalation_due(item: DigestItem, *, cutoff: datetime, baseline: datetime) -> bool:
    """Whether ``item`` belongs in its service manager's escalation: no current rationale
    and its escalation moment (:func:`~frontdoor.slots.escalation_moment`) at or before
    ``now``, which is ``max(breached_at, baseline) <= cutoff`` for the
    :func:`~frontdoor.slots.escalation_cutoff` of ``now``."""
    if item.has_current_rationale:
        return False
    return max(item.breached_at, baseline) <= cutoff


def plan_slot(
    items: Sequence[DigestItem],
    teams: Sequence[TeamContacts],
    histories: Mapping[tuple[str, int], History],
    *,
    slot: datetime,
    now: datetime,
    baseline: datetime,
    policy: Policy,
    cal: WorkingCalendar,
) -> Plan:
    """The messages due at ``slot`` (see the module docstring for the rules).

    ``histories`` is keyed by (recipient address, level); a missing key means "never told
    anything". Messages come out ordered by level, then recipient address.
    """
    by_team = {t.team_id: t for t in teams}
    cutoff = escalation_cutoff(cal, now=now, after=policy.escalate_after)
    unrouted = [i for i in items if i.team_id not in by_team]
    next_slot = policy.schedule.next_after(slot)
    messages: list[PlannedMessage] = []

    for email, (name, own_teams) in sorted(_recipients(teams, level=1).items()):
        mine = oldest_first(i for i in items if i.team_id in own_teams)
        choice = _decide_level1(mine, histories.get((email, 1), _NEVER), baseline, slot, policy)
        if choice is not None:
            kind, reason, new_ids = choice
            messages.append(
                PlannedMessage(
                    email,
                    name,
                    kind,
                    reason,
                    slot,
                    next_slot,
                    tuple(by_team[t] for t in sorted(own_teams)),
                    tuple(mine),
                    new_ids,
                )
            )

    for email, (name, own_teams) in sorted(_recipients(teams, level=2).items()):
        due = oldest_first(
            i
            for i in items
            if i.team_id in own_teams and escalation_due(i, cutoff=cutoff, baseline=baseline)
        )
        hist = histories.get((email, 2), _NEVER)
        unseen = frozenset(i.breach_id for i in due) - hist.notified
        why = _decide_level2(due, unseen, hist, slot, policy)
        if why is not None:
            messages.append(
                PlannedMessage(
                    email,
                    name,
                    "escalation",
                    why,
                    slot,
                    next_slot,
                    tuple(by_team[t] for t in sorted(own_teams)),
                    tuple(due),
                    unseen,
                )
            )
    return Plan(messages=messages, unrouted=unrouted)


def preview_for(
    email: str,
    items: Sequence[DigestItem],
    teams: Sequence[TeamContacts],
    *,
    slot: datetime,
    now: datetime,
    baseline: datetime,
    policy: Policy,
    cal: WorkingCalendar,
) -> PlannedMessage | None:
    """The message ``email`` would get at ``slot`` if the anti-noise policy let it through:
    their team manager digest, or (for a service manager only) their escalation. None when
    the address is no manager's in ``teams``."""
    wanted = email.strip().lower()
    cutoff = escalation_cutoff(cal, now=now, after=policy.escalate_after)
    for level, kind in ((1, "digest"), (2, "escalation")):
        for addr, (name, own_teams) in _recipients(teams, level=level).items():
            if addr != wanted:
                continue
            mine = [i for i in items if i.team_id in own_teams]
            if level == 2:
                mine = [i for i in mine if escalation_due(i, cutoff=cutoff, baseline=baseline)]
            by_team = {t.team_id: t for t in teams}
            chosen: MessageKind = "digest" if kind == "digest" else "escalation"
            return PlannedMessage(
                addr,
                name,
                chosen,
                "new",
                slot,
                policy.schedule.next_after(slot),
                tuple(by_team[t] for t in sorted(own_teams)),
                tuple(oldest_first(mine)),
                frozenset(),
            )
    return None


def _recipients(teams: Sequence[TeamContacts], *, level: int) -> dict[str, tuple[str, set[str]]]:
    """Address -> (name, team ids) for team managers (level 1) or service managers (2).

    Addresses are compared and returned in lower case (``Tm.A@x`` and ``tm.a@x`` are one
    mailbox: one message, one history); the name is the first team's.
    """
    out: dict[str, tuple[str, set[str]]] = {}
    for t in teams:
        email, name = (
            (t.manager_email, t.manager_name)
            if level == 1
            else (t.service_manager_email, t.service_manager_name)
        )
        out.setdefault(email.strip().lower(), (name, set()))[1].add(t.team_id)
    return out


def _decide_level1(
    mine: Sequence[DigestItem],
    hist: History,
    baseline: datetime,
    slot: datetime,
    policy: Policy,
) -> tuple[MessageKind, SendReason, frozenset[int]] | None:
    if not mine:
        return None
    unseen = [i for i in mine if i.breach_id not in hist.notified]
    unseen_ids = frozenset(i.breach_id for i in unseen)
    if any(i.first_detected_at > baseline for i in unseen):
        return "digest", "new", unseen_ids
    if unseen:  # only breaches that existed at go-live: summarise them once
        return "backlog", "backlog", unseen_ids
    if _may_repeat(hist, slot, policy) and any(not i.has_current_rationale for i in mine):
        return "digest", "repeat", frozenset()
    return None


def _decide_level2(
    due: Sequence[DigestItem],
    unseen: frozenset[int],
    hist: History,
    slot: datetime,
    policy: Policy,
) -> SendReason | None:
    if unseen:
        return "new"
    if due and _may_repeat(hist, slot, policy):
        return "repeat"
    return None


def _may_repeat(hist: History, slot: datetime, policy: Policy) -> bool:
    if hist.last_slot is None:
        return True
    return repeat_due(policy.schedule, policy.repeat, last=hist.last_slot, slot=slot)
