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
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from frontdoor.clock import NonExistentLocalTime, WorkingCalendar, england_calendar, localize

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

TEAM_IDS = tuple(f"DAT-{c}" for c in "ABCDEF")
_TEAM_CUM = (1.2, 2.2, 3.3, 4.2, 5.2, 6.0)  # cumulative: uneven team sizes
_WORKERS_PER_TEAM = 8
_DAY_MIN = 1440
_YEAR_MIN = 365 * _DAY_MIN

# Annex A source codes (domain.md 1.2). Police is the largest share, then schools, health,
# individuals and LA services; schools all but vanish at weekends while police rises.
_SOURCES = ("6", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "1A", "1B", "1C", "1D",
            "5A", "5B", "5C", "5D", "4", "7", "8", "9", "10")  # fmt: skip
_SRC_WORK = (27, 17, 2, 4, 3, 2, 2, 1.5, 1.5, 4, 3, 2, 1, 4, 3, 2, 2, 3, 3, 6, 3, 4)
_SRC_OFF = (45, 2, 0.5, 5, 3, 2, 2, 1.5, 1.5, 6, 4, 3, 2, 3, 2, 1.5, 1.5, 2, 3, 5, 3.5, 1)

# Relative contact volume by local hour: working days lean hard on office hours, other days
# are flatter (mostly police and hospitals out of hours).
_HOURS_WORK = (0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.8, 2.5, 4.5, 5, 5,
               4.5, 4.5, 4.5, 4.5, 4, 2.5, 1.2, 0.9, 0.8, 0.7, 0.5, 0.4)  # fmt: skip
_HOURS_OFF = (0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.1, 1.2, 1.2,
              1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.9, 0.7)  # fmt: skip
# Mon..Fri multipliers of contacts_per_day (mean 1.0: Mon/Tue peak); other days get _OFF_DAY.
_WEEKDAY_FACTOR = (1.12, 1.08, 0.98, 0.96, 0.86)
_OFF_DAY = 0.3

_P_REFERRAL = 0.205  # of contacts with a recorded outcome: about 1 in 5 overall
_OTHER_OUTCOMES = ("NFA", "Advice", "Early Help", "Strategy discussion")
_OTHER_CUM = (0.32, 0.62, 0.985, 1.0)
_P_REREFERRAL = 0.225  # slightly above 22% because a few pool picks are rejected
_P_REPEAT_CONTACT = 0.08  # non-referral contacts about a child recently referred
_DECISIONS = ("Strategy discussion", "Assessment", "NFA", "Early Help")
_DECISION_CUM = (0.25, 0.65, 0.80, 1.0)

_ROLES = {
    "local_authority": ("Social worker, DAT", "Team manager, DAT", "Social worker, EDT"),
    "police": ("DS, Safeguarding Unit", "DC, Child Abuse Investigation Team", "PS, MASH"),
    "health": ("Named nurse", "Paediatrician", "Health visitor", "School nurse"),
    "education": ("Designated safeguarding lead", "Head teacher", "Early years lead"),
    "other": ("Probation officer", "Youth justice worker", "Housing officer"),
}
# agency -> (P(row present), P(attended | row)): police ~88% and health ~82% attended overall.
_ATTENDANCE = (("local_authority", 1.0, 0.99), ("police", 0.95, 0.926),
               ("health", 0.94, 0.872), ("education", 0.5, 0.7), ("other", 0.06, 0.8))  # fmt: skip


def _cum(weights: tuple[float, ...], repeat: int = 1) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        for _ in range(repeat):
            total += w
            out.append(total)
    return out


_SRC_CUM_WORK, _SRC_CUM_OFF = _cum(_SRC_WORK), _cum(_SRC_OFF)
_MIN_CUM_WORK, _MIN_CUM_OFF = _cum(_HOURS_WORK, 60), _cum(_HOURS_OFF, 60)
_MINUTES = range(_DAY_MIN)


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


