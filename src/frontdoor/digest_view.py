"""What a message says, as ready-made strings for the e-mail templates (pure).

:func:`build_view` turns a :class:`~frontdoor.digest_items.PlannedMessage` into a
:class:`MessageView`: every grouping, sort, count, time format and case-system link is decided
here, so the templates in ``templates/email/`` only loop and print. :mod:`frontdoor.system_views`
does the same for the two system messages. Nothing here reads a database,
the clock or a template; ``now`` and the time zone are parameters.

Data protection: views carry record, child and team ids, team names, times, agency names,
rationale reason codes and the managers' own names and addresses. Never a child's name, an
address or a rationale's free text (:class:`~frontdoor.digest_items.RationaleState` has none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from frontdoor.digest_items import DigestItem, PlannedMessage, TeamContacts
from frontdoor.links import WebLinks as WebLinks
from frontdoor.links import format_case_url as format_case_url
from frontdoor.rules import AttendanceRule, TimescaleRule

SUBJECT_MAX = 149  # characters: subjects stay under 150
BACKLOG_ROWS = 10

# Per record kind: the row label, the section title, and what its start time is called.
KINDS = {
    "contact": ("Contact", "Contacts without an outcome", "Received"),
    "referral": ("Referral", "Referrals without a decision", "Received"),
    "strategy_discussion": (
        "Strategy discussion",
        "Strategy discussions missing an agency",
        "Held",
    ),
    "s47_enquiry": ("S47 enquiry", "S47 enquiries without an ICPC", "Started"),
    "assessment": ("Assessment", "Assessments not authorised", "Started"),
}
AGENCY_LABELS = {"local_authority": "local authority"}


@dataclass(frozen=True)
class CountLine:
    """One labelled number in a message's summary."""

    label: str
    count: int


@dataclass(frozen=True)
class RowView:
    """One item as a stacked block. ``due``/``overdue_by`` are None for attendance items,
    ``missing_agencies`` None for timescale items, ``worker`` None for kinds without one,
    ``link`` None when no case-system URL template is configured for the record kind."""

    rule_id: str
    record_kind: str
    record_id: str
    child_id: str
    team_id: str
    started_label: str
    started: str
    due: str | None
    overdue_by: str | None
    worker: str | None
    rationale: str
    is_new: bool
    missing_agencies: str | None
    link: str | None
    # The web form for a decision or rationale (None when the web app is not configured).
    action: str | None = None


@dataclass(frozen=True)
class SectionView:
    """The items of one rule (or, in a backlog summary, the oldest items of every rule:
    ``show_rule`` then asks the templates to print each row's rule id)."""

    rule_id: str
    title: str
    description: str
    summary: str
    rows: tuple[RowView, ...]
    total: int
    hidden: int
    more_text: str | None
    show_rule: bool


@dataclass(frozen=True)
class MessageView:
    """Everything a digest, backlog or escalation template prints."""

    kind: str
    reason: str
    subject: str
    preheader: str
    heading: str
    intro: tuple[str, ...]
    recipient_name: str
    team_labels: tuple[str, ...]
    slot: str
    next_slot: str
    next_line: str
    timezone: str
    total: int
    new: int
    with_rationale: int
    summary_counts: tuple[CountLine, ...]
    rule_counts: tuple[CountLine, ...]
    team_counts: tuple[CountLine, ...]
    sections: tuple[SectionView, ...]
    # The recipient's dashboard in the web app (None when it is not configured).
    dashboard: str | None = None


