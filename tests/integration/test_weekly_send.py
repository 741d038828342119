"""Sending the weekly report through the outbox, on both engines: once per service manager
and week, again only with ``resend``; the e-mail's text part, HTML part and XLSX attachment
carry the same figures as the SQL figures for that manager's teams.

Week 2026-W47 is Mon 16 - Sun 22 Nov 2026 (GMT): [2026-11-16T00:00Z, 2026-11-23T00:00Z).
Teams DAT-A and DAT-B report to sm.one, DAT-C to sm.two (written in mixed case in the teams
file: one mailbox).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select

from frontdoor.bootstrap import App, build_app
from frontdoor.mailer import FakeMailer
from frontdoor.models import Outbox, table_of
from frontdoor.scan import run_scan
from frontdoor.settings import load_settings
from frontdoor.weekly_figures import Ratio, restrict, week_figures
from frontdoor.weekly_send import REPORT_KIND, make_reports, send_weekly_reports
from frontdoor.weeks import parse_week
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load

W47 = parse_week("2026-W47")
MONDAY_0800 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SM_ONE, SM_TWO = "sm.one@example.org", "sm.two@example.org"


def make_app(engine: Engine) -> App:
    settings = load_settings(
        rules_dir=REPO / "rules",
        templates_dir=REPO / "templates",
        smtp_sender="frontdoor@council.example",
        case_url_contact="https://cms.example/contacts/{record_id}",
    )
    return build_app(settings, engine=engine)


def contact(cid: str, team: str, received: str, outcome: str | None) -> dict[str, object]:
    return {
        "contact_id": cid,
        "child_id": f"CH-{cid}",
        "received_at": received,
        "team_id": team,
        "outcome_at": outcome,
    }


@pytest.fixture(name="app")
def _app(engine: Engine, tmp_path: Path) -> App:
    teams = [
        {**TEAM_ROW, "team_id": "DAT-A"},
        {**TEAM_ROW, "team_id": "DAT-B", "manager_email": "tm.b@example.org"},
        {
            **TEAM_ROW,
            "team_id": "DAT-C",
            "manager_email": "tm.c@example.org",
            "service_manager_name": "Service Manager Two",
            "service_manager_email": "SM.Two@Example.org",
        },
    ]
    assert load(engine, tmp_path, "teams", teams).rejected == 0
    contacts = [
        # DAT-A: due Tue 17 10:00, met; due Wed 18 09:00, missed (outcome Thu); never done.
        contact("A1", "DAT-A", "2026-11-16T10:00:00Z", "2026-11-16T15:00:00Z"),
        contact("A2", "DAT-A", "2026-11-17T09:00:00Z", "2026-11-19T09:00:00Z"),
        contact("A3", "DAT-A", "2026-11-18T12:00:00Z", None),
        # DAT-B: one met.
        contact("B1", "DAT-B", "2026-11-19T08:00:00Z", "2026-11-19T09:00:00Z"),
        # DAT-C: one missed, still open.
        contact("C1", "DAT-C", "2026-11-20T08:00:00Z", None),
    ]
    assert load(engine, tmp_path, "contacts", contacts).rejected == 0
    app = make_app(engine)
    run_scan(engine, app.rules, app.calendar, now=W47.end, record=True)
    return app


def parts(message: EmailMessage) -> tuple[str, str, Any]:
    """The text part, the HTML part and the attached workbook."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "frontdoor-weekly-report-2026-W47.xlsx"
    book = openpyxl.load_workbook(BytesIO(attachment.get_content()))
    return str(text.get_content()), str(html.get_content()), book


def test_each_service_manager_gets_one_report_once(app: App) -> None:
    mailer = FakeMailer()
    out = send_weekly_reports(app, week=W47, now=MONDAY_0800, mailer=mailer)
    assert out.results == [(SM_ONE, "queued"), (SM_TWO, "queued")]
    assert out.delivery is not None
    assert out.delivery.sent == 2
    assert sorted(str(m["To"]) for m in mailer.outbox) == [SM_ONE, SM_TWO]
    with app.engine.connect() as conn:
        o = table_of(Outbox).c
        rows = conn.execute(select(o.recipient, o.kind, o.slot, o.period, o.level)).all()
    assert sorted(rows) == [
        (SM_ONE, REPORT_KIND, W47.start, "2026-W47", 0),
        (SM_TWO, REPORT_KIND, W47.start, "2026-W47", 0),
    ]

    again = send_weekly_reports(app, week=W47, now=MONDAY_0800, mailer=mailer)
    assert again.results == [(SM_ONE, "already-queued"), (SM_TWO, "already-queued")]
    assert len(mailer.outbox) == 2

    resent = send_weekly_reports(
        app,
        week=W47,
        now=MONDAY_0800.replace(hour=9),
        mailer=mailer,
        managers=["SM.ONE@example.org"],
        resend=True,
    )
    assert resent.results == [(SM_ONE, "resent")]
    assert len(mailer.outbox) == 3
    first, last = (m for m in mailer.outbox if str(m["To"]) == SM_ONE)
    assert first["Message-ID"] != last["Message-ID"]
    assert first["Subject"] == last["Subject"]


