"""What the web pages say, as ready-made strings (pure).

The templates in ``templates/web/`` only loop and print: grouping, sorting, counting, time
formats, links and form validation are decided here, as :mod:`frontdoor.digest_view` does for
the e-mails. Nothing here reads a database, the clock or a template; ``now`` and the time zone
are parameters.

Data protection: an item view carries the rationale's free text (``note``) because the item
page shows it to people allowed to see the item. Nothing in this module logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal

from frontdoor.digest_items import DigestItem, RationaleState, TeamContacts
from frontdoor.digest_view import KINDS, agencies_text, format_duration, format_when, team_label
from frontdoor.links import item_path
from frontdoor.rationale import NOTE_MAX, Entry
from frontdoor.rules import AttendanceRule, TimescaleRule
from frontdoor.web_data import LedgerRow, Notification

AnyRule = TimescaleRule | AttendanceRule
RationaleStatus = Literal["none", "current", "expired"]


def item_href(rule_id: str, record_id: str) -> str:
    """The item page's site-relative URL (each id percent-quoted)."""
    return item_path(rule_id, record_id)


def kind_labels(kind: str) -> tuple[str, str, str]:
    """(row label, section title, name of the start time) of a record kind."""
    words = kind.replace("_", " ").capitalize()
    return KINDS.get(kind, (words, words, "Started"))


def rule_limit(rule: AnyRule) -> str:
    """The rule's limit in words: ``Within 24 clock hours`` or the agencies it requires."""
    if isinstance(rule, AttendanceRule):
        return f"Required to take part: {agencies_text(rule.required_agencies)}"
    return f"Within {rule.limit_text}"


def rationale_status(
    state: RationaleState | Entry | None, reasons: Mapping[str, str], tz: tzinfo, now: datetime
) -> tuple[RationaleStatus, str]:
    """("none" | "current" | "expired", words) for the latest rationale of an item."""
    if state is None:
        return "none", "None recorded"
    label = reasons.get(state.reason, state.reason)
    if state.review_by > now:
        return "current", f"{label} until {format_when(state.review_by, tz)}"
    return "expired", f"Expired {format_when(state.review_by, tz)} ({label})"


# -- dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """One open overdue item. ``due``/``overdue_by`` are None for attendance items,
    ``missing`` None for timescale items."""

    href: str
    record_id: str
    kind_label: str
    child_id: str
    team: str
    started_label: str
    started: str
    due: str | None
    overdue_by: str | None
    missing: str | None
    rationale_state: RationaleStatus
    rationale: str


@dataclass(frozen=True)
class RuleGroup:
    """The items of one rule, oldest breach first."""

    rule_id: str
    title: str
    limit: str
    description: str
    rows: tuple[ItemRow, ...]


@dataclass(frozen=True)
class TeamOption:
    team_id: str
    label: str
    selected: bool


@dataclass(frozen=True)
class DashboardView:
    """Everything ``dashboard.html`` prints."""

    as_of: str
    total: int
    with_rationale: int
    expired: int
    without: int
    teams: tuple[TeamOption, ...]
    selected_team: str | None
    groups: tuple[RuleGroup, ...]
    #: When the data feed went stale (local, formatted); None while it is fresh or unchecked.
    feed_stale_since: str | None = None


def build_dashboard(
    items: Sequence[DigestItem],
    rules: Sequence[AnyRule],
    teams: Sequence[TeamContacts],
    *,
    visible: Sequence[str],
    selected: str | None,
    reasons: Mapping[str, str],
    tz: tzinfo,
    now: datetime,
    feed_stale_since: datetime | None = None,
) -> DashboardView:
    """The dashboard of the items whose (current) team is in ``visible`` (only ``selected``
    when given; the caller has checked it is visible), grouped in ``rules`` order;
    ``feed_stale_since`` (set while the data feed is stale) shows a warning."""
    shown = set(visible) if selected is None else {selected}
    labels = {t.team_id: team_label(t) for t in teams}
    mine = sorted(
        (i for i in items if i.team_id in shown), key=lambda i: (i.breached_at, i.record_id)
    )
    rows_by_rule: dict[str, list[ItemRow]] = {}
    counts = {"none": 0, "current": 0, "expired": 0}
    for item in mine:
        state, words = rationale_status(item.rationale, reasons, tz, now)
        counts[state] += 1
        label, _, started_label = kind_labels(item.record_kind)
        rows_by_rule.setdefault(item.rule_id, []).append(
            ItemRow(
                href=item_href(item.rule_id, item.record_id),
                record_id=item.record_id,
                kind_label=label,
                child_id=item.child_id,
                team=labels.get(item.team_id, item.team_id),
                started_label=started_label,
                started=format_when(item.started_at, tz),
                due=None if item.due_at is None else format_when(item.due_at, tz),
                overdue_by=None if item.due_at is None else format_duration(now - item.due_at),
                missing=agencies_text(item.missing_agencies) if item.missing_agencies else None,
                rationale_state=state,
                rationale=words,
            )
        )
    groups = [
        RuleGroup(
            rule.id,
            kind_labels(rule.record)[1],
            rule_limit(rule),
            rule.description,
            tuple(rows_by_rule.pop(rule.id)),
        )
        for rule in rules
        if rule.id in rows_by_rule
    ]
    for rule_id in sorted(rows_by_rule):  # a rule no longer configured: still shown
        groups.append(RuleGroup(rule_id, rule_id, "", "", tuple(rows_by_rule[rule_id])))
    options = tuple(TeamOption(t, labels.get(t, t), t == selected) for t in sorted(set(visible)))
    return DashboardView(
        as_of=format_when(now, tz),
        total=len(mine),
        with_rationale=counts["current"],
        expired=counts["expired"],
        without=counts["none"],
        teams=options,
        selected_team=selected,
        groups=tuple(groups),
        feed_stale_since=None if feed_stale_since is None else format_when(feed_stale_since, tz),
    )


# -- item page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One moment in an item's timeline. ``note`` is a rationale's free text."""

    when: str
    title: str
    lines: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class ItemView:
    """Everything ``item.html`` prints."""

    href: str
    form_href: str
    rule_id: str
    record_id: str
    kind_label: str
    rule_title: str
    rule_limit: str
    team: str
    child_id: str
    status: str
    rationale_state: RationaleStatus
    rationale: str
    events: tuple[Event, ...]


