"""Benchmark: CIN census XML import and evaluation against the DfE validator on the same file.

Not a test. Run from the repository root with the dev venv:

    .venv/bin/python bench/cin.py --children 100000 --engines sqlite postgresql

It writes a synthetic census file (``bench/out/cin-<N>.xml``, fake ids, seeded), then for each
engine builds a fresh database (``frontdoor migrate``, one fictional team) and measures, as
subprocesses under GNU ``time`` (wall time and peak RSS, start-up included):

* ``frontdoor import cin-census FILE --team CIN-A``;
* ``frontdoor scan --json --now <reference date>``: the evaluation of every rule (the census
  fills the ICPC and assessment rules' records), plus ``run_scan`` in process (median of 3).

Then it runs the DfE CIN validator (``csc-validator-be-cin``) on the same file:
``python -m cin_validator run FILE -r cin2024_25`` in a scratch virtual environment
(``bench/out/validator-venv``) that the script creates and installs the package into; the
package is never a dependency of the project. Results go to ``bench/cin_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frontdoor.clock import england_calendar  # noqa: E402
from frontdoor.db import make_engine  # noqa: E402
from frontdoor.rules import load_rules  # noqa: E402
from frontdoor.scan import run_scan  # noqa: E402
from scan import FRONTDOOR, OUT, PG_URL, REPO, median_ms, run_measured  # noqa: E402

VENV = OUT / "validator-venv"
#: The validator, plus what its wheel needs but does not pin: pandas 1.5 breaks on numpy 2,
#: and ``python -m cin_validator`` imports pytest at start-up.
VALIDATOR_PACKAGES = ["csc-validator-be-cin", "numpy<2", "pytest"]
RULESET = "cin2024_25"
REFERENCE = date(2025, 3, 31)  # census year 2024-25
TEAM = "CIN-A"
TEAMS_CSV = (
    "team_id,team_name,manager_name,manager_email,service_manager_name,service_manager_email\n"
    f"{TEAM},Census Team A,Team Manager C (fictional),tm.cin-a@example.org,"
    "Service Manager C (fictional),sm.cin@example.org\n"
)
ETHNICITIES = ["WBRI", "WIRI", "WOTH", "MWBC", "AIND", "APKN", "BAFR", "CHNE", "OOTH", "NOBT"]
SOURCES = ["1A", "1B", "1C", "2A", "2B", "3A", "3B", "3C", "4", "5A", "5B", "6", "7", "8", "9"]


def _day(d: date) -> str:
    return d.isoformat()


def _details(out: TextIO, rng: random.Random, referred: date) -> None:
    """One ``<CINdetails>`` block: a referral, usually an assessment, sometimes an S47."""
    closed = referred + timedelta(days=rng.randrange(20, 200))
    out.write("<CINdetails>")
    out.write(f"<CINreferralDate>{_day(referred)}</CINreferralDate>")
    out.write(f"<ReferralSource>{rng.choice(SOURCES)}</ReferralSource>")
    out.write(f"<PrimaryNeedCode>N{rng.randrange(1, 10)}</PrimaryNeedCode>")
    if closed <= REFERENCE:
        out.write(f"<CINclosureDate>{_day(closed)}</CINclosureDate>")
        out.write("<ReasonForClosure>RC8</ReasonForClosure>")
    if rng.random() < 0.8:
        start = referred + timedelta(days=rng.randrange(0, 5))
        done = start + timedelta(days=rng.choice([10, 20, 30, 40, 50, 60, 70, 90]))
        out.write("<Assessments>")
        out.write(f"<AssessmentActualStartDate>{_day(start)}</AssessmentActualStartDate>")
        if done <= REFERENCE and rng.random() > 0.05:
            out.write(
                f"<AssessmentAuthorisationDate>{_day(done)}</AssessmentAuthorisationDate>"
                "<FactorsIdentifiedAtAssessment><AssessmentFactors>2B</AssessmentFactors>"
                "<AssessmentFactors>3B</AssessmentFactors></FactorsIdentifiedAtAssessment>"
            )
        out.write("</Assessments>")
    if rng.random() < 0.2:
        start = referred + timedelta(days=rng.randrange(0, 5))
        out.write("<Section47>")
        out.write(f"<S47ActualStartDate>{_day(start)}</S47ActualStartDate>")
        out.write(f"<InitialCPCtarget>{_day(start + timedelta(days=21))}</InitialCPCtarget>")
        icpc = start + timedelta(days=rng.randrange(5, 35))
        if rng.random() < 0.1:
            out.write("<ICPCnotRequired>true</ICPCnotRequired>")
        elif icpc <= REFERENCE and rng.random() > 0.05:
            out.write(f"<DateOfInitialCPC>{_day(icpc)}</DateOfInitialCPC>")
            out.write("<ICPCnotRequired>false</ICPCnotRequired>")
        out.write("</Section47>")
    out.write(f"<ReferralNFA>{'true' if rng.random() < 0.1 else 'false'}</ReferralNFA>")
    out.write("</CINdetails>\n")


def write_census(path: Path, children: int, seed: int = 11) -> None:
    """A synthetic census in the samples' shape (tests/samples/cinval_*.xml): fake ids."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "<Message><Header><CollectionDetails><Collection>CIN</Collection>"
            f"<Year>{REFERENCE.year}</Year><ReferenceDate>{_day(REFERENCE)}</ReferenceDate>"
            "</CollectionDetails><Source><SourceLevel>L</SourceLevel><LEA>999</LEA>"
            "<SoftwareCode>frontdoor bench (synthetic)</SoftwareCode><Release>1</Release>"
            "<SerialNo>1</SerialNo><DateTime>2025-04-01T09:00:00</DateTime></Source>"
            "</Header>\n<Children>\n"
        )
        for n in range(1, children + 1):
            born = REFERENCE - timedelta(days=rng.randrange(30, 17 * 365))
            out.write(
                f"<Child><ChildIdentifiers><LAchildID>SYN{n:09d}</LAchildID>"
                "<UPNunknown>UN1</UPNunknown>"
                f"<PersonBirthDate>{_day(born)}</PersonBirthDate>"
                f"<Sex>{rng.choice('MF')}</Sex></ChildIdentifiers>"
                f"<ChildCharacteristics><Ethnicity>{rng.choice(ETHNICITIES)}</Ethnicity>"
                "<Disabilities><Disability>NONE</Disability></Disabilities>"
                "</ChildCharacteristics>\n"
            )
            # One referral a child, some two (on different days: the id is child and date).
            for ago in rng.sample(range(365), 2 if rng.random() < 0.15 else 1):
                _details(out, rng, REFERENCE - timedelta(days=ago))
            out.write("</Child>\n")
        out.write("</Children>\n</Message>\n")


