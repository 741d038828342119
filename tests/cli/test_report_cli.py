"""``frontdoor report weekly`` through ``cli.main`` on a SQLite database in a temp folder:
printing, ``--out``, ``--send`` over real SMTP (once, then ``--resend``), and bad input."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from email import message_from_bytes, policy
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, select

from frontdoor.csvformat import FILE_NAMES, FILE_SPECS
from frontdoor.models import Outbox
from tests.cli.test_cli_notify import _home, _trusting, run  # noqa: F401  (_home: a fixture)
from tests.factories import TEAM_ROW, write_csv
from tests.smtp_server import PASSWORD, SENDER, USER, Cert, Server

NOW = "2026-11-23T09:00:00Z"  # Monday: the last complete week is 2026-W47
SM = TEAM_ROW["service_manager_email"]


@pytest.fixture(name="loaded")
def _loaded(home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Team DAT-A with three contacts in 2026-W47: one met, one late, one never done."""
    assert run(capsys, "migrate")[0] == 0
    folder = home / "in"
    folder.mkdir()
    write_csv(folder / FILE_NAMES["teams"], [TEAM_ROW], FILE_SPECS["teams"].column_names)
    contacts = [
        {"contact_id": "MET1", "child_id": "CH1", "received_at": "2026-11-16T10:00:00Z",
         "team_id": "DAT-A", "outcome_at": "2026-11-16T11:00:00Z"},
        {"contact_id": "LATE1", "child_id": "CH2", "received_at": "2026-11-17T10:00:00Z",
         "team_id": "DAT-A", "outcome_at": "2026-11-19T10:00:00Z"},
        {"contact_id": "OPEN1", "child_id": "CH3", "received_at": "2026-11-18T10:00:00Z",
         "team_id": "DAT-A"},
    ]  # fmt: skip
    write_csv(folder / FILE_NAMES["contacts"], contacts, FILE_SPECS["contacts"].column_names)
    assert run(capsys, "import", "all", str(folder))[0] == 0
    return home


def test_printing_shows_the_text_report_and_records_nothing(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "weekly", "--now", NOW)
    assert code == 0
    assert "weekly report 2026-W47" in out
    assert f"To: {SM}" in out
    assert "33% (1/3)" in out  # outcome within 24 hours: MET1 of MET1, LATE1, OPEN1
    assert "LATE1" in out
    assert "OPEN1" in out
    assert "nothing recorded or sent" in out
    engine = create_engine(f"sqlite:///{loaded / 'data' / 'frontdoor.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(select(Outbox.id)).all() == []  # type: ignore[call-overload]


def test_out_writes_the_three_files_per_manager(
    loaded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "weekly", "--now", NOW, "--out", str(loaded / "rep"))
    assert code == 0
    folder = loaded / "rep" / SM
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.txt", "report.xlsx"]
    assert str(folder / "report.xlsx") in out
    book = openpyxl.load_workbook(BytesIO((folder / "report.xlsx").read_bytes()))
    contacts = book["Contacts"]
    header = [c.value for c in contacts[3]]
    total = dict(zip(header, [c.value for c in contacts[contacts.max_row]], strict=True))
    assert total["Outcome within 24 hours numerator"] == 1
    assert total["Outcome within 24 hours denominator"] == 3
    assert total["Breaches"] == 2
    assert "33%" in (folder / "report.html").read_text(encoding="utf-8")
    assert "33% (1/3)" in (folder / "report.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--week", "2026-W99"], "no ISO week 99"),
        (["--week", "last week"], "must look like 2026-W48"),
        (["--week", "2026-W48"], "not complete until"),
        (["--resend"], "--resend only goes with --send"),
        (["--all-teams", "--send"], "--all-teams"),
        (["--manager", "nobody@example.org"], "nobody@example.org"),
        (["--send"], "FRONTDOOR_SMTP_HOST"),
        (["--send"], "--out DIR writes the reports"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    loaded: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "report", "weekly", "--now", NOW, *argv)
    assert code == 2
    assert message in err


def test_send_delivers_once_per_manager_and_week_then_resend_sends_again(
    loaded: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    start_server: Callable[..., Server],
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
    code, out, _ = run(capsys, "report", "weekly", "--now", NOW, "--send")
    assert code == 0, out
    assert f"{SM}: queued" in out
    assert "1 sent" in out
    assert len(server.handler.received) == 1
    message = message_from_bytes(server.handler.received[0].content, policy=policy.default)
    assert message["To"] == SM
    assert "2026-W47" in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    code, out, _ = run(capsys, "report", "weekly", "--now", NOW, "--send")
    assert code == 0
    assert f"{SM}: already-queued" in out
    assert len(server.handler.received) == 1

    code, out, _ = run(capsys, "report", "weekly", "--now", NOW, "--send", "--resend")
    assert code == 0
    assert f"{SM}: resent" in out
    assert len(server.handler.received) == 2
