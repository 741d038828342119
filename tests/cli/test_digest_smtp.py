"""`frontdoor digest` as a real process against a real SMTP server (aiosmtpd, STARTTLS and
AUTH), killed with SIGKILL at chosen points while it sends.

The server calls a hook when it has a message (after DATA, before its 250 reply) or when a
recipient arrives (before the message exists). The hook kills the sending process there.
A second run for the same slot is the recovery pass. Every digest must arrive; only the
message whose DATA the kill interrupted may arrive twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from frontdoor import db
from frontdoor.delivery import CLAIM_LEASE
from frontdoor.models import Outbox, table_of
from tests.conftest import REPO
from tests.factories import TEAM_ROW, load
from tests.smtp_server import PASSWORD, SENDER, USER, Cert, Security, Server

MON_0830 = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)  # GMT: local = UTC
OUT = table_of(Outbox).c
MANAGERS = ["tm.a@example.org", "tm.b@example.org", "tm.c@example.org"]


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fd.sqlite3'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    teams = [
        {**TEAM_ROW, "team_id": f"DAT-{x}", "manager_email": m}
        for x, m in zip("ABC", MANAGERS, strict=True)
    ]
    assert load(engine, tmp_path, "teams", teams).rejected == 0
    contacts = [
        {
            "contact_id": f"C-{x}",
            "child_id": f"CH-{x}",
            "received_at": (MON_0830 - timedelta(days=3)).isoformat(),
            "team_id": f"DAT-{x}",
        }
        for x in "ABC"
    ]
    assert load(engine, tmp_path, "contacts", contacts).rejected == 0
    engine.dispose()
    return url


def _env(url: str, port: int, cert: Cert) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDOOR_")}
    env.update(
        {
            "FRONTDOOR_DATABASE_URL": url,
            "FRONTDOOR_SMTP_HOST": "127.0.0.1",
            "FRONTDOOR_SMTP_PORT": str(port),
            "FRONTDOOR_SMTP_TLS": "starttls",
            "FRONTDOOR_SMTP_USERNAME": USER,
            "FRONTDOOR_SMTP_PASSWORD": PASSWORD,
            "FRONTDOOR_SMTP_SENDER": SENDER,
            "FRONTDOOR_SMTP_TIMEOUT_SECONDS": "10",
            # The frontdoor process trusts the test certificate through OpenSSL's default
            # verify paths, as a council would add its own CA.
            "SSL_CERT_FILE": str(cert.cert),
        }
    )
    return env


def _digest(env: dict[str, str], now: datetime) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "frontdoor", "digest", "--now", now.isoformat()],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _killer(proc: list[subprocess.Popen[str]], at: int) -> Callable[[int], None]:
    def hook(count: int) -> None:
        if count == at and proc and proc[0].poll() is None:
            os.kill(proc[0].pid, signal.SIGKILL)

    return hook


def _received_ids(server: Server) -> Counter[str]:
    ids: Counter[str] = Counter()
    for r in server.handler.received:
        msg = message_from_bytes(r.content, policy=policy.default)
        ids[str(msg["Message-ID"])] += 1
    return ids


@pytest.mark.parametrize(
    ("stage", "index"),
    [("data", 1), ("data", 2), ("data", 3), ("rcpt", 0), ("rcpt", 1), ("rcpt", 2)],
    ids=lambda v: str(v),
)
def test_killing_the_sender_never_loses_a_digest(
    start_server: Callable[[Security], Server],
    cert: Cert,
    tmp_path: Path,
    stage: str,
    index: int,
) -> None:
    """data/N: killed once the server has message N, before it replies 250.
    rcpt/N: killed when the recipient of message N+1 arrives (N messages already received),
    before that message exists on the server."""
    server = start_server("starttls")
    url = _database(tmp_path)
    env = _env(url, server.port, cert)
    running: list[subprocess.Popen[str]] = []
    hook = _killer(running, index)
    if stage == "data":
        server.handler.on_data = hook
    else:
        server.handler.on_rcpt = hook
    running.append(_digest(env, MON_0830))
    running[0].communicate(timeout=60)  # reaps it and closes its pipes
    assert running[0].returncode == -signal.SIGKILL
    server.handler.on_data = server.handler.on_rcpt = None

    # Same slot, once the dead process's claim on its rows has expired.
    recovery = _digest(env, MON_0830 + CLAIM_LEASE + timedelta(minutes=1))
    out, err = recovery.communicate(timeout=60)
    assert recovery.returncode == 0, err

    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(OUT.message_id, OUT.sent_at, OUT.recipient)).all()
    engine.dispose()
    assert sorted(r.recipient for r in rows) == MANAGERS  # one per manager, this slot only
    assert all(r.sent_at is not None for r in rows)

    received = _received_ids(server)
    assert set(received) == {r.message_id for r in rows}  # nothing lost
    duplicated = sorted(mid for mid, n in received.items() if n > 1)
    if stage == "data":
        assert max(received.values()) == 2
        assert len(duplicated) == 1  # only the message the kill interrupted
        (dup,) = duplicated
        nth = [str(message_from_bytes(r.content, policy=policy.default)["Message-ID"])
               for r in server.handler.received][index - 1]  # fmt: skip
        assert dup == nth
    else:
        assert duplicated == []  # killed before a message existed: nothing twice

    # A third run for the same slot sends nothing at all.
    before = len(server.handler.received)
    third = _digest(env, MON_0830 + CLAIM_LEASE + timedelta(minutes=2))
    third.communicate(timeout=60)
    assert third.returncode == 0
    assert len(server.handler.received) == before


def test_a_wrong_password_keeps_every_message_for_when_it_is_fixed(
    start_server: Callable[[Security], Server], cert: Cert, tmp_path: Path
) -> None:
    server = start_server("starttls")
    url = _database(tmp_path)
    env = {**_env(url, server.port, cert), "FRONTDOOR_SMTP_PASSWORD": "wrong"}
    proc = _digest(env, MON_0830)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err  # messages left undelivered
    assert "0 sent, 3 to retry, 0 failed" in out
    assert "535" in err  # the log says why
    assert server.handler.received == []
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(OUT.failed_at, OUT.last_error)).all()
    engine.dispose()
    assert len(rows) == 3
    assert all(r.failed_at is None and r.last_error.startswith("535") for r in rows)

    # The password is fixed: the next pass (after the claim lease) delivers all three.
    fixed = _digest(_env(url, server.port, cert), MON_0830 + CLAIM_LEASE + timedelta(minutes=1))
    out, err = fixed.communicate(timeout=60)
    assert fixed.returncode == 0, err
    assert len(server.handler.received) == 3


def test_server_down_then_up_delivers_on_the_next_pass(
    start_server: Callable[[Security], Server], cert: Cert, tmp_path: Path
) -> None:
    url = _database(tmp_path)
    from tests.smtp_server import free_port

    env = {**_env(url, free_port(), cert), "FRONTDOOR_SMTP_ATTEMPTS": "1"}
    proc = _digest(env, MON_0830)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err  # undelivered, waiting for a retry
    assert "0 sent, 3 to retry" in out

    server = start_server("starttls")
    env = _env(url, server.port, cert)
    again = _digest(env, MON_0830 + timedelta(minutes=5))  # failed attempts release claims
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "3 sent" in out
    assert len(server.handler.received) == 3
    first = message_from_bytes(server.handler.received[0].content, policy=policy.default)
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert all(r.authenticated for r in server.handler.received)


def test_commands_that_send_refuse_to_start_without_smtp_settings(tmp_path: Path) -> None:
    url = _database(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDOOR_")}
    env["FRONTDOOR_DATABASE_URL"] = url
    proc = subprocess.run(
        [sys.executable, "-m", "frontdoor", "digest", "--now", MON_0830.isoformat()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "FRONTDOOR_SMTP_HOST" in proc.stderr
    assert "FRONTDOOR_SMTP_SENDER" in proc.stderr
    dry = subprocess.run(
        [sys.executable, "-m", "frontdoor", "digest", "--dry-run", "--now", MON_0830.isoformat()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert "would send 3 message(s)" in dry.stdout
