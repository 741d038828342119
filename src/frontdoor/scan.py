"""Scan use cases: evaluate every rule at ``now`` and keep the breach ledger.

* :func:`run_scan` evaluates every enabled rule fully. With ``record=True`` (a scan at the
  current time) it also records each new breach once, reopens breaches whose record lost its
  completion, resolves those whose record closed, and stores each rule's state for the
  incremental pass. This is the reconciliation pass: exact whatever happened before.
* :func:`run_incremental_scan` is the cheap pass for a scheduler. Its cost follows what changed
  since the last pass, not the size of the data (see :mod:`frontdoor.incremental`). A rule
  with no stored state, or whose definition changed since (a different limit, clock or agency
  list), is evaluated fully instead.

Neither reads the wall clock: ``now`` is always passed in (``perf_counter`` only measures how
long a pass took).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from frontdoor import ledger
from frontdoor.clock import WorkingCalendar
from frontdoor.evaluate import (
    Finding,
    evaluate_attendance,
    evaluate_timescale,
    sort_findings,
    start_threshold,
)
from frontdoor.incremental import Window, evaluate_window
from frontdoor.rules import AttendanceRule, TimescaleRule

AnyRule = TimescaleRule | AttendanceRule

# Rows are stamped with the time their import started, and a long import may commit after a
# pass has run; looking back this far past the previous pass catches such rows (re-detected
# breaches are ignored by the ledger's unique key).
INGEST_MARGIN = timedelta(hours=1)


@dataclass
class LedgerChanges:
    """How one pass changed the breach ledger."""

    new_breaches: int = 0
    reopened_breaches: int = 0
    resolved_breaches: int = 0

    def add(self, new: int, reopened: int, resolved: int) -> None:
        """Add the counts of one rule."""
        self.new_breaches += new
        self.reopened_breaches += reopened
        self.resolved_breaches += resolved


@dataclass
class ScanResult(LedgerChanges):
    """What a scan found and changed. ``findings`` is sorted by rule then record id."""

    now: datetime = field(kw_only=True)
    findings: list[Finding] = field(default_factory=list)
    rules: list[AnyRule] = field(default_factory=list)
    duration_ms: float = 0.0
    per_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class IncrementalResult(LedgerChanges):
    """Counts of one incremental pass; ``full_rules`` were evaluated in full."""

    now: datetime = field(kw_only=True)
    full_rules: list[str] = field(default_factory=list)
    duration_ms: float = 0.0


def run_scan(
    engine: Engine,
    rules: Sequence[AnyRule],
    cal: WorkingCalendar,
    *,
    now: datetime,
    record: bool = False,
) -> ScanResult:
    """Evaluate every enabled rule at ``now``.

    ``record=False`` is a pure read (a replay of any past instant). ``record=True`` is for a
    scan at the current time: it updates the breach ledger and the scan state in one
    transaction.
    """
    started = time.perf_counter()
    active = [r for r in rules if r.enabled]
    findings: list[Finding] = []
    result = ScanResult(now=now, rules=active)
    with engine.begin() if record else engine.connect() as conn:
        for rule in active:
            found = _evaluate(conn, rule, cal, now=now)
            result.per_rule[rule.id] = len(found)
            findings.extend(found)
            if record:
                result.add(*_reconcile(conn, rule, found, cal, now=now))
    result.findings = sort_findings(findings)
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def run_incremental_scan(
    engine: Engine, rules: Sequence[AnyRule], cal: WorkingCalendar, *, now: datetime
) -> IncrementalResult:
    """Record breaches that appeared since the last pass; reopen and resolve as records
    changed. All in one transaction."""
    with engine.begin() as conn:
        return incremental_pass(conn, rules, cal, now=now)


def incremental_pass(
    conn: Connection, rules: Sequence[AnyRule], cal: WorkingCalendar, *, now: datetime
) -> IncrementalResult:
    """:func:`run_incremental_scan` inside the caller's transaction (the digest pass records
    breaches and plans its messages in one transaction)."""
    started = time.perf_counter()
    out = IncrementalResult(now=now)
    states = ledger.load_states(conn)
    for rule in (r for r in rules if r.enabled):
        state = states.get(rule.id)
        if state is None or state.fingerprint != ledger.rule_fingerprint(rule):
            # No usable state: one full, exact evaluation and reconciliation.
            found = _evaluate(conn, rule, cal, now=now)
            out.add(*_reconcile(conn, rule, found, cal, now=now))
            out.full_rules.append(rule.id)
            continue
        since = state.ran_at - INGEST_MARGIN
        if isinstance(rule, AttendanceRule):
            found = evaluate_attendance(conn, rule, now=now, since=since)
            gone = ledger.recently_attended(conn, rule, since=since)
            threshold = None
        else:
            window = Window(prev=state.threshold, since=since)
            found = evaluate_window(conn, rule, cal, now=now, window=window)
            gone = ledger.recently_closed(conn, rule, cal, now=now, since=since)
            threshold = start_threshold(rule, cal, now=now)
        new, reopened = ledger.record_breaches(conn, found, now=now)
        out.add(new, reopened, ledger.mark_resolved(conn, rule.id, gone, now))
        ledger.save_state(conn, rule, threshold, now=now)
    out.duration_ms = (time.perf_counter() - started) * 1000
    return out


def _evaluate(
    conn: Connection, rule: AnyRule, cal: WorkingCalendar, *, now: datetime
) -> list[Finding]:
    if isinstance(rule, TimescaleRule):
        return evaluate_timescale(conn, rule, cal, now=now)
    return evaluate_attendance(conn, rule, now=now)


def _reconcile(
    conn: Connection,
    rule: AnyRule,
    found: Sequence[Finding],
    cal: WorkingCalendar,
    *,
    now: datetime,
) -> tuple[int, int, int]:
    """Bring the ledger in line with a full evaluation of ``rule``; store its state.

    Records new breaches, reopens resolved ones that are open again, and resolves unresolved
    ones whose record is closed. A discussion that merely aged out of the lookback window is
    not resolved, only unseen. Returns (new, reopened, resolved).
    """
    new, reopened = ledger.record_breaches(conn, found, now=now)
    open_ids = {f.record_id for f in found}
    stale = [rid for rid in ledger.unresolved_ids(conn, rule.id) if rid not in open_ids]
    if isinstance(rule, TimescaleRule):
        gone = sorted(ledger.closed_ids(conn, rule, stale, cal, now))
        ledger.save_state(conn, rule, start_threshold(rule, cal, now=now), now=now)
    else:
        gone = ledger.attendance_complete(conn, rule, stale)
        ledger.save_state(conn, rule, None, now=now)
    return new, reopened, ledger.mark_resolved(conn, rule.id, gone, now)