def fresh_database(engine_name: str) -> str:
    """A new, empty database for the census (SQLite file or PostgreSQL database)."""
    if engine_name == "sqlite":
        path = OUT / "bench-cin.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "frontdoor_bench_cin" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "frontdoor_bench_cin"'))
    admin.dispose()
    return make_url(PG_URL).set(database="frontdoor_bench_cin").render_as_string(False)


def bench_frontdoor(xml: Path, engine_name: str) -> dict[str, Any]:
    """Import the census with the CLI, then scan it (CLI and in process)."""
    url = fresh_database(engine_name)
    env = {**os.environ, "FRONTDOOR_DATABASE_URL": url, "FRONTDOOR_RULES_DIR": str(REPO / "rules")}
    teams = OUT / "cin-teams.csv"
    teams.write_text(TEAMS_CSV)
    run_measured([FRONTDOOR, "migrate"], env)
    run_measured([FRONTDOOR, "import", "teams", str(teams)], env)
    wall, rss, out = run_measured(
        [FRONTDOOR, "import", "cin-census", str(xml), "--team", TEAM], env
    )
    print(f"  import cin-census: {wall:.1f} s, {rss} MB\n{out.strip()}", flush=True)
    now = datetime(REFERENCE.year, REFERENCE.month, REFERENCE.day, 23, tzinfo=UTC)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("referral", "assessment", "s47_enquiry")
        }
    rules = load_rules(REPO / "rules")
    cal = england_calendar()
    findings = len(run_scan(engine, rules, cal, now=now).findings)
    scan_ms = median_ms(lambda: run_scan(engine, rules, cal, now=now), repeat=3)
    engine.dispose()
    scan_wall, scan_rss, _ = run_measured(
        [FRONTDOOR, "scan", "--json", "--now", now.isoformat()], env
    )
    print(
        f"  scan: {findings} findings, {scan_ms:.0f} ms in process; "
        f"CLI {scan_wall:.1f} s, {scan_rss} MB",
        flush=True,
    )
    return {
        "engine": engine_name,
        "records": rows,
        "import_seconds": round(wall, 2),
        "import_peak_rss_mb": rss,
        "records_per_s": round(sum(rows.values()) / wall),
        "findings": findings,
        "scan_ms": round(scan_ms, 1),
        "cli_scan_seconds": round(scan_wall, 2),
        "cli_scan_peak_rss_mb": scan_rss,
    }


