"""Benchmark: import, full scan vs the raw-SQL floor, incremental pass, naive ORM loop, RSS.

Not a test. Run from the repository root with the dev venv:

    .venv/bin/python bench/scan.py --sizes 1000000 5000000 --engines sqlite postgresql

For each size it generates the contract CSV files once (cached under bench/out/), then for
each engine builds a fresh database with ``frontdoor migrate`` and ``frontdoor import`` (run as
subprocesses, so wall time and peak RSS are those a user sees) and measures, in one run:

* ``frontdoor scan`` evaluation time at the export instant (median of 5, in process) against
  the raw-SQL floor: the same finding set fetched through the DB-API with the best index
  (thresholds computed the same way; the floor must return exactly the same ids);
* the CLI ``frontdoor scan --json`` wall time and peak RSS;
* the incremental pass (median of 5 passes 15 minutes apart, after one live full scan);
* a naive ORM loop over every contact at 100k contacts, for contrast (``--naive-size``).

PostgreSQL is the server at FRONTDOOR_BENCH_PG_URL (default the local one); the benchmark
creates and drops its own database there.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, text
from sqlalchemy.engine import make_url

from frontdoor.clock import england_calendar
from frontdoor.csvformat import FILE_NAMES, IMPORT_ORDER
from frontdoor.db import make_engine
from frontdoor.dbtypes import UtcDateTime
from frontdoor.evaluate import start_threshold
from frontdoor.generate import generate_dataset
from frontdoor.rules import AttendanceRule, TimescaleRule, load_rules
from frontdoor.scan import run_incremental_scan, run_scan

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
FRONTDOOR = str(Path(sys.executable).parent / "frontdoor")
PG_URL = os.environ.get(
    "FRONTDOOR_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = date(2020, 1, 1)
CONTACTS_PER_DAY = 2000


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command; return (wall seconds, peak RSS in MB, stdout).

    Peak RSS comes from GNU time (``/usr/bin/time``), not from wait4() here: a child forked
    from this (large) benchmark process would report the parent's pages as its own.
    """
    rss_file = OUT / "rss.txt"
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with exit {proc.returncode}")
    rss_kb = int(rss_file.read_text().strip().splitlines()[-1])
    return wall, rss_kb // 1024, proc.stdout


