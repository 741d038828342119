"""Incremental passes keep the breach ledger equal to full scans, on a simulated live feed.

A generated dataset is replayed as the case system would have exported it while time ``T``
advances in uneven steps (every 15 minutes to every 8 hours) over the 18 days from Friday 18
December 2026 to Tuesday 5 January 2027: Christmas Day, the substitute Boxing Day (28 December)
and New Year's Day are bank holidays. At each step only the rows whose "as of T" export
changed are imported, and the import is stamped as if it had started 40 minutes before the
previous pass (the incremental pass must catch rows committed after a pass that started before
it). A record appears when it is received, held or started, and its completion appears when it
happens (a completion date at 00:00 local on that date). Attendance rows arrive a little after
each discussion (police after an hour, health after three), so attendance breaches are both
detected and resolved. One record in eight arrives late, some of them already overdue, which
only the incremental pass's "ingested since" query can catch.

Two ledgers are kept side by side in one database, under different rule ids: the incremental
one (``run_incremental_scan`` at every step) and a reference (``run_scan(record=True)`` at
every step, the same rules with ``-ref`` appended to their ids; every ledger query is keyed on
the rule id, so the two never see each other). Both must equal an oracle computed here in
Python from the feed: a breach is first detected at the first step after its due moment (or
its arrival) at which the record was still open, and resolved at the first step at which its
completion was exported.

Fifteen weeks of history before the live window are imported in one go at the first step (the
backlog of a first run), so that the 15- and 45-working-day clocks fall due during it.
"""

from __future__ import annotations

import csv
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import Engine, select

from frontdoor.clock import WorkingCalendar, localize
from frontdoor.csvformat import FILE_NAMES, FILE_SPECS, IMPORT_ORDER, ParseContext
from frontdoor.evaluate import due_at
from frontdoor.generate import generate_dataset
from frontdoor.importer import import_csv, load_team_ids
from frontdoor.models import Breach, table_of
from frontdoor.rules import AttendanceRule, TimescaleRule, load_rules, parse_rules
from frontdoor.scan import AnyRule, run_incremental_scan, run_scan
from tests.conftest import REPO
from tests.factories import write_csv

SEED = 7  # chosen so that every rule has breaches detected and resolved during the feed
HISTORY_START = date(2026, 9, 7)  # a Monday, 15 weeks before the live window
LIVE_START = date(2026, 12, 18)  # the Friday before Christmas 2026
END = date(2027, 1, 5)  # the export's as_of is 00:00 on this day (a Tuesday)
CONTACTS_PER_DAY = 30
REF = "-ref"
WORKING_DAY_STEPS = [time(h, m) for h, m in ((0, 0), (8, 0), (9, 0), (9, 15), (9, 30), (9, 45),
                     (10, 0), (12, 0), (14, 0), (16, 0), (17, 0), (19, 0))]  # fmt: skip
OTHER_DAY_STEPS = [time(h) for h in (0, 8, 16)]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Rows are stamped with the time their import started. Every import here starts this long
# before the previous pass and commits after it, just before the next one (the incremental pass
# looks back an hour before the previous pass for such rows).
IMPORT_STARTED = timedelta(minutes=40)
LATE_ARRIVAL = {
    "contacts": timedelta(days=2),
    "referrals": timedelta(days=3),
    "s47": timedelta(days=25),
    "assessments": timedelta(days=10),
}

# When each agency's attendance row reaches the case system, after the discussion is held.
ATTENDANCE_DELAY = {
    "local_authority": timedelta(0),
    "education": timedelta(minutes=30),
    "police": timedelta(hours=1),
    "health": timedelta(hours=3),
    "other": timedelta(hours=4),
}

DEFAULT_RULES = load_rules(REPO / "rules")
EXTRA_RULES = parse_rules(
    {
        "rule": [
            {"id": "contact-outcome-24wh", "kind": "timescale", "record": "contact",
             "clock": "working-hours", "limit": 24},
            {"id": "contact-outcome-24wh-office", "kind": "timescale", "record": "contact",
             "clock": "working-hours", "limit": 24, "office_hours": "09:00-17:00"},
            {"id": "strategy-partners-7d", "kind": "attendance", "record": "strategy_discussion",
             "required_agencies": ["local_authority", "police", "health"], "lookback_days": 7},
        ]
    },
    source="test_incremental_equivalence",
)  # fmt: skip


# --- the feed: what the case system exports, and when --------------------------------------


@dataclass(frozen=True)
class Change:
    """A version of one row that the export shows from ``at`` on."""

    at: datetime
    kind: str
    key: tuple[str, ...]
    row: dict[str, str]


