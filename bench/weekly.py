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

and, once, the CLI ``frontdoor report weekly --out DIR`` wall time and peak RSS (process
start-up included). Results are appended to ``bench/weekly_results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontdoor import digest_data  # noqa: E402
from frontdoor.bootstrap import App, build_app  # noqa: E402
from frontdoor.settings import load_settings  # noqa: E402
from frontdoor.weekly_figures import week_figures  # noqa: E402
from frontdoor.weekly_report import gather, recipients  # noqa: E402
from frontdoor.weekly_send import make_reports  # noqa: E402
from frontdoor.weeks import last_complete_week  # noqa: E402
from scan import FRONTDOOR, REPO, dataset, existing_database, median_ms, run_measured  # noqa: E402


def app_for(url: str) -> App:
    settings = load_settings(
        database_url=url, rules_dir=REPO / "rules", templates_dir=REPO / "templates"
    )
    return build_app(settings)


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

    row: dict[str, Any] = {
        "size": size,
        "engine": engine_name,
        "contacts": counts["contacts"],
        "week": week.label,
        "service_managers": len(who),
        "teams": len(team_ids),
    }
    for name, fn in (("one_week_ms", one_week), ("data_ms", data), ("reports_ms", reports)):
        fn()  # warm-up: the first run reads the pages from disk
        row[name] = round(median_ms(fn, repeat), 1)
        print(f"  {name}: {row[name]:,.1f} ms", flush=True)
    total = make_reports(app, week=week, now=as_of)[0].data.current.total
    row["week_contacts_received"] = total.contacts_received
    row["week_breaches"] = total.breaches
    with tempfile.TemporaryDirectory() as out:
        env = {"FRONTDOOR_DATABASE_URL": url, "PATH": str(Path(FRONTDOOR).parent)}
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
