"""Benchmark: the weekly report at scale (issue 5's target: <= 5 s at 5M contacts).

Not a test. It measures the databases that ``bench/scan.py`` builds (run that first for the
same sizes), from the repository root with the dev venv:

    .venv/bin/python bench/scan.py --sizes 5000000          # builds the databases
    .venv/bin/python bench/weekly.py --sizes 5000000 --engines sqlite postgresql

For the last complete week before the export instant it times, in process (median of
``--repeat`` runs after one warm-up run):

* ``one week``: :func:`frontdoor.weekly_figures.week_figures` for every team, one week;
* ``data``: :func:`frontdoor.weekly_report.gather` for every service manager: twelve weeks of
  figures (the trend), the breach list and the oldest open items;
* ``reports``: :func:`frontdoor.weekly_send.make_reports`: the data plus rendering the HTML
  and text parts and writing the XLSX for every service manager (what the Monday job does
  before queueing);

* ``floor``: one figure set of the same week by hand-written SQL through the DB-API: per team,
  contacts received, contacts due in the week (24-hour rule) and of those met, strategy
  discussions held and of those with every required agency. The script checks these equal
  the project's ``week_figures`` values for every team.

and, once, the CLI ``frontdoor report weekly --out DIR`` wall time and peak RSS (process
start-up included). Results are appended to ``bench/weekly_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floorsql import dialect_of  # noqa: E402
from frontdoor import digest_data  # noqa: E402
from frontdoor.bootstrap import App, build_app  # noqa: E402
from frontdoor.rules import AttendanceRule, TimescaleRule  # noqa: E402
from frontdoor.settings import load_settings  # noqa: E402
from frontdoor.weekly_figures import week_figures  # noqa: E402
from frontdoor.weekly_report import gather, recipients  # noqa: E402
from frontdoor.weekly_send import make_reports  # noqa: E402
from frontdoor.weekly_types import WeekFigures  # noqa: E402
from frontdoor.weeks import ReportWeek, last_complete_week  # noqa: E402
from scan import FRONTDOOR, REPO, dataset, existing_database, median_ms, run_measured  # noqa: E402


def app_for(url: str) -> App:
    settings = load_settings(
        database_url=url, rules_dir=REPO / "rules", templates_dir=REPO / "templates"
    )
    return build_app(settings)


FigureSet = dict[str, tuple[int, ...]]  # team id -> the floor's figures, in FLOOR_FIGURES order
FLOOR_FIGURES = (
    "contacts_received",
    "contacts_due",
    "contacts_met",
    "discussions_held",
    "discussions_all_agencies",
)


def floor_week(app: App, week: ReportWeek) -> FigureSet:
    """The floor's figure set for ``week`` per team, by hand-written SQL (see the docstring).

    Contacts have no plain ``received_at`` index (only partial ones on open and completed
    contacts), so each count is two index ranges joined by ``UNION ALL``, as the project does.
    """
    rule = next(r for r in app.rules if r.enabled and getattr(r, "record", "") == "contact")
    attendance = next(r for r in app.rules if r.enabled and isinstance(r, AttendanceRule))
    assert isinstance(rule, TimescaleRule)
    assert rule.clock == "clock-hours"
    d = dialect_of(app.engine)
    p, b, hours = d.p, d.bind, rule.limit
    due = (
        f"strftime('%Y-%m-%d %H:%M:%f', received_at, '+{hours} hours') || '000'"
        if d.sqlite
        else f"received_at + interval '{hours} hours'"
    )
    lo, hi = week.start, week.end
    due_lo, due_hi = lo - timedelta(hours=hours), hi - timedelta(hours=hours)
    req = ",".join(f"'{a}'" for a in attendance.required_agencies)
    queries = [
        (
            "SELECT team_id, count(*) FROM (SELECT team_id FROM contact WHERE outcome_at IS NULL "
            f"AND received_at >= {p} AND received_at < {p} UNION ALL SELECT team_id FROM contact "
            f"WHERE outcome_at >= {p} AND received_at >= {p} AND received_at < {p}) x "
            "GROUP BY team_id",
            (b(lo), b(hi), b(lo), b(lo), b(hi)),
        ),
        (
            "SELECT team_id, count(*), sum(met) FROM (SELECT team_id, 0 AS met FROM contact "
            f"WHERE outcome_at IS NULL AND received_at >= {p} AND received_at < {p} UNION ALL "
            f"SELECT team_id, CASE WHEN outcome_at <= {due} THEN 1 ELSE 0 END FROM contact "
            f"WHERE outcome_at >= {p} AND received_at >= {p} AND received_at < {p}) x "
            "GROUP BY team_id",
            (b(due_lo), b(due_hi), b(due_lo), b(due_lo), b(due_hi)),
        ),
        (
            "SELECT team_id, count(*), sum(CASE WHEN (SELECT count(*) FROM strategy_attendance "
            f"a WHERE a.discussion_id = d.discussion_id AND a.attended = {d.yes} AND a.agency "
            f"IN ({req})) = {len(attendance.required_agencies)} THEN 1 ELSE 0 END) "
            f"FROM strategy_discussion d WHERE held_at >= {p} AND held_at < {p} GROUP BY team_id",
            (b(lo), b(hi)),
        ),
    ]
    parts: dict[str, list[int]] = {}
    raw = app.engine.raw_connection()
    try:
        cur = raw.cursor()
        for at, (sql, args) in zip((0, 1, 3), queries, strict=True):
            cur.execute(sql, args)
            for team, *values in cur.fetchall():
                row = parts.setdefault(team, [0] * len(FLOOR_FIGURES))
                row[at : at + len(values)] = [int(v or 0) for v in values]
    finally:
        raw.close()
    return {t: tuple(v) for t, v in sorted(parts.items())}


def project_set(figures: WeekFigures) -> FigureSet:
    """The project's values of the floor's figures, per team (teams with none left out)."""
    out: FigureSet = {}
    for t in figures.teams:
        values = (
            t.contacts_received,
            t.contact_timely.denominator,
            t.contact_timely.numerator,
            t.discussions_held,
            t.discussions_all_agencies.numerator,
        )
        if any(values) and t.team_id is not None:
            out[t.team_id] = values
    return out


def bench_one(size: int, engine_name: str, repeat: int) -> dict[str, Any]:
    _, as_of, counts = dataset(size)
    url = existing_database(engine_name, size)
    if url is None:
        raise SystemExit(f"no {engine_name} database for {size:,}: run bench/scan.py first")
    app = app_for(url)
    week = last_complete_week(as_of, app.settings.zone)
    with app.engine.connect() as conn:
        who = recipients(digest_data.teams(conn))
    team_ids = sorted({t for r in who for t in r.team_ids})

    def one_week() -> object:
        with app.engine.connect() as conn:
            return week_figures(conn, app.rules, app.calendar, week, team_ids=team_ids)

    def data() -> object:
        with app.engine.connect() as conn:
            return gather(conn, app.rules, app.calendar, week, who, now=as_of)

    def reports() -> object:
        return make_reports(app, week=week, now=as_of)

    def floor() -> FigureSet:
        return floor_week(app, week)

    ours, theirs = project_set(one_week()), floor()  # type: ignore[arg-type]
    if ours != theirs:
        raise SystemExit(f"weekly figures differ from the floor: {ours} != {theirs}")
    row: dict[str, Any] = {
        "size": size,
        "engine": engine_name,
        "contacts": counts["contacts"],
        "week": week.label,
        "service_managers": len(who),
        "teams": len(team_ids),
    }
    row["floor_figures"] = {"names": FLOOR_FIGURES, "per_team": theirs}
    steps = (
        ("one_week_ms", one_week),
        ("floor_ms", floor),
        ("data_ms", data),
        ("reports_ms", reports),
    )
    for name, fn in steps:
        fn()  # warm-up: the first run reads the pages from disk
        row[name] = round(median_ms(fn, repeat), 1)
        print(f"  {name}: {row[name]:,.1f} ms", flush=True)
    row["one_week_vs_floor"] = round(row["one_week_ms"] / row["floor_ms"], 2)
    total = make_reports(app, week=week, now=as_of)[0].data.current.total
    row["week_contacts_received"] = total.contacts_received
    row["week_breaches"] = total.breaches
    with tempfile.TemporaryDirectory() as out:
        env = {
            "FRONTDOOR_DATABASE_URL": url,
            "FRONTDOOR_RULES_DIR": str(REPO / "rules"),
            "FRONTDOOR_TEMPLATES_DIR": str(REPO / "templates"),
            "PATH": str(Path(FRONTDOOR).parent),
        }
        if "PYTHONPATH" in os.environ:  # bench/pipeline.py --freeze-src
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        cmd = [FRONTDOOR, "report", "weekly", "--now", as_of.isoformat(), "--out", out]
        wall, rss, _ = run_measured(cmd, env)
    row["cli_seconds"] = round(wall, 2)
    row["cli_peak_rss_mb"] = rss
    print(f"  CLI report weekly --out: {wall:.2f} s, {rss} MB", flush=True)
    app.engine.dispose()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--results", type=Path, default=REPO / "bench" / "weekly_results.json")
    args = ap.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    for size in args.sizes:
        for engine_name in args.engines:
            print(f"== weekly report, {size:,} contacts on {engine_name}", flush=True)
            row = bench_one(size, engine_name, args.repeat)
            row["measured_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
            print(json.dumps(row), flush=True)
            results = [r for r in results if (r["size"], r["engine"]) != (size, engine_name)] + [
                row
            ]
            args.results.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
