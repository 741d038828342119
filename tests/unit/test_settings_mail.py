"""Tests for the e-mail and digest settings in :mod:`frontdoor.settings`.

Every test starts from an environment without any ``FRONTDOOR_*`` variable and in an empty
working directory (no ``.env`` file), then sets what it needs and calls :func:`load_settings`.
Errors must name the ``FRONTDOOR_*`` variable at fault.
"""

from __future__ import annotations

import os
from datetime import time, timedelta
from pathlib import Path

import pytest

from frontdoor.errors import ConfigError
from frontdoor.mailer import SmtpConfig
from frontdoor.settings import (
    load_settings,
    parse_repeat,
    parse_slots,
    parse_working_duration,
    smtp_config,
)

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _smtp_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"FRONTDOOR_{key.upper()}", value)


# =================================================================================================
# Digest slots, repeat and escalation
# =================================================================================================
def test_defaults() -> None:
    settings = load_settings()
    assert settings.slot_times == (time(8, 30), time(12, 30), time(16, 0))
    assert parse_repeat(settings.digest_repeat) == "next-working-day"
    assert parse_working_duration(settings.escalate_after) == timedelta(hours=24)
    assert settings.case_urls == {}
    assert settings.smtp_host is None
    assert settings.smtp_password is None


def test_slots_from_the_environment_are_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DIGEST_SLOTS", "16:30, 07:45,00:15,23:59, 03:00")
    assert load_settings().slot_times == (
        time(0, 15),
        time(3, 0),
        time(7, 45),
        time(16, 30),
        time(23, 59),
    )


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("25:00", "not a 24-hour HH:MM time"),
        ("24:00", "not a 24-hour HH:MM time"),
        ("08:60", "not a 24-hour HH:MM time"),
        ("8:30", "not a 24-hour HH:MM time"),
        ("08.30", "not a 24-hour HH:MM time"),
        ("08:30,noon", "not a 24-hour HH:MM time"),
        ("01:00", "when clocks change"),
        ("01:30", "when clocks change"),
        ("02:59", "when clocks change"),
        ("08:30,12:30,08:30", "listed twice"),
        ("", "at least one"),
        (" , ", "at least one"),
    ],
    ids=[
        "25h",
        "24h",
        "60min",
        "one-digit-hour",
        "dot",
        "word",
        "0100",
        "0130",
        "0259",
        "duplicate",
        "empty",
        "only-commas",
    ],
)
def test_invalid_slots_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, detail: str
) -> None:
    monkeypatch.setenv("FRONTDOOR_DIGEST_SLOTS", value)
    with pytest.raises(ConfigError, match="FRONTDOOR_DIGEST_SLOTS") as caught:
        load_settings()
    assert detail in str(caught.value)


def test_slots_either_side_of_the_clock_change_hours_are_accepted() -> None:
    # 00:59 and 03:00 exist exactly once every day in Europe/London.
    assert parse_slots("03:00,00:59") == (time(0, 59), time(3, 0))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("next-working-day", "next-working-day"),
        ("every-slot", "every-slot"),
        ("4h", timedelta(hours=4)),
        ("1h", timedelta(hours=1)),
        ("48h", timedelta(hours=48)),
    ],
)
def test_parse_repeat(value: str, expected: str | timedelta) -> None:
    assert parse_repeat(value) == expected


@pytest.mark.parametrize("value", ["0h", "weekly", "4", "h", "-4h", "4.5h", "4 hours"])
def test_parse_repeat_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="next-working-day"):
        parse_repeat(value)


def test_digest_repeat_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DIGEST_REPEAT", "4h")
    assert parse_repeat(load_settings().digest_repeat) == timedelta(hours=4)
    monkeypatch.setenv("FRONTDOOR_DIGEST_REPEAT", "weekly")
    with pytest.raises(ConfigError, match="FRONTDOOR_DIGEST_REPEAT"):
        load_settings()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1 working day", timedelta(hours=24)),
        ("2 working days", timedelta(hours=48)),
        ("4 working hours", timedelta(hours=4)),
        ("1 working hour", timedelta(hours=1)),
        ("3 Working Days", timedelta(hours=72)),
    ],
)
def test_parse_working_duration(value: str, expected: timedelta) -> None:
    assert parse_working_duration(value) == expected


