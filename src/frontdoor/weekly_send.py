"""Weekly report use cases: make each service manager's report, and send it once.

:func:`send_weekly_reports` reads every report's data in one transaction, renders each
report (HTML and text parts from ``templates/email/weekly-report-*``, the XLSX attached) and
queues it in the outbox with kind ``weekly-report`` and the week's start as its slot, so
the outbox's unique (recipient, kind, slot) key sends each (manager, week) report once
however often the job runs. ``resend`` queues a fresh copy (slot = ``now``, a new
Message-ID) when one was already queued. After the commit the delivery pass sends the
outbox as for digests. :func:`make_reports` renders without recording anything (``--out``
and the printed preview).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

import structlog
from sqlalchemy import Connection

from frontdoor import digest_data, outbox
from frontdoor.bootstrap import App
from frontdoor.delivery import DeliveryOutcome, deliver_pending, email_for
from frontdoor.digest_items import TeamContacts
from frontdoor.mailer import Mailer
from frontdoor.render import RenderedMessage, Renderer
from frontdoor.report_xlsx import XLSX_MIME, workbook_bytes
from frontdoor.weekly_report import Recipient, ReportData, all_teams_recipient, gather, recipients
from frontdoor.weekly_view import ReportView, build_report_view
from frontdoor.weeks import ReportWeek

log = structlog.get_logger()

REPORT_KIND = "weekly-report"
#: Stands in for an address in the all-teams report (never sent).
ALL_TEAMS = "all-teams"


@dataclass(frozen=True)
class Report:
    """One rendered report: its recipient, view, rendered parts and XLSX bytes."""

    data: ReportData
    view: ReportView
    rendered: RenderedMessage
    xlsx: bytes

    @property
    def recipient(self) -> Recipient:
        return self.data.recipient

    @property
    def attachment_name(self) -> str:
        return f"frontdoor-weekly-report-{self.view.week_label}.xlsx"


@dataclass
class WeeklyOutcome:
    """What one weekly report pass did: per recipient ``queued``, ``resent`` or
    ``already-queued`` (sent or waiting from an earlier run)."""

    week: ReportWeek
    results: list[tuple[str, str]] = field(default_factory=list)
    delivery: DeliveryOutcome | None = None

    def counts(self) -> dict[str, int]:
        """Counts for the log line."""
        out = {
            state.replace("-", "_"): sum(1 for _, s in self.results if s == state)
            for state in ("queued", "resent", "already-queued")
        }
        if self.delivery is not None:
            out.update({f"delivery_{k}": v for k, v in self.delivery.counts().items()})
        return out


class UnknownManager(LookupError):
    """An address given with ``--manager`` is no service manager's (``args[0]``: the
    addresses)."""


def select_recipients(
    teams: Sequence[TeamContacts], managers: Sequence[str] | None
) -> list[Recipient]:
    """The service managers to report to: all of them, or those in ``managers`` (compared
    without case). Raises :class:`UnknownManager` naming addresses that are no service
    manager's."""
    everyone = recipients(teams)
    if managers is None:
        return everyone
    wanted = [m.strip().lower() for m in managers]
    by_email = {r.email: r for r in everyone}
    unknown = [m for m in wanted if m not in by_email]
    if unknown:
        raise UnknownManager(", ".join(unknown))
    return [by_email[m] for m in dict.fromkeys(wanted)]


def make_reports(
    app: App,
    *,
    week: ReportWeek,
    now: datetime,
    managers: Sequence[str] | None = None,
    all_teams: bool = False,
) -> list[Report]:
    """Render the reports for ``week`` without recording anything: one per service manager
    (or per address in ``managers``), or with ``all_teams`` one report over every team."""
    with app.engine.connect() as conn, conn.begin():
        teams = digest_data.teams(conn)
        who = (
            [all_teams_recipient(teams, ALL_TEAMS)]
            if all_teams
            else select_recipients(teams, managers)
        )
        datas = gather(conn, app.rules, app.calendar, week, who, now=now)
    renderer = Renderer(app.settings.templates_dir)
    return [render_report(app, renderer, d) for d in datas]


def render_report(app: App, renderer: Renderer, data: ReportData) -> Report:
    """Build the view, render the parts and write the XLSX for one report."""
    view = build_report_view(
        data, rules=app.rules, tz=app.settings.zone, case_urls=app.settings.case_urls
    )
    return Report(
        data=data,
        view=view,
        rendered=renderer.render(REPORT_KIND, view),
        xlsx=workbook_bytes(view, app.settings.zone, created=data.generated_at),
    )


def report_email(app: App, report: Report, *, slot: datetime, now: datetime) -> EmailMessage:
    """The e-mail for ``report``: text and HTML alternatives, the XLSX attached."""
    message = email_for(app, report.rendered, report.recipient.email, REPORT_KIND, slot, now)
    message.add_attachment(
        report.xlsx, maintype=XLSX_MIME[0], subtype=XLSX_MIME[1], filename=report.attachment_name
    )
    return message


def send_weekly_reports(
    app: App,
    *,
    week: ReportWeek,
    now: datetime,
    mailer: Mailer,
    managers: Sequence[str] | None = None,
    resend: bool = False,
    deliver: bool = True,
) -> WeeklyOutcome:
    """Queue each service manager's report for ``week`` (once per manager and week; again
    with ``resend``), then deliver the outbox unless ``deliver`` is False."""
    out = WeeklyOutcome(week=week)
    renderer = Renderer(app.settings.templates_dir)
    with app.engine.connect() as conn, conn.begin():
        teams = digest_data.teams(conn)
        who = select_recipients(teams, managers)
        # Every report is rendered before the first write, so the transaction holds
        # SQLite's write lock only for the inserts.
        reports = [
            render_report(app, renderer, d)
            for d in gather(conn, app.rules, app.calendar, week, who, now=now)
        ]
        for report in reports:
            state = "queued"
            row = _enqueue(conn, app, report, slot=week.start, now=now)
            if row is None and resend:
                state = "resent"
                row = _enqueue(conn, app, report, slot=now, now=now)
            if row is None:
                state = "already-queued"
            out.results.append((report.recipient.email, state))
    log.info("weekly_report_queued", week=week.label, **out.counts())
    if deliver:
        out.delivery = deliver_pending(app, now=now, mailer=mailer)
    return out


def _enqueue(
    conn: Connection, app: App, report: Report, *, slot: datetime, now: datetime
) -> int | None:
    return outbox.enqueue(
        conn,
        recipient=report.recipient.email,
        kind=REPORT_KIND,
        level=0,
        slot=slot,
        message=report_email(app, report, slot=slot, now=now),
        now=now,
        period=report.view.week_label,
    )
