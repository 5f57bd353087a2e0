"""HTTP Basic authentication: who is calling, and may they act on the account in the path.

Accepted credentials: an account's SID and auth token, or an API key's SID and secret; either
may act on its own account and on that account's subaccounts. Secrets are compared in
constant time. Anything else is :class:`~emulator.errors.AuthenticationFailed` (401, 20003).
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
    if not header:
        return None
    scheme, _, encoded = header.partition(b" ")
    if scheme.lower() != b"basic" or not encoded:
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        return None
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
    credentials = parse_basic(header)
    if credentials is None:
        raise AuthenticationFailed.no_credentials() if not header else AuthenticationFailed()
    user, password = credentials
    owner = _verify(conn, user, password.encode("utf-8"))
    if owner is None:
        raise AuthenticationFailed()
    if account_sid is None or account_sid == owner:
        return Principal(user, owner)
    account = accounts.get(conn, account_sid)
    if account is not None and account.parent_sid == owner:
        return Principal(user, account_sid)
    raise AuthenticationFailed()


def _verify(conn: sqlite3.Connection, user: str, password: bytes) -> str | None:
    """The account the credentials belong to, or None. Always does one constant-time compare."""
    found = accounts.credential(conn, user)
    expected = found[0].encode("utf-8") if found else _DUMMY_SECRET
    matches = hmac.compare_digest(expected, password)
    return found[1] if found and matches else None
