"""Benchmark driver: every figure of issue 7's deliverable 6 in one run, each beside its floor.

Not a test. From the repository root with the dev venv:

    .venv/bin/python bench/pipeline.py                     # everything, 1M and 5M, both engines
    .venv/bin/python bench/pipeline.py --reuse-db          # keep the databases an earlier run built
    .venv/bin/python bench/pipeline.py --steps weekly digest tables   # some steps only

Steps, in order, each its own script run as a subprocess (each writes its own JSON file):

* ``scan``: ``bench/scan.py``: builds the databases (``frontdoor migrate`` + ``import``) and
  measures the import, full scan against its floor, incremental pass and CLI scan;
* ``import-floor``: ``bench/import_floor.py``: the same CSV files by ``COPY`` / ``executemany``;
* ``weekly``: ``bench/weekly.py``: the weekly report, and one figure set against its floor;
* ``digest``: ``bench/digest.py``: every team manager's digest against its floor;
* ``cin``: ``bench/cin.py``: CIN census import and evaluation against the DfE validator;
* ``tables``: merges the JSON files into ``bench/pipeline_results.json`` and prints the
  Markdown tables of ``bench/README.md``.

``--freeze-src`` copies ``src/frontdoor`` to ``bench/out/src-<UTC time>/`` first and puts that
copy first on ``PYTHONPATH`` for every step (the ``frontdoor`` CLI subprocesses included), so
edits made to ``src/`` while the benchmark runs do not change the code under test halfway.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
STEPS = ("scan", "import-floor", "weekly", "digest", "cin", "tables")


def freeze_src() -> Path:
    """Copy ``src/frontdoor`` to a new folder under ``bench/out`` and return that folder."""
    target = BENCH / "out" / f"src-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    shutil.copytree(
        BENCH.parent / "src" / "frontdoor",
        target / "frontdoor",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return target


def run_step(step: str, args: argparse.Namespace) -> None:
    """Run one step's script with the sizes and engines of this run."""
    common = ["--engines", *args.engines]
    sizes = ["--sizes", *map(str, args.sizes)]
    argv = {
        "scan": ["scan.py", *sizes, *common, *(["--reuse-db"] if args.reuse_db else [])],
        "import-floor": ["import_floor.py", *sizes, *common],
        "weekly": ["weekly.py", *sizes, *common, "--repeat", str(args.repeat)],
        "digest": ["digest.py", *sizes, *common, "--repeat", str(args.repeat)],
        "cin": [
            "cin.py",
            "--children",
            *map(str, args.cin_children),
            *common,
            *(["--no-validator"] if args.no_validator else []),
        ],
    }[step]
    print(f"#### {step}: {' '.join(argv)}", flush=True)
    subprocess.run([sys.executable, str(BENCH / argv[0]), *argv[1:]], check=True)


def load(name: str) -> list[dict[str, Any]]:
    """A step's results file (empty when the step never ran)."""
    path = BENCH / name
    return json.loads(path.read_text()) if path.exists() else []


def merged(sizes: list[int]) -> dict[str, Any]:
    """Every step's rows for ``sizes`` in one document."""

    def pick(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if r.get("size") in sizes]

    return {
        "written_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "pythonpath": os.environ.get("PYTHONPATH"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "scan_and_import": pick(load("results.json")),
        "import_floor": pick(load("import_floor_results.json")),
        "weekly": pick(load("weekly_results.json")),
        "digest": pick(load("digest_results.json")),
        "cin": load("cin_results.json"),
    }


