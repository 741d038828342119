"""Signed, expiring access tokens for the web app's links (pure; HMAC-SHA256).

A digest link carries a :class:`Grant`: who the recipient is, which teams they may see and
until when. :func:`sign` turns it into ``v1.<payload>.<signature>`` (URL-safe base64, no
padding); :func:`verify` checks the signature in constant time, then the expiry, and raises
:class:`TokenError` with a reason that names no part of the token. The secret is
``FRONTDOOR_SECRET_KEY``; changing it invalidates every link at once. ``purpose`` separates
the uses of the one key (a link token can never be used as a session cookie or a CSRF token,
and the other way round).

Nothing here reads the clock: ``now`` is a parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

VERSION = "v1"
#: Every purpose a token may be made for.
PURPOSES = frozenset({"link", "session", "csrf"})


class TokenError(ValueError):
    """A token was malformed, forged, made for another purpose, or has expired."""


@dataclass(frozen=True)
class Grant:
    """Access for one person: their (lower-case) e-mail address, the team ids they may see
    and when the grant ends (aware). ``nonce`` tells sessions apart (empty for links)."""

    email: str
    teams: tuple[str, ...]
    expires: datetime
    nonce: str = ""

    def allows(self, team_id: str) -> bool:
        return team_id in self.teams


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise TokenError("malformed token") from None


def _mac(key: bytes, purpose: str, payload: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    message = f"{VERSION}.{purpose}.{payload}".encode("ascii")
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def sign(grant: Grant, key: bytes, *, purpose: str = "link") -> str:
    """The token for ``grant`` (raises ``ValueError`` for a naive expiry or an empty key)."""
    if not key:
        raise ValueError("an empty secret key")
    if grant.expires.tzinfo is None:
        raise ValueError("a grant needs an aware expiry")
    body = {
        "e": grant.email,
        "t": list(grant.teams),
        "x": int(grant.expires.astimezone(UTC).timestamp()),
        "n": grant.nonce,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{VERSION}.{payload}.{_mac(key, purpose, payload)}"


def verify(token: str, key: bytes, *, now: datetime, purpose: str = "link") -> Grant:
    """The grant in ``token`` if it is genuine, made for ``purpose`` and not expired at
    ``now``; else :class:`TokenError` ("malformed", "bad signature" or "expired")."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1] or not parts[2]:
        raise TokenError("malformed token")
    _, payload, mac = parts
    if not (payload.isascii() and mac.isascii()):
        raise TokenError("malformed token")  # compare_digest refuses non-ASCII str
    expected = _mac(key, purpose, payload)
    if not hmac.compare_digest(expected, mac):
        raise TokenError("bad signature")
    try:
        body = json.loads(_unb64(payload))
        grant = Grant(
            email=str(body["e"]),
            teams=tuple(str(t) for t in body["t"]),
            expires=datetime.fromtimestamp(int(body["x"]), UTC),
            nonce=str(body.get("n", "")),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed token") from None
    if now >= grant.expires:
        raise TokenError("expired")
    return grant
