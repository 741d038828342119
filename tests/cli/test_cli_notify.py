"""``frontdoor digest``, ``preview digest``, ``send-test-email`` and ``check-config`` e-mail
settings through ``cli.main``, on a SQLite database in a temp folder."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, select, text

from frontdoor.cli import main
from frontdoor.csvformat import FILE_NAMES, FILE_SPECS
from frontdoor.models import Outbox
from tests.conftest import REPO
from tests.factories import TEAM_ROW, write_csv
from tests.smtp_server import PASSWORD, SENDER, USER, Cert, Security, Server

NOW = "2027-01-07T12:00:00Z"  # a Thursday; the slot due is 08:30 GMT
TM = TEAM_ROW["manager_email"]
SM = TEAM_ROW["service_manager_email"]


@pytest.fixture(name="home", autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment: no FRONTDOOR_* variables but the data and rules folders."""
    import os

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDOOR_RULES_DIR", str(REPO / "rules"))
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", "https://cms.example/c/{record_id}")
    monkeypatch.setenv("COLUMNS", "1000")
    yield tmp_path
    structlog.reset_defaults()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(name="loaded")
def _loaded(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Team DAT-A with one contact long overdue and one met."""
    assert run(capsys, "migrate")[0] == 0
    folder = home / "in"
    folder.mkdir()
    write_csv(folder / FILE_NAMES["teams"], [TEAM_ROW], FILE_SPECS["teams"].column_names)
    contacts = [
        {"contact_id": "OLD1", "child_id": "CH1", "received_at": "2020-01-06T10:00:00Z",
         "team_id": "DAT-A"},
        {"contact_id": "MET1", "child_id": "CH2", "received_at": "2020-01-06T10:00:00Z",
         "team_id": "DAT-A", "outcome_at": "2020-01-06T11:00:00Z"},
    ]  # fmt: skip
    write_csv(folder / FILE_NAMES["contacts"], contacts, FILE_SPECS["contacts"].column_names)
    assert run(capsys, "import", "all", str(folder))[0] == 0
    return home


def outbox_rows(home: Path) -> list[Outbox]:
    engine = create_engine(f"sqlite:///{home / 'data' / 'frontdoor.sqlite3'}")
    try:
        with engine.connect() as conn:
            return [Outbox.model_validate(r._mapping) for r in conn.execute(select(Outbox))]
    finally:
        engine.dispose()


def test_digest_outbox_writes_eml_and_html_records_them_and_sends_each_slot_once(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = loaded / "mail"
    code, out, _ = run(capsys, "digest", "--now", NOW, "--outbox", str(target))
    assert code == 0, out
    assert "digest slot 2027-01-07 08:30 GMT" in out
    assert f"backlog    backlog to {TM}: 1 item(s)" in out
    names = sorted(p.name for p in target.iterdir())
    assert names == [
        f"20270107T0830Z-backlog-{TM}.eml",
        f"20270107T0830Z-backlog-{TM}.html",
    ]
    message = message_from_bytes((target / names[0]).read_bytes(), policy=policy.default)
    assert message["To"] == TM
    assert "OLD1" in str(message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "MET1" not in (target / names[1]).read_text(encoding="utf-8")
    (row,) = outbox_rows(loaded)
    assert row.sent_at is not None
    assert row.reply is not None
    assert row.reply.startswith("written to ")

    again, out, _ = run(capsys, "digest", "--now", "2027-01-07T12:05:00Z", "--outbox", str(target))
    assert again == 0
    assert "queued 0 message(s)" in out
    assert len(list(target.iterdir())) == 2
    assert len(outbox_rows(loaded)) == 1


def test_digest_dry_run_needs_no_smtp_and_records_nothing(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "digest", "--now", NOW, "--dry-run")
    assert code == 0
    assert "would send 1 message(s)" in out
    assert outbox_rows(loaded) == []


def test_preview_prints_the_digest_of_a_manager_and_writes_its_html(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = loaded / "preview.html"
    code, out, _ = run(
        capsys, "preview", "digest", "--manager", TM.upper(), "--now", NOW, "--html", str(page)
    )
    assert code == 0
    assert out.startswith("Subject: frontdoor: ")
    assert "OLD1" in out
    assert "https://cms.example/c/OLD1" in out
    assert "MET1" not in out
    html = page.read_text(encoding="utf-8")
    assert "OLD1" in html
    assert "<style" not in html  # CSS is inlined
    assert outbox_rows(loaded) == []  # a preview records nothing

    code, out, _ = run(capsys, "preview", "digest", "--manager", SM, "--now", NOW)
    assert code == 0
    assert "escalation" in out  # a service manager previews their escalation


def test_preview_of_an_unknown_address_exits_2(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "preview", "digest", "--manager", "nobody@example.org")
    assert code == 2
    assert "nobody@example.org is not a team manager or service manager" in err


def test_send_test_email_without_smtp_settings_exits_2_naming_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "send-test-email", "--to", TM)
    assert code == 2
    assert "FRONTDOOR_SMTP_HOST" in err
    assert "FRONTDOOR_SMTP_SENDER" in err


def test_send_test_email_over_starttls_with_auth(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    start_server: Callable[[Security], Server],
    cert: Cert,
) -> None:
    server = start_server("starttls")
    monkeypatch.setenv("FRONTDOOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FRONTDOOR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FRONTDOOR_SMTP_USERNAME", USER)
    monkeypatch.setenv("FRONTDOOR_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("FRONTDOOR_SMTP_SENDER", SENDER)
    # The default context verifies the server; trust the test certificate as a CA.
    monkeypatch.setattr(
        ssl, "create_default_context", _trusting(ssl.create_default_context, cert.cert)
    )
    code, out, err = run(capsys, "send-test-email", "--to", "it@example.org")
    assert code == 0, err
    assert out.startswith("sent to it@example.org: 250")
    (received,) = server.handler.received
    assert received.authenticated
    assert received.rcpt_tos == ["it@example.org"]
    message = message_from_bytes(received.content, policy=policy.default)
    assert message["Subject"] == "frontdoor: test message"
    assert message.get_content_type() == "multipart/alternative"


def _trusting(
    original: Callable[..., ssl.SSLContext], cafile: Path
) -> Callable[..., ssl.SSLContext]:
    def make(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        context.load_verify_locations(cafile=str(cafile))
        return context

    return make


def test_check_config_reports_the_e_mail_settings(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, "check-config")
    assert code == 0
    assert "e-mail: not configured" in out
    monkeypatch.setenv("FRONTDOOR_SMTP_HOST", "smtp.council.example")
    monkeypatch.setenv("FRONTDOOR_SMTP_SENDER", "frontdoor@council.example")
    monkeypatch.setenv("FRONTDOOR_SMTP_USERNAME", "fd")
    monkeypatch.setenv("FRONTDOOR_SMTP_PASSWORD", "hunter2-secret")
    code, out, _ = run(capsys, "check-config")
    assert code == 0
    assert "e-mail: smtp.council.example:587 (starttls, AUTH as fd)" in out
    assert "digest slots: 08:30, 12:30, 16:00 on working days" in out
    assert "hunter2-secret" not in out


def test_sending_by_hand_refuses_while_the_feed_is_stale(
    loaded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The newest contact is from January 2020: stale long before 2020-03-02.
    monkeypatch.setenv("FRONTDOOR_FEED_STALE_AFTER", "4 working hours")
    monkeypatch.setenv("FRONTDOOR_SYSTEM_OWNER_EMAIL", "it.owner@example.org")
    monkeypatch.setenv("FRONTDOOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FRONTDOOR_SMTP_PORT", "9")  # nothing listens: sends wait for a retry
    monkeypatch.setenv("FRONTDOOR_SMTP_SENDER", "frontdoor@example.org")
    monkeypatch.setenv("FRONTDOOR_SMTP_ATTEMPTS", "1")
    now = "2020-03-02T09:00:00Z"
    code, out, err = run(capsys, "digest", "--now", now)
    assert code == 2
    assert "the data feed is stale since 2020-01-06 14:00 GMT" in err
    assert "--even-if-stale" in err
    assert "queued" not in out
    code, _, err = run(capsys, "report", "weekly", "--send", "--now", now)
    assert code == 2
    assert "the weekly report is held back" in err
    # --outbox too: its rows would take the slot the worker sends once the feed is fresh.
    code, _, err = run(capsys, "digest", "--now", now, "--outbox", str(loaded / "mail"))
    assert code == 2
    assert "--even-if-stale" in err
    engine = create_engine(f"sqlite:///{loaded / 'data' / 'frontdoor.sqlite3'}")
    with engine.connect() as conn:  # refused by hand: nothing queued, not even the alert
        assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
    engine.dispose()
    code, out, _ = run(capsys, "digest", "--now", now, "--even-if-stale")
    assert code == 1  # queued, then waiting for the SMTP server
    assert "queued 1 message(s)" in out
    code, out, _ = run(capsys, "digest", "--now", now, "--dry-run")
    assert code == 0  # a dry run sends nothing, so it is never held back
