"""``frontdoor demo``: the whole monitor on four weeks of synthetic data, from nothing.

Creates a throwaway SQLite database, generates four weeks of contract CSV files ending at the
current time, imports them with the real importer, runs a live scan (which records breaches)
and prints what a team manager needs to see. Nothing outside the demo folder is touched: the
configured database is not used.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from frontdoor import db, digest_data
from frontdoor.bootstrap import App, system_now
from frontdoor.commands import import_one, print_scan, stdout_console
from frontdoor.csvformat import FILE_NAMES, IMPORT_ORDER
from frontdoor.generate import generate_dataset
from frontdoor.scan import run_scan
from frontdoor.scanview import format_local, format_overdue
from frontdoor.settings import Settings

DEMO_DAYS = 28
# Fictional case-system links, so the demo e-mails show where a manager's click would go.
DEMO_CASE_URL = "https://case-system.invalid/{kind}/{{record_id}}"
DEMO_CONTACTS_PER_WORKING_DAY = 150


def run_demo(
    settings: Settings, *, keep: Path | None, err: Console, web: bool = False, port: int = 8080
) -> int:
    """Run the demo in ``keep`` (kept afterwards) or in a temporary folder (removed).

    ``settings`` supply the rules and time zone; the database is always the demo's own. The
    e-mails it would send are written to ``keep/mail``, or without ``keep`` to
    ``demo-output/mail`` in the working directory (replaced on each run), so that they can be
    opened after the demo.
    """
    folder = keep or Path(tempfile.mkdtemp(prefix="frontdoor-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    mail = (keep or Path("demo-output")).resolve() / "mail"
    shutil.rmtree(mail, ignore_errors=True)
    try:
        return _run(folder, settings, mail=mail, err=err, web=web, port=port)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run(folder: Path, base: Settings, *, mail: Path, err: Console, web: bool, port: int) -> int:
    from frontdoor.bootstrap import build_app

    out = stdout_console()
    db_path = folder / "demo.sqlite3"
    db_path.unlink(missing_ok=True)
    settings = base.model_copy(
        update={
            "data_dir": folder,
            "database_url": f"sqlite:///{db_path.as_posix()}",
            # The digests link into the web app: a key of the demo's own (kept in the demo
            # folder), and the local address `frontdoor demo --web` serves.
            "secret_key": base.secret_key or SecretStr(_demo_key(folder)),
            "web_url": base.web_url or f"http://127.0.0.1:{port}",
            **{
                f"case_url_{kind}": DEMO_CASE_URL.format(kind=kind)
                for kind in ("contact", "referral", "strategy_discussion", "s47_enquiry")
                if not getattr(base, f"case_url_{kind}")
            },
        }
    )
    app: App = build_app(settings)
    now = system_now()
    today = now.astimezone(settings.zone).date()

    out.rule("frontdoor demo")
    out.print(f"1. Throwaway SQLite database: {db_path}")
    db.migrate(app.engine)

    csv_dir = folder / "csv"
    start = today - timedelta(days=DEMO_DAYS - 1)
    summary = generate_dataset(
        csv_dir,
        seed=2026,
        start=start,
        days=DEMO_DAYS,
        contacts_per_day=DEMO_CONTACTS_PER_WORKING_DAY,
        as_of=now,
        calendar=app.calendar,
    )
    out.print(
        f"2. Generated {DEMO_DAYS} days of synthetic data ({start} to {today}, export taken "
        f"{format_local(now, settings.zone)}): "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.counts.items())
    )
    out.print("3. Imported with `frontdoor import`:")
    for kind in IMPORT_ORDER:
        import_one(app, kind, csv_dir / FILE_NAMES[kind], now=now, report_dir=None, err=err)

    result = run_scan(app.engine, app.rules, app.calendar, now=now, record=True)
    out.print(
        f"4. Live scan recorded {result.new_breaches} breach(es) in {result.duration_ms:.0f} ms.\n"
    )
    print_scan(app, now, result.findings, result.rules, out)

    out.print("\nWhat each team manager would see first:")
    by_team: dict[str, list[str]] = {}
    for f in result.findings:
        by_team.setdefault(f.team_id, []).append(f.rule)
    for team in sorted(by_team):
        items = by_team[team]
        parts = [f"{items.count(r.id)} {r.id}" for r in result.rules if items.count(r.id)]
        oldest = min(
            (f for f in result.findings if f.team_id == team and f.due_at is not None),
            key=lambda f: f.due_at,  # type: ignore[arg-type, return-value]  # filtered: not None
            default=None,
        )
        tail = ""
        if oldest is not None:
            tail = (
                f"; oldest {oldest.record_id} overdue by "
                f"{format_overdue(oldest.overdue_hours(now) or 0)}"
            )
        out.print(f"  {team}: " + ", ".join(parts) + tail)
    _digests(app, mail, now=now, out=out)
    _weekly_reports(app, mail.parent / "report", now=now, out=out)
    link = _dashboard_link(app, now=now)
    out.print(
        "8. Web app for managers' decisions and rationale: every item in the digests links "
        "to its form. "
        + (
            "Serving it now; open this team manager's dashboard (Ctrl+C stops it):"
            if web
            else "Run `frontdoor demo --web` to serve it, then open e.g.:"
        ),
        soft_wrap=True,
    )
    out.print(f"  {link}", soft_wrap=True, markup=False)
    out.print(
        f"\nDatabase: {db_path}. To keep it and replay any instant, run "
        "`frontdoor demo --keep DIR`, then e.g.\n"
        f"  FRONTDOOR_DATABASE_URL=sqlite:///DIR/demo.sqlite3 frontdoor scan --now "
        f"{(now - timedelta(days=7)).replace(microsecond=0).isoformat()} --json",
        soft_wrap=True,
    )
    if web:
        _serve(app, port)
    return 0


def _demo_key(folder: Path) -> str:
    """The demo's secret key: kept in the demo folder, so links in kept e-mails still work
    with `frontdoor web` (FRONTDOOR_SECRET_KEY_FILE=<folder>/secret.key)."""
    path = folder / "secret.key"
    if not path.exists():
        # Created readable by its owner only (no window with wider permissions).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def _dashboard_link(app: App, *, now: datetime) -> str:
    """A signed dashboard link for the first team manager (as in their digests)."""
    from frontdoor.tokens import Grant, sign

    with app.engine.connect() as conn:
        teams = digest_data.teams(conn)
    first = teams[0]
    mine = tuple(t.team_id for t in teams if t.manager_email == first.manager_email)
    assert app.settings.secret_key is not None
    assert app.settings.web_url is not None
    grant = Grant(first.manager_email.lower(), mine, now + timedelta(days=7))
    token = sign(grant, app.settings.secret_key.get_secret_value().encode("utf-8"))
    return f"{app.settings.web_url}/?t={token}"


def _serve(app: App, port: int) -> None:
    """Serve the web app on the demo database until Ctrl+C."""
    import uvicorn

    from frontdoor.web_app import create_app

    uvicorn.run(create_app(app), host="127.0.0.1", port=port, access_log=False, log_config=None)


def _digests(app: App, folder: Path, *, now: datetime, out: Console) -> None:
    """Run the real first digest pass into ``folder/outbox`` (at go-live each manager gets
    one backlog summary), then write the full digest and escalation each manager would get
    a working day later into ``folder/preview``. Prints every path."""
    from frontdoor.filemailer import FileMailer
    from frontdoor.notify import policy_of, preview, run_digest

    mailer = FileMailer(folder / "outbox")
    result = run_digest(app, now=now, mailer=mailer)
    slot = format_local(result.slot, app.settings.zone)
    out.print(
        f"\n5. First digest pass (go-live) for the slot of {slot}: "
        f"{len(result.messages)} backlog summary e-mail(s), written instead of sent:",
        soft_wrap=True,
    )
    for path in mailer.written:
        out.print(f"  {path}", soft_wrap=True, markup=False)
    previews = FileMailer(folder / "preview")
    with app.engine.connect() as conn:
        teams = digest_data.teams(conn)
    addresses = sorted({t.manager_email for t in teams}) + sorted(
        {t.service_manager_email for t in teams}
    )
    # The first slot at which go-live backlog items reach the escalation threshold.
    policy = policy_of(app)
    later = policy.schedule.next_after(app.calendar.add_working_time(now, policy.escalate_after))
    for address in addresses:
        found = preview(app, email=address, now=later)
        if found is not None and found[0].items:
            previews.send_batch([found[1]])
    out.print(
        f"6. The full digest (team managers) and escalation (service managers) each would get "
        f"at {format_local(later, app.settings.zone)} if nothing were done:",
        soft_wrap=True,
    )
    for path in previews.written:
        out.print(f"  {path}", soft_wrap=True, markup=False)


def _weekly_reports(app: App, folder: Path, *, now: datetime, out: Console) -> None:
    """Write each service manager's weekly report for the last complete week, and the
    all-teams report, into ``folder/<address>/``. Prints the headline and every path."""
    from frontdoor.commands_report import write_report
    from frontdoor.weekly_send import make_reports
    from frontdoor.weeks import last_complete_week

    shutil.rmtree(folder, ignore_errors=True)
    week = last_complete_week(now, app.settings.zone)
    reports = make_reports(app, week=week, now=now)
    reports += make_reports(app, week=week, now=now, all_teams=True)
    out.print(
        f"7. The weekly report for {week.label} ({reports[0].view.period if reports else ''}), "
        "as each service manager would get it on Monday, and over all teams:",
        soft_wrap=True,
    )
    for report in reports:
        out.print(f"  {report.recipient.email}: {report.rendered.subject}", soft_wrap=True)
        for path in write_report(report, folder / report.recipient.email):
            out.print(f"    {path}", soft_wrap=True, markup=False)
