"""Benchmark: every team manager's digest against a raw-SQL floor.

Not a test. It measures the databases that ``bench/scan.py`` builds (run that first for the
same sizes; its last passes leave the breach ledger filled), from the repository root:

    .venv/bin/python bench/digest.py --sizes 1000000 5000000 --engines sqlite postgresql

At one hour after the export instant it times, in process (median of ``--repeat`` runs after
one warm-up run):

* ``digest``: :func:`frontdoor.notify.run_digest` with ``dry_run=True``: what the scheduler's
  ``digest`` job runs at a slot (incremental pass, re-check of every open item against its
  record, rationale and history reads, planning, rendering each message, queueing it) with
  the transaction rolled back, so every run starts from the same state and nothing is sent;
* ``items``: :func:`frontdoor.digest_data.open_items` alone, the database re-check;
* ``floor``: the same items per team fetched through the DB-API with hand-written SQL (the
  unresolved breaches joined to their records, the same "still open" and "still due"
  conditions, thresholds computed as ``scan.py``'s floor does).

The script checks that the floor and the team managers' digests list exactly the same
(rule, record id) pairs per team. Results go to ``bench/digest_results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floorsql import dialect_of  # noqa: E402
from frontdoor import digest_data  # noqa: E402
from frontdoor.clock import england_calendar  # noqa: E402
from frontdoor.evaluate import start_threshold  # noqa: E402
from frontdoor.filemailer import FileMailer  # noqa: E402
from frontdoor.notify import run_digest  # noqa: E402
from frontdoor.rules import AttendanceRule, TimescaleRule  # noqa: E402
from scan import OUT, dataset, existing_database, median_ms  # noqa: E402
from weekly import app_for  # noqa: E402

Items = dict[str, set[tuple[str, str]]]  # team id -> {(rule id, record id)}

_RECORDS = {
    "contact": ("contact", "contact_id", "outcome_at"),
    "referral": ("referral", "referral_id", "decision_at"),
    "s47_enquiry": ("s47_enquiry", "s47_id", "icpc_date"),
    "assessment": ("assessment", "assessment_id", "authorised_date"),
}


def floor_items(engine: Any, rules: list[Any], now: datetime) -> Items:
    """The digest's open items per team, by hand-written SQL through the DB-API."""
    cal = england_calendar()
    today = cal.local_date(now)
    d = dialect_of(engine)
    p, yes, no, bind = d.p, d.yes, d.no, d.bind
    out: Items = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for rule in (r for r in rules if r.enabled):
            if isinstance(rule, AttendanceRule):
                req = ",".join(f"'{a}'" for a in rule.required_agencies)
                cur.execute(
                    "SELECT d.team_id, b.record_id FROM breach b JOIN strategy_discussion d "
                    f"ON d.discussion_id = b.record_id WHERE b.rule_id = {p} "
                    f"AND b.resolved_at IS NULL AND d.held_at >= {p} AND d.held_at <= {p} "
                    "AND (SELECT count(*) FROM strategy_attendance a WHERE a.discussion_id = "
                    f"d.discussion_id AND a.attended = {yes} AND a.agency IN ({req})) "
                    f"< {len(rule.required_agencies)}",
                    (rule.id, bind(now - timedelta(days=rule.lookback_days)), bind(now)),
                )
            else:
                assert isinstance(rule, TimescaleRule)
                table, rid, done = _RECORDS[rule.record]
                sql = (
                    f"SELECT r.team_id, b.record_id FROM breach b JOIN {table} r "
                    f"ON r.{rid} = b.record_id WHERE b.rule_id = {p} AND b.resolved_at IS NULL "
                )
                if rule.record in ("contact", "referral"):  # due worked out from the record
                    sql += f"AND (r.{done} IS NULL OR r.{done} > {p}) AND r.received_at < {p}"
                    th = start_threshold(rule, cal, now=now)
                    args: tuple[Any, ...] = (rule.id, bind(now), bind(th.instant))
                else:  # due from the ledger; dates complete from 00:00 local
                    sql += f"AND (r.{done} IS NULL OR r.{done} > {p}) AND b.due_at < {p}"
                    if rule.record == "s47_enquiry":
                        sql += f" AND (r.icpc_not_required IS NULL OR r.icpc_not_required = {no})"
                    args = (rule.id, bind(today), bind(now))
                cur.execute(sql, args)
            for team, record_id in cur.fetchall():
                out.setdefault(team, set()).add((rule.id, record_id))
    finally:
        raw.close()
    return out


def digest_items(outcome: Any) -> Items:
    """Per team, the (rule, record id) pairs the team managers' messages list."""
    out: Items = {}
    for msg in outcome.messages:
        if msg.level == 1:
            for i in msg.items:
                out.setdefault(i.team_id, set()).add((i.rule_id, i.record_id))
    return out


def bench_one(size: int, engine_name: str, repeat: int) -> dict[str, Any]:
    """Time the digest pass, its item read and the floor on one built database."""
    _, as_of, counts = dataset(size)
    url = existing_database(engine_name, size)
    if url is None:
        raise SystemExit(f"no {engine_name} database for {size:,}: run bench/scan.py first")
    app = app_for(url)
    now = as_of + timedelta(hours=1)
    mailer = FileMailer(OUT / "digest-mail")  # never used: dry runs send nothing

    def digest() -> Any:
        return run_digest(app, now=now, mailer=mailer, dry_run=True)

    def items() -> Any:
        with app.engine.connect() as conn:
            return digest_data.open_items(conn, app.rules, app.calendar, now=now)

    def floor() -> Items:
        return floor_items(app.engine, app.rules, now)

    outcome = digest()
    ours, theirs = digest_items(outcome), floor()
    if ours != theirs:
        diff = {t: (len(ours.get(t, ())), len(theirs.get(t, ()))) for t in ours.keys() | theirs}
        raise SystemExit(f"digest items differ from the floor (ours, floor) per team: {diff}")
    row: dict[str, Any] = {
        "size": size,
        "engine": engine_name,
        "contacts": counts["contacts"],
        "now": now.isoformat(),
        "open_items": outcome.items,
        "messages": len(outcome.messages),
        "team_manager_messages": sum(1 for m in outcome.messages if m.level == 1),
        "items_per_team": {t: len(v) for t, v in sorted(ours.items())},
    }
    for name, fn in (("digest_ms", digest), ("items_ms", items), ("floor_ms", floor)):
        fn()  # warm-up
        row[name] = round(median_ms(fn, repeat), 1)
        print(f"  {name}: {row[name]:,.1f} ms", flush=True)
    row["items_vs_floor"] = round(row["items_ms"] / row["floor_ms"], 2)
    row["digest_vs_floor"] = round(row["digest_ms"] / row["floor_ms"], 2)
    app.engine.dispose()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--results", type=Path, default=OUT.parent / "digest_results.json")
    args = ap.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else []
    for size in args.sizes:
        for engine_name in args.engines:
            print(f"== digests, {size:,} contacts on {engine_name}", flush=True)
            t0 = time.perf_counter()
            row = bench_one(size, engine_name, args.repeat)
            row["measured_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
            print(f"  ({time.perf_counter() - t0:.0f} s) {json.dumps(row)}", flush=True)
            results = [r for r in results if (r["size"], r["engine"]) != (size, engine_name)] + [
                row
            ]
            args.results.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