def median_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def dataset(size: int) -> tuple[Path, datetime, dict[str, int]]:
    days = max(1, round(size / (CONTACTS_PER_DAY * 0.8)))  # weekends are quieter
    folder = OUT / f"data-{size}"
    meta = folder / "meta.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        return folder, datetime.fromisoformat(info["as_of"]), info["counts"]
    t0 = time.perf_counter()
    summary = generate_dataset(
        folder, seed=7, start=START, days=days, contacts_per_day=CONTACTS_PER_DAY
    )
    print(
        f"  generated {summary.counts['contacts']:,} contacts in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    meta.write_text(json.dumps({"as_of": summary.as_of.isoformat(), "counts": summary.counts}))
    return folder, summary.as_of, summary.counts


def fresh_database(engine_name: str, size: int) -> str:
    if engine_name == "sqlite":
        path = OUT / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"frontdoor_bench_{size}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def floor_queries(engine: Engine, rules: list[Any], now: datetime) -> dict[str, set[str]]:
    """The finding ids of each rule through the raw DB-API with hand-written SQL."""
    cal = england_calendar()
    sqlite = engine.dialect.name == "sqlite"

    def bind(value: datetime | date) -> object:
        if sqlite and isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if sqlite:
            return value.isoformat()
        return value

    p = "?" if sqlite else "%s"
    t = "1" if sqlite else "true"
    out: dict[str, set[str]] = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for rule in rules:
            if isinstance(rule, AttendanceRule):
                req = ",".join(f"'{a}'" for a in rule.required_agencies)
                lo = now - timedelta(days=rule.lookback_days)
                cur.execute(
                    "SELECT d.discussion_id FROM strategy_discussion d WHERE d.held_at >= "
                    f"{p} AND d.held_at <= {p} AND (SELECT count(*) FROM strategy_attendance a"
                    f" WHERE a.discussion_id = d.discussion_id AND a.attended = {t} AND "
                    f"a.agency IN ({req})) < {len(rule.required_agencies)} "
                    "ORDER BY d.held_at, d.discussion_id",
                    (bind(lo), bind(now)),
                )
                out[rule.id] = {r[0] for r in cur.fetchall()}
                continue
            assert isinstance(rule, TimescaleRule)
            th = start_threshold(rule, cal, now=now)
            today = cal.local_date(now)
            if rule.record in ("contact", "referral"):
                tab, rid, done = (
                    ("contact", "contact_id", "outcome_at")
                    if rule.record == "contact"
                    else ("referral", "referral_id", "decision_at")
                )
                cur.execute(
                    f"SELECT {rid}, team_id, child_id, received_at FROM {tab} "
                    f"WHERE {done} IS NULL AND received_at < {p}",
                    (bind(th.instant),),
                )
                ids = {r[0] for r in cur.fetchall()}
            elif rule.record == "s47_enquiry":
                cur.execute(
                    "SELECT s.s47_id, s.team_id, s.child_id, d.held_at, s.start_date "
                    "FROM s47_enquiry s LEFT JOIN strategy_discussion d "
                    "ON d.discussion_id = s.discussion_id "
                    f"WHERE s.icpc_date IS NULL AND s.start_date <= {p} "
                    f"AND (s.icpc_not_required IS NULL OR s.icpc_not_required = "
                    f"{'0' if sqlite else 'false'}) AND ((d.held_at IS NOT NULL AND "
                    f"d.held_at < {p}) OR (d.held_at IS NULL AND s.start_date <= {p}))",
                    (bind(today), bind(th.instant), bind(th.day)),
                )
                ids = {r[0] for r in cur.fetchall()}
            else:
                cur.execute(
                    "SELECT a.assessment_id, a.team_id, a.child_id, r.received_at "
                    "FROM assessment a JOIN referral r ON r.referral_id = a.referral_id "
                    f"WHERE a.authorised_date IS NULL AND a.start_date <= {p} "
                    f"AND r.received_at < {p}",
                    (bind(today), bind(th.instant)),
                )
                ids = {r[0] for r in cur.fetchall()}
            out[rule.id] = ids
    finally:
        raw.close()
    return out


def naive_orm_loop(engine: Engine, now: datetime) -> int:
    """What not to do: load every contact as an ORM entity and test it in Python."""
    from sqlmodel import Session, select

    from frontdoor.models import Contact

    count = 0
    with Session(engine) as session:
        for c in session.exec(select(Contact)).all():
            if c.received_at + timedelta(hours=24) < now and (
                c.outcome_at is None or c.outcome_at > now
            ):
                count += 1
    return count


def existing_database(engine_name: str, size: int) -> str | None:
    """The URL of the database an earlier run built, if it is still there."""
    if engine_name == "sqlite":
        path = OUT / f"bench-{size}.sqlite3"
        return f"sqlite:///{path}" if path.exists() else None
    name = f"frontdoor_bench_{size}"
    admin = create_engine(PG_URL)
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        exists = found.first() is not None
    admin.dispose()
    return (
        make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        if (exists)
        else None
    )


def bench_one(
    size: int, engine_name: str, *, naive: bool, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Build (or, with ``previous``, reuse) the database and measure it."""
    folder, as_of, counts = dataset(size)
    reused = existing_database(engine_name, size) if previous else None
    if reused is not None and previous is not None:
        print("  reusing the database and import figures of the previous run", flush=True)
        return measure(size, engine_name, reused, as_of, counts, naive=naive, build=previous)
    url = fresh_database(engine_name, size)
    env = {
        **os.environ,
        "FRONTDOOR_DATABASE_URL": url,
        "FRONTDOOR_RULES_DIR": str(REPO / "rules"),
        "FRONTDOOR_LOG_JSON": "true",
    }
    run_measured([FRONTDOOR, "migrate"], env)
    imports: dict[str, Any] = {}
    total_rows = 0
    total_wall = 0.0
    peak_import = 0
    for kind in IMPORT_ORDER:
        wall, rss, out = run_measured(
            [FRONTDOOR, "import", kind, str(folder / FILE_NAMES[kind])], env
        )
        rows = counts[FILE_NAMES[kind].removesuffix(".csv")]
        imports[kind] = {
            "rows": rows,
            "seconds": round(wall, 2),
            "rows_per_s": round(rows / wall),
            "peak_rss_mb": rss,
        }
        total_rows += rows
        total_wall += wall
        peak_import = max(peak_import, rss)
        print(
            f"  import {kind}: {rows:,} rows in {wall:.1f} s ({rows / wall:,.0f}/s), "
            f"{rss} MB — {out.strip()}",
            flush=True,
        )
    engine = make_engine(url)
    # The import stamped every row with today's wall-clock time, but the benchmark's "now" is
    # the export instant of the synthetic data. Re-stamp ``ingested_at`` as a live feed would
    # have: each row when it last changed (received, or completed). Otherwise every row would
    # look new to the incremental pass, and the planners would see one ingested_at value.
    loaded = as_of - timedelta(days=1)
    restamp = {
        "team": ":loaded",
        "contact": "COALESCE(outcome_at, received_at)",
        "referral": "COALESCE(decision_at, received_at)",
        "strategy_discussion": "held_at",
        "strategy_attendance": "(SELECT d.held_at FROM strategy_discussion d "
        "WHERE d.discussion_id = strategy_attendance.discussion_id)",
        "s47_enquiry": "COALESCE((SELECT d.held_at FROM strategy_discussion d "
        "WHERE d.discussion_id = s47_enquiry.discussion_id), :loaded)",
        "assessment": "(SELECT r.received_at FROM referral r "
        "WHERE r.referral_id = assessment.referral_id)",
    }
    with engine.begin() as conn:
        for table, expr in restamp.items():
            stmt = text(f"UPDATE {table} SET ingested_at = {expr}")
            if ":loaded" in expr:
                # Bound through the column type, so SQLite gets its UTC text format.
                stmt = stmt.bindparams(bindparam("loaded", loaded, type_=UtcDateTime()))
            conn.execute(stmt)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    build = {
        "import": imports,
        "import_rows": total_rows,
        "import_seconds": round(total_wall, 1),
        "import_rows_per_s": round(total_rows / total_wall),
        "import_peak_rss_mb": peak_import,
    }
    return measure(size, engine_name, url, as_of, counts, naive=naive, build=build)


def measure(
    size: int,
    engine_name: str,
    url: str,
    as_of: datetime,
    counts: dict[str, int],
    *,
    naive: bool,
    build: dict[str, Any],
) -> dict[str, Any]:
    """Scan vs floor, CLI scan, incremental pass and (optionally) the naive loop."""
    engine = make_engine(url)
    env = {
        **os.environ,
        "FRONTDOOR_DATABASE_URL": url,
        "FRONTDOOR_RULES_DIR": str(REPO / "rules"),
        "FRONTDOOR_LOG_JSON": "true",
    }
    with engine.begin() as conn:  # a reused database may carry an earlier run's ledger
        conn.execute(text("DELETE FROM breach"))
        conn.execute(text("DELETE FROM scan_state"))
    rules = load_rules(REPO / "rules")
    cal = england_calendar()
    now = as_of

    result = run_scan(engine, rules, cal, now=now)
    floor = floor_queries(engine, rules, now)
    ours = {r.id: {f.record_id for f in result.findings if f.rule == r.id} for r in rules}
    if ours != floor:
        diff = {k: (len(ours[k]), len(floor[k])) for k in ours if ours[k] != floor[k]}
        raise SystemExit(f"finding sets differ from the floor: {diff}")
    scan_ms = median_ms(lambda: run_scan(engine, rules, cal, now=now))
    floor_ms = median_ms(lambda: floor_queries(engine, rules, now))
    cli_wall, cli_rss, _ = run_measured(
        [FRONTDOOR, "scan", "--json", "--now", now.isoformat()], env
    )

    run_scan(engine, rules, cal, now=now - timedelta(minutes=15), record=True)
    inc_times = []
    for i in range(5):
        t0 = time.perf_counter()
        run_incremental_scan(engine, rules, cal, now=now + timedelta(minutes=15 * i))
        inc_times.append((time.perf_counter() - t0) * 1000)
    naive_ms = None
    if naive:
        naive_ms = median_ms(lambda: naive_orm_loop(engine, now), repeat=3)
    engine.dispose()
    return {
        "size": size,
        "engine": engine_name,
        "contacts": counts["contacts"],
        "findings": len(result.findings),
        **{
            k: build[k]
            for k in (
                "import",
                "import_rows",
                "import_seconds",
                "import_rows_per_s",
                "import_peak_rss_mb",
            )
        },
        "scan_ms": round(scan_ms, 1),
        "floor_ms": round(floor_ms, 1),
        "scan_vs_floor": round(scan_ms / floor_ms, 2),
        "cli_scan_seconds": round(cli_wall, 2),
        "cli_scan_peak_rss_mb": cli_rss,
        "incremental_ms": round(statistics.median(inc_times), 1),
        "naive_orm_ms": None if naive_ms is None else round(naive_ms, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--naive-size", type=int, default=100_000)
    ap.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    ap.add_argument(
        "--reuse-db",
        action="store_true",
        help="measure the databases of an earlier run again (keeps its import figures)",
    )
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    for size in sorted({args.naive_size, *args.sizes}):
        for engine_name in args.engines:
            print(f"== {size:,} contacts on {engine_name}", flush=True)
            previous = next(
                (r for r in results if (r["size"], r["engine"]) == (size, engine_name)), None
            )
            row = bench_one(
                size,
                engine_name,
                naive=size == args.naive_size,
                previous=previous if args.reuse_db else None,
            )
            print(json.dumps(row), flush=True)
            results = [r for r in results if (r["size"], r["engine"]) != (size, engine_name)] + [
                row
            ]
            args.results.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