_SENT_TITLES = {
    "digest": "Listed in a digest",
    "backlog": "Listed in the go-live backlog summary",
    "escalation": "Escalated to the service manager",
    "weekly-report": "Listed in a weekly report",
}


def _notification_event(n: Notification, tz: tzinfo) -> tuple[datetime, Event]:
    if n.sent_at is not None:
        fate = f"sent {format_when(n.sent_at, tz)}"
    elif n.superseded:
        fate = "replaced by a newer message before it was sent"
    elif n.failed_at is not None:
        fate = f"could not be delivered (given up {format_when(n.failed_at, tz)})"
    else:
        fate = "queued, not sent yet"
    lines = (f"To {n.recipient}", fate.capitalize(), *(("New to them",) if n.is_new else ()))
    title = _SENT_TITLES.get(n.kind, f"Message ({n.kind})")
    return n.created_at, Event(format_when(n.created_at, tz), title, lines)


def build_item(
    row: LedgerRow,
    rule: AnyRule | None,
    team: TeamContacts | None,
    sent: Sequence[Notification],
    entries: Sequence[Entry],
    *,
    reasons: Mapping[str, str],
    tz: tzinfo,
    now: datetime,
) -> ItemView:
    """The item page: its ledger facts, then every event oldest first. ``entries`` are its
    rationale entries, newest first (as :func:`frontdoor.rationale.entries` returns them)."""
    label, title, started_label = kind_labels(rule.record if rule is not None else "record")
    timed: list[tuple[datetime, int, Event]] = []

    def add(at: datetime, event: Event) -> None:
        timed.append((at, len(timed), event))

    started_lines = (
        (f"Missing: {agencies_text(row.missing_agencies)}",) if row.missing_agencies else ()
    )
    add(row.started_at, Event(format_when(row.started_at, tz), started_label, started_lines))
    if row.due_at is not None:
        add(row.due_at, Event(format_when(row.due_at, tz), "Due: the timescale ran out", ()))
    add(
        row.first_detected_at,
        Event(format_when(row.first_detected_at, tz), "Breach detected by frontdoor", ()),
    )
    for n in sent:
        add(*_notification_event(n, tz))
    for e in reversed(entries):
        # Only the latest entry counts; an earlier one was superseded when the next came.
        latest = e is entries[0]
        state = "superseded" if not latest else "current" if e.current(now) else "expired"
        lines = (f"By {e.recorded_by}", f"Review by {format_when(e.review_by, tz)} ({state})")
        reason = reasons.get(e.reason, e.reason)
        add(
            e.recorded_at,
            Event(format_when(e.recorded_at, tz), f"Rationale: {reason}", lines, e.note),
        )
    if row.resolved_at is not None:
        add(row.resolved_at, Event(format_when(row.resolved_at, tz), "Resolved", ()))
        status = f"Resolved {format_when(row.resolved_at, tz)}"
    elif row.due_at is not None:
        status = f"Open, overdue by {format_duration(now - row.due_at)}"
    else:
        status = f"Open: {agencies_text(row.missing_agencies) or 'an agency'} did not take part"
    state, words = rationale_status(entries[0] if entries else None, reasons, tz, now)
    return ItemView(
        href=item_href(row.rule_id, row.record_id),
        form_href=item_href(row.rule_id, row.record_id) + "/rationale",
        rule_id=row.rule_id,
        record_id=row.record_id,
        kind_label=label,
        rule_title=title if rule is not None else row.rule_id,
        rule_limit=rule_limit(rule) if rule is not None else "",
        team=team_label(team) if team is not None else row.team_id,
        child_id=row.child_id,
        status=status,
        rationale_state=state,
        rationale=words,
        events=tuple(e for _, _, e in sorted(timed, key=lambda t: (t[0], t[1]))),
    )


