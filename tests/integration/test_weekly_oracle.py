"""Weekly report figures against a brute-force oracle on generated data, on both engines.

Thirteen weeks of synthetic data (``frontdoor generate``) received from Monday 31 August 2026
(the summer bank holiday) to Sunday 29 November 2026 and exported at Wednesday 2 December
09:00 local; the range spans the end of BST (Sunday 25 October, in 2026-W43). The seven files
are imported, recording scans run at each week end and at ``as_of`` as the monitor would, and
rationale rows are added for some breaches. Then, for every week from 2026-W36 to the one
containing ``as_of`` (in progress), with rationales counted by week end and by ``as_of``,
:func:`week_figures` must equal figures computed here in plain Python from the CSV rows by
the definitions of :mod:`frontdoor.weekly_figures` and the data contract, for every team and
in total; and :func:`breach_list` must list exactly the oracle's breaches.

Only due moments use :class:`WorkingCalendar` (unit-tested on its own). Membership,
timeliness, breaches, rationales, ages, counts, attendance and re-referrals are computed
here, record by record. Boundaries that random data rarely hits (a completion exactly at
the due moment or at week end, a re-referral exactly 365 days on) are covered by the
hand-computed cases in test_weekly_figures.py.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, select

from frontdoor.clock import WorkingCalendar, localize
from frontdoor.csvformat import FILE_NAMES, IMPORT_ORDER, ParseContext
from frontdoor.generate import generate_dataset
from frontdoor.importer import import_csv, load_team_ids
from frontdoor.models import Breach, Rationale, table_of
from frontdoor.rules import TimescaleRule, load_rules
from frontdoor.scan import run_scan
from frontdoor.weekly_figures import Ratio, TeamFigures, week_figures, weeks_figures
from frontdoor.weekly_lists import breach_list
from frontdoor.weeks import ReportWeek, week_of
from tests.conftest import REPO

LONDON = ZoneInfo("Europe/London")
SEED = 3
START = date(2026, 8, 31)
DAYS = 13 * 7
CONTACTS_PER_DAY = 40
AS_OF = localize(datetime(2026, 12, 2, 9, 0), LONDON)
RULES = load_rules(REPO / "rules")
START_UTC = localize(datetime.combine(START, time()), LONDON)

# The contract's default timescales (asserted against rules/default.toml below).
CONTACT, REFERRAL, PARTNERS = "contact-outcome-24h", "referral-decision-1wd", "strategy-partners"
ICPC, ASSESSMENT = "icpc-15wd", "assessment-45wd"
CONTACT_LIMIT = timedelta(hours=24)
REFERRAL_DAYS, ICPC_DAYS, ASSESSMENT_DAYS = 1, 15, 45
REQUIRED = frozenset({"local_authority", "police", "health"})
LOOKBACK = timedelta(days=30)
AGENCIES = ("police", "health", "local_authority", "education")
YEAR = timedelta(days=365)
HOUR = timedelta(hours=1)
T = TypeVar("T")


def local_day(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


# --- the CSV rows, parsed by the contract -----------------------------------------------


class Timed(NamedTuple):
    """A contact or referral: received at an instant, completed at an instant."""

    id: str
    child: str
    team: str
    received: datetime
    done: datetime | None


class Dated(NamedTuple):
    """An S47 enquiry or assessment: exists from 00:00 local on ``start``, due at ``due``,
    completed on a date (``waived``: ``icpc_not_required = Y``)."""

    id: str
    team: str
    start: date
    due: datetime
    done: date | None
    waived: bool


class Discussion(NamedTuple):
    id: str
    team: str
    held: datetime
    attended: frozenset[str]  # agencies with attended = Y


@dataclass(frozen=True)
class Data:
    teams: list[str]
    contacts: list[Timed]
    referrals: list[Timed]
    discussions: list[Discussion]
    s47s: list[Dated]
    assessments: list[Dated]


def instant(text: str) -> datetime | None:
    """ISO 8601; with an offset as given, without one local time (first occurrence)."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return localize(value, LONDON) if value.tzinfo is None else value.astimezone(UTC)


def must(value: T | None) -> T:
    assert value is not None
    return value