def format_when(value: datetime, tz: tzinfo) -> str:
    """A local time for people, e.g. ``Mon 23 Nov 2026 12:30 GMT``."""
    local = value.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def format_duration(delta: timedelta) -> str:
    """A short duration, whole minutes rounded down: ``3d 4h`` from a day, ``5h 20m`` under a
    day, ``45m`` under an hour; a zero second part is left out (``3d``, ``5h``). Negative
    durations count as zero."""
    minutes = max(0, int(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    big, small = (f"{days}d", f"{hours}h") if days else (f"{hours}h", f"{mins}m")
    if not days and not hours:
        return f"{mins}m"
    return big if small[:-1] == "0" else f"{big} {small}"


def agencies_text(codes: Sequence[str]) -> str:
    """Agency codes as words: ``("local_authority", "police")`` -> ``local authority, police``."""
    return ", ".join(AGENCY_LABELS.get(c, c.replace("_", " ")) for c in codes)


def team_label(team: TeamContacts) -> str:
    """``DAT-A Duty and Advice Team A`` (the id alone when the name adds nothing)."""
    name = team.team_name.strip()
    return team.team_id if not name or name == team.team_id else f"{team.team_id} {name}"


def case_link(item: DigestItem, case_urls: Mapping[str, str]) -> str | None:
    """The case-system URL for ``item`` from its kind's template (:func:`format_case_url`)."""
    return format_case_url(
        case_urls.get(item.record_kind), item.record_id, item.child_id, item.team_id
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _rationale_text(item: DigestItem, tz: tzinfo, reasons: Mapping[str, str]) -> str:
    r = item.rationale
    if r is None:
        return "none"
    if not r.current:
        return f"expired {format_when(r.review_by, tz)}"
    # The configured label; a code no longer configured is shown in words.
    words = reasons.get(r.reason) or r.reason.replace("_", " ").replace("-", " ").strip()
    return f"{words} (by {r.recorded_by}), review by {format_when(r.review_by, tz)}"


def _row(
    item: DigestItem,
    *,
    tz: tzinfo,
    now: datetime,
    new: bool,
    urls: Mapping[str, str],
    web: WebLinks | None = None,
    reasons: Mapping[str, str] | None = None,
) -> RowView:
    reasons = reasons or {}
    worker = item.worker_id
    if item.record_kind == "contact" and worker is None:
        worker = "unallocated"
    return RowView(
        rule_id=item.rule_id,
        record_kind=_kind(item.record_kind)[0],
        record_id=item.record_id,
        child_id=item.child_id,
        team_id=item.team_id,
        started_label=_kind(item.record_kind)[2],
        started=format_when(item.started_at, tz),
        due=None if item.due_at is None else format_when(item.due_at, tz),
        overdue_by=None if item.due_at is None else format_duration(now - item.due_at),
        worker=worker,
        rationale=_rationale_text(item, tz, reasons),
        is_new=new,
        missing_agencies=agencies_text(item.missing_agencies) if item.missing_agencies else None,
        link=case_link(item, urls),
        action=None if web is None else web.item(item.rule_id, item.record_id),
    )


def _oldest(items: Sequence[DigestItem]) -> list[DigestItem]:
    return sorted(items, key=lambda i: (i.breached_at, i.record_id))


def pick_rows(
    items: Sequence[DigestItem], new_ids: frozenset[int], max_rows: int
) -> list[DigestItem]:
    """The items to show, oldest breach first (then record id): every new item, plus the
    oldest others up to ``max_rows`` in all (more than ``max_rows`` only if that many are new)."""
    ordered = _oldest(items)
    new = [i for i in ordered if i.breach_id in new_ids]
    others = [i for i in ordered if i.breach_id not in new_ids]
    return _oldest(new + others[: max(0, max_rows - len(new))])


def _kind(kind: str) -> tuple[str, str, str]:
    words = kind.replace("_", " ").capitalize()
    return KINDS.get(kind, (words, words, "Started"))


def _title(rule: TimescaleRule | AttendanceRule | None, items: Sequence[DigestItem]) -> str:
    return _kind(rule.record if rule is not None else items[0].record_kind)[1]


def _section(
    rule_id: str,
    rule: TimescaleRule | AttendanceRule | None,
    items: Sequence[DigestItem],
    rows: tuple[RowView, ...],
) -> SectionView:
    hidden = len(items) - len(rows)
    return SectionView(
        rule_id=rule_id,
        title=_title(rule, items),
        description=rule.description if rule is not None else "",
        summary=rule.summary() if rule is not None else rule_id,
        rows=rows,
        total=len(items),
        hidden=hidden,
        more_text=f"{hidden} more not shown" if hidden else None,
        show_rule=False,
    )


def fit_subject(head: str, team_ids: Sequence[str], tail: str = "") -> str:
    """``head (TEAM, TEAM)tail`` in at most :data:`SUBJECT_MAX` characters: teams that do not
    fit become ``+N``; as a last resort the subject is cut with an ellipsis."""
    n = len(team_ids)
    subject = head + tail
    for keep in range(n, -1, -1) if n else ():
        shown = [*team_ids[:keep], *([f"+{n - keep}"] if keep < n else [])]
        subject = f"{head} ({', '.join(shown)}){tail}"
        if len(subject) <= SUBJECT_MAX:
            return subject
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


@dataclass(frozen=True)
class _Wording:
    subject: str
    heading: str
    intro: tuple[str, ...]


def _wording(
    msg: PlannedMessage, *, total: int, new: int, escalate_after: str, tz: tzinfo
) -> _Wording:
    teams = [t.team_id for t in msg.teams]
    items = plural(total, "open overdue item")
    if msg.kind == "backlog":
        return _Wording(
            fit_subject(f"frontdoor: backlog at go-live, {items}", teams),
            "Overdue items at go-live",
            (
                "This is a one-off summary of the backlog that existed when frontdoor started "
                "sending digests: these items were already overdue then. It shows the counts "
                f"and the {BACKLOG_ROWS} oldest items.",
                "From now on a digest comes when something new becomes overdue, plus a "
                "reminder on the next working day while items stay open without a current "
                "rationale.",
            ),
        )
    if msg.kind == "escalation":
        return _Wording(
            fit_subject(
                f"frontdoor escalation: {plural(total, 'item')} open over {escalate_after} "
                "without a rationale",
                teams,
            ),
            "Overdue items escalated to you",
            (
                f"These items have been open more than {escalate_after} after their breach "
                "with no current manager rationale.",
                "You get this as service manager for "
                f"{', '.join(team_label(t) for t in msg.teams)}.",
            ),
        )
    slot = msg.slot.astimezone(tz)
    lead = f"{new} new, " if new else "reminder, "
    return _Wording(
        fit_subject(f"frontdoor: {lead}{items}", teams, f" - {slot.day} {slot:%b %H:%M}"),
        "Overdue items for your team" + ("s" if len(teams) > 1 else ""),
        (
            f"{plural(new, 'item')} became overdue since your last digest (marked NEW)."
            if new
            else "A reminder: these items are still overdue and some have no current rationale.",
            "Every open overdue item is listed below by rule, oldest first.",
        ),
    )


def build_view(
    msg: PlannedMessage,
    *,
    rules: Sequence[TimescaleRule | AttendanceRule],
    tz: ZoneInfo,
    case_urls: Mapping[str, str],
    now: datetime,
    escalate_after: str,
    max_rows: int = 30,
    web: WebLinks | None = None,
    reasons: Mapping[str, str] | None = None,
) -> MessageView:
    """The view of ``msg`` at ``now`` (aware; used for "overdue by"), times shown in ``tz``.

    Sections follow ``rules`` order (items of a rule not in ``rules`` come last, by rule id),
    each with at most ``max_rows`` rows chosen by :func:`pick_rows`. A ``backlog`` message
    instead has one "Oldest items" section of the :data:`BACKLOG_ROWS` oldest items and no NEW
    markers. Per-team counts are given only when the recipient has more than one team; an
    escalation has no "with a current rationale" count (it lists items without one) and says
    "Next check at" instead of "Next digest at". ``escalate_after`` is the configured
    wording, e.g. ``"1 working day"``.
    """
    items = msg.items
    new_ids = frozenset(i.breach_id for i in items) & msg.new_ids
    by_id = {r.id: r for r in rules}
    order = {r.id: n for n, r in enumerate(rules)}
    groups: dict[str, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.rule_id, []).append(item)
    rule_ids = sorted(groups, key=lambda r: (order.get(r, len(order)), r))
    labels = {t.team_id: team_label(t) for t in msg.teams}
    total, new = len(items), len(new_ids)
    with_rationale = sum(i.has_current_rationale for i in items)

    def rows(chosen: Sequence[DigestItem], *, marked: bool) -> tuple[RowView, ...]:
        return tuple(
            _row(
                i,
                tz=tz,
                now=now,
                new=marked and i.breach_id in new_ids,
                urls=case_urls,
                web=web,
                reasons=reasons,
            )
            for i in chosen
        )

    sections: tuple[SectionView, ...] = ()
    if msg.kind == "backlog" and items:
        whole = _section("", None, items, rows(_oldest(items)[:BACKLOG_ROWS], marked=False))
        sections = (replace(whole, title="Oldest items", summary="", show_rule=True),)
    elif msg.kind != "backlog":
        sections = tuple(
            _section(
                r,
                by_id.get(r),
                groups[r],
                rows(pick_rows(groups[r], new_ids, max_rows), marked=True),
            )
            for r in rule_ids
        )
    per_team = Counter(i.team_id for i in items)
    teams = [*labels, *sorted(set(per_team) - set(labels))]
    team_counts = tuple(CountLine(labels.get(t, t), per_team[t]) for t in teams)
    summary_counts: tuple[CountLine, ...] = (CountLine("Open overdue items", total),)
    if msg.kind != "backlog":  # a backlog is all new
        summary_counts += (CountLine(f"New since your last {msg.kind}", new),)
    if msg.kind != "escalation":  # an escalation lists items without a current rationale
        summary_counts += (CountLine("With a current rationale", with_rationale),)
    next_slot = format_when(msg.next_slot, tz)
    words = _wording(msg, total=total, new=new, escalate_after=escalate_after, tz=tz)
    return MessageView(
        kind=msg.kind,
        reason=msg.reason,
        subject=words.subject,
        preheader=", ".join(f"{c.label}: {c.count}" for c in summary_counts),
        heading=words.heading,
        intro=words.intro,
        recipient_name=msg.recipient_name,
        team_labels=tuple(labels.values()),
        slot=format_when(msg.slot, tz),
        next_slot=next_slot,
        next_line=f"Next {'check' if msg.kind == 'escalation' else 'digest'} at {next_slot}.",
        timezone=tz.key,
        total=total,
        new=new,
        with_rationale=with_rationale,
        summary_counts=summary_counts,
        rule_counts=tuple(
            CountLine(_title(by_id.get(r), groups[r]), len(groups[r])) for r in rule_ids
        ),
        team_counts=team_counts if len(teams) > 1 else (),
        sections=sections,
        dashboard=None if web is None else web.dashboard,
    )
