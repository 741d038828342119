"""Synthetic front-door data in the contract's CSV formats (``frontdoor generate``).

Contracts:

* **Deterministic**: the same arguments give byte-identical files (one ``random.Random(seed)``,
  no global random state, no reading of the real time).
* **Fake only**: ids such as ``CON-0000001``, ``CH-000123``, ``W-012``; no child names; team
  and manager names are obviously fictional and e-mails use the reserved ``example.org``.
* **An export taken at ``as_of``**: nothing received, held or started after ``as_of`` is
  written, and any outcome, decision, ICPC or authorisation that would fall after it is left
  empty (still open). Every completion is on or after its record's receipt.
* **Streaming**: rows are written as they are generated, day by day; the only state that is
  kept is bounded in time (the 12-month re-referral pool and small formatting caches), so
  memory does not grow with the number of contacts.

Datetimes are written as ISO 8601 local time with the UTC offset (so the repeated autumn hour
is unambiguous), dates as ``YYYY-MM-DD``. Internally an instant is an ``int`` of minutes since
the Unix epoch (UTC), which keeps arithmetic and comparisons cheap.
"""

from __future__ import annotations

import csv
import math
import random
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from frontdoor.clock import WorkingCalendar, england_calendar
from frontdoor.synthetic_profile import (
    ATTENDANCE,
    DAY_MIN,
    DECISION_CUM,
    DECISIONS,
    MIN_CUM_OFF,
    MIN_CUM_WORK,
    MINUTES,
    OFF_DAY,
    OTHER_CUM,
    OTHER_OUTCOMES,
    P_REFERRAL,
    P_REPEAT_CONTACT,
    P_REREFERRAL,
    ROLES,
    SOURCES,
    SRC_CUM_OFF,
    SRC_CUM_WORK,
    TEAM_CUM,
    TEAM_IDS,
    WEEKDAY_FACTOR,
    WORKERS_PER_TEAM,
    YEAR_MIN,
)
from frontdoor.synthetic_time import LocalMinutes

