"""Delivery of built e-mail messages: the SMTP adapter and a fake for tests and dry runs.

Contract shared by every :class:`Mailer`: ``send_batch`` never raises for a delivery failure.
It returns one :class:`DeliveryResult` per envelope recipient (To, Cc and Bcc of each message),
grouped by message in batch order, and one failing recipient never stops the rest of the batch.
Delivery is at least once: a reply lost after DATA (timeout, dropped link) is retried, so such
a message may arrive twice; it is never reported delivered unless the server accepted it.
Results and log lines carry addresses, Message-IDs and server replies only: never message
content or the SMTP password. aiosmtplib is used here and nowhere else; callers stay synchronous.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any, Literal, Protocol

import aiosmtplib
import structlog
from aiosmtplib.protocol import SMTPProtocol

log = structlog.get_logger()

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server. ``password`` is kept out of ``repr``.

    ``retries`` is the total number of attempts per message for transient failures (at least 1);
    the wait before attempt ``n + 1`` is ``backoff_s * 2 ** (n - 1)``. ``timeout_s`` applies to
    each SMTP operation (connect, each command, DATA). ``sender`` is the envelope sender.
    """

    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout_s: float = 30
    retries: int = 3
    backoff_s: float = 2.0


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome for one recipient of one message.

    ``permanent`` is only meaningful when ``ok`` is false: true means retrying cannot help
    (5xx reply, bad address, configuration); false means a later attempt may succeed.
    ``reply`` is the server's reply or an error summary, never message content.
    ``connection`` is true when the failure was the server's or the link's, not this
    recipient's (cannot connect or log in, certificate refused, connection lost for good):
    the message itself may well be deliverable once the configuration or server is fixed.
    """

    message_id: str
    recipient: str
    ok: bool
    permanent: bool
    reply: str
    connection: bool = False


# Called once per message, as soon as all its recipients have an outcome, with those results:
# the caller records each message before the next is sent, so a crash re-sends at most one.
OnMessage = Callable[[list[DeliveryResult]], None]


class Mailer(Protocol):
    """Sends a batch of built messages and reports the outcome per recipient."""

    def send_batch(
        self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
    ) -> list[DeliveryResult]:
        """Send ``messages``; see the module docstring for the contract."""
        ...


def recipients_of(message: EmailMessage) -> list[str]:
    """The envelope recipients of ``message``: the addresses in To, Cc and Bcc, in order."""
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [addr for _, addr in getaddresses(fields) if addr]


def message_id_of(message: EmailMessage) -> str:
    """The Message-ID header of ``message`` (empty when it has none)."""
    return str(message.get("Message-ID", "")).strip()


class _Failure(Exception):
    """A failed attempt: ``permanent`` when retrying cannot help, ``link_down`` when the
    connection is unusable and must be reopened."""

    def __init__(self, reply: str, *, permanent: bool, link_down: bool) -> None:
        super().__init__(reply)
        self.reply, self.permanent, self.link_down = reply, permanent, link_down


def _classify(exc: Exception) -> _Failure:
    """5xx replies, bad addresses and protocol or configuration errors are permanent; 4xx
    replies are transient on a working connection; anything else is a lost connection."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}".strip()
        return _Failure(reply, permanent=exc.code >= 500, link_down=False)
    reply = f"{type(exc).__name__}: {exc}"
    if isinstance(exc.__cause__, ssl.SSLCertVerificationError):  # stays untrusted: config
        return _Failure(reply, permanent=True, link_down=True)
    permanent = isinstance(exc, aiosmtplib.SMTPException | ValueError) and not isinstance(
        exc,
        OSError,  # SMTPServerDisconnected, SMTPConnectError, SMTPTimeoutError
    )
    return _Failure(reply, permanent=permanent, link_down=not permanent)


def _failed(
    mid: str, recipients: Iterable[str], failure: _Failure, *, connection: bool = False
) -> list[DeliveryResult]:
    return [
        DeliveryResult(mid, r, False, failure.permanent, failure.reply, connection)
        for r in recipients
    ]


