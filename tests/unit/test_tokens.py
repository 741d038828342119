"""Signed link, session and CSRF tokens: genuine ones verify; forged, altered, expired,
other-purpose and malformed ones are refused with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontdoor.tokens import Grant, TokenError, _b64, _mac, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRANT = Grant("tm.a@example.org", ("DAT-A", "DAT-B"), NOW + timedelta(days=7))


def test_a_signed_grant_verifies_to_itself() -> None:
    token = sign(GRANT, KEY)
    assert token.startswith("v1.")
    assert verify(token, KEY, now=NOW) == GRANT
    assert verify(token, KEY, now=NOW).allows("DAT-B")
    assert not verify(token, KEY, now=NOW).allows("DAT-C")


def test_expiry_is_kept_to_the_second_in_utc_whatever_the_zone() -> None:
    local = datetime(2027, 7, 1, 18, 30, 15, tzinfo=ZoneInfo("Europe/London"))  # BST
    got = verify(sign(replace(GRANT, expires=local), KEY), KEY, now=NOW)
    assert got.expires == local
    assert got.expires.tzinfo == UTC


def test_expired_at_and_after_the_expiry() -> None:
    token = sign(GRANT, KEY)
    verify(token, KEY, now=GRANT.expires - timedelta(seconds=1))
    for late in (GRANT.expires, GRANT.expires + timedelta(days=1)):
        with pytest.raises(TokenError, match="expired"):
            verify(token, KEY, now=late)


def test_another_key_or_purpose_is_a_bad_signature() -> None:
    token = sign(GRANT, KEY)
    with pytest.raises(TokenError, match="bad signature"):
        verify(token, b"other key", now=NOW)
    with pytest.raises(TokenError, match="bad signature"):
        verify(token, KEY, now=NOW, purpose="session")
    session = sign(GRANT, KEY, purpose="session")
    assert verify(session, KEY, now=NOW, purpose="session") == GRANT
    with pytest.raises(TokenError, match="bad signature"):
        verify(session, KEY, now=NOW)


def test_a_changed_payload_is_a_bad_signature() -> None:
    version, _, mac = sign(GRANT, KEY).split(".")
    # Widen the teams: a well-formed payload with the original signature.
    forged = sign(replace(GRANT, teams=("DAT-A", "DAT-B", "DAT-C")), KEY).split(".")[1]
    with pytest.raises(TokenError, match="bad signature"):
        verify(f"{version}.{forged}.{mac}", KEY, now=NOW)
    # Flip one character of the signature.
    token = sign(GRANT, KEY)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(TokenError, match="bad signature"):
        verify(flipped, KEY, now=NOW)


@pytest.mark.parametrize(
    "token", ["", "v1", "v1..", "v2.abc.def", "v1.abc", "v1.a.b.c", "v1.é.x", "v1.abc.é", "garbage"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError, match="malformed|bad signature"):
        verify(token, KEY, now=NOW)


def test_a_genuine_signature_over_a_broken_payload_is_malformed() -> None:

    payload = _b64(b'{"e": "x"}')  # no teams, no expiry
    with pytest.raises(TokenError, match="malformed"):
        verify(f"v1.{payload}.{_mac(KEY, 'link', payload)}", KEY, now=NOW)


def test_signing_refuses_a_naive_expiry_an_empty_key_and_an_unknown_purpose() -> None:
    with pytest.raises(ValueError, match="aware"):
        sign(replace(GRANT, expires=datetime(2026, 12, 1)), KEY)  # noqa: DTZ001
    with pytest.raises(ValueError, match="empty"):
        sign(GRANT, b"")
    with pytest.raises(ValueError, match="purpose"):
        sign(GRANT, KEY, purpose="admin")