@pytest.mark.parametrize(
    "value", ["1 day", "24 hours", "0 working days", "working day", "1.5 working days", ""]
)
def test_parse_working_duration_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="working"):
        parse_working_duration(value)


def test_escalate_after_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_ESCALATE_AFTER", "2 working days")
    assert parse_working_duration(load_settings().escalate_after) == timedelta(hours=48)
    monkeypatch.setenv("FRONTDOOR_ESCALATE_AFTER", "1 day")
    with pytest.raises(ConfigError, match="FRONTDOOR_ESCALATE_AFTER"):
        load_settings()


# =================================================================================================
# Case URL templates
# =================================================================================================
def test_case_url_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", "https://cms.example/contact/{record_id}")
    monkeypatch.setenv(
        "FRONTDOOR_CASE_URL_ASSESSMENT", "http://cms.example/child/{child_id}/{team_id}"
    )
    assert load_settings().case_urls == {
        "contact": "https://cms.example/contact/{record_id}",
        "assessment": "http://cms.example/child/{child_id}/{team_id}",
    }


def test_unknown_placeholder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", "https://cms.example/contact/{name}")
    with pytest.raises(ConfigError, match="FRONTDOOR_CASE_URL_CONTACT") as caught:
        load_settings()
    assert "{name}" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    ["ftp://cms.example/{record_id}", "cms.example/contact/{record_id}", "/contact/{record_id}"],
)
def test_non_http_url_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FRONTDOOR_CASE_URL_REFERRAL", value)
    with pytest.raises(ConfigError, match="FRONTDOOR_CASE_URL_REFERRAL") as caught:
        load_settings()
    assert "https://" in str(caught.value)


def test_unbalanced_brace_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", "https://cms.example/contact/{record_id")
    with pytest.raises(ConfigError, match="FRONTDOOR_CASE_URL_CONTACT"):
        load_settings()


@pytest.mark.parametrize(
    "template",
    ["https://cms.example/contact/{}", "https://cms.example/c/{record_id!x}"],
)
def test_placeholders_that_cannot_be_filled_are_refused(
    monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", template)
    with pytest.raises(ConfigError, match="FRONTDOOR_CASE_URL_CONTACT"):
        load_settings()


def test_positional_placeholder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    template = "https://cms.example/contact/{}"
    # Why it must be refused: it cannot be rendered from the named fields.
    with pytest.raises(IndexError):
        template.format(record_id="C1", child_id="CH1", team_id="FD-A")
    monkeypatch.setenv("FRONTDOOR_CASE_URL_CONTACT", template)
    with pytest.raises(ConfigError, match="FRONTDOOR_CASE_URL_CONTACT"):
        load_settings()


# =================================================================================================
# SMTP
# =================================================================================================
def test_smtp_config_needs_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(monkeypatch, smtp_sender="frontdoor@council.example")
    with pytest.raises(ConfigError, match="FRONTDOOR_SMTP_HOST") as caught:
        smtp_config(load_settings())
    assert "FRONTDOOR_SMTP_SENDER" not in str(caught.value)


def test_smtp_config_needs_a_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(monkeypatch, smtp_host="smtp.council.example")
    with pytest.raises(ConfigError, match="FRONTDOOR_SMTP_SENDER") as caught:
        smtp_config(load_settings())
    assert "FRONTDOOR_SMTP_HOST" not in str(caught.value)


def test_smtp_config_names_everything_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        smtp_config(load_settings())
    assert "FRONTDOOR_SMTP_HOST" in str(caught.value)
    assert "FRONTDOOR_SMTP_SENDER" in str(caught.value)


def test_username_without_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_username="frontdoor",
    )
    with pytest.raises(ConfigError, match="FRONTDOOR_SMTP_PASSWORD"):
        smtp_config(load_settings())