HEADERS: dict[str, tuple[str, ...]] = {
    "teams": ("team_id", "team_name", "manager_name", "manager_email",
              "service_manager_name", "service_manager_email"),
    "contacts": ("contact_id", "child_id", "received_at", "team_id", "source", "worker_id",
                 "outcome", "outcome_at"),
    "referrals": ("referral_id", "child_id", "received_at", "team_id", "contact_id", "source",
                  "decision", "decision_at"),
    "strategy_discussions": ("discussion_id", "child_id", "held_at", "team_id", "referral_id",
                             "s47_initiated"),
    "strategy_attendance": ("discussion_id", "agency", "attended", "role"),
    "s47_enquiries": ("s47_id", "child_id", "team_id", "discussion_id", "start_date",
                      "icpc_date", "icpc_not_required"),
    "assessments": ("assessment_id", "child_id", "team_id", "referral_id", "start_date",
                    "authorised_date"),
}  # fmt: skip


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate_dataset` wrote: rows per file (header excluded), ``as_of`` (UTC)."""

    out_dir: Path
    as_of: datetime
    teams: int
    contacts: int
    referrals: int
    strategy_discussions: int
    strategy_attendance: int
    s47_enquiries: int
    assessments: int

    @property
    def paths(self) -> dict[str, Path]:
        """File name stem (``"contacts"``) -> path of the CSV written."""
        return {name: self.out_dir / f"{name}.csv" for name in HEADERS}

    @property
    def counts(self) -> dict[str, int]:
        """File name stem -> number of data rows written."""
        return {name: int(getattr(self, name)) for name in HEADERS}


_Row = Callable[[tuple[str, ...]], object]  # csv writer's writerow for one file


def _team_rows() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for i, team in enumerate(TEAM_IDS):
        letter = team[-1]
        sm = ("North", "South")[i // 3]  # A-C and D-F share a service manager
        rows.append((team, f"Duty and Advice Team {letter}", f"Team Manager {letter} (fictional)",
                     f"tm.{team.lower()}@example.org", f"Service Manager {sm} (fictional)",
                     f"sm.{sm.lower()}@example.org"))  # fmt: skip
    return rows


class _Generator:
    """Generation state; one instance per :func:`generate_dataset` call."""

    def __init__(self, rng: random.Random, cal: WorkingCalendar, as_of: datetime,
                 writers: dict[str, _Row]) -> None:  # fmt: skip
        self.rng, self.cal, self.clock = rng, cal, LocalMinutes(cal.tz)
        self.w = writers
        self.lim = math.floor(as_of.timestamp()) // 60  # epoch minute m is visible iff m <= lim
        self.lim_day = cal.local_date(as_of)  # a date d is visible iff d <= lim_day
        self.n = dict.fromkeys(HEADERS, 0)
        self.children = 0
        # (referral epoch minute, child id) of the last ~12 months, in roughly time order.
        self.pool: deque[tuple[int, str]] = deque()

    # -- contacts -------------------------------------------------------------------------
    def day(self, d: date, contacts_per_day: float) -> None:
        """Generate and write every contact received on local date ``d`` (and what follows)."""
        rng, working = self.rng, self.cal.is_working_day(d)
        mean = contacts_per_day * (WEEKDAY_FACTOR[d.weekday()] if working else OFF_DAY)
        n = max(0, round(rng.gauss(mean, 0.1 * mean))) if mean > 0 else 0
        minutes = rng.choices(MINUTES, cum_weights=MIN_CUM_WORK if working else MIN_CUM_OFF,
                              k=n)  # fmt: skip
        minutes.sort()
        times = self.clock.local_minutes(d, minutes)
        sources = rng.choices(SOURCES, cum_weights=SRC_CUM_WORK if working else SRC_CUM_OFF,
                              k=n)  # fmt: skip
        teams = rng.choices(range(len(TEAM_IDS)), cum_weights=TEAM_CUM, k=n)
        for t, src, team in zip(times, sources, teams, strict=True):
            if t > self.lim:
                break
            self.contact(t, src, team)
        # Entries older than 12 months before tomorrow's first contact can never be used again.
        cutoff = self.clock.midnight(d) + DAY_MIN - YEAR_MIN
        pool = self.pool
        while pool and pool[0][0] < cutoff:
            pool.popleft()

    def contact(self, t: int, src: str, team_i: int) -> None:
        r = self.rng.random
        self.n["contacts"] += 1
        contact_id = f"CON-{self.n['contacts']:07d}"
        # Outcome delay mixture: ~1.2% never recorded, ~0.3% text without outcome_at,
        # ~2.5% later than 24 h, the rest within the day (most within a few hours).
        u = r()
        done: int | None
        if u < 0.015:
            done = None
        elif u < 0.040:
            done = t + 1441 + int(r() * 4320)
        elif u < 0.240:
            done = t + 240 + int(r() * 1199)
        else:
            done = t + min(int(self.rng.expovariate(1 / 120)), 1439)
        if done is not None and done > self.lim:
            done = None  # recorded after the export: still open
        outcome, ref_at = "", None
        if done is not None and r() < P_REFERRAL:
            outcome = "Referral"
            ref_at = done if r() < 0.6 else done + 1 + int(r() * 120)
            if ref_at > self.lim:
                ref_at = None
        elif done is not None or 0.012 <= u < 0.015:
            v = r()
            outcome = next(o for o, c in zip(OTHER_OUTCOMES, OTHER_CUM, strict=True) if v < c)
        child = self.child(ref_at)
        team = TEAM_IDS[team_i]
        worker = ""
        if r() < (0.95 if done is not None else 0.5):
            worker = f"W-{team_i * WORKERS_PER_TEAM + int(r() * WORKERS_PER_TEAM) + 1:03d}"
        iso = self.clock.iso
        self.w["contacts"]((contact_id, child, iso(t), team, src, worker, outcome,
                            "" if done is None else iso(done)))  # fmt: skip
        if ref_at is not None:
            self.referral(contact_id, child, ref_at, team, src)
        elif outcome == "Strategy discussion" and done is not None:
            self.discussion(child, team, done + 30 + int(r() * 600), "")

    def child(self, ref_at: int | None) -> str:
        """Child id for a contact; ``ref_at`` is the referral time if it becomes one."""
        r, pool = self.rng.random, self.pool
        p = P_REREFERRAL if ref_at is not None else P_REPEAT_CONTACT
        child = ""
        if pool and r() < p:
            pt, pc = pool[int(r() * len(pool))]
            # A re-referral needs a previous referral within the 12 months before this one.
            if ref_at is None or ref_at - YEAR_MIN <= pt < ref_at:
                child = pc
        if not child:
            self.children += 1
            child = f"CH-{self.children:06d}"
        if ref_at is not None:
            pool.append((ref_at, child))
        return child

    # -- referrals and what follows -------------------------------------------------------
    def office_time(self, d: date, working_days: int) -> int:
        """A random office-hours minute (09:00-17:00) ``working_days`` after local date ``d``."""
        day = self.cal.add_working_days(d, working_days)
        return self.clock.midnight(day) + 540 + int(self.rng.random() * 480)

    def referral(self, contact_id: str, child: str, t: int, team: str, src: str) -> None:
        r = self.rng.random
        self.n["referrals"] += 1
        ref_id = f"REF-{self.n['referrals']:07d}"
        v = r()
        decision = next(d for d, c in zip(DECISIONS, DECISION_CUM, strict=True) if v < c)
        ref_day = self.clock.day(t)
        # Decision: most the same day or next working day; ~5% 2-4 working days; ~3% never.
        u = r()
        dec: int | None
        if u < 0.03:
            dec = None
        elif u < 0.08:
            dec = self.office_time(ref_day, 2 + int(r() * 3))
        elif u < 0.22:
            dec = self.office_time(ref_day, 1)
        else:
            dec = t + 10 + int(r() * 480)
        dec_text = self.clock.iso(dec) if dec is not None and dec <= self.lim else ""
        self.w["referrals"]((ref_id, child, self.clock.iso(t), team, contact_id, src,
                             decision if dec_text else "", dec_text))  # fmt: skip
        if decision == "Strategy discussion":
            held = t + 120 + int(r() * 2760) if r() < 0.7 else t + 1440 + int(r() * 1440)
            self.discussion(child, team, held, ref_id)
        if decision == "Assessment" or (decision == "Strategy discussion" and r() < 0.8):
            self.assessment(child, team, ref_id, ref_day)

    def discussion(self, child: str, team: str, held: int, ref_id: str) -> None:
        if held > self.lim:
            return
        r = self.rng.random
        self.n["strategy_discussions"] += 1
        sd_id = f"SD-{self.n['strategy_discussions']:07d}"
        s47 = r() < 0.7
        held_text = self.clock.iso(held)
        self.w["strategy_discussions"]((sd_id, child, held_text, team, ref_id, "Y" if s47 else "N"))
        for agency, p_row, p_yes in ATTENDANCE:
            if r() < p_row:
                self.n["strategy_attendance"] += 1
                role = self.rng.choice(ROLES[agency])
                self.w["strategy_attendance"]((sd_id, agency, "Y" if r() < p_yes else "N", role))
        if s47:
            self.s47(child, team, sd_id, date.fromisoformat(held_text[:10]))

    def s47(self, child: str, team: str, sd_id: str, start: date) -> None:
        r, add = self.rng.random, self.cal.add_working_days
        self.n["s47_enquiries"] += 1
        icpc, not_required = "", ""
        u = r()
        if u < 0.40:  # conference: ~80% within 15 working days
            k = 3 + int(r() * 13) if r() < 0.8 else 16 + int(r() * 20)
            held = add(start, k)
            if held <= self.lim_day:
                icpc, not_required = held.isoformat(), "N"
        elif u < 0.85 and add(start, int(r() * 8)) <= self.lim_day:
            not_required = "Y"  # decided within a week or so of the start
        self.w["s47_enquiries"]((f"S47-{self.n['s47_enquiries']:07d}", child, team, sd_id,
                                 start.isoformat(), icpc, not_required))  # fmt: skip

    def assessment(self, child: str, team: str, ref_id: str, ref_day: date) -> None:
        r = self.rng.random
        start = ref_day + timedelta(days=min(int(r() * r() * 6), 4))  # mostly 0-1 days
        if start > self.lim_day:
            return
        self.n["assessments"] += 1
        u = r()  # ~85% authorised within 45 working days, ~12% late, ~3% never
        auth_text = ""
        if u < 0.97:
            k = 5 + int(r() * 41) if u < 0.85 else 46 + int(r() * 30)
            auth = self.cal.add_working_days(ref_day, k)
            auth_text = auth.isoformat() if auth <= self.lim_day else ""
        self.w["assessments"]((f"ASM-{self.n['assessments']:07d}", child, team, ref_id,
                               start.isoformat(), auth_text))  # fmt: skip


def generate_dataset(
    out_dir: Path,
    *,
    seed: int,
    start: date,
    days: int,
    contacts_per_day: int,
    as_of: datetime | None = None,
    calendar: WorkingCalendar | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Write the seven contract CSV files for contacts received on ``days`` days from ``start``.

    ``contacts_per_day`` is the mean on a working day (weekends and bank holidays get ~30%).
    ``as_of`` (aware; default 00:00 local the day after the last day) is when the export was
    taken: later records are omitted and later completions left empty. ``calendar`` defaults
    to :func:`england_calendar`. ``progress`` is called with the number of contacts written
    so far after each day. Existing files of the same names in ``out_dir`` are overwritten.
    """
    if days < 0 or contacts_per_day < 0:
        raise ValueError("days and contacts_per_day must be >= 0")
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    cal = calendar if calendar is not None else england_calendar()
    if as_of is None:
        as_of = cal.start_of_day(start + timedelta(days=days))
    as_of_utc = as_of.astimezone(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        writers: dict[str, _Row] = {}
        for name, header in HEADERS.items():
            f = stack.enter_context(open(out_dir / f"{name}.csv", "w", encoding="utf-8",
                                         newline="", buffering=1 << 20))  # fmt: skip
            writers[name] = csv.writer(f, lineterminator="\n").writerow
            writers[name](header)
        gen = _Generator(random.Random(seed), cal, as_of_utc, writers)
        for row in _team_rows():
            writers["teams"](row)
        gen.n["teams"] = len(TEAM_IDS)
        for i in range(days):
            d = start + timedelta(days=i)
            if gen.clock.midnight(d) > gen.lim:
                break
            gen.day(d, contacts_per_day)
            if progress is not None:
                progress(gen.n["contacts"])
    n = gen.n
    return GenerateSummary(
        out_dir=out_dir,
        as_of=as_of_utc,
        teams=n["teams"],
        contacts=n["contacts"],
        referrals=n["referrals"],
        strategy_discussions=n["strategy_discussions"],
        strategy_attendance=n["strategy_attendance"],
        s47_enquiries=n["s47_enquiries"],
        assessments=n["assessments"],
    )