def day(text: str) -> date | None:
    if not text:
        return None
    if "/" in text:
        d, m, y = text.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(text)


def flag(text: str) -> bool | None:
    """The contract's booleans; empty is unknown."""
    if not text:
        return None
    return text.lower() in ("y", "yes", "true", "1")


def read_data(out: Path, cal: WorkingCalendar) -> Data:
    def rows(kind: str) -> list[dict[str, str]]:
        with (out / FILE_NAMES[kind]).open(encoding="utf-8-sig", newline="") as f:
            return [{k.strip().lower(): v.strip() for k, v in r.items()} for r in csv.DictReader(f)]

    def due(clock: datetime, limit: int) -> datetime:  # N working days from the local date
        return cal.due_working_days(local_day(clock), limit)

    def timed(kind: str, key: str, done: str) -> list[Timed]:
        return [
            Timed(r[key], r["child_id"], r["team_id"], must(instant(r["received_at"])),
                  instant(r[done]))
            for r in rows(kind)
        ]  # fmt: skip

    present: dict[str, set[str]] = {}
    for r in rows("strategy-attendance"):
        if flag(r["attended"]):
            present.setdefault(r["discussion_id"], set()).add(r["agency"])
    discussions = [
        Discussion(r["discussion_id"], r["team_id"], must(instant(r["held_at"])),
                   frozenset(present.get(r["discussion_id"], ())))
        for r in rows("strategy-discussions")
    ]  # fmt: skip
    referrals = timed("referrals", "referral_id", "decision_at")
    held = {d.id: d.held for d in discussions}
    received = {r.id: r.received for r in referrals}
    s47s, assessments = [], []
    for r in rows("s47"):
        start = must(day(r["start_date"]))
        # The ICPC clock starts at the initiating discussion, else 00:00 on start_date.
        clock = held.get(r["discussion_id"], localize(datetime.combine(start, time()), LONDON))
        s47s.append(Dated(r["s47_id"], r["team_id"], start, due(clock, ICPC_DAYS),
                          day(r["icpc_date"]), flag(r["icpc_not_required"]) is True))  # fmt: skip
    for r in rows("assessments"):
        start = must(day(r["start_date"]))
        clock = received[r["referral_id"]]  # the linked referral's receipt
        done, due_at = day(r["authorised_date"]), due(clock, ASSESSMENT_DAYS)
        assessments.append(Dated(r["assessment_id"], r["team_id"], start, due_at, done, False))
    contacts = timed("contacts", "contact_id", "outcome_at")
    teams = [r["team_id"] for r in rows("teams")]
    return Data(teams, contacts, referrals, discussions, s47s, assessments)


# --- the oracle ------------------------------------------------------------------------


class Item(NamedTuple):
    """One record under one rule: when it fell due (a discussion: when it was held) and
    whether it missed (late or never completed; a discussion: a required agency absent)."""

    rule_id: str
    record_id: str
    team: str
    moment: datetime
    missed: bool


class Note(NamedTuple):
    rule_id: str
    record_id: str
    recorded_at: datetime


def items(data: Data, cal: WorkingCalendar) -> list[Item]:
    out: list[Item] = []
    for k in data.contacts:
        due = k.received + CONTACT_LIMIT  # clock hours: real elapsed time
        out.append(Item(CONTACT, k.id, k.team, due, k.done is None or k.done > due))
    for r in data.referrals:
        due = cal.due_working_days(r.received, REFERRAL_DAYS)
        out.append(Item(REFERRAL, r.id, r.team, due, r.done is None or r.done > due))
    for rule, dated in ((ICPC, data.s47s), (ASSESSMENT, data.assessments)):
        for x in dated:
            # A date-only completion is met when on or before the due moment's local date.
            met = x.waived or (x.done is not None and x.done <= local_day(x.due))
            out.append(Item(rule, x.id, x.team, x.due, not met))
    for d in data.discussions:
        out.append(Item(PARTNERS, d.id, d.team, d.held, not d.attended >= REQUIRED))
    return out


PREFIX = {CONTACT: "contact", REFERRAL: "referral", PARTNERS: "discussion", ICPC: "icpc",
          ASSESSMENT: "assessment"}  # fmt: skip