@dataclass(frozen=True)
class Timed:
    """A record under a timescale rule, as the oracle sees it."""

    record_id: str
    team_id: str
    child_id: str
    start: datetime  # when its clock starts
    visible: datetime  # when it first appears in the export
    done: datetime | None  # when its completion first appears in the export


@dataclass(frozen=True)
class Meeting:
    """A strategy discussion and when each agency's ``attended = Y`` row appears."""

    discussion_id: str
    team_id: str
    child_id: str
    held: datetime
    attended: dict[str, datetime]


@dataclass
class Feed:
    changes: list[Change] = field(default_factory=list)
    timed: dict[str, list[Timed]] = field(default_factory=dict)
    meetings: list[Meeting] = field(default_factory=list)

    def staged(
        self,
        kind: str,
        key: tuple[str, ...],
        row: dict[str, str],
        visible: datetime,
        done: datetime | None,
        completion: Sequence[str],
    ) -> None:
        """The row appears at ``visible`` with its ``completion`` columns empty until
        ``done`` (at once when ``done`` is not later than ``visible``)."""
        if done is None or done <= visible:
            self.changes.append(Change(visible, kind, key, row))
            return
        self.changes.append(Change(visible, kind, key, {**row, **dict.fromkeys(completion, "")}))
        self.changes.append(Change(done, kind, key, row))


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def read_rows(out_dir: Path, kind: str) -> list[dict[str, str]]:
    with (out_dir / FILE_NAMES[kind]).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def late(kind: str, record_id: str, at: datetime) -> datetime:
    """When a record first reaches the export: one in eight arrives late (a failed nightly
    batch, a record keyed in after the event), by more than its limit for contacts and S47s."""
    if zlib.crc32(record_id.encode()) % 8:
        return at
    return at + LATE_ARRIVAL[kind]


def build_feed(out_dir: Path, cal: WorkingCalendar) -> Feed:
    """Turn the generated export (taken at the end) into a timeline of row versions."""
    feed = Feed()
    for row in read_rows(out_dir, "teams"):
        feed.changes.append(Change(EARLIEST, "teams", (row["team_id"],), row))

    def timed(kind: str, row: dict[str, str], start: datetime, visible: datetime,
              done: datetime | None, completion: tuple[str, ...]) -> Timed:  # fmt: skip
        rid = row[FILE_SPECS[kind].key[0]]
        visible = late(kind, rid, visible)
        done = None if done is None else max(done, visible)
        feed.staged(kind, (rid,), row, visible, done, completion)
        return Timed(rid, row["team_id"], row["child_id"], start, visible, done)

    contacts: list[Timed] = []
    for row in read_rows(out_dir, "contacts"):
        received = instant(row["received_at"])
        done = instant(row["outcome_at"]) if row["outcome_at"] else None
        contacts.append(timed("contacts", row, received, received, done,
                              ("outcome", "outcome_at")))  # fmt: skip

    referrals: dict[str, Timed] = {}
    for row in read_rows(out_dir, "referrals"):
        received = instant(row["received_at"])
        done = instant(row["decision_at"]) if row["decision_at"] else None
        referrals[row["referral_id"]] = timed("referrals", row, received, received, done,
                                              ("decision", "decision_at"))  # fmt: skip

    held: dict[str, datetime] = {}
    meetings: dict[str, Meeting] = {}
    for row in read_rows(out_dir, "strategy-discussions"):
        did = row["discussion_id"]
        held[did] = instant(row["held_at"])
        feed.changes.append(Change(held[did], "strategy-discussions", (did,), row))
        meetings[did] = Meeting(did, row["team_id"], row["child_id"], held[did], {})
    for row in read_rows(out_dir, "strategy-attendance"):
        did, agency = row["discussion_id"], row["agency"]
        at = held[did] + ATTENDANCE_DELAY[agency]
        feed.changes.append(Change(at, "strategy-attendance", (did, agency), row))
        if row["attended"] == "Y":
            meetings[did].attended[agency] = at

    s47s: list[Timed] = []
    for row in read_rows(out_dir, "s47"):
        sid, start = row["s47_id"], date.fromisoformat(row["start_date"])
        discussion = held[row["discussion_id"]]  # exported with the discussion, at the earliest
        assert cal.local_date(discussion) == start
        done = None
        if row["icpc_date"]:
            done = cal.start_of_day(date.fromisoformat(row["icpc_date"]))
        elif row["icpc_not_required"] == "Y":
            # The export does not say when "not required" was decided: 1-7 working days in.
            decided = cal.add_working_days(start, 1 + zlib.crc32(sid.encode()) % 7)
            done = cal.start_of_day(decided)
        s47s.append(timed("s47", row, discussion, discussion, done,
                          ("icpc_date", "icpc_not_required")))  # fmt: skip

    assessments: list[Timed] = []
    for row in read_rows(out_dir, "assessments"):
        referral = referrals[row["referral_id"]]
        visible = max(referral.visible, cal.start_of_day(date.fromisoformat(row["start_date"])))
        done = None
        if row["authorised_date"]:
            done = cal.start_of_day(date.fromisoformat(row["authorised_date"]))
        assessments.append(timed("assessments", row, referral.start, visible, done,
                                 ("authorised_date",)))  # fmt: skip

    feed.timed = {"contact": contacts, "referral": list(referrals.values()),
                  "s47_enquiry": s47s, "assessment": assessments}  # fmt: skip
    feed.meetings = list(meetings.values())
    feed.changes.sort(key=lambda c: c.at)
    return feed


