"""The weekly report's lists (database adapter): every breach whose due moment fell in the
week, and the oldest items still open at an instant. The figures are
:mod:`frontdoor.weekly_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    and_,
    false,
    func,
    or_,
    select,
)

from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    record_columns,
)
from frontdoor.models import (
    Assessment,
    Breach,
    S47Enquiry,
    table_of,
)
from frontdoor.weekly_figures import has_rationale, in_week
from frontdoor.weeks import ReportWeek


@dataclass(frozen=True)
class BreachLine:
    """One breach of the week for the appendix. ``resolved_at`` is when the monitor first
    saw the record closed (None: still open at the last scan)."""

    rule_id: str
    record_id: str
    child_id: str
    team_id: str
    due_at: datetime | None
    started_at: datetime
    resolved_at: datetime | None
    has_rationale: bool


def breach_list(conn: Connection, week: ReportWeek, *, team_ids: Sequence[str]) -> list[BreachLine]:
    """Every ledger breach whose due moment (attendance: ``held_at``) fell in ``week`` for
    the teams, ordered by due moment, rule and record id. ``has_rationale`` as for
    ``breaches_with_rationale``."""
    b = table_of(Breach).c
    query = (
        select(
            b.rule_id,
            b.record_id,
            b.child_id,
            b.team_id,
            b.due_at,
            b.started_at,
            b.resolved_at,
            has_rationale(week),
        )
        .where(in_week(week), b.team_id.in_(list(team_ids)))
        .order_by(func.coalesce(b.due_at, b.started_at), b.rule_id, b.record_id)
    )
    return [
        BreachLine(rule, record, child, team, due, started, resolved, bool(flag))
        for rule, record, child, team, due, started, resolved, flag in conn.execute(query)
    ]


@dataclass(frozen=True)
class OpenItem:
    """A record still open at an instant, for the "oldest open items" appendix.

    ``record`` is ``contact``, ``referral``, ``s47_enquiry`` or ``assessment``; ``started_at``
    is when the record exists from (``received_at``, or 00:00 local on its ``start_date``).
    """

    record: str
    record_id: str
    child_id: str
    team_id: str
    started_at: datetime


def oldest_open(
    conn: Connection,
    cal: WorkingCalendar,
    *,
    at: datetime,
    team_ids: Sequence[str],
    limit: int = 10,
) -> list[OpenItem]:
    """The ``limit`` oldest records of the teams that exist at ``at`` and have no completion
    recorded by then (contacts without ``outcome_at``, referrals without ``decision_at``,
    S47 enquiries without ``icpc_date`` or ``icpc_not_required = Y``, assessments without
    ``authorised_date``), oldest first (ties by record kind and id). One bounded query per
    record kind (``ORDER BY start LIMIT``), merged here."""
    teams = list(team_ids)
    today = cal.local_date(at)
    items: list[OpenItem] = []
    for record in ("contact", "referral"):
        c, rid, done = record_columns(record)
        query = (
            select(rid, c.child_id, c.team_id, c.received_at)
            .where(
                c.team_id.in_(teams),
                c.received_at <= at,
                or_(done.is_(None), done > at),
            )
            .order_by(c.received_at, rid)
            .limit(limit)
        )
        items += [OpenItem(record, *row) for row in conn.execute(query)]
    s = table_of(S47Enquiry).c
    a = table_of(Assessment).c
    for record, cols, open_ in (
        (
            "s47_enquiry",
            (s.s47_id, s.child_id, s.team_id, s.start_date),
            and_(
                or_(s.icpc_date.is_(None), s.icpc_date > today),
                or_(s.icpc_not_required.is_(None), s.icpc_not_required == false()),
                s.start_date <= today,
                s.team_id.in_(teams),
            ),
        ),
        (
            "assessment",
            (a.assessment_id, a.child_id, a.team_id, a.start_date),
            and_(
                or_(a.authorised_date.is_(None), a.authorised_date > today),
                a.start_date <= today,
                a.team_id.in_(teams),
            ),
        ),
    ):
        query = select(*cols).where(open_).order_by(cols[3], cols[0]).limit(limit)
        items += [
            OpenItem(record, rid, child, team, cal.start_of_day(day))
            for rid, child, team, day in conn.execute(query)
        ]
    items.sort(key=lambda i: (i.started_at, i.record, i.record_id))
    return items[:limit]
