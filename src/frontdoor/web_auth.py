"""Who is asking: digest links, session cookies, the proxy's identity header, and CSRF.

The web app has no password store. A person is identified, in this order, by:

1. ``?t=<token>`` on a GET: a link token (purpose ``link``) from a digest. A genuine,
   unexpired one starts a session: the cookie :data:`SESSION_COOKIE` holds a *session* token
   for the same address and teams, valid ``session_hours`` and carrying a fresh random nonce.
   The response is a 303 to the same URL without ``t``, so the token does not stay in the
   address bar, the history or a ``Referer``.
2. The session cookie.
3. Only when ``FRONTDOOR_TRUSTED_IDENTITY_HEADER`` is set (the app sits behind the council's
   reverse proxy, which must strip the header from client requests): that header's e-mail
   address, which may see the teams it manages or is service manager of.

Anything else is :class:`Refused` (the app answers 403). A refused link is never echoed back:
the page only says to open the link in the latest digest.

CSRF: every form carries :func:`csrf_token` (purpose ``csrf``, bound to the session's address
and nonce); :func:`check_csrf` refuses a POST whose token is missing, forged, expired or
belongs to another session. The cookie is also ``SameSite=Lax`` and ``HttpOnly``.

Pure apart from reading the request: the clock (``now``), the key and the team look-up are
parameters.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from frontdoor.tokens import Grant, TokenError, sign, verify

log = structlog.get_logger()

SESSION_COOKIE = "frontdoor_session"
LINK_PARAM = "t"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# What a refused person is told. Deliberately vague about why: the reason is logged.
NO_ACCESS = (
    "You need to open this page from the link in your latest frontdoor digest e-mail. "
    "Links and sessions expire; the next digest has a fresh link."
)
LINK_REFUSED = (
    "This link is not valid or has expired. Open the link in your latest frontdoor digest "
    "e-mail instead."
)
CSRF_REFUSED = (
    "This form has expired or was not sent from frontdoor. Go back, reload the page and try again."
)
NO_TEAMS = "Your account does not manage any team in frontdoor, so there is nothing to show."


class Refused(Exception):
    """Access refused (HTTP 403). The message is safe to show: it never holds a token."""


@dataclass(frozen=True)
class AuthConfig:
    """What identification needs from the settings."""

    key: bytes
    session_hours: int
    identity_header: str | None = None
    # Addresses of the reverse proxy: the identity header counts only from them.
    trusted_proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    # Session cookies are Secure when the public address is https (behind a TLS proxy the
    # request itself may arrive over http).
    secure: bool = False


def without_token(url: URL) -> str:
    """``url`` as a site-relative target without the link parameter (other parameters kept)."""
    clean = url.remove_query_params(LINK_PARAM)
    return clean.path + (f"?{clean.query}" if clean.query else "")


def is_https(request: Request, cfg: AuthConfig) -> bool:
    """True when the person reached us over HTTPS. ``X-Forwarded-Proto`` counts only behind
    the trusted proxy (a client could send it to anyone)."""
    if request.url.scheme == "https":
        return True
    if cfg.identity_header:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def login_with_link(request: Request, cfg: AuthConfig, *, now: datetime) -> Response:
    """Turn the link token in ``?t=`` into a session cookie and redirect (303) to the same
    URL without it. Raises :class:`Refused` for a forged, expired, malformed or
    other-purpose token."""
    token = request.query_params.get(LINK_PARAM, "")
    try:
        link = verify(token, cfg.key, now=now, purpose="link")
    except TokenError as exc:
        log.info("link_refused", reason=str(exc))  # the reason names no part of the token
        raise Refused(LINK_REFUSED) from None
    expires = now + timedelta(hours=cfg.session_hours)
    session = Grant(
        email=link.email.strip().lower(),
        teams=link.teams,
        expires=expires,
        nonce=secrets.token_urlsafe(16),
    )
    response = RedirectResponse(without_token(request.url), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign(session, cfg.key, purpose="session"),
        max_age=cfg.session_hours * 3600,
        path="/",
        secure=cfg.secure or is_https(request, cfg),
        httponly=True,
        samesite="lax",
    )
    log.info("session_started", teams=len(session.teams))
    return response


def identify(
    request: Request,
    cfg: AuthConfig,
    *,
    now: datetime,
    teams_of: Callable[[str], tuple[str, ...]],
) -> Grant:
    """The grant of the person making ``request``: from the session cookie, else (when
    configured) the proxy's identity header; :class:`Refused` otherwise.

    ``teams_of`` maps an address to the teams it manages (only called for the header).
    A header identity gets an empty nonce and expires ``session_hours`` from ``now`` (that
    bounds the life of the CSRF tokens on its pages)."""
    # Behind the proxy its signed-in identity wins over any cookie: a forwarded or planted
    # link must not make the audit record the wrong person.
    if cfg.identity_header and request.headers.get(cfg.identity_header, "").strip():
        client = request.client.host if request.client else ""
        if client not in cfg.trusted_proxies:
            log.warning("identity_header_refused", reason="not from a trusted proxy")
            raise Refused(NO_ACCESS)
        raw = request.headers[cfg.identity_header].strip().lower()
        if not _EMAIL.match(raw):
            log.warning("identity_header_refused", reason="not an e-mail address")
            raise Refused(NO_ACCESS)
        teams = teams_of(raw)
        if not teams:
            raise Refused(NO_TEAMS)
        return Grant(raw, teams, now + timedelta(hours=cfg.session_hours), "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            return verify(cookie, cfg.key, now=now, purpose="session")
        except TokenError as exc:
            log.info("session_refused", reason=str(exc))
    raise Refused(NO_ACCESS)


def still_managed(grant: Grant, managed: Sequence[str]) -> Grant:
    """``grant`` limited to the teams the person manages now (teams file); :class:`Refused`
    when none is left."""
    teams = tuple(t for t in grant.teams if t in set(managed))
    if not teams:
        raise Refused(NO_TEAMS)
    return Grant(grant.email, teams, grant.expires, grant.nonce)


def csrf_token(grant: Grant, key: bytes) -> str:
    """The hidden ``csrf`` value for forms shown to ``grant``: valid as long as the session,
    for this session (address and nonce) only."""
    return sign(Grant(grant.email, grant.teams, grant.expires, grant.nonce), key, purpose="csrf")


def check_csrf(token: str | None, grant: Grant, key: bytes, *, now: datetime) -> None:
    """Raise :class:`Refused` unless ``token`` is a genuine, unexpired CSRF token for the
    session of ``grant`` (same address and nonce)."""
    if not token:
        log.info("csrf_refused", reason="missing")
        raise Refused(CSRF_REFUSED)
    try:
        got = verify(token, key, now=now, purpose="csrf")
    except TokenError as exc:
        log.info("csrf_refused", reason=str(exc))
        raise Refused(CSRF_REFUSED) from None
    same = hmac.compare_digest(got.email.encode(), grant.email.encode()) and hmac.compare_digest(
        got.nonce.encode(), grant.nonce.encode()
    )
    if not same:
        log.info("csrf_refused", reason="another session")
        raise Refused(CSRF_REFUSED)
