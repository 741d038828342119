"""Every response's armour (ASGI middleware): security headers, no caching, one log line.

:class:`Guard` wraps the whole web app. Each response gets :data:`SECURITY_HEADERS` and,
unless the endpoint chose its own, the Content-Security-Policy :data:`PAGE_CSP` (the stored
weekly report brings :data:`REPORT_CSP`, which allows its inline styles). Each request is
logged once as ``web_request`` with the method, the path *without* its query string (a
digest link carries its token there), the status and the duration. A handler that fails
before answering gets a plain 500 page, with the same headers; the failure is logged with the
exception type and the code lines of its traceback, never local variables or the exception's
message, either of which could hold a rationale's note.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping

import structlog
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The weekly report is the stored e-mail's HTML: inline styles, data: images, nothing else.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Permissions-Policy": "interest-cohort=(), camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Guard:
    """ASGI middleware: security headers on every response, one log line per request, and a
    plain 500 page (with the headers) when a handler fails. The failure is logged with a
    traceback of code lines only: no local variables, which could hold a note."""

    def __init__(self, app: ASGIApp, *, error_page: Callable[[int, str, str], Response]) -> None:
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_secured(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", PAGE_CSP)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_secured)
        except Exception as exc:
            log.error(
                "web_request_failed",
                error=type(exc).__name__,
                traceback="".join(traceback.format_tb(exc.__traceback__)),
            )
            if response_started:
                raise
            page = self.error_page(500, "Sorry, something went wrong", "Try again later.")
            await page(scope, receive, send_secured)
        finally:
            log.info(
                "web_request",
                method=scope["method"],
                path=scope["path"],  # never the query string: link tokens travel there
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