BreachKey = tuple[str, str, str, bool]  # rule, record, team, has a rationale


def oracle(
    data: Data, all_items: list[Item], notes: list[Note], week: ReportWeek, by: datetime
) -> tuple[list[TeamFigures], set[BreachKey]]:
    """The week's figures per team (``data.teams`` order) then the total; and its breaches.
    Rationales count when recorded by ``by``."""
    lo, hi = week.start, week.end
    today = local_day(hi)  # a date-only completion on it counts at week end (00:00 local)
    n: dict[str, Counter[str]] = {t: Counter() for t in data.teams}
    noted = {(m.rule_id, m.record_id) for m in notes if m.recorded_at <= by}
    breaches: set[BreachKey] = set()

    def inside(moment: datetime) -> bool:
        return lo <= moment < hi

    for it in all_items:
        if inside(it.moment):
            c, p = n[it.team], PREFIX[it.rule_id]
            c[f"{p}_due"] += 1
            c[f"{p}_met"] += not it.missed
            if it.missed:
                reason = (it.rule_id, it.record_id) in noted
                breaches.add((it.rule_id, it.record_id, it.team, reason))
                c["breaches"] += 1
                c[f"rule:{it.rule_id}"] += 1
                c["noted"] += reason
    for k in data.contacts:
        c = n[k.team]
        c["received"] += inside(k.received)
        age = hi - k.received
        if (k.done is None or k.done > hi) and age >= 24 * HOUR:
            c["open_72" if age >= 72 * HOUR else "open_48" if age >= 48 * HOUR else "open_24"] += 1
    by_child: dict[str, list[Timed]] = {}
    for r in data.referrals:
        by_child.setdefault(r.child, []).append(r)
    for r in data.referrals:
        if inside(r.received):
            n[r.team]["referrals"] += 1
            n[r.team]["rereferrals"] += any(
                o.id != r.id and r.received - YEAR <= o.received < r.received
                for o in by_child[r.child]
            )
    for d in data.discussions:
        if inside(d.held):
            for agency in AGENCIES:
                n[d.team][f"missing:{agency}"] += agency not in d.attended
    for prefix, dated in (("icpc", data.s47s), ("assessment", data.assessments)):
        for x in dated:
            # Overdue and open at week end: exists (from 00:00 on start_date), no completion
            # recorded by then, due moment passed.
            still_open = not x.waived and (x.done is None or x.done > today)
            n[x.team][f"{prefix}_open_past"] += x.start <= today and still_open and hi > x.due
    total: Counter[str] = Counter()
    for c in n.values():
        total.update(c)
    return [figures(t, n[t]) for t in data.teams] + [figures(None, total)], breaches


def figures(team: str | None, c: Counter[str]) -> TeamFigures:
    return TeamFigures(
        team_id=team,
        contacts_received=c["received"],
        contact_timely=Ratio(c["contact_met"], c["contact_due"]),
        breaches=c["breaches"],
        breaches_with_rationale=c["noted"],
        breaches_without_rationale=c["breaches"] - c["noted"],
        breaches_by_rule={r: c[f"rule:{r}"] for r in sorted(PREFIX) if c[f"rule:{r}"]},
        open_contacts_24_48h=c["open_24"],
        open_contacts_48_72h=c["open_48"],
        open_contacts_over_72h=c["open_72"],
        referral_timely=Ratio(c["referral_met"], c["referral_due"]),
        discussions_held=c["discussion_due"],
        discussions_all_agencies=Ratio(c["discussion_met"], c["discussion_due"]),
        missing_by_agency={a: c[f"missing:{a}"] for a in AGENCIES},
        icpc_timely=Ratio(c["icpc_met"], c["icpc_due"]),
        s47_open_past_limit=c["icpc_open_past"],
        assessment_timely=Ratio(c["assessment_met"], c["assessment_due"]),
        assessments_open_past_limit=c["assessment_open_past"],
        re_referrals=Ratio(c["rereferrals"], c["referrals"]),
    )