@pytest.mark.parametrize(
    ("tls", "port"),
    [("starttls", 587), ("tls", 465), ("none", 25)],
)
def test_default_port_follows_the_tls_mode(
    monkeypatch: pytest.MonkeyPatch, tls: str, port: int
) -> None:
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_tls=tls,
    )
    config = smtp_config(load_settings())
    assert config.port == port
    assert config.security == tls


def test_default_tls_mode_is_starttls_on_587(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(monkeypatch, smtp_host="smtp.council.example", smtp_sender="fd@council.example")
    config = smtp_config(load_settings())
    assert (config.security, config.port) == ("starttls", 587)


def test_explicit_port_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_tls="tls",
        smtp_port="2465",
    )
    assert smtp_config(load_settings()).port == 2465


def test_invalid_tls_mode_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_SMTP_TLS", "ssl")
    with pytest.raises(ConfigError, match="FRONTDOOR_SMTP_TLS"):
        load_settings()


def test_full_smtp_config(monkeypatch: pytest.MonkeyPatch) -> None:
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_username="frontdoor",
        smtp_password=PASSWORD,
        smtp_timeout_seconds="12.5",
        smtp_attempts="5",
    )
    assert smtp_config(load_settings()) == SmtpConfig(
        host="smtp.council.example",
        port=587,
        security="starttls",
        username="frontdoor",
        password=PASSWORD,
        sender="frontdoor@council.example",
        timeout_s=12.5,
        retries=5,
    )


def test_password_file_is_read_without_its_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_username="frontdoor",
        smtp_password_file=str(secret),
    )
    settings = load_settings()
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == PASSWORD
    assert smtp_config(settings).password == PASSWORD


def test_password_and_password_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("from-the-file\n", encoding="utf-8")
    _smtp_env(monkeypatch, smtp_password=PASSWORD, smtp_password_file=str(secret))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "FRONTDOOR_SMTP_PASSWORD " in message
    assert "FRONTDOOR_SMTP_PASSWORD_FILE" in message
    assert PASSWORD not in message
    assert "from-the-file" not in message


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_password_file_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "no-such-file" if kind == "missing" else tmp_path
    monkeypatch.setenv("FRONTDOOR_SMTP_PASSWORD_FILE", str(path))
    with pytest.raises(ConfigError, match="FRONTDOOR_SMTP_PASSWORD_FILE") as caught:
        load_settings()
    assert str(path) in str(caught.value)


def test_password_is_never_in_a_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _smtp_env(
        monkeypatch,
        smtp_host="smtp.council.example",
        smtp_sender="frontdoor@council.example",
        smtp_username="frontdoor",
        smtp_password=PASSWORD,
    )
    settings = load_settings()
    config = smtp_config(settings)
    assert config.password == PASSWORD  # it is there to be used...
    assert PASSWORD not in repr(settings)  # ...but never shown
    assert PASSWORD not in repr(config)
    assert "frontdoor" in repr(config)  # the username is fine to show

    monkeypatch.delenv("FRONTDOOR_SMTP_PASSWORD")
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    monkeypatch.setenv("FRONTDOOR_SMTP_PASSWORD_FILE", str(secret))
    from_file = load_settings()
    assert PASSWORD not in repr(from_file)
    assert PASSWORD not in repr(smtp_config(from_file))


@pytest.mark.parametrize("name", ["database_url", "sync_url"])
def test_database_urls_can_come_from_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    url = "postgresql+psycopg://frontdoor:s3cret-db@db.example/frontdoor"
    secret = tmp_path / name
    secret.write_text(url + "\n", encoding="utf-8")
    upper = f"FRONTDOOR_{name.upper()}"
    monkeypatch.delenv(upper, raising=False)
    monkeypatch.setenv(f"{upper}_FILE", str(secret))
    assert getattr(load_settings(), name) == url
    monkeypatch.setenv(upper, "sqlite:///other.sqlite3")
    with pytest.raises(ConfigError, match=f"{upper} and {upper}_FILE are both set") as caught:
        load_settings()
    assert "s3cret" not in str(caught.value)
    monkeypatch.delenv(upper)
    secret.write_text("not a url at all\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=upper) as caught:
        load_settings()
    assert "not a url at all" not in str(caught.value)