class _TrackedSMTP(aiosmtplib.SMTP):
    """Remembers every connection it closes, so none can outlive the batch's event loop."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.used: list[SMTPProtocol] = []

    def close(self) -> None:
        if self.protocol is not None:
            self.used.append(self.protocol)
        super().close()

    async def reap(self) -> None:
        """Give closing connections a moment, then abort those still open (e.g. TLS shutdown
        waiting on a peer that went away); otherwise their sockets leak past ``asyncio.run``."""
        for _ in range(20):
            if all(p.transport is None for p in self.used):
                return
            await asyncio.sleep(0.005)
        for p in self.used:
            if isinstance(p.transport, asyncio.Transport):
                p.transport.abort()
        await asyncio.sleep(0)


class SmtpMailer:
    """:class:`Mailer` over SMTP with aiosmtplib: one connection per batch.

    Each batch runs in its own ``asyncio.run``. STARTTLS or implicit TLS per
    ``config.security``, then AUTH when ``config.username`` is set. Transient failures
    (connection errors, timeouts, 4xx) are retried with exponential backoff, reconnecting when
    the connection was lost; 5xx replies are permanent and never retried. When connecting or
    logging in fails for good, the rest of the batch fails with that reply (permanent for 5xx,
    e.g. 535, and configuration errors) instead of being tried message by message.
    ``ssl_context`` replaces the default certificate-verifying context (tests trust a
    self-signed certificate with it); ``sleep`` is awaited between attempts (tests: a no-op).
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.config = config
        self._ssl_context = ssl_context
        self._sleep = sleep

    def send_batch(
        self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
    ) -> list[DeliveryResult]:
        """Send ``messages`` over one connection; blocks until every message has an outcome."""
        return asyncio.run(self._send_batch(messages, on_message)) if messages else []

    async def _send_batch(
        self, messages: Sequence[EmailMessage], on_message: OnMessage | None
    ) -> list[DeliveryResult]:
        started = time.monotonic()
        c = self.config
        smtp = _TrackedSMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password if c.username is not None else None,
            timeout=c.timeout_s,
            use_tls=c.security == "tls",
            start_tls=c.security == "starttls",
            tls_context=self._ssl_context,
        )
        results: list[DeliveryResult] = []
        rest = messages  # not yet resolved
        try:
            await self._connect(smtp, message_id_of(messages[0]), attempts=c.retries)
            async with smtp:  # already connected: QUIT and close at the end
                for index, message in enumerate(messages):
                    outcome, stop = await self._deliver(smtp, message)
                    results.extend(outcome)
                    rest = messages[index + 1 :]
                    if on_message is not None:
                        on_message(outcome)
                    if stop is not None:  # the connection is gone for good: fail the rest
                        raise stop
        except _Failure as failure:
            for m in rest:  # the connection or login failed: not these recipients' fault
                failed = _failed(message_id_of(m), recipients_of(m), failure, connection=True)
                results.extend(failed)
                if on_message is not None:
                    on_message(failed)
        finally:
            smtp.close()
            await smtp.reap()
        log.info(
            "mail_batch_sent",
            messages=len(messages),
            delivered=sum(r.ok for r in results),
            failed_transient=sum(not r.ok and not r.permanent for r in results),
            failed_permanent=sum(not r.ok and r.permanent for r in results),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return results

    async def _backoff(self, attempt: int, reply: str, message_id: str) -> None:
        delay = self.config.backoff_s * 2 ** (attempt - 1)
        log.warning(
            "smtp_retry", message_id=message_id, attempt=attempt, delay_s=delay, reply=reply
        )
        await self._sleep(delay)

    async def _connect(self, smtp: aiosmtplib.SMTP, mid: str, *, attempts: int) -> None:
        """Connect and log in, retrying transient failures; ``attempts`` tries in all.

        Raises :class:`_Failure` (``link_down``) when it fails for good.
        """
        for attempt in range(1, max(1, attempts) + 1):
            try:
                await smtp.connect()
                return
            except Exception as exc:  # noqa: BLE001 - classified here
                failure = _classify(exc)
                failure.link_down = True
                if failure.permanent or attempt >= attempts:
                    raise failure from exc
                await self._backoff(attempt, failure.reply, mid)

    async def _deliver(
        self, smtp: aiosmtplib.SMTP, message: EmailMessage
    ) -> tuple[list[DeliveryResult], _Failure | None]:
        """Deliver one message, retrying only the recipients that failed transiently.

        Returns its results and, when the connection could not be (re)established, that
        failure: the caller then fails the rest of the batch rather than wait on each message.
        """
        mid, pending = message_id_of(message), recipients_of(message)
        if not pending:
            return [DeliveryResult(mid, "", False, True, "message has no recipients")], None
        done: list[DeliveryResult] = []
        attempts = max(1, self.config.retries)
        for attempt in range(1, attempts + 1):
            try:
                if not smtp.is_connected:
                    await self._connect(smtp, mid, attempts=1)
                pending, refusal = await self._attempt(smtp, message, mid, pending, done)
                if refusal is None:
                    return done, None
                failure = refusal
            except _Failure as caught:
                failure = caught
                if failure.link_down:
                    smtp.close()
                if failure.permanent or (failure.link_down and attempt == attempts):
                    lost = _failed(mid, pending, failure, connection=failure.link_down)
                    return done + lost, failure
            if attempt < attempts:
                await self._backoff(attempt, failure.reply, mid)
        return done + _failed(mid, pending, failure), None

    async def _attempt(
        self,
        smtp: aiosmtplib.SMTP,
        message: EmailMessage,
        mid: str,
        recipients: list[str],
        done: list[DeliveryResult],
    ) -> tuple[list[str], _Failure | None]:
        """One SMTP transaction. Appends final results to ``done``; returns the recipients
        refused with 4xx (to retry) and that failure. Raises :class:`_Failure` when the whole
        transaction may succeed later."""
        try:
            refused, reply = await smtp.send_message(
                message, sender=self.config.sender, recipients=recipients
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = {
                e.recipient: aiosmtplib.SMTPResponse(e.code, e.message) for e in exc.recipients
            }
            reply = ""
        except Exception as exc:  # noqa: BLE001 - classified here
            failure = _classify(exc)
            if not failure.permanent:
                raise failure from exc
            done.extend(_failed(mid, recipients, failure))
            return [], None
        retry: list[str] = []
        for rcpt in recipients:
            response = refused.get(rcpt)
            if response is None:
                done.append(DeliveryResult(mid, rcpt, True, False, f"250 {reply}".strip()))
            elif response.code >= 500:
                done.append(DeliveryResult(mid, rcpt, False, True, str(response)))
            else:
                retry.append(rcpt)
        if not retry:
            return [], None
        replies = "; ".join(sorted({str(refused[r]) for r in retry}))
        return retry, _Failure(replies, permanent=False, link_down=False)


class FakeMailer:
    """In-memory :class:`Mailer` for tests and dry runs; sends nothing.

    Delivered messages are appended to ``outbox`` (once per message, when at least one recipient
    succeeded) and every batch to ``batches``. Addresses in ``fail_transient`` get a 451 result,
    those in ``fail_permanent`` a 550 result (case-insensitive); both sets may be changed
    between batches.
    """

    def __init__(
        self, *, fail_transient: Iterable[str] = (), fail_permanent: Iterable[str] = ()
    ) -> None:
        self.outbox: list[EmailMessage] = []
        self.batches: list[list[EmailMessage]] = []
        self.fail_transient = {a.lower() for a in fail_transient}
        self.fail_permanent = {a.lower() for a in fail_permanent}

    def send_batch(
        self, messages: Sequence[EmailMessage], *, on_message: OnMessage | None = None
    ) -> list[DeliveryResult]:
        """Record ``messages`` and return the configured outcome for each recipient."""
        self.batches.append(list(messages))
        results: list[DeliveryResult] = []
        for message in messages:
            mid = message_id_of(message)
            delivered = False
            mine: list[DeliveryResult] = []
            for rcpt in recipients_of(message):
                if rcpt.lower() in self.fail_permanent:
                    mine.append(DeliveryResult(mid, rcpt, False, True, "550 fake rejection"))
                elif rcpt.lower() in self.fail_transient:
                    mine.append(DeliveryResult(mid, rcpt, False, False, "451 fake deferral"))
                else:
                    mine.append(DeliveryResult(mid, rcpt, True, False, "250 fake accepted"))
                    delivered = True
            if delivered:
                self.outbox.append(message)
            results.extend(mine)
            if on_message is not None:
                on_message(mine)
        return results