def test_the_three_formats_carry_the_sql_figures(app: App) -> None:
    mailer = FakeMailer()
    send_weekly_reports(app, week=W47, now=MONDAY_0800, mailer=mailer)
    message = next(m for m in mailer.outbox if str(m["To"]) == SM_ONE)
    text, html, book = parts(message)
    with app.engine.connect() as conn:
        all_teams = week_figures(
            conn, app.rules, app.calendar, W47, team_ids=["DAT-A", "DAT-B", "DAT-C"]
        )
    mine = restrict(all_teams, ["DAT-A", "DAT-B"]).total
    # Counted by hand from the fixture: due in the week A1, A2, A3, B1 (C1 is sm.two's).
    assert mine.contacts_received == 4
    assert (mine.contact_timely.numerator, mine.contact_timely.denominator) == (2, 4)
    assert mine.breaches == 2  # A2, A3

    sheet = book["Contacts"]
    header = [c.value for c in sheet[3]]
    total = [c.value for c in sheet[sheet.max_row]]
    row = dict(zip(header, total, strict=True))
    assert row["Team"] == "Total"
    assert row["Received"] == mine.contacts_received == 4
    assert row["Outcome within 24 hours numerator"] == 2
    assert row["Outcome within 24 hours denominator"] == 4
    assert row["Outcome within 24 hours %"] == pytest.approx(0.5)
    assert row["Breaches"] == 2
    assert row["Without a rationale"] == 2
    # The same figures as people read them, in both parts.
    assert "50% (2/4)" in text
    assert "50%" in html
    assert "2 of 4" in html
    # The breach list names both of the manager's breaches and none of sm.two's.
    breaches = book["Breaches"]
    records = {breaches.cell(row=r, column=2).value for r in range(4, breaches.max_row + 1)}
    assert records == {"A2", "A3"}
    assert "C1" not in text
    assert "C1" not in html
    assert "https://cms.example/contacts/A3" in html


def test_make_reports_records_nothing_and_covers_all_teams_on_request(app: App) -> None:
    reports = make_reports(app, week=W47, now=MONDAY_0800, all_teams=True)
    [whole] = reports
    assert [t.team_id for t in whole.recipient.teams] == ["DAT-A", "DAT-B", "DAT-C"]
    assert whole.data.current.total.contacts_received == 5
    with app.engine.connect() as conn:
        assert conn.execute(select(table_of(Outbox).c.id)).all() == []
    with pytest.raises(LookupError, match="nobody@example.org"):
        make_reports(app, week=W47, now=MONDAY_0800, managers=["nobody@example.org"])


def test_every_total_agrees_across_html_text_and_xlsx(app: App) -> None:
    """For every table with a total row, the XLSX total row holds the typed values of the
    view's total cells, and both e-mail parts print those cells."""
    [report] = make_reports(app, week=W47, now=MONDAY_0800, managers=[SM_ONE])
    book = openpyxl.load_workbook(BytesIO(report.xlsx))
    checked = 0
    for table in report.view.tables:
        if table.total is None:
            continue
        sheet = book[table.sheet]
        values = [c.value for c in sheet[sheet.max_row]]
        col = 0
        for column, cell in zip(table.columns, table.total, strict=True):
            if column.kind in ("ratio", "figure") and isinstance(cell.value, Ratio):
                n, d = cell.value.numerator, cell.value.denominator
                assert values[col + 1 : col + 3] == [n, d], (table.sheet, column.header)
                assert values[col] == (pytest.approx(n / d) if d else None)
                col += 3
            else:
                assert values[col] == cell.value, (table.sheet, column.header)
                col += 1
            assert cell.text in report.rendered.text, (table.sheet, column.header)
            assert cell.main in report.rendered.html, (table.sheet, column.header)
            checked += 1
    assert checked > 30  # every by-team table's total row