# -- rationale form --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonOption:
    code: str
    label: str
    selected: bool


@dataclass(frozen=True)
class FieldError:
    """One problem, GOV.UK style: ``field`` is the id of the input it links to."""

    field: str
    message: str


@dataclass(frozen=True)
class FormView:
    """Everything ``rationale_form.html`` prints (``note`` is the person's own text, shown
    back to them when the form is re-displayed)."""

    action: str
    item: ItemView
    reasons: tuple[ReasonOption, ...]
    note: str
    note_max: int
    review_by: str
    review_hint: str
    csrf: str
    errors: tuple[FieldError, ...]

    def error_for(self, field: str) -> str | None:
        return next((e.message for e in self.errors if e.field == field), None)


@dataclass(frozen=True)
class Submission:
    """A valid form: what :func:`frontdoor.rationale.add` is called with."""

    reason: str
    note: str | None
    review_by: datetime


def local_input(value: datetime, tz: tzinfo) -> str:
    """``value`` as a ``datetime-local`` input value in ``tz`` (minutes)."""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def parse_local_input(value: str, tz: tzinfo) -> datetime:
    """A ``datetime-local`` value (local time in ``tz``) as an aware UTC instant. Raises
    ``ValueError`` for a malformed value or a local time that does not exist (the hour
    skipped when clocks go forward)."""
    naive = datetime.fromisoformat(value.strip())
    if naive.tzinfo is not None:
        raise ValueError("give a local date and time")
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise ValueError("that time does not exist (the clocks go forward)")
    return aware.astimezone(UTC)


def validate(
    form: Mapping[str, str], *, reasons: Mapping[str, str], tz: tzinfo, now: datetime
) -> tuple[Submission | None, tuple[FieldError, ...]]:
    """Check the posted fields; a :class:`Submission` when all are valid, else the errors in
    the order of the fields on the page."""
    errors: list[FieldError] = []
    reason = form.get("reason", "")
    if reason not in reasons:
        errors.append(FieldError("reason", "Select a reason from the list"))
    # Browsers send a new line as CR LF; count it as one character, as the textarea does.
    note = form.get("note", "").replace("\r\n", "\n")
    if len(note) > NOTE_MAX:
        errors.append(FieldError("note", f"The note must be {NOTE_MAX} characters or fewer"))
    review: datetime | None = None
    try:
        review = parse_local_input(form.get("review_by", ""), tz)
    except ValueError:
        errors.append(FieldError("review_by", "Enter the review time as a date and time"))
    if review is not None and review <= now:
        errors.append(FieldError("review_by", "The review time must be in the future"))
    if errors or review is None:
        return None, tuple(errors)
    return Submission(reason, note.strip() or None, review), ()


def reason_options(reasons: Mapping[str, str], chosen: str | None) -> tuple[ReasonOption, ...]:
    return tuple(ReasonOption(c, label, c == chosen) for c, label in reasons.items())
