"""HTTP Basic authentication: who is calling, and may they act on the account in the path.

Accepted credentials: an account's SID and auth token, or an API key's SID and secret; either
may act on its own account and on that account's subaccounts. Secrets are compared in
constant time. Anything else is :class:`~emulator.errors.AuthenticationFailed` (401, 20003),
whose ``reason`` names the check that failed (a malformed header, an unknown account or API
key, a wrong token or secret, credentials of another account) for the request journal; the
answer is Twilio's 20003 whatever the reason.
"""

from __future__ import annotations

import binascii
import hmac
import sqlite3
from base64 import b64decode
from dataclasses import dataclass

from emulator.errors import AuthenticationFailed
from emulator.store import accounts
from emulator.store.db import Database

__all__ = ["WWW_AUTHENTICATE", "Authenticator", "Principal", "authenticate", "parse_basic"]

WWW_AUTHENTICATE = b'Basic realm="Twilio API"'

_DUMMY_SECRET = b"0" * 32


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: the credential used (an AC or SK SID) and the account it acts on."""

    credential_sid: str
    account_sid: str


def parse_basic(header: bytes | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)`` -> (user, password), else None."""
    parsed = _parse_basic(header)
    return parsed if isinstance(parsed, tuple) else None


def _parse_basic(header: bytes | None) -> tuple[str, str] | str:
    """(user, password), or what is wrong with the header."""
    if not header:
        return "no credentials: the request has no Authorization header"
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic" or not encoded:
        return "malformed Authorization header: not HTTP Basic credentials"
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "malformed Authorization header: not base64 of UTF-8 text"
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        return "malformed Authorization header: not user:password"
    return user, password


class Authenticator:
    """Checks a request's credentials against the stored accounts and API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def authenticate(self, header: bytes | None, account_sid: str | None) -> Principal:
        """See :func:`authenticate`."""
        return authenticate(self._db.conn, header, account_sid)


def authenticate(
    conn: sqlite3.Connection, header: bytes | None, account_sid: str | None
) -> Principal:
    """Check the credentials in ``header`` and that they may act on ``account_sid``.

    ``account_sid`` None means the path names no account: the credentials only need to be valid.
    """
    credentials = _parse_basic(header)
    if isinstance(credentials, str):
        if not header:
            raise AuthenticationFailed.no_credentials()
        raise AuthenticationFailed(reason=credentials)
    user, password = credentials
    owner = _verify(conn, user, password.encode("utf-8"))
    if isinstance(owner, _Refused):
        raise AuthenticationFailed(reason=owner.reason)
    if account_sid is None or account_sid == owner:
        return Principal(user, owner)
    account = accounts.get(conn, account_sid)
    if account is not None and account.parent_sid == owner:
        return Principal(user, account_sid)
    via = "" if user == owner else f" (API key {user})"
    raise AuthenticationFailed(
        reason=f"credentials of account {owner}{via} may not act on account {account_sid}: "
        "it is neither that account nor its parent"
    )


@dataclass(frozen=True, slots=True)
class _Refused:
    reason: str


def _verify(conn: sqlite3.Connection, user: str, password: bytes) -> str | _Refused:
    """The account the credentials belong to, or why they are refused. Always does one
    constant-time compare."""
    found = accounts.credential(conn, user)
    expected = found[0].encode("utf-8") if found else _DUMMY_SECRET
    matches = hmac.compare_digest(expected, password)
    if found and matches:
        return found[1]
    shown = _shown_sid(user)
    if user.startswith("AC"):
        return _Refused(
            f"wrong auth token for account {shown}" if found else f"unknown account {shown}"
        )
    if user.startswith("SK"):
        return _Refused(
            f"wrong secret for API key {shown}" if found else f"unknown API key {shown}"
        )
    return _Refused(
        "malformed credentials: the user name is neither an account SID (AC...) nor an API "
        "key SID (SK...)"
    )


def _shown_sid(user: str) -> str:
    """A SID from the header as the journal shows it: only SID characters, bounded."""
    if len(user) <= 34 and user.isascii() and user.isalnum():
        return user
    return f"{user[:2]}... (not a SID: {len(user)} characters)"