def live_steps(cal: WorkingCalendar) -> list[datetime]:
    """Uneven passes: every 15 minutes in the morning of a working day (closer together than
    the scan's ingest margin), every one to five hours in the rest of it, every eight hours on
    other days."""
    steps: list[datetime] = []
    day = LIVE_START
    while day < END:
        times = WORKING_DAY_STEPS if cal.is_working_day(day) else OTHER_DAY_STEPS
        steps += [localize(datetime.combine(day, t), cal.tz) for t in times]
        day += timedelta(days=1)
    return [*steps, cal.start_of_day(END)]


@dataclass(frozen=True)
class Scenario:
    feed: Feed
    steps: list[datetime]


@pytest.fixture(name="scenario", scope="module")
def _scenario(tmp_path_factory: pytest.TempPathFactory, calendar: WorkingCalendar) -> Scenario:
    cal = calendar
    out_dir = tmp_path_factory.mktemp("live-feed")
    summary = generate_dataset(out_dir, seed=SEED, start=HISTORY_START,
                               days=(END - HISTORY_START).days,
                               contacts_per_day=CONTACTS_PER_DAY, calendar=cal)  # fmt: skip
    assert summary.as_of == cal.start_of_day(END)
    return Scenario(build_feed(out_dir, cal), live_steps(cal))


# --- the oracle -------------------------------------------------------------------------------


class Entry(NamedTuple):
    team_id: str
    child_id: str
    started_at: datetime
    due_at: datetime | None
    missing_agencies: str | None
    first_detected_at: datetime
    resolved_at: datetime | None


Ledger = dict[tuple[str, str], Entry]


def first_step_at_or_after(steps: list[datetime], t: datetime | None) -> datetime | None:
    if t is None:
        return None
    i = bisect_left(steps, t)
    return steps[i] if i < len(steps) else None


def expected_ledger(scenario: Scenario, rules: Iterable[AnyRule], cal: WorkingCalendar) -> Ledger:
    """Each breach at step precision: first detected at the first step after its due moment
    (or, for attendance, its first step within the lookback window) while still open; resolved
    at the first step at which its completion has been exported."""
    steps = scenario.steps
    out: Ledger = {}
    for rule in rules:
        if isinstance(rule, TimescaleRule):
            for rec in scenario.feed.timed[rule.record]:
                due = due_at(rule, cal, rec.start)
                i = max(bisect_right(steps, due), bisect_left(steps, rec.visible))
                if i == len(steps) or (rec.done is not None and rec.done <= steps[i]):
                    continue  # never seen overdue and open
                out[(rule.id, rec.record_id)] = Entry(
                    rec.team_id, rec.child_id, rec.start, due, None, steps[i],
                    first_step_at_or_after(steps, rec.done),
                )  # fmt: skip
            continue
        need = set(rule.required_agencies)
        for m in scenario.feed.meetings:
            first = first_step_at_or_after(steps, m.held)
            if first is None or m.held < first - timedelta(days=rule.lookback_days):
                continue
            missing = sorted(need - {a for a, t in m.attended.items() if t <= first})
            if not missing:
                continue
            complete = max(m.attended[a] for a in need) if need <= set(m.attended) else None
            out[(rule.id, m.discussion_id)] = Entry(
                m.team_id, m.child_id, m.held, None, ",".join(missing), first,
                first_step_at_or_after(steps, complete),
            )  # fmt: skip
    return out


# --- running the feed ---------------------------------------------------------------------------


