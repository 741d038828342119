"""Command line: ``frontdoor <command>``.

Thin: parse arguments, load settings, configure logging once, call one use case, print its
result, map errors to exit codes. Exit codes: 0 success; 1 partial import (rows rejected);
2 invalid settings, rules, arguments or a file refused whole; 3 database schema not current;
4 the database or the file system failed (unreachable server, permissions, disk).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import structlog
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from frontdoor import __version__
from frontdoor.bootstrap import App, build_app, system_now
from frontdoor.csvformat import IMPORT_ORDER
from frontdoor.errors import ConfigError, FrontdoorError
from frontdoor.logs import configure_logging
from frontdoor.settings import load_settings

log = structlog.get_logger()

ENVIRONMENT_ERROR = 4
#: `frontdoor import` kinds read from the council's own returns rather than contract CSVs.
SOURCE_KINDS = ("annex-a", "cin-census")


def parse_now(value: str) -> datetime:
    """``--now``: ISO 8601 with an offset (``Z`` for UTC); a naive value is refused."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"--now needs a UTC offset, e.g. {value}Z or {value}+01:00"
        )
    return parsed.astimezone(UTC)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    p = argparse.ArgumentParser(
        prog="frontdoor",
        description="Timeliness monitor for a children's social care front door.",
    )
    p.add_argument("--version", action="version", version=f"frontdoor {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("check-config", help="validate settings and rules (exit 0 valid, 2 not)")

    imp = sub.add_parser(
        "import",
        help="import a contract CSV file ('all': a folder), an Annex A workbook or a CIN census",
    )
    imp.add_argument("kind", choices=[*IMPORT_ORDER, "all", *SOURCE_KINDS])
    imp.add_argument(
        "path",
        type=Path,
        help="the CSV file; with 'all', a folder of them; annex-a: .xlsx; cin-census: .xml",
    )
    imp.add_argument(
        "--team",
        default=None,
        help="annex-a, cin-census: team for the records (default FRONTDOOR_DEFAULT_TEAM)",
    )
    imp.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where rejects files go (default: next to each input file)",
    )

    sc = sub.add_parser("scan", help="evaluate every rule and list what is overdue")
    sc.add_argument("--now", type=parse_now, default=None, help="ISO 8601 instant to replay")
    sc.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    sc.add_argument(
        "--incremental",
        action="store_true",
        help="record new breaches since the last pass only (for schedulers)",
    )

    gen = sub.add_parser("generate", help="write synthetic contract CSV files")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help="first day (YYYY-MM-DD); default: --days before today",
    )
    gen.add_argument("--days", type=int, default=28)
    gen.add_argument("--contacts-per-day", type=int, default=150)

    dg = sub.add_parser("digest", help="build and send the e-mail digests due now")
    dg.add_argument("--now", type=parse_now, default=None, help="ISO 8601 instant to act at")
    dg.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; record nothing"
    )
    dg.add_argument(
        "--outbox",
        type=Path,
        default=None,
        help="write each message to this folder (.eml and .html) instead of sending it",
    )
    dg.add_argument(
        "--even-if-stale",
        action="store_true",
        help="send even when the data feed is stale (FRONTDOOR_FEED_STALE_AFTER)",
    )

    pv = sub.add_parser("preview", help="show a message without sending or recording it")
    pv_sub = pv.add_subparsers(dest="preview_kind", required=True, metavar="KIND")
    pvd = pv_sub.add_parser("digest", help="the digest (or escalation) one manager would get")
    pvd.add_argument("--manager", required=True, help="the manager's e-mail address")
    pvd.add_argument("--now", type=parse_now, default=None, help="ISO 8601 instant")
    pvd.add_argument("--html", type=Path, default=None, help="also write the HTML part here")

    rp = sub.add_parser("report", help="the weekly report for service managers")
    rp_sub = rp.add_subparsers(dest="report_kind", required=True, metavar="KIND")
    rpw = rp_sub.add_parser(
        "weekly",
        help="each service manager's report for the last complete week",
        description="Print (default), write (--out) or send (--send) the weekly report.",
    )
    rpw.add_argument(
        "--week", default=None, help="ISO week, e.g. 2026-W47 (default: last complete)"
    )
    rpw.add_argument("--now", type=parse_now, default=None, help="ISO 8601 instant to act at")
    how = rpw.add_mutually_exclusive_group()
    how.add_argument("--send", action="store_true", help="queue and send each report by e-mail")
    how.add_argument(
        "--out", type=Path, default=None, help="write report.html, .txt and .xlsx per manager"
    )
    rpw.add_argument(
        "--resend", action="store_true", help="with --send: send again if already sent"
    )
    rpw.add_argument(
        "--manager",
        action="append",
        default=None,
        metavar="EMAIL",
        help="only this service manager (repeatable)",
    )
    rpw.add_argument(
        "--all-teams", action="store_true", help="one report over every team (not with --send)"
    )
    rpw.add_argument(
        "--even-if-stale",
        action="store_true",
        help="with --send: send even when the data feed is stale",
    )

    ra = sub.add_parser("rationale", help="record or list managers' decisions and rationale")
    ra_sub = ra.add_subparsers(dest="rationale_command", required=True, metavar="ACTION")
    rad = ra_sub.add_parser("add", help="record a rationale for a breached record")
    rad.add_argument("record_id", metavar="RECORD_ID")
    rad.add_argument("--by", required=True, metavar="EMAIL", help="who records it")
    rad.add_argument(
        "--reason",
        required=True,
        metavar="CODE",
        help="a reason code (FRONTDOOR_RATIONALE_REASONS)",
    )
    rad.add_argument("--rule", default=None, help="the rule id, when the record breached several")
    note = rad.add_mutually_exclusive_group()
    note.add_argument("--note", default=None, help="free text (stored, never logged or e-mailed)")
    note.add_argument(
        "--note-file",
        type=Path,
        default=None,
        help="read the note from this UTF-8 file ('-': standard input), keeping it out of "
        "the shell history",
    )
    rad.add_argument(
        "--until",
        type=parse_now,
        default=None,
        metavar="ISO",
        help="review by (default: end of the next working day)",
    )
    ral = ra_sub.add_parser("list", help="rationale entries, newest first")
    ral.add_argument("--team", default=None, help="only this team's items")
    ral.add_argument("--record", default=None, metavar="RECORD_ID", help="only this record")

    te = sub.add_parser("send-test-email", help="send one test e-mail with the SMTP settings")
    te.add_argument("--to", required=True, help="recipient address")

    wb = sub.add_parser("web", help="serve the dashboard and rationale forms (needs SECRET_KEY)")
    wb.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    wb.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")

    syn = sub.add_parser(
        "sync", help="bring records in from the reporting (SSD) database at FRONTDOOR_SYNC_URL"
    )
    syn.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where sync.rejects.csv goes (default: the working folder)",
    )
    sub.add_parser("run", help="the long-running scheduler: scans, digests, delivery")
    st = sub.add_parser("status", help="last scan, last digest, outbox; exit 1 when stale")
    st.add_argument("--json", action="store_true", help="print one JSON document")
    st.add_argument(
        "--max-age-minutes",
        type=int,
        default=None,
        help="heartbeat age that counts as stale (default FRONTDOOR_HEARTBEAT_MAX_AGE_MINUTES)",
    )

    demo = sub.add_parser("demo", help="generate, import and scan four weeks of data")
    demo.add_argument(
        "--keep", type=Path, default=None, help="keep the demo database and files in this folder"
    )
    demo.add_argument(
        "--web", action="store_true", help="then serve the web app on the demo database"
    )
    demo.add_argument("--port", type=int, default=8080, help="port for --web (default 8080)")
    return p