class _Clock:
    """Epoch minutes <-> local ISO text and dates in ``tz``, with caches kept bounded."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._iso: dict[int, tuple[str, int, str]] = {}
        self._midnight: dict[date, int] = {}

    def iso(self, m: int) -> str:
        """``YYYY-MM-DDTHH:MM:00+HH:MM`` for epoch minute ``m``.

        Cached per quarter hour: every UTC offset in use is a multiple of 15 minutes, so the
        date, hour and offset are constant within an aligned quarter; only the minute varies.
        """
        q, r = divmod(m, 15)
        hit = self._iso.get(q)
        if hit is None:
            if len(self._iso) > 8192:  # ~85 days of quarter hours
                self._iso.clear()
            s = datetime.fromtimestamp(q * 900, self.tz).isoformat()
            hit = self._iso[q] = (s[:14], int(s[14:16]), s[16:])
        return f"{hit[0]}{hit[1] + r:02d}{hit[2]}"

    def day(self, m: int) -> date:
        """Local calendar date of epoch minute ``m``."""
        return date.fromisoformat(self.iso(m)[:10])

    def midnight(self, d: date) -> int:
        """Epoch minute of 00:00 local on ``d``."""
        hit = self._midnight.get(d)
        if hit is None:
            if len(self._midnight) > 4096:
                self._midnight.clear()
            hit = self._midnight[d] = _epoch_min(localize(datetime.combine(d, time()), self.tz))
        return hit

    def local_minutes(self, d: date, minutes: list[int]) -> list[int]:
        """Sorted epoch minutes of the sorted local minutes-of-day ``minutes`` on ``d``.

        On a DST change day a wall time in the spring gap moves forward an hour and a repeated
        autumn time is its first occurrence, so every result still has local date ``d``.
        """
        m0 = self.midnight(d)
        if self.midnight(d + timedelta(days=1)) - m0 == _DAY_MIN:
            return [m0 + x for x in minutes]
        out: list[int] = []
        for x in minutes:
            naive = datetime.combine(d, time(x // 60, x % 60))
            try:
                out.append(_epoch_min(localize(naive, self.tz)))
            except NonExistentLocalTime:
                out.append(_epoch_min(localize(naive + timedelta(hours=1), self.tz)))
        return sorted(out)  # the gap shift can reorder a few


_Row = Callable[[tuple[str, ...]], object]  # csv writer's writerow for one file


def _epoch_min(instant: datetime) -> int:
    return int(instant.timestamp()) // 60


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
        self.rng, self.cal, self.clock = rng, cal, _Clock(cal.tz)
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
        mean = contacts_per_day * (_WEEKDAY_FACTOR[d.weekday()] if working else _OFF_DAY)
        n = max(0, round(rng.gauss(mean, 0.1 * mean))) if mean > 0 else 0
        minutes = rng.choices(_MINUTES, cum_weights=_MIN_CUM_WORK if working else _MIN_CUM_OFF,
                              k=n)  # fmt: skip
        minutes.sort()
        times = self.clock.local_minutes(d, minutes)
        sources = rng.choices(_SOURCES, cum_weights=_SRC_CUM_WORK if working else _SRC_CUM_OFF,
                              k=n)  # fmt: skip
        teams = rng.choices(range(len(TEAM_IDS)), cum_weights=_TEAM_CUM, k=n)
        for t, src, team in zip(times, sources, teams, strict=True):
            if t > self.lim:
                break
            self.contact(t, src, team)
        # Entries older than 12 months before tomorrow's first contact can never be used again.
        cutoff = self.clock.midnight(d) + _DAY_MIN - _YEAR_MIN
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
        if done is not None and r() < _P_REFERRAL:
            outcome = "Referral"
            ref_at = done if r() < 0.6 else done + 1 + int(r() * 120)
            if ref_at > self.lim:
                ref_at = None
        elif done is not None or 0.012 <= u < 0.015:
            v = r()
            outcome = next(o for o, c in zip(_OTHER_OUTCOMES, _OTHER_CUM, strict=True) if v < c)
        child = self.child(ref_at)
        team = TEAM_IDS[team_i]
        worker = ""
        if r() < (0.95 if done is not None else 0.5):
            worker = f"W-{team_i * _WORKERS_PER_TEAM + int(r() * _WORKERS_PER_TEAM) + 1:03d}"
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
        p = _P_REREFERRAL if ref_at is not None else _P_REPEAT_CONTACT
        child = ""
        if pool and r() < p:
            pt, pc = pool[int(r() * len(pool))]
            # A re-referral needs a previous referral within the 12 months before this one.
            if ref_at is None or ref_at - _YEAR_MIN <= pt < ref_at:
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
        decision = next(d for d, c in zip(_DECISIONS, _DECISION_CUM, strict=True) if v < c)
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
        for agency, p_row, p_yes in _ATTENDANCE:
            if r() < p_row:
                self.n["strategy_attendance"] += 1
                role = self.rng.choice(_ROLES[agency])
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