def as_reference(rule: AnyRule) -> AnyRule:
    return rule.model_copy(update={"id": rule.id + REF})


def import_changes(
    engine: Engine, tmp_path: Path, cal: WorkingCalendar, changes: list[Change], stamp: datetime
) -> int:
    """Import the latest version of each changed row, kind by kind, stamped ``stamp``."""
    latest: dict[str, dict[tuple[str, ...], dict[str, str]]] = {}
    for c in changes:
        latest.setdefault(c.kind, {})[c.key] = c.row
    imported = 0
    for kind in IMPORT_ORDER:
        rows = list(latest.get(kind, {}).values())
        if not rows:
            continue
        spec = FILE_SPECS[kind]
        path = write_csv(tmp_path / f"{kind}.csv", rows, spec.column_names)
        ctx = ParseContext(tz=cal.tz, team_ids=load_team_ids(engine))
        summary = import_csv(engine, kind, path, ctx=ctx, ingested_at=stamp)
        assert summary.rejects == [], (kind, stamp, summary.rejects[:5])
        assert summary.inserted + summary.updated == len(rows), summary.line()
        imported += len(rows)
    return imported


def run_live_feed(
    engine: Engine,
    tmp_path: Path,
    cal: WorkingCalendar,
    scenario: Scenario,
    rules: Sequence[AnyRule],
) -> None:
    """At each step: import what changed, one incremental pass, one reference full scan.

    Each import is stamped as if it had started ``IMPORT_STARTED`` before the previous pass
    and committed after it: the longest import the incremental pass must still catch."""
    steps = scenario.steps
    buckets: list[list[Change]] = [[] for _ in steps]
    for change in scenario.feed.changes:
        i = bisect_left(steps, change.at)
        if i < len(steps):
            buckets[i].append(change)
    reference = [as_reference(r) for r in rules]
    previous = steps[0]
    for now, changes in zip(steps, buckets, strict=True):
        if changes:
            import_changes(engine, tmp_path, cal, changes, previous - IMPORT_STARTED)
        previous = now
        run_incremental_scan(engine, rules, cal, now=now)
        run_scan(engine, reference, cal, now=now, record=True)


def read_ledger(engine: Engine) -> Ledger:
    b = table_of(Breach).c
    with engine.connect() as conn:
        rows = conn.execute(
            select(b.rule_id, b.record_id, b.team_id, b.child_id, b.started_at, b.due_at,
                   b.missing_agencies, b.first_detected_at, b.resolved_at)
        ).all()  # fmt: skip
    return {(r[0], r[1]): Entry(*r[2:]) for r in rows}


def split(ledger: Ledger) -> tuple[Ledger, Ledger]:
    """(incremental ledger, reference ledger under the original rule ids)."""
    inc = {k: v for k, v in ledger.items() if not k[0].endswith(REF)}
    ref = {(k[0].removesuffix(REF), k[1]): v for k, v in ledger.items() if k[0].endswith(REF)}
    return inc, ref


def differences(actual: Ledger, expected: Ledger, limit: int = 10) -> str:
    """One line per differing breach (only the differing fields); empty when equal."""
    out: list[str] = []
    for key in sorted(set(actual) | set(expected)):
        a, e = actual.get(key), expected.get(key)
        if a is None or e is None:
            out.append(f"{key}: expected {e}, got {a}")
        elif a != e:
            fields = [
                f"{name} expected {x}, got {y}"
                for name, x, y in zip(Entry._fields, e, a, strict=True)
                if x != y
            ]
            out.append(f"{key}: {'; '.join(fields)}")
    more = [f"... and {len(out) - limit} more"] if len(out) > limit else []
    return "\n".join(out[:limit] + more)


def late_detections(ledger: Ledger, scenario: Scenario) -> list[str]:
    """Time-rule breaches not detected at the first step after they fell due (or after they
    arrived, if they arrived overdue), or not resolved at the first step after their completion
    was exported."""
    steps = scenario.steps
    records = {
        (kind, rec.record_id): rec for kind, recs in scenario.feed.timed.items() for rec in recs
    }
    kinds = {r.id: r.record for r in (*DEFAULT_RULES, *EXTRA_RULES)}
    out: list[str] = []
    for (rule_id, rid), e in sorted(ledger.items()):
        if e.due_at is None:
            continue
        rec = records[(kinds[rule_id], rid)]
        i = steps.index(e.first_detected_at)
        if i > 0 and steps[i - 1] > max(e.due_at, rec.visible):
            out.append(f"{rule_id} {rid}: due {e.due_at}, arrived {rec.visible}, "
                       f"first detected {e.first_detected_at}")  # fmt: skip
        if first_step_at_or_after(steps, rec.done) != e.resolved_at:
            out.append(f"{rule_id} {rid}: completed {rec.done}, resolved {e.resolved_at}")
    return out