def ensure_validator() -> Path:
    """The scratch venv's interpreter, creating the venv and installing the validator."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *VALIDATOR_PACKAGES],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return python


def bench_validator(xml: Path, timeout: float) -> dict[str, Any]:
    """Run the DfE validator's own command line on ``xml`` under GNU time."""
    try:
        python = ensure_validator()
    except subprocess.CalledProcessError as exc:
        return {"error": f"could not install {' '.join(VALIDATOR_PACKAGES)}: {exc}"}
    shown = subprocess.run(
        [str(python), "-m", "pip", "show", "csc-validator-be-cin"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    version = re.search(r"Version: (\S+)", shown)
    cmd = [str(python), "-m", "cin_validator", "run", str(xml), "-r", RULESET]
    rss_file = OUT / "validator-rss.txt"
    start = time.perf_counter()
    # A session of its own, so a timeout ends the validator too, not only GNU time.
    proc = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"did not finish within {timeout:.0f} s", "command": cmd[1:]}
    wall = time.perf_counter() - start
    found = re.search(r"\[(\d+) rows x \d+ columns\]", stdout)
    result: dict[str, Any] = {
        "version": version.group(1) if version else None,
        "ruleset": RULESET,
        "exit": proc.returncode,
        "seconds": round(wall, 2),
        "peak_rss_mb": int(rss_file.read_text().split()[-1]) // 1024,
        "issue_rows": int(found.group(1)) if found else None,
    }
    if proc.returncode != 0:
        result["error"] = stderr.strip().splitlines()[-1:]
    print(f"  validator: {json.dumps(result)}", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, nargs="+", default=[100_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--no-validator", action="store_true")
    ap.add_argument("--validator-timeout", type=float, default=4000)
    ap.add_argument("--results", type=Path, default=REPO / "bench" / "cin_results.json")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    for children in args.children:
        xml = OUT / f"cin-{children}.xml"
        if not xml.exists():
            write_census(xml, children)
        row: dict[str, Any] = {
            "children": children,
            "file_mb": round(xml.stat().st_size / 2**20, 1),
            "frontdoor": [],
        }
        for engine_name in args.engines:
            print(f"== CIN census, {children:,} children on {engine_name}", flush=True)
            row["frontdoor"].append(bench_frontdoor(xml, engine_name))
        if not args.no_validator:
            print(f"== DfE validator, {children:,} children", flush=True)
            row["validator"] = bench_validator(xml, args.validator_timeout)
        else:  # keep the validator figures an earlier run measured on the same file
            before = [r for r in results if r["children"] == children and "validator" in r]
            if before:
                row["validator"] = before[0]["validator"]
        row["measured_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
        results = [r for r in results if r["children"] != children] + [row]
        args.results.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