def compared(f: TeamFigures) -> dict[str, object]:
    """The figures as a dict, ``breaches_by_rule`` without zero entries: week_figures lists
    a rule with 0 for a team that had records due under it but no breach, and leaves it out
    when the team had none due; the definitions do not say which is meant."""
    out = asdict(f)
    out["breaches_by_rule"] = {r: v for r, v in f.breaches_by_rule.items() if v}
    return out


# --- the run ---------------------------------------------------------------------------


@pytest.fixture(name="generated", scope="module")
def _generated(tmp_path_factory: pytest.TempPathFactory, calendar: WorkingCalendar) -> Path:
    out = tmp_path_factory.mktemp("oracle")
    generate_dataset(out, seed=SEED, start=START, days=DAYS, contacts_per_day=CONTACTS_PER_DAY,
                     as_of=AS_OF, calendar=calendar)  # fmt: skip
    return out


def report_weeks() -> list[ReportWeek]:
    weeks = [week_of(START)]
    while weeks[-1].end <= AS_OF:
        weeks.append(week_of(weeks[-1].monday + timedelta(days=7)))
    return weeks


def load_world(engine: Engine, out: Path, cal: WorkingCalendar) -> None:
    """Import the seven files, then run a recording scan at each week end and at ``as_of``,
    as the monitor would. The figures read the records, not this ledger (a record
    completed late between two scans is in no ledger but is a breach of its week)."""
    for kind in IMPORT_ORDER:
        ctx = ParseContext(tz=cal.tz, team_ids=load_team_ids(engine))
        summary = import_csv(engine, kind, out / FILE_NAMES[kind], ctx=ctx, ingested_at=START_UTC)
        assert summary.rejects == [], (kind, summary.rejects[:3])
    for now in [*(w.end for w in report_weeks() if w.end < AS_OF), AS_OF]:
        run_scan(engine, RULES, cal, now=now, record=True)