def check_equivalence(
    engine: Engine,
    tmp_path: Path,
    cal: WorkingCalendar,
    scenario: Scenario,
    rules: Sequence[AnyRule],
) -> Ledger:
    run_live_feed(engine, tmp_path, cal, scenario, rules)
    final = scenario.steps[-1]
    incremental, reference = split(read_ledger(engine))

    # The incremental ledger is the reference ledger, field for field.
    assert not differences(incremental, reference), differences(incremental, reference)
    # Both are what the feed implies, at step precision (prompt detection and resolution).
    expected = expected_ledger(scenario, rules, cal)
    assert not differences(incremental, expected), differences(incremental, expected)
    assert late_detections(incremental, scenario) == []

    # A full reconciliation at the end has nothing to add or resolve, and every open finding
    # is an unresolved breach; the other unresolved breaches are discussions that aged out of
    # their lookback window.
    full = run_scan(engine, rules, cal, now=final, record=True)
    assert (full.new_breaches, full.resolved_breaches) == (0, 0)
    assert split(read_ledger(engine))[0] == incremental
    open_findings = {(f.rule, f.record_id) for f in full.findings}
    unresolved = {k for k, e in incremental.items() if e.resolved_at is None}
    assert open_findings <= unresolved, sorted(open_findings - unresolved)[:10]
    lookback = {r.id: r.lookback_days for r in rules if isinstance(r, AttendanceRule)}
    for rule_id, rid in sorted(unresolved - open_findings):
        assert rule_id in lookback, (rule_id, rid, "unresolved but not an open finding")
        held = incremental[(rule_id, rid)].started_at
        assert held < final - timedelta(days=lookback[rule_id]), (rule_id, rid, held)
    return incremental


def assert_exercised(ledger: Ledger, scenario: Scenario, rules: Sequence[AnyRule]) -> None:
    """The scenario is not vacuous: every rule has breaches detected during the live window
    and breaches resolved during it, and some record arrived already overdue."""
    first = scenario.steps[0]
    for rule in rules:
        mine = [e for (rule_id, _), e in ledger.items() if rule_id == rule.id]
        live = [e for e in mine if e.first_detected_at > first]
        assert live, f"{rule.id}: no breach detected after the first step ({len(mine)} in all)"
        resolved = [e for e in mine if e.resolved_at is not None and e.resolved_at > first]
        assert resolved, f"{rule.id}: no breach resolved during the live window"
    arrived = {
        (kind, rec.record_id): rec.visible
        for kind, recs in scenario.feed.timed.items()
        for rec in recs
    }
    kinds = {r.id: r.record for r in rules}
    late_and_overdue = [
        key for key, e in ledger.items()
        if e.due_at is not None and e.first_detected_at > first
        and arrived[(kinds[key[0]], key[1])] > e.due_at
    ]  # fmt: skip
    assert late_and_overdue, "no record arrived already overdue during the live window"


# --- tests --------------------------------------------------------------------------------------


def test_incremental_passes_on_a_live_feed_keep_the_ledger_equal_to_full_scans(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar, scenario: Scenario
) -> None:
    ledger = check_equivalence(engine, tmp_path, calendar, scenario, DEFAULT_RULES)
    assert_exercised(ledger, scenario, DEFAULT_RULES)


def test_incremental_passes_keep_working_hours_and_short_lookback_rules_equal_to_full_scans(
    engine: Engine, tmp_path: Path, calendar: WorkingCalendar, scenario: Scenario
) -> None:
    """24 working hours (whole working days, and 09:00-17:00 only) on contacts, whose
    incremental threshold is only a bound, and attendance with a 7-day lookback, so that open
    attendance breaches age out of the window during the feed."""
    ledger = check_equivalence(engine, tmp_path, calendar, scenario, EXTRA_RULES)
    assert_exercised(ledger, scenario, EXTRA_RULES)
    final = scenario.steps[-1]
    aged_out = [
        e for (rule_id, _), e in ledger.items()
        if rule_id == "strategy-partners-7d" and e.resolved_at is None
        and e.started_at < final - timedelta(days=7)
    ]  # fmt: skip
    assert aged_out, "no discussion aged out of the 7-day lookback while still unresolved"
