"""The web app on both engines, through Starlette's TestClient: digest links and sessions,
who may see what, CSRF, the rationale form, security headers, /health, the proxy identity
header and the weekly report archive."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import Engine, create_engine, func, select, text, update
from starlette.exceptions import StarletteDeprecationWarning

from frontdoor import outbox
from frontdoor.bootstrap import App, build_app
from frontdoor.clock import WorkingCalendar
from frontdoor.errors import ConfigError
from frontdoor.models import Breach, Contact, Rationale, table_of
from frontdoor.rules import load_rules
from frontdoor.scan import run_scan
from frontdoor.settings import load_settings
from frontdoor.tokens import Grant, sign
from frontdoor.web_app import create_app
from frontdoor.web_guard import PAGE_CSP, REPORT_CSP
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load

# starlette 1.x warns once, on import, when it finds httpx rather than httpx2.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEY = "test-secret-key-0123456789abcdef-0123456789"
RULES = load_rules(REPO / "rules")
# Friday 27 November 2026 10:00 GMT (local time = UTC).
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TM_A, TM_B, SM = "tm.a@example.org", "tm.b@example.org", "sm.one@example.org"
C1_ITEM = "/items/contact-outcome-24h/C1"
C1_FORM = C1_ITEM + "/rationale"
C2_FORM = "/items/contact-outcome-24h/C2/rationale"
GOOD_FORM = {"reason": "consent-being-sought", "note": "", "review_by": "2026-11-30T17:00"}


def make_app(engine: Engine, **overrides: Any) -> App:
    settings = load_settings(
        rules_dir=REPO / "rules",
        templates_dir=REPO / "templates",
        secret_key=KEY,
        **overrides,
    )
    return build_app(settings, engine=engine)


@pytest.fixture(name="breached")
def _breached(engine: Engine, tmp_path: Path, calendar: WorkingCalendar) -> Engine:
    """DAT-A (manager TM_A) owns C1, DAT-B (manager TM_B) owns C2; SM manages both.
    Both contacts breached the 24-hour rule and the ledger recorded them at NOW."""
    teams = [
        TEAM_ROW,
        {**TEAM_ROW, "team_id": "DAT-B", "team_name": "Duty and Advice Team B",
         "manager_email": TM_B},
    ]  # fmt: skip
    assert load(engine, tmp_path, "teams", teams).rejected == 0
    rows = [
        {"contact_id": "C1", "child_id": "CH1", "received_at": "2026-11-25T09:00:00Z",
         "team_id": "DAT-A"},
        {"contact_id": "C2", "child_id": "CH2", "received_at": "2026-11-25T09:00:00Z",
         "team_id": "DAT-B"},
    ]  # fmt: skip
    assert load(engine, tmp_path, "contacts", rows).rejected == 0
    run_scan(engine, RULES, calendar, now=NOW, record=True)
    return engine


def client_for(app: App, *, clock: Callable[[], datetime] = lambda: NOW, **kw: Any) -> TestClient:
    return TestClient(create_app(app, clock=clock), follow_redirects=False, **kw)


@pytest.fixture(name="client")
def _client(breached: Engine) -> TestClient:
    return client_for(make_app(breached))


def token(
    email: str = TM_A,
    teams: tuple[str, ...] = ("DAT-A",),
    *,
    expires: datetime = NOW + timedelta(days=7),
    purpose: str = "link",
    key: str = KEY,
    nonce: str = "",
) -> str:
    return sign(Grant(email, teams, expires, nonce), key.encode(), purpose=purpose)


def sign_in(client: TestClient, email: str = TM_A, teams: tuple[str, ...] = ("DAT-A",)) -> None:
    """Follow a digest link to the dashboard: the client keeps the session cookie."""
    r = client.get("/", params={"t": token(email, teams)})
    assert r.status_code == 303
    assert "frontdoor_session" in client.cookies


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "the page has no CSRF field"
    return m.group(1)


def rationale_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table_of(Rationale))).scalar_one())


# -- links and sessions -----------------------------------------------------------------------


def test_a_digest_link_sets_a_session_cookie_and_redirects_to_the_url_without_the_token(
    client: TestClient,
) -> None:
    link = token()
    r = client.get(C1_FORM, params={"t": link, "from": "digest"})
    assert r.status_code == 303
    assert r.headers["location"] == C1_FORM + "?from=digest"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("frontdoor_session=v1.")
    for part in ("HttpOnly", "Path=/", "SameSite=lax", "Max-Age=43200"):
        assert part in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert link not in cookie

    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert "<h1>Record a rationale</h1>" in page.text
    assert "Contact C1" in page.text
    assert link not in page.text


def test_the_session_cookie_is_secure_over_https(breached: Engine) -> None:
    client = client_for(make_app(breached), base_url="https://frontdoor.example")
    r = client.get("/", params={"t": token()})
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]


def test_x_forwarded_proto_makes_the_cookie_secure_only_behind_the_trusted_proxy(
    breached: Engine,
) -> None:
    https = {"X-Forwarded-Proto": "https"}
    direct = client_for(make_app(breached))
    assert (
        "Secure" not in direct.get("/", params={"t": token()}, headers=https).headers["set-cookie"]
    )
    proxied = client_for(make_app(breached, trusted_identity_header="X-Remote-User"))
    assert "Secure" in proxied.get("/", params={"t": token()}, headers=https).headers["set-cookie"]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(token(key="another-secret-key-0123456789abcdef-0123"), id="forged"),
        pytest.param(token()[:-3] + "AAA", id="tampered-signature"),
        pytest.param(
            token().replace(token().split(".")[1], token(TM_B, ("DAT-B",)).split(".")[1]),
            id="tampered-payload",
        ),
        pytest.param(token(expires=NOW), id="expired"),
        pytest.param(token(purpose="session", nonce="n"), id="session-token-as-link"),
        pytest.param(token(purpose="csrf"), id="csrf-token-as-link"),
        pytest.param("not-a-token", id="malformed"),
    ],
)
def test_a_bad_link_gets_403_without_echoing_it_or_starting_a_session(
    client: TestClient, bad: str
) -> None:
    r = client.get(C1_FORM, params={"t": bad})
    assert r.status_code == 403
    assert "latest frontdoor digest" in r.text
    assert bad not in r.text
    assert "set-cookie" not in r.headers
    # Without a session nothing else opens either.
    assert client.get(C1_FORM).status_code == 403


def test_an_expired_session_is_refused(breached: Engine) -> None:
    later = NOW
    client = client_for(make_app(breached), clock=lambda: later)
    sign_in(client)
    assert client.get("/").status_code == 200
    later = NOW + timedelta(hours=12)  # FRONTDOOR_SESSION_HOURS defaults to 12
    assert client.get("/").status_code == 403


def test_another_teams_link_gets_403_on_the_item(client: TestClient) -> None:
    r = client.get(C1_FORM, params={"t": token(TM_B, ("DAT-B",))})
    assert r.status_code == 303
    assert client.get(r.headers["location"]).status_code == 403
    assert client.get(C1_ITEM).status_code == 403
    assert client.get("/items/contact-outcome-24h/C2").status_code == 200


def test_nothing_but_health_and_static_opens_without_an_identity(client: TestClient) -> None:
    for path in ("/", C1_ITEM, C1_FORM, "/reports", "/reports/1"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "C1" not in r.text.replace(path, "")
    assert client.get("/health").status_code == 200
    assert client.get("/static/app.css").status_code == 200


# -- pages ------------------------------------------------------------------------------------


def test_the_dashboard_shows_only_the_teams_in_the_grant(client: TestClient) -> None:
    sign_in(client)
    r = client.get("/")
    assert r.status_code == 200
    assert 'href="/items/contact-outcome-24h/C1"' in r.text
    assert "C2" not in r.text
    assert "Contacts without an outcome" in r.text
    assert "Within 24 clock hours" in r.text
    assert "1d 1h" in r.text  # overdue by: due Thu 09:00, now Fri 10:00
    assert re.search(r'<span class="count">1</span> overdue', r.text)
    assert re.search(r'<span class="count">1</span> no rationale', r.text)
    assert client.get("/", params={"team": "DAT-B"}).status_code == 403


def test_the_dashboard_filters_by_team_for_a_manager_of_several(client: TestClient) -> None:
    sign_in(client, SM, ("DAT-A", "DAT-B"))
    both = client.get("/").text
    assert "/items/contact-outcome-24h/C1" in both
    assert "/items/contact-outcome-24h/C2" in both
    only_b = client.get("/", params={"team": "DAT-B"}).text
    assert "/items/contact-outcome-24h/C2" in only_b
    assert "/items/contact-outcome-24h/C1" not in only_b
    assert '<option value="DAT-B" selected>' in only_b


def test_the_item_page_shows_the_ledger_and_each_notification(
    client: TestClient, breached: Engine
) -> None:
    with breached.begin() as conn:
        b = table_of(Breach).c
        bid = conn.execute(select(b.id).where(b.record_id == "C1")).scalar_one()
        outbox.enqueue(
            conn,
            recipient=TM_A,
            kind="digest",
            level=1,
            slot=NOW,
            message=message(TM_A, "digest", "<p>digest</p>"),
            covers=[(bid, True)],
            now=NOW,
        )
    sign_in(client)
    r = client.get(C1_ITEM)
    assert r.status_code == 200
    text = r.text
    for expected in (
        "Received",
        "Wed 25 Nov 2026 09:00 GMT",
        "Due: the timescale ran out",
        "Thu 26 Nov 2026 09:00 GMT",
        "Breach detected by frontdoor",
        "Listed in a digest",
        f"To {TM_A}",
        "Queued, not sent yet",
        "Open, overdue by 1d 1h",
        f'href="{C1_FORM}"',
    ):
        assert expected in text, expected
    assert client.get("/items/contact-outcome-24h/NOPE").status_code == 404
    assert client.get("/items/icpc-15wd/C1").status_code == 404


def test_another_teams_item_is_refused_even_with_a_valid_session(
    client: TestClient, breached: Engine
) -> None:
    sign_in(client)
    assert client.get("/items/contact-outcome-24h/C2").status_code == 403
    assert client.get(C2_FORM).status_code == 403
    csrf = csrf_of(client.get(C1_FORM).text)  # a genuine token of this session
    r = client.post(C2_FORM, data={**GOOD_FORM, "csrf": csrf})
    assert r.status_code == 403
    assert rationale_count(breached) == 0


# -- the rationale form -----------------------------------------------------------------------


def test_a_valid_post_records_one_rationale_that_the_pages_then_show(
    client: TestClient, breached: Engine
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get(C1_FORM).text)
    note = "Police checks requested; <script>alert(1)</script>"
    r = client.post(C1_FORM, data={**GOOD_FORM, "note": note, "csrf": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == C1_ITEM
    assert "frontdoor_flash=saved" in r.headers["set-cookie"]
    with breached.connect() as conn:
        rows = conn.execute(select(table_of(Rationale))).all()
    assert len(rows) == 1
    row = rows[0]._mapping
    assert (row["rule_id"], row["record_id"], row["recorded_by"]) == (
        "contact-outcome-24h",
        "C1",
        TM_A,
    )
    assert row["reason"] == "consent-being-sought"
    assert row["note"] == note
    assert row["recorded_at"] == NOW
    assert row["review_by"] == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # GMT in November

    page = client.get(r.headers["location"]).text
    assert "Rationale recorded" in page
    assert "Rationale recorded" not in client.get(C1_ITEM).text  # the confirmation shows once
    assert "Rationale: Consent being sought" in page
    assert "Police checks requested; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "Consent being sought until Mon 30 Nov 2026 17:00 GMT" in client.get("/").text

    # A second entry supersedes the first; both stay in the timeline (append-only).
    csrf = csrf_of(client.get(C1_FORM).text)
    again = {**GOOD_FORM, "reason": "other", "review_by": "2026-12-01T12:00", "csrf": csrf}
    assert client.post(C1_FORM, data=again).status_code == 303
    assert rationale_count(breached) == 2
    page = client.get(C1_ITEM).text
    assert "Review by Mon 30 Nov 2026 17:00 GMT (superseded)" in page
    assert "Review by Tue 1 Dec 2026 12:00 GMT (current)" in page
    assert "Other (explained in the note) until Tue 1 Dec 2026 12:00 GMT" in page


def test_the_form_defaults_review_to_the_end_of_the_next_working_day(client: TestClient) -> None:
    sign_in(client)
    page = client.get(C1_FORM).text
    # Friday now: the next working day is Monday 30 November.
    assert 'value="2026-11-30T23:59"' in page
    assert '<label class="label" for="reason">' in page
    assert "<legend" in page


@pytest.mark.parametrize(
    ("csrf", "why"),
    [
        (None, "missing"),
        ("", "empty"),
        (token(purpose="csrf", key="another-secret-key-0123456789abcdef-0123"), "forged"),
        (token(purpose="csrf", nonce="someone-elses-session"), "other session"),
        (token(purpose="session"), "wrong purpose"),
    ],
)
def test_a_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, breached: Engine, csrf: str | None, why: str
) -> None:
    sign_in(client)
    data = dict(GOOD_FORM)
    if csrf is not None:
        data["csrf"] = csrf
    r = client.post(C1_FORM, data=data)
    assert r.status_code == 403, why
    assert "form has expired" in r.text
    assert rationale_count(breached) == 0


def test_a_csrf_token_from_another_session_of_the_same_person_is_refused(
    breached: Engine,
) -> None:
    app = make_app(breached)
    first, second = client_for(app), client_for(app)
    sign_in(first)
    sign_in(second)
    stolen = csrf_of(first.get(C1_FORM).text)
    assert second.post(C1_FORM, data={**GOOD_FORM, "csrf": stolen}).status_code == 403
    assert rationale_count(breached) == 0
    assert first.post(C1_FORM, data={**GOOD_FORM, "csrf": stolen}).status_code == 303
    assert rationale_count(breached) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "busy"}, "Select a reason from the list"),
        ({"reason": ""}, "Select a reason from the list"),
        ({"review_by": "2026-11-27T09:00"}, "The review time must be in the future"),
        ({"review_by": "next week"}, "Enter the review time as a date and time"),
        ({"note": "x" * 2001}, "The note must be 2000 characters or fewer"),
    ],
)
def test_bad_input_is_shown_with_a_400_and_nothing_is_written(
    client: TestClient, breached: Engine, change: dict[str, str], message: str
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get(C1_FORM).text)
    r = client.post(C1_FORM, data={**GOOD_FORM, **change, "csrf": csrf})
    assert r.status_code == 400
    assert "There is a problem" in r.text
    assert message in r.text
    assert rationale_count(breached) == 0
    # The form comes back with a fresh CSRF token and what was typed.
    assert csrf_of(r.text)
    if "note" in change:
        assert change["note"] in r.text


def test_a_note_of_2000_characters_with_browser_line_ends_is_accepted(
    client: TestClient, breached: Engine
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get(C1_FORM).text)
    note = "ab\r\n" * 666 + "ab"  # 2000 characters once CR LF counts as one, as in the textarea
    r = client.post(C1_FORM, data={**GOOD_FORM, "note": note, "csrf": csrf})
    assert r.status_code == 303
    assert rationale_count(breached) == 1


def test_an_oversized_post_is_refused_before_it_is_read(
    client: TestClient, breached: Engine
) -> None:
    sign_in(client)
    csrf = csrf_of(client.get(C1_FORM).text)
    r = client.post(C1_FORM, data={**GOOD_FORM, "note": "x" * 70_000, "csrf": csrf})
    assert r.status_code == 413
    assert rationale_count(breached) == 0


def test_neither_link_tokens_nor_notes_reach_the_logs(client: TestClient) -> None:
    link = token()
    note = "Sensitive free text about the family"
    with structlog.testing.capture_logs() as logs:
        r = client.get(C1_FORM, params={"t": link})
        page = client.get(r.headers["location"])
        client.post(C1_FORM, data={**GOOD_FORM, "note": note, "csrf": csrf_of(page.text)})
    text = repr(logs)
    assert link not in text
    assert note not in text
    requests = [e for e in logs if e["event"] == "web_request"]
    assert [(e["method"], e["path"], e["status"]) for e in requests] == [
        ("GET", C1_FORM, 303),
        ("GET", C1_FORM, 200),
        ("POST", C1_FORM, 303),
    ]
    assert all(isinstance(e["duration_ms"], float) for e in requests)


# -- headers, errors and health ---------------------------------------------------------------


def assert_secured(r: Any, csp: str = PAGE_CSP) -> None:
    h = r.headers
    assert h["content-security-policy"] == csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    assert h["pragma"] == "no-cache"
    assert "interest-cohort=()" in h["permissions-policy"]


def test_every_response_carries_the_security_headers_and_no_store(client: TestClient) -> None:
    seen = {}
    for path in ("/", "/health", "/static/app.css", "/nowhere", C1_ITEM):
        seen[path] = client.get(path)
    sign_in(client)
    seen["signed-in dashboard"] = client.get("/")
    seen["unknown item"] = client.get("/items/contact-outcome-24h/NOPE")
    seen["form"] = client.get(C1_FORM)
    seen["post without csrf"] = client.post(C1_FORM, data=GOOD_FORM)
    seen["wrong method"] = client.post("/reports")
    seen["link redirect"] = client.get("/", params={"t": token()})
    assert {k: r.status_code for k, r in seen.items()} == {
        "/": 403,
        "/health": 200,
        "/static/app.css": 200,
        "/nowhere": 404,
        C1_ITEM: 403,
        "signed-in dashboard": 200,
        "unknown item": 404,
        "form": 200,
        "post without csrf": 403,
        "wrong method": 405,
        "link redirect": 303,
    }
    for r in seen.values():
        assert_secured(r)


def test_health_says_ok_without_any_data_or_identity(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["content-type"] == "application/json"


def test_health_is_503_and_pages_are_500_with_headers_when_the_database_fails(
    breached: Engine, tmp_path: Path
) -> None:
    good = make_app(breached)
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    client = client_for(App(good.settings, broken, good.rules, good.calendar))
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable"}
    assert_secured(r)
    session = token(purpose="session", nonce="n", expires=NOW + timedelta(hours=1))
    client.cookies.set("frontdoor_session", session)
    with structlog.testing.capture_logs() as logs:
        page = client.get("/")
    assert page.status_code == 500
    assert_secured(page)
    failed = [e for e in logs if e["event"] == "web_request_failed"]
    assert failed
    assert failed[0]["error"] == "OperationalError"
    assert "exc_info" not in failed[0]  # no locals: a frame could hold a note


def test_the_app_refuses_to_start_without_a_secret_key(breached: Engine) -> None:
    settings = load_settings(rules_dir=REPO / "rules", templates_dir=REPO / "templates")
    assert settings.secret_key is None
    with pytest.raises(ConfigError, match="FRONTDOOR_SECRET_KEY is not set"):
        create_app(build_app(settings, engine=breached))


# -- the proxy's identity header --------------------------------------------------------------


def test_the_identity_header_is_ignored_unless_configured(client: TestClient) -> None:
    assert client.get("/", headers={"X-Remote-User": TM_A}).status_code == 403


def test_the_identity_header_gives_the_teams_the_address_manages(breached: Engine) -> None:
    client = client_for(
        make_app(breached, trusted_identity_header="X-Remote-User", trusted_proxies="testclient")
    )
    as_a = {"X-Remote-User": "TM.A@Example.org"}
    page = client.get("/", headers=as_a)
    assert page.status_code == 200
    assert "/items/contact-outcome-24h/C1" in page.text
    assert "/items/contact-outcome-24h/C2" not in page.text
    assert client.get("/items/contact-outcome-24h/C2", headers=as_a).status_code == 403
    both = client.get("/", headers={"X-Remote-User": SM}).text
    assert "/items/contact-outcome-24h/C2" in both
    assert client.get("/", headers={"X-Remote-User": "stranger@example.org"}).status_code == 403
    assert client.get("/", headers={"X-Remote-User": "not an address"}).status_code == 403
    assert client.get("/").status_code == 403

    csrf = csrf_of(client.get(C1_FORM, headers=as_a).text)
    assert client.post(C1_FORM, data={**GOOD_FORM, "csrf": csrf}).status_code == 403
    as_b = {"X-Remote-User": TM_B}
    assert client.post(C1_FORM, data={**GOOD_FORM, "csrf": csrf}, headers=as_b).status_code == 403
    assert rationale_count(breached) == 0
    r = client.post(C1_FORM, data={**GOOD_FORM, "csrf": csrf}, headers=as_a)
    assert r.status_code == 303
    with breached.connect() as conn:
        assert conn.execute(select(table_of(Rationale).c.recorded_by)).scalar_one() == TM_A


# -- the weekly report archive ----------------------------------------------------------------


def message(to: str, subject: str, html: str) -> EmailMessage:
    m = EmailMessage()
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="frontdoor.example")
    m.set_content("text part")
    m.add_alternative(html, subtype="html")
    return m


def queue_report(engine: Engine, to: str, period: str, slot: datetime, html: str) -> int:
    with engine.begin() as conn:
        row_id = outbox.enqueue(
            conn,
            recipient=to,
            kind="weekly-report",
            level=0,
            slot=slot,
            message=message(to, f"frontdoor weekly report {period}", html),
            now=slot,
            period=period,
        )
    assert row_id is not None
    return row_id


def test_the_archive_lists_only_the_persons_own_reports_newest_first(
    client: TestClient, breached: Engine
) -> None:
    w47 = queue_report(breached, SM, "2026-W47", NOW - timedelta(days=7), "<p>week 47</p>")
    w48 = queue_report(
        breached, "SM.One@example.org", "2026-W48", NOW, '<p style="color:#d4351c">week 48</p>'
    )
    other = queue_report(breached, "sm.two@example.org", "2026-W48", NOW, "<p>not yours</p>")
    sign_in(client, SM, ("DAT-A", "DAT-B"))
    page = client.get("/reports").text
    assert page.index("2026-W48") < page.index("2026-W47")
    assert f'href="/reports/{w48}"' in page
    assert f'href="/reports/{w47}"' in page
    assert f'href="/reports/{other}"' not in page

    own = client.get(f"/reports/{w48}")
    assert own.status_code == 200
    assert '<p style="color:#d4351c">week 48</p>' in own.text
    assert_secured(own, csp=REPORT_CSP)

    refused = client.get(f"/reports/{other}")
    assert refused.status_code == 404
    assert "not yours" not in refused.text
    assert client.get("/reports/999999").status_code == 404


def test_the_archive_serves_weekly_reports_only(client: TestClient, breached: Engine) -> None:
    with breached.begin() as conn:
        digest = outbox.enqueue(
            conn,
            recipient=TM_A,
            kind="digest",
            level=1,
            slot=NOW,
            message=message(TM_A, "digest", "<p>a digest</p>"),
            now=NOW,
        )
    sign_in(client)
    assert "No weekly report has been sent to you yet." in client.get("/reports").text
    assert client.get(f"/reports/{digest}").status_code == 404


# -- review findings: revocation, moved records, the proxy identity, limits --------------------


def test_the_proxy_identity_counts_only_from_a_trusted_proxy_and_wins_over_a_cookie(
    breached: Engine,
) -> None:
    untrusted = client_for(make_app(breached, trusted_identity_header="X-Remote-User"))
    assert untrusted.get("/", headers={"X-Remote-User": TM_A}).status_code == 403
    proxied = client_for(
        make_app(breached, trusted_identity_header="X-Remote-User", trusted_proxies="testclient")
    )
    sign_in(proxied, TM_A, ("DAT-A",))  # a session for A ...
    as_b = {"X-Remote-User": TM_B}  # ... but the proxy says B is signed in
    assert proxied.get(C2_FORM, headers=as_b).status_code == 200
    assert proxied.get(C1_ITEM, headers=as_b).status_code == 403
    assert "Signed in as tm.b@example.org" in proxied.get("/", headers=as_b).text


def test_a_session_loses_a_team_its_manager_no_longer_manages(
    breached: Engine, tmp_path: Path
) -> None:
    client = client_for(make_app(breached))
    sign_in(client, TM_A, ("DAT-A",))
    assert client.get(C1_ITEM).status_code == 200
    replaced = {**TEAM_ROW, "team_id": "DAT-A", "manager_email": "new.tm@example.org"}
    assert load(breached, tmp_path, "teams", [replaced]).rejected == 0
    assert client.get(C1_ITEM).status_code == 403
    assert client.get("/").status_code == 403


def test_a_record_that_moved_team_is_open_to_its_new_team(breached: Engine) -> None:
    with breached.begin() as conn:
        contact = table_of(Contact)
        conn.execute(update(contact).where(contact.c.contact_id == "C1").values(team_id="DAT-B"))
    client = client_for(make_app(breached))
    sign_in(client, TM_B, ("DAT-B",))
    page = client.get(C1_FORM)
    assert page.status_code == 200
    r = client.post(C1_FORM, data={**GOOD_FORM, "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert rationale_count(breached) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"review_by": "2027-06-01T09:00"}, "within 10 working days"),
        ({"note": "before\x00after"}, "control characters"),
    ],
)
def test_a_review_time_too_far_ahead_or_a_control_character_is_refused(
    client: TestClient, breached: Engine, change: dict[str, str], message: str
) -> None:
    sign_in(client)
    page = client.get(C1_FORM)
    r = client.post(C1_FORM, data={**GOOD_FORM, **change, "csrf": csrf_of(page.text)})
    assert r.status_code == 400
    assert message in r.text
    assert rationale_count(breached) == 0


@pytest.mark.parametrize("bad", ["v1.abc.%C3%A9", "v1.%C3%A9.abc"])
def test_a_non_ascii_link_is_refused_not_an_error(client: TestClient, bad: str) -> None:
    assert client.get(f"/?t={bad}").status_code == 403
    raw = "frontdoor_session=v1.abc.\u00e9".encode()  # raw UTF-8, as a broken client sends
    assert client.get("/", headers=[(b"cookie", raw)]).status_code == 403


def test_a_record_id_with_a_slash_has_its_pages(breached: Engine, tmp_path: Path) -> None:
    row = {"contact_id": "CON/2026/7", "child_id": "CH7", "received_at": "2026-11-25T09:00:00Z",
           "team_id": "DAT-A"}  # fmt: skip
    assert load(breached, tmp_path, "contacts", [row]).rejected == 0
    app = make_app(breached)
    run_scan(breached, app.rules, app.calendar, now=NOW, record=True)
    client = client_for(app)
    sign_in(client)
    item = "/items/contact-outcome-24h/CON%2F2026%2F7"
    assert client.get(item).status_code == 200
    page = client.get(item + "/rationale")
    assert page.status_code == 200
    r = client.post(item + "/rationale", data={**GOOD_FORM, "csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert rationale_count(breached) == 1


def test_the_session_cookie_is_secure_when_the_public_address_is_https(breached: Engine) -> None:
    client = client_for(make_app(breached, web_url="https://frontdoor.example"))
    assert "Secure" in client.get("/", params={"t": token()}).headers["set-cookie"]


def test_the_dashboard_warns_while_the_data_feed_is_stale(breached: Engine) -> None:
    # The newest contact came on Wednesday 25 November 09:00: stale since 13:00 that day.
    stale = client_for(
        make_app(breached, feed_stale_after="4 working hours", system_owner_email="it@example.org")
    )
    sign_in(stale)
    page = stale.get("/")
    assert page.status_code == 200
    assert "Data may be out of date" in page.text
    assert "went stale on Wed 25 Nov 2026 13:00 GMT" in page.text
    with breached.connect() as conn:  # a page warns; only the worker alerts
        assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
    fresh = client_for(make_app(breached))  # the check off: no warning
    sign_in(fresh)
    assert "Data may be out of date" not in fresh.get("/").text
