"""A real SMTP server for tests: aiosmtpd with STARTTLS or implicit TLS and AUTH.

The certificate is self-signed, made once per session with the ``openssl`` command (tests that
need it skip when the command is missing). The handler records what it receives and can
refuse, defer or drop recipients, and call a hook on each DATA (the crash tests kill the
sending process there, after the server has the message and before the client hears 250).
The ``cert``, ``client_tls`` and ``start_server`` fixtures are registered in conftest.py.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "frontdoor", "s3cret-pw"
SENDER = "frontdoor@council.test"

Security = Literal["starttls", "tls", "none"]


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool


@dataclass
class Recorder:
    """aiosmtpd handler that records what it receives and can misbehave on request."""

    received: list[Received] = field(default_factory=list)
    peers: set[Any] = field(default_factory=set)  # one (host, port) per client connection
    auth_attempts: int = 0
    rcpt_attempts: list[str] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)  # 550
    defer_once: set[str] = field(default_factory=set)  # 451 the first time
    defer: set[str] = field(default_factory=set)  # 451 every time
    drop_once: set[str] = field(default_factory=set)  # connection closed the first time
    # Called with the number of messages received so far, after recording each DATA and
    # before replying 250; also before replying to each RCPT (with the count so far).
    on_data: Callable[[int], None] | None = None
    on_rcpt: Callable[[int], None] | None = None

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.auth_attempts += 1
        ok = (
            isinstance(data, LoginPassword)
            and data.login == USER.encode()
            and data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.peers.add(session.peer)
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_attempts.append(address)
        if self.on_rcpt is not None:
            self.on_rcpt(len(self.received))
        if address in self.drop_once:
            self.drop_once.discard(address)
            server.transport.close()
            return "421 4.3.0 Closing"
        if address in self.reject:
            return "550 5.1.1 Recipient rejected"
        if address in self.defer:
            return "452 4.2.2 Mailbox full"
        if address in self.defer_once:
            self.defer_once.discard(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(
                peer=session.peer,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content or envelope.content,
                authenticated=session.authenticated,
            )
        )
        if self.on_data is not None:
            self.on_data(len(self.received))
        return "250 2.0.0 Message accepted"


@dataclass
class Server:
    port: int
    handler: Recorder


@dataclass
class Cert:
    cert: Path
    key: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="cert", scope="session")
def _cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not on PATH: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("smtp-cert")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Cert(cert, key)


@pytest.fixture(name="client_tls")
def _client_tls(cert: Cert) -> ssl.SSLContext:
    """A client context that trusts only the test certificate."""
    return ssl.create_default_context(cafile=str(cert.cert))


@pytest.fixture(name="start_server")
def _start_server(cert: Cert) -> Iterator[Callable[[Security], Server]]:
    # aiosmtpd logs a WARNING through "mail.log" on every AUTH (stack-notes §3).
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    controllers: list[Controller] = []

    def start(security: Security) -> Server:
        handler = Recorder()
        port = free_port()
        sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        sctx.load_cert_chain(str(cert.cert), str(cert.key))
        common: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": port,
            "authenticator": handler.authenticate,
        }
        if security == "starttls":
            ctl = Controller(
                handler,
                tls_context=sctx,
                require_starttls=True,
                auth_require_tls=True,
                auth_required=True,
                **common,
            )
        else:
            # Implicit TLS: the whole connection is encrypted, but aiosmtpd only counts
            # STARTTLS as TLS for auth_require_tls, so it must be off to offer AUTH here; and
            # auth_required=True without it raises a UserWarning, so the tests check
            # `authenticated` on what the server received instead.
            ctl = Controller(handler, ssl_context=sctx, auth_require_tls=False, **common)
        ctl.start()
        controllers.append(ctl)
        return Server(port, handler)

    yield start
    for ctl in controllers:
        ctl.stop()
