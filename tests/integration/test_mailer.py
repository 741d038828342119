"""SmtpMailer against a real SMTP server in the test process (aiosmtpd), plus FakeMailer.

The server uses a self-signed certificate made once per session with the ``openssl`` command
(the TLS tests are skipped when it is missing), accepts one user and password, and can be told
to refuse a recipient with 550, defer one once with 451 or drop the connection once.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest

from frontdoor.mailer import DeliveryResult, FakeMailer, SmtpConfig, SmtpMailer
from tests.smtp_server import PASSWORD, SENDER, USER, Security, Server, free_port


@pytest.fixture(name="sleeps")
def _sleeps() -> list[float]:
    return []


def _mailer(
    port: int,
    sleeps: list[float],
    *,
    security: Security = "starttls",
    password: str = PASSWORD,
    tls: ssl.SSLContext | None = None,
    **overrides: Any,
) -> SmtpMailer:
    async def no_wait(delay: float) -> None:
        sleeps.append(delay)

    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        security=security,
        username=USER,
        password=password,
        sender=SENDER,
        **{"timeout_s": 5.0, **overrides},
    )
    return SmtpMailer(config, ssl_context=tls, sleep=no_wait)


def _message(*to: str, subject: str = "Overdue contacts") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Front door monitor <{SENDER}>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="frontdoor.test")
    msg.set_content("CON-1234 is 3 days overdue.\n")
    msg.add_alternative("<p><b>CON-1234</b> is 3 days overdue.</p>\n", subtype="html")
    return msg


def _delivered(results: list[DeliveryResult]) -> list[str]:
    return [r.recipient for r in results if r.ok]


def test_starttls_auth_delivers_multipart_alternative(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """STARTTLS + AUTH delivers a text + HTML message, and the server saw an authenticated one."""
    server = start_server("starttls")
    msg = _message("tm@council.test")

    results = _mailer(server.port, sleeps, tls=client_tls).send_batch([msg])

    assert results == [
        DeliveryResult(msg["Message-ID"], "tm@council.test", True, False, results[0].reply)
    ]
    assert results[0].reply.startswith("250")
    [got] = server.handler.received
    assert got.authenticated is True
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["tm@council.test"]
    parsed = message_from_bytes(got.content, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in parsed.iter_parts()}
    assert "CON-1234 is 3 days overdue." in parts["text/plain"]
    assert "<b>CON-1234</b>" in parts["text/html"]
    assert parsed["Message-ID"] == msg["Message-ID"]
    assert sleeps == []


def test_implicit_tls_delivers(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """Implicit TLS (security="tls") with AUTH delivers."""
    server = start_server("tls")

    results = _mailer(server.port, sleeps, security="tls", tls=client_tls).send_batch(
        [_message("a@council.test"), _message("b@council.test")]
    )

    assert _delivered(results) == ["a@council.test", "b@council.test"]
    assert [r.authenticated for r in server.handler.received] == [True, True]
    assert len(server.handler.peers) == 1


def test_untrusted_certificate_is_refused(
    start_server: Callable[[Security], Server], sleeps: list[float]
) -> None:
    """Without the test CA the client refuses the self-signed certificate and delivers nothing."""
    server = start_server("tls")

    results = _mailer(server.port, sleeps, security="tls").send_batch([_message("a@council.test")])

    assert [r.ok for r in results] == [False]
    assert results[0].permanent is True
    assert server.handler.received == []


def test_wrong_password_fails_batch_permanently_without_retry(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """A refused login (535) fails every message permanently, on one connection, with no retry."""
    server = start_server("starttls")
    batch = [_message("a@council.test"), _message("b@council.test", "c@council.test")]

    results = _mailer(server.port, sleeps, password="wrong", tls=client_tls).send_batch(batch)

    assert [(r.recipient, r.ok, r.permanent) for r in results] == [
        ("a@council.test", False, True),
        ("b@council.test", False, True),
        ("c@council.test", False, True),
    ]
    assert all(r.reply.startswith("535") for r in results)
    assert "wrong" not in results[0].reply
    assert sleeps == []
    assert len(server.handler.peers) == 1
    assert server.handler.received == []


def test_rejected_recipient_is_permanent_and_rest_go_over_one_connection(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """A 550 is recorded as permanent without retry; the other messages still go, on one link."""
    server = start_server("starttls")
    server.handler.reject.add("gone@council.test")
    batch = [_message(f"{name}@council.test") for name in ("a", "gone", "b", "c")]

    results = _mailer(server.port, sleeps, tls=client_tls).send_batch(batch)

    assert _delivered(results) == ["a@council.test", "b@council.test", "c@council.test"]
    [bad] = [r for r in results if not r.ok]
    assert (bad.recipient, bad.permanent, bad.message_id) == (
        "gone@council.test",
        True,
        batch[1]["Message-ID"],
    )
    assert bad.reply.startswith("550")
    assert server.handler.rcpt_attempts.count("gone@council.test") == 1
    assert [r.rcpt_tos for r in server.handler.received] == [
        ["a@council.test"],
        ["b@council.test"],
        ["c@council.test"],
    ]
    assert len(server.handler.peers) == 1
    assert sleeps == []


def test_partial_refusal_within_one_message(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """With two recipients on one message, the refused one fails and the other receives it."""
    server = start_server("starttls")
    server.handler.reject.add("gone@council.test")

    results = _mailer(server.port, sleeps, tls=client_tls).send_batch(
        [_message("gone@council.test", "sm@council.test")]
    )

    assert [(r.recipient, r.ok, r.permanent) for r in results] == [
        ("gone@council.test", False, True),
        ("sm@council.test", True, False),
    ]
    assert [r.rcpt_tos for r in server.handler.received] == [["sm@council.test"]]


def test_deferred_recipient_is_retried_then_delivered(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """A 451 is retried after the backoff and then delivered, once, without a new connection."""
    server = start_server("starttls")
    server.handler.defer_once.add("later@council.test")
    batch = [_message("later@council.test"), _message("a@council.test")]

    results = _mailer(server.port, sleeps, tls=client_tls, backoff_s=0.5).send_batch(batch)

    assert _delivered(results) == ["later@council.test", "a@council.test"]
    assert server.handler.rcpt_attempts.count("later@council.test") == 2
    assert [r.rcpt_tos for r in server.handler.received] == [
        ["later@council.test"],
        ["a@council.test"],
    ]
    assert sleeps == [0.5]
    assert len(server.handler.peers) == 1


def test_recipient_deferred_every_time_is_transient_and_does_not_stop_the_batch(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """A recipient deferred on every attempt ends transient after `retries`; later ones go."""
    server = start_server("starttls")
    server.handler.defer.add("full@council.test")
    batch = [_message("full@council.test"), _message("a@council.test")]

    results = _mailer(server.port, sleeps, tls=client_tls, retries=3).send_batch(batch)

    assert [(r.recipient, r.ok, r.permanent) for r in results] == [
        ("full@council.test", False, False),
        ("a@council.test", True, False),
    ]
    assert results[0].reply.startswith("452")
    assert server.handler.rcpt_attempts.count("full@council.test") == 3
    assert sleeps == [2.0, 4.0]
    assert len(server.handler.peers) == 1


def test_dropped_connection_is_reopened(
    start_server: Callable[[Security], Server], client_tls: ssl.SSLContext, sleeps: list[float]
) -> None:
    """When the server drops the link mid-batch, the mailer reconnects and delivers everything."""
    server = start_server("starttls")
    server.handler.drop_once.add("b@council.test")
    batch = [_message(f"{name}@council.test") for name in ("a", "b", "c")]

    results = _mailer(server.port, sleeps, tls=client_tls).send_batch(batch)

    assert _delivered(results) == ["a@council.test", "b@council.test", "c@council.test"]
    assert len(server.handler.received) == 3
    assert len(server.handler.peers) == 2
    assert sleeps == [2.0]


def test_unreachable_server_gives_transient_failures_after_retries(sleeps: list[float]) -> None:
    """A closed port: `retries` connection attempts with growing waits, then transient failures."""
    port = free_port()  # nothing listens there any more

    results = _mailer(port, sleeps, security="none", retries=3, backoff_s=0.5).send_batch(
        [_message("a@council.test"), _message("b@council.test")]
    )

    assert [(r.recipient, r.ok, r.permanent) for r in results] == [
        ("a@council.test", False, False),
        ("b@council.test", False, False),
    ]
    assert sleeps == [0.5, 1.0]


def test_silent_server_times_out_as_transient(sleeps: list[float]) -> None:
    """A server that accepts but never greets hits the per-operation timeout: transient."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])

        results = _mailer(
            port, sleeps, security="none", timeout_s=0.2, retries=2, backoff_s=1.0
        ).send_batch([_message("a@council.test")])

    assert [(r.ok, r.permanent) for r in results] == [(False, False)]
    assert "Timeout" in results[0].reply
    assert sleeps == [1.0]


def test_password_is_not_in_repr() -> None:
    """repr(SmtpConfig) shows the connection details but never the password."""
    config = SmtpConfig("smtp.council.test", 587, "starttls", USER, PASSWORD, SENDER)

    assert PASSWORD not in repr(config)
    assert "smtp.council.test" in repr(config)


def test_fake_mailer_records_and_fails_on_request() -> None:
    """FakeMailer keeps delivered messages in its outbox and fails the recipients it is told to."""
    fake = FakeMailer(fail_transient=["Later@council.test"], fail_permanent=["gone@council.test"])
    ok, later, gone = (_message(f"{n}@council.test") for n in ("a", "later", "gone"))

    results = fake.send_batch([ok, later, gone])

    assert [(r.recipient, r.ok, r.permanent) for r in results] == [
        ("a@council.test", True, False),
        ("later@council.test", False, False),
        ("gone@council.test", False, True),
    ]
    assert fake.outbox == [ok]
    assert fake.batches == [[ok, later, gone]]