def table(head: list[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _n(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


def _size(row: dict[str, Any]) -> str:
    return f"{row['contacts'] / 1e6:.2f}M"


def tables(doc: dict[str, Any]) -> str:
    """The README's results tables from the merged document."""
    engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    floors = {(r["size"], r["engine"]): r for r in doc["import_floor"]}
    out = ["### Import", ""]
    rows = []
    for r in doc["scan_and_import"]:
        f = floors.get((r["size"], r["engine"]))
        ours = r["import_rows_per_s"]
        rows.append(
            [
                _size(r),
                engine[r["engine"]],
                _n(ours),
                _n(r["import"]["contacts"]["rows_per_s"]),
                _n(f and f["rows_per_s"]),
                _n(f and f["contacts_rows_per_s"]),
                f"**{f['rows_per_s'] / ours:.1f}x**" if f else "-",
                f"{r['import_peak_rss_mb']} MB",
            ]
        )
    out.append(
        table(
            [
                "contacts",
                "engine",
                "`frontdoor import` rows/s, all files",
                "contacts rows/s",
                "floor rows/s, all files",
                "floor contacts rows/s",
                "floor / ours",
                "import peak RSS",
            ],
            rows,
        )
    )
    out += ["", "### Full and incremental scan", ""]
    rows = [
        [
            f"{_size(r)} ({r['findings']:,})",
            engine[r["engine"]],
            _n(r["scan_ms"], " ms"),
            _n(r["floor_ms"], " ms"),
            f"**{r['scan_vs_floor']}**",
            f"{r['incremental_ms']} ms",
            f"{r['cli_scan_seconds']} s",
            f"{r['cli_scan_peak_rss_mb']} MB",
        ]
        for r in doc["scan_and_import"]
    ]
    out.append(
        table(
            [
                "contacts (findings)",
                "engine",
                "scan",
                "raw-SQL floor",
                "scan / floor",
                "incremental pass",
                "CLI `scan --json`",
                "CLI peak RSS",
            ],
            rows,
        )
    )
    out += ["", "### Digests", ""]
    rows = [
        [
            f"{_size(r)} ({r['open_items']:,})",
            engine[r["engine"]],
            _n(r["digest_ms"], " ms"),
            _n(r["items_ms"], " ms"),
            _n(r["floor_ms"], " ms"),
            f"**{r['items_vs_floor']}**",
            f"{r['digest_vs_floor']}",
        ]
        for r in doc["digest"]
    ]
    out.append(
        table(
            [
                "contacts (open items)",
                "engine",
                "digest pass (dry run)",
                "items re-check",
                "raw-SQL floor",
                "items / floor",
                "digest / floor",
            ],
            rows,
        )
    )
    out += ["", "### Weekly report", ""]
    rows = [
        [
            _size(r),
            engine[r["engine"]],
            _n(r["one_week_ms"], " ms"),
            _n(r.get("floor_ms"), " ms"),
            r.get("one_week_vs_floor", "-"),
            _n(r["data_ms"], " ms"),
            _n(r["reports_ms"], " ms"),
            f"{r['cli_seconds']} s",
            f"{r['cli_peak_rss_mb']} MB",
        ]
        for r in doc["weekly"]
    ]
    out.append(
        table(
            [
                "contacts",
                "engine",
                "one week, all figures",
                "floor: 5 figures",
                "one week / floor",
                "data (12 weeks)",
                "reports",
                "CLI `report weekly`",
                "CLI peak RSS",
            ],
            rows,
        )
    )
    out += ["", "### CIN census", "", cin_tables(doc["cin"])]
    return "\n".join(out)


def cin_tables(cin: list[dict[str, Any]]) -> str:
    """The census tables: frontdoor per engine, then the DfE validator on the same files."""
    engine = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    ours = [
        [
            f"{r['children']:,} ({r['file_mb']} MB)",
            engine[f["engine"]],
            f"{sum(f['records'].values()):,}",
            f"{f['import_seconds']} s",
            _n(f["records_per_s"]),
            f"{f['import_peak_rss_mb']} MB",
            f"{f['findings']:,}",
            f"{f['scan_ms']} ms",
            f"{f['cli_scan_seconds']} s",
        ]
        for r in cin
        for f in r["frontdoor"]
    ]
    theirs = [
        [
            f"{r['children']:,} ({r['file_mb']} MB)",
            f"{v['seconds']} s" if "seconds" in v else v.get("error", "-"),
            f"{v['peak_rss_mb']} MB" if "peak_rss_mb" in v else "-",
            _n(v.get("issue_rows")),
        ]
        for r in cin
        for v in [r.get("validator", {})]
    ]
    head = ["children (file)", "engine", "records", "`import cin-census`", "records/s"]
    head += ["import peak RSS", "findings", "scan in process", "CLI `scan --json`"]
    validator = ["children (file)", "DfE validator", "validator peak RSS", "issue rows"]
    return table(head, ours) + "\n\n" + table(validator, theirs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--cin-children", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reuse-db", action="store_true")
    ap.add_argument(
        "--no-validator", action="store_true", help="cin step: keep earlier validator figures"
    )
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    ap.add_argument("--freeze-src", action="store_true", help="measure a copy of src/ (see above)")
    args = ap.parse_args()
    if args.freeze_src:
        frozen = freeze_src()
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(frozen), os.environ.get("PYTHONPATH", "")) if p
        )
        # The copy's default rules and templates folders would be under bench/out.
        os.environ.setdefault("FRONTDOOR_RULES_DIR", str(BENCH.parent / "rules"))
        os.environ.setdefault("FRONTDOOR_TEMPLATES_DIR", str(BENCH.parent / "templates"))
        print(f"#### measuring the copy of src/frontdoor in {frozen}", flush=True)
    for step in (s for s in STEPS if s in args.steps and s != "tables"):
        run_step(step, args)
    if "tables" in args.steps:
        doc = merged(args.sizes)
        (BENCH / "pipeline_results.json").write_text(json.dumps(doc, indent=1))
        print(tables(doc))


if __name__ == "__main__":
    main()
