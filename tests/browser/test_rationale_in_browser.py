"""End to end in a real browser: a team manager follows the link in their digest, records a
rationale in the web form, and then the next digest holds back the reminder and the
escalation while the weekly report still counts the breach, marked as explained.

Timeline (November 2026, GMT so local time = UTC; digest slots 08:30, 12:30, 16:00):
contact C1 for DAT-A is received Mon 2 Nov 08:00 and breaches the 24-hour rule on Tue 3 Nov
08:00. The Monday 08:30 pass sets the go-live baseline (nothing overdue yet); the Tuesday
08:30 digest tells the manager about C1 with a link. The manager records "consent being
sought" at 10:00 (review by the end of Wednesday). On Wednesday 08:30 the repeat reminder
and the escalation (one working day after the breach) are both held back; on Thursday
08:30, the review time having passed, both go out.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from frontdoor.bootstrap import App, build_app
from frontdoor.mailer import FakeMailer
from frontdoor.notify import preview, run_digest
from frontdoor.settings import load_settings
from frontdoor.weekly_send import make_reports
from frontdoor.weeks import parse_week
from tests.browser.conftest import ServedApp
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load

TM = TEAM_ROW["manager_email"]
SM = TEAM_ROW["service_manager_email"]
MON_0830 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
TUE_0830 = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
TUE_1000 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
WED_0830 = datetime(2026, 11, 4, 8, 30, tzinfo=UTC)
THU_0830 = datetime(2026, 11, 5, 8, 30, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
DOCS = REPO / "docs"


class Clock:
    """The web app's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def digest_to(mailer: FakeMailer, address: str) -> list[str]:
    """The text parts of the messages ``mailer`` delivered to ``address``."""
    out = []
    for message in mailer.outbox:
        if str(message["To"]) == address:
            part = message.get_body(preferencelist=("plain",))
            assert part is not None
            out.append(str(part.get_content()))
    return out


@pytest.fixture(name="site")
def _site(sqlite_engine: Engine, tmp_path: Path, port: int) -> Iterator[tuple[App, Clock, str]]:
    from frontdoor.web_app import create_app

    assert load(sqlite_engine, tmp_path, "teams", [TEAM_ROW]).rejected == 0
    contact = {
        "contact_id": "C1",
        "child_id": "CH-1",
        "received_at": "2026-11-02T08:00:00Z",
        "team_id": "DAT-A",
    }
    loaded = load(sqlite_engine, tmp_path, "contacts", [contact], ingested_at=MON_0830)
    assert loaded.rejected == 0
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        rules_dir=REPO / "rules",
        templates_dir=REPO / "templates",
        smtp_sender="frontdoor@council.example",
        web_url=url,
        secret_key="browser-test-secret-key-0123456789abcdef",
    )
    app = build_app(settings, engine=sqlite_engine)
    clock = Clock(TUE_1000)
    served = ServedApp(create_app(app, clock=clock), port).start()
    try:
        yield app, clock, url
    finally:
        served.stop()


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    """Save a full-page screenshot; with FRONTDOOR_UPDATE_SCREENSHOTS=1 also under docs/."""
    target = tmp_path / name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 5000
    if os.environ.get("FRONTDOOR_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(target, DOCS / name)


def test_a_manager_records_a_rationale_from_the_digest_link(
    site: tuple[App, Clock, str], browser: Any, tmp_path: Path
) -> None:
    app, clock, url = site
    mailer = FakeMailer()
    run_digest(app, now=MON_0830, mailer=mailer)  # go-live: nothing overdue yet
    assert mailer.outbox == []
    run_digest(app, now=TUE_0830, mailer=mailer)
    [digest] = digest_to(mailer, TM)
    links = re.findall(r"Record a decision or rationale: (\S+)", digest)
    assert len(links) == 1
    assert links[0].startswith(f"{url}/items/contact-outcome-24h/C1/rationale?t=v1.")

    # A phone-sized browser follows the link from the e-mail.
    phone = browser.new_context(viewport={"width": 375, "height": 812})
    page = phone.new_page()
    response = page.goto(links[0])
    assert response is not None
    assert response.ok
    assert "?t=" not in page.url  # the token does not stay in the address bar
    assert page.url.endswith("/items/contact-outcome-24h/C1/rationale")
    screenshot(page, tmp_path, "web-rationale-form-375px.png")
    page.get_by_label(re.compile("reason", re.I)).select_option("consent-being-sought")
    page.get_by_label(re.compile("note", re.I)).fill(
        "Mother asked for time to consult her advocate"
    )
    page.get_by_role("button", name=re.compile("record|save", re.I)).click()
    page.wait_for_load_state()
    assert page.url.endswith("/items/contact-outcome-24h/C1")
    body = page.inner_text("body")
    assert "Consent being sought" in body
    assert "Mother asked for time" in body  # the note is shown to the manager
    # The dashboard lists the item with its rationale.
    page.goto(f"{url}/")
    dashboard = page.inner_text("body")
    assert "C1" in dashboard
    assert "Consent being sought" in dashboard
    screenshot(page, tmp_path, "web-dashboard-375px.png")
    # The same session on a desktop-sized window.
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, tmp_path, "web-dashboard-desktop.png")
    # A tampered link is refused.
    forged = links[0][:-3] + ("AAA" if not links[0].endswith("AAA") else "BBB")
    fresh = browser.new_context().new_page()
    refused = fresh.goto(forged)
    assert refused is not None
    assert refused.status == 403
    phone.close()

    # Wednesday 08:30: the current rationale holds back the repeat and the escalation; the
    # item is still listed, with its rationale beside it (what a digest would show).
    found = preview(app, email=TM, now=WED_0830)
    assert found is not None
    shown = found[1].get_body(preferencelist=("plain",))
    assert shown is not None
    # The configured label of the reason, who recorded it and until when.
    assert "Rationale: Consent being sought (by tm.a@example.org)" in str(shown.get_content())
    wednesday = run_digest(app, now=WED_0830, mailer=mailer)
    assert [(m.recipient_email, m.kind) for m in wednesday.messages] == []
    # Thursday 08:30: the review time (end of Wednesday) has passed: both go out, and the
    # reminder shows the expired rationale beside the item.
    thursday = run_digest(app, now=THU_0830, mailer=mailer)
    assert sorted((m.recipient_email, m.kind) for m in thursday.messages) == [
        (SM, "escalation"),
        (TM, "digest"),
    ]
    assert "Rationale: expired" in digest_to(mailer, TM)[-1]

    # The weekly report still counts the breach, marked as explained.
    [report] = make_reports(app, week=parse_week("2026-W45"), now=NEXT_MONDAY)
    total = report.data.current.total
    assert total.breaches == 1
    assert total.breaches_with_rationale == 1
    [line] = report.data.breaches
    assert (line.record_id, line.has_rationale) == ("C1", True)
