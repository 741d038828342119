"""Benchmark: the import floor, the same contract CSV files loaded with no validation.

Not a test. It loads the CSV files ``bench/scan.py`` generated (run that first for the same
sizes) from the repository root:

    .venv/bin/python bench/import_floor.py --sizes 1000000 5000000 --engines sqlite postgresql

For every file, in process and timed once (the load is seconds long), into a fresh staging
table with every column ``TEXT`` and no index, key or constraint:

* PostgreSQL: ``COPY ... FROM STDIN (FORMAT csv, HEADER true)``, the file streamed through
  psycopg in 1 MiB chunks, in its own database ``frontdoor_bench_floor``;
* SQLite: ``executemany`` of ``csv.reader`` rows in one transaction, in
  ``bench/out/floor.sqlite3``.

That is the cost of moving the bytes into the database and nothing else: no parsing of dates
or codes, no duplicate or reference check, no upsert, no ``ANALYZE``, no process start-up.
``frontdoor import``'s figures for the same files come from ``bench/results.json`` (written
by ``bench/scan.py``). Results go to ``bench/import_floor_results.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontdoor.csvformat import FILE_NAMES, IMPORT_ORDER  # noqa: E402
from scan import OUT, PG_URL, REPO, dataset  # noqa: E402

FLOOR_DB = "frontdoor_bench_floor"


def pg_conninfo() -> str:
    """A libpq URL for the floor's own PostgreSQL database, created empty."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{FLOOR_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{FLOOR_DB}"'))
    admin.dispose()
    url = make_url(PG_URL).set(drivername="postgresql", database=FLOOR_DB)
    return url.render_as_string(hide_password=False)


def header(path: Path) -> list[str]:
    """The CSV file's column names."""
    with path.open(newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def load_postgresql(conninfo: str, path: Path, table: str) -> None:
    """``COPY`` the file into a new unindexed all-text table."""
    cols = ", ".join(f'"{c}" text' for c in header(path))
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} ({cols})")
        sql = f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)"
        with cur.copy(sql) as copy, path.open("rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)


def load_sqlite(db: Path, path: Path, table: str) -> None:
    """``executemany`` the file's rows into a new unindexed all-text table."""
    names = header(path)
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"CREATE TABLE {table} ({', '.join(f'{c!r} TEXT' for c in names)})")
        with path.open(newline="", encoding="utf-8") as f, conn:
            rows = csv.reader(f)
            next(rows)
            marks = ",".join("?" * len(names))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    finally:
        conn.close()


def bench_one(size: int, engine_name: str) -> dict[str, Any]:
    """Load every file of ``size`` into a fresh staging database of ``engine_name``."""
    folder, _, counts = dataset(size)
    if engine_name == "sqlite":
        target: Any = OUT / "floor.sqlite3"
        target.unlink(missing_ok=True)
    else:
        target = pg_conninfo()
    files: dict[str, Any] = {}
    for kind in IMPORT_ORDER:
        path = folder / FILE_NAMES[kind]
        rows = counts[FILE_NAMES[kind].removesuffix(".csv")]
        table = "stg_" + kind.replace("-", "_")
        t0 = time.perf_counter()
        if engine_name == "sqlite":
            load_sqlite(target, path, table)
        else:
            load_postgresql(target, path, table)
        wall = time.perf_counter() - t0
        files[kind] = {"rows": rows, "seconds": round(wall, 2), "rows_per_s": round(rows / wall)}
        print(f"  {kind}: {rows:,} rows in {wall:.2f} s ({rows / wall:,.0f}/s)", flush=True)
    total_rows = sum(f["rows"] for f in files.values())
    total_s = sum(f["seconds"] for f in files.values())
    return {
        "size": size,
        "engine": engine_name,
        "contacts": counts["contacts"],
        "files": files,
        "rows": total_rows,
        "seconds": round(total_s, 2),
        "rows_per_s": round(total_rows / total_s),
        "contacts_rows_per_s": files["contacts"]["rows_per_s"],
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--results", type=Path, default=REPO / "bench" / "import_floor_results.json")
    args = ap.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    for size in args.sizes:
        for engine_name in args.engines:
            print(f"== import floor, {size:,} contacts on {engine_name}", flush=True)
            row = bench_one(size, engine_name)
            results = [r for r in results if (r["size"], r["engine"]) != (size, engine_name)] + [
                row
            ]
            args.results.write_text(json.dumps(results, indent=1))
    (OUT / "floor.sqlite3").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
