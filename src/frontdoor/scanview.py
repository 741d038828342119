"""Presenting scan results: the ``--json`` document and the human tables (pure).

Output carries record ids, team ids, child ids and times only: nothing else from case records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from frontdoor.evaluate import Finding
from frontdoor.rules import AttendanceRule, TimescaleRule


def iso_utc(value: datetime) -> str:
    """An aware instant as ISO 8601 UTC with a ``Z`` suffix."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def scan_document(now: datetime, findings: Sequence[Finding]) -> dict[str, Any]:
    """The ``scan --json`` document: ``{"now", "findings": [...]}`` in the given order."""
    return {
        "now": iso_utc(now),
        "findings": [
            {
                "rule": f.rule,
                "record_id": f.record_id,
                "team_id": f.team_id,
                "child_id": f.child_id,
                "started_at": iso_utc(f.started_at),
                "due_at": iso_utc(f.due_at) if f.due_at is not None else None,
                "overdue_hours": f.overdue_hours(now),
                "missing_agencies": list(f.missing_agencies)
                if f.missing_agencies is not None
                else None,
            }
            for f in findings
        ],
    }


@dataclass(frozen=True)
class CountTable:
    """Counts of findings by team (rows) and rule (columns), with totals."""

    rules: list[str]
    rows: list[tuple[str, list[int], int]]
    totals: list[int]
    total: int


def count_table(
    findings: Sequence[Finding],
    rules: Sequence[TimescaleRule | AttendanceRule],
) -> CountTable:
    """Findings counted by team and rule (teams with findings only)."""
    rule_ids = [r.id for r in rules]
    counts = Counter((f.team_id, f.rule) for f in findings)
    all_teams = sorted({f.team_id for f in findings})
    rows = []
    for team in all_teams:
        cells = [counts.get((team, r), 0) for r in rule_ids]
        rows.append((team, cells, sum(cells)))
    totals = [sum(row[1][i] for row in rows) for i in range(len(rule_ids))]
    return CountTable(rule_ids, rows, totals, sum(totals))


def oldest_open(findings: Sequence[Finding], *, limit: int = 10) -> list[Finding]:
    """The timescale findings that have been overdue longest (earliest due first)."""
    timed = [f for f in findings if f.due_at is not None]
    return sorted(timed, key=lambda f: (f.due_at, f.rule, f.record_id))[:limit]


def format_local(value: datetime, tz: tzinfo) -> str:
    """``YYYY-MM-DD HH:MM`` with the zone abbreviation, e.g. ``2026-11-23 09:15 GMT``."""
    local = value.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M %Z")


def format_overdue(hours: float) -> str:
    """Overdue time in days and hours, e.g. ``2d 3h`` or ``5h``."""
    whole = int(hours)
    days, rem = divmod(whole, 24)
    return f"{days}d {rem}h" if days else f"{rem}h"