def add_rationales(engine: Engine, all_items: list[Item]) -> list[Note]:
    """Rationales for every third missed item: an hour after it fell due, exactly at the
    end of that week (counts), 1 microsecond after (counts only when the report is made
    later) or after ``as_of``; for every seventh one the rationale names another rule, and
    every 25th met item has one (neither counts)."""
    notes: list[Note] = []
    for i, it in enumerate(sorted(x for x in all_items if x.missed)):
        end = week_of(local_day(it.moment)).end
        if i % 3 == 0:
            choices = (it.moment + HOUR, end, end + timedelta(microseconds=1), AS_OF + HOUR)
            notes.append(Note(it.rule_id, it.record_id, choices[(i // 3) % 4]))
        if i % 7 == 0:
            other = ICPC if it.rule_id != ICPC else CONTACT
            notes.append(Note(other, it.record_id, it.moment))
    notes += [Note(it.rule_id, it.record_id, it.moment)
              for it in sorted(x for x in all_items if not x.missed)[::25]]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(table_of(Rationale)),
            [{"rule_id": m.rule_id, "record_id": m.record_id, "recorded_by": "tm@example.org",
              "reason": "capacity", "recorded_at": m.recorded_at,
              "review_by": m.recorded_at + timedelta(days=7)} for m in notes],
        )  # fmt: skip
    return notes


def test_default_rules_are_the_contract_timescales() -> None:
    shape = [
        (r.id, r.record, r.clock, r.limit) if isinstance(r, TimescaleRule)
        else (r.id, r.record, tuple(sorted(r.required_agencies)), r.lookback_days)
        for r in RULES if r.enabled
    ]  # fmt: skip
    assert shape == [
        (CONTACT, "contact", "clock-hours", 24),
        (REFERRAL, "referral", "working-days", REFERRAL_DAYS),
        (PARTNERS, "strategy_discussion", tuple(sorted(REQUIRED)), LOOKBACK.days),
        (ICPC, "s47_enquiry", "working-days", ICPC_DAYS),
        (ASSESSMENT, "assessment", "working-days", ASSESSMENT_DAYS),
    ]


def test_week_figures_equal_a_brute_force_oracle(
    engine: Engine, generated: Path, calendar: WorkingCalendar
) -> None:
    data = read_data(generated, calendar)
    all_items = items(data, calendar)
    load_world(engine, generated, calendar)
    notes = add_rationales(engine, all_items)
    weeks = report_weeks()
    assert "2026-W43" in [w.label for w in weeks]  # ends the Sunday the clocks go back
    assert weeks[-1].start <= AS_OF < weeks[-1].end  # the week of the export

    seen: Counter[str] = Counter()
    mismatches: list[tuple[str, str, str | None, str, object, object]] = []
    with engine.connect() as conn:
        for week, by in ((w, b) for w in weeks for b in (w.end, AS_OF)):
            label = f"{week.label} rationale by {by:%Y-%m-%d %H:%M}"
            got = week_figures(conn, RULES, calendar, week, team_ids=data.teams,
                               rationale_by=None if by == week.end else by)  # fmt: skip
            want, want_breaches = oracle(data, all_items, notes, week, by)
            for g, w in zip([*got.teams, got.total], want, strict=True):
                gd, wd = compared(g), compared(w)
                mismatches += [(label, "figures", w.team_id, k, wd[k], gd[k])
                               for k in wd if gd[k] != wd[k]]  # fmt: skip
            lines = breach_list(conn, RULES, calendar, week, team_ids=data.teams,
                                rationale_by=None if by == week.end else by)  # fmt: skip
            got_breaches = {(x.rule_id, x.record_id, x.team_id, x.has_rationale) for x in lines}
            if got_breaches != want_breaches or len(lines) != len(got_breaches):
                mismatches.append((label, "breach list", None, "lines", want_breaches, lines))
            seen.update(tally(want[-1], "" if by == week.end else " by as_of"))
        # The whole run in one call (the trend's queries grouped by week) gives the same.
        run = weeks_figures(conn, RULES, calendar, weeks, team_ids=data.teams,
                            rationale_by=AS_OF, at_week_end=weeks)  # fmt: skip
        for week, together in zip(weeks, run, strict=True):
            alone = week_figures(conn, RULES, calendar, week, team_ids=data.teams,
                                 rationale_by=AS_OF)  # fmt: skip
            if together != alone:
                mismatches.append((week.label, "weeks_figures", None, "all", alone, together))
        partial = weeks_figures(conn, RULES, calendar, weeks, team_ids=data.teams,
                                at_week_end=weeks[-1:])  # fmt: skip
    assert mismatches == []
    # Without the figures at week end a week says so (None), it does not report 0.
    assert partial[0].total.open_contacts_over_72h is None
    assert partial[0].total.s47_open_past_limit is None
    assert partial[-1].total.open_contacts_over_72h == run[-1].total.open_contacts_over_72h
    # The data must exercise every figure (so that the test can fail): each count and each
    # side of each ratio is non-zero in some week (with this seed even local_authority, which
    # attends 99% of discussions, is missing once), and some rationales only count later.
    keys = {*seen, *(f"breaches_by_rule:{r}" for r in PREFIX),
            *(f"missing_by_agency:{a}" for a in AGENCIES)}  # fmt: skip
    assert [k for k in sorted(keys) if seen[k] == 0] == []
    assert seen["breaches_with_rationale by as_of"] > seen["breaches_with_rationale"]
    # ... and the breach figures do not come from the ledger: some breach is in none.
    b = table_of(Breach).c
    with engine.connect() as conn:
        ledger = {(r, k) for r, k in conn.execute(select(b.rule_id, b.record_id))}
    missed = {(x.rule_id, x.record_id) for x in all_items if x.missed and x.moment < AS_OF}
    assert ledger < missed


def tally(t: TeamFigures, suffix: str) -> Counter[str]:
    """Every count of ``t``, and the met and missed sides of every ratio."""
    out: Counter[str] = Counter()
    for k, v in asdict(t).items():
        if isinstance(v, int):
            out[k + suffix] += v
        elif isinstance(v, dict) and "numerator" in v:
            out[f"{k} met{suffix}"] += v["numerator"]
            out[f"{k} missed{suffix}"] += v["denominator"] - v["numerator"]
        elif isinstance(v, dict):
            out.update({f"{k}:{name}{suffix}": m for name, m in v.items()})
    return out