def _notify_command(app: App, args: argparse.Namespace) -> int:
    from frontdoor import commands_notify, commands_run

    if args.command == "digest":
        return commands_notify.digest(app, args, now=args.now or system_now())
    if args.command == "preview":
        return commands_notify.preview_digest(app, args, now=args.now or system_now())
    if args.command == "send-test-email":
        return commands_notify.send_test_email(app, args, now=system_now())
    if args.command == "rationale":
        from frontdoor import commands_rationale

        run = (
            commands_rationale.add if args.rationale_command == "add" else commands_rationale.list_
        )
        return run(app, args, now=system_now())
    if args.command == "report":
        from frontdoor import commands_report

        return commands_report.weekly(app, args, now=args.now or system_now())
    if args.command == "web":
        from frontdoor import commands_web

        return commands_web.serve(app, args)
    if args.command == "run":
        return commands_run.run(app, args)
    if args.command == "status":
        return commands_run.status(app, args, now=system_now())
    raise ConfigError(f"unknown command {args.command}")  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        settings = load_settings()
        configure_logging(level=settings.log_level, json=settings.log_json)
        from frontdoor import commands

        if args.command == "check-config":
            return commands.check_config(settings, out=sys.stdout)
        if args.command == "generate":
            return commands.generate(args, settings, err=err)
        if args.command == "demo":
            return commands.demo(args, settings, err=err)
        app: App = build_app(settings)
        if args.command == "migrate":
            return commands.migrate(app)
        if args.command == "import" and args.kind == "annex-a":
            from frontdoor import commands_annex

            return commands_annex.annex_a(app, args, now=system_now())
        if args.command == "import" and args.kind == "cin-census":
            from frontdoor import commands_cin

            return commands_cin.cin_census(app, args, now=system_now())
        if args.command == "import":
            return commands.import_files(app, args, now=system_now(), err=err)
        if args.command == "sync":
            from frontdoor import commands_sync

            return commands_sync.run_sync(app, args, now=system_now())
        if args.command == "scan":
            return commands.scan(app, args, now=args.now or system_now(), live=args.now is None)
        return _notify_command(app, args)
    except FrontdoorError as exc:
        err.print(f"frontdoor: error: {exc}", markup=False, soft_wrap=True)
        return exc.exit_code
    except SQLAlchemyError as exc:
        # The engine hides bound parameters, so the message names tables and columns only.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(
            f"frontdoor: database error ({type(exc).__name__}): {reason}",
            markup=False,
            soft_wrap=True,
        )
        return ENVIRONMENT_ERROR
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        err.print(f"frontdoor: error:{where}: {exc.strerror or exc}", markup=False, soft_wrap=True)
        return ENVIRONMENT_ERROR
    raise ConfigError(f"unknown command {args.command}")  # pragma: no cover
