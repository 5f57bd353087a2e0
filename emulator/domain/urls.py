"""StatusCallback URLs: credentials in them, and how they are shown (pure, no I/O).

Twilio documents HTTP authentication for webhook URLs in the form
``https://username:password@www.myserver.com/my_secure_document`` (Twilio docs, "Security",
section "HTTP authentication": https://www.twilio.com/docs/usage/security#http-authentication).
The emulator sends such credentials as ``Authorization: Basic`` once the receiver asks for
them (a 401 with a Basic challenge: :func:`basic_challenge`), as Twilio's page says, and
leaves them out of the signed URL (:func:`emulator.domain.signing.signed_url`).

The password never leaves in anything shown (the callback views, the attempt records, the
log): :func:`mask_url_password` replaces it with ``****``.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

__all__ = [
    "MASK",
    "basic_authorization",
    "basic_challenge",
    "mask_url_password",
    "scrub_password",
    "url_password",
]

MASK = "****"

# scheme://  or  //  (a network-path reference), then the authority up to / ? # or the end
_AUTHORITY = re.compile(r"^(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*:)?//)(?P<authority>[^/?#]*)")


def _userinfo(url: str) -> tuple[int, int, str] | None:
    """Where the userinfo of ``url``'s authority starts and ends, and the userinfo itself."""
    match = _AUTHORITY.match(url)
    if match is None:
        return None
    authority = match.group("authority")
    at = authority.rfind("@")
    if at < 0:
        return None
    start = match.end("head")
    return start, start + at, authority[:at]


def mask_url_password(url: str) -> str:
    """``url`` with the password of its userinfo replaced by ``****``
    (``https://user:****@host/path``); any other URL (or text) unchanged.

    >>> mask_url_password("https://user:secret@example.com:8443/cb?x=1")
    'https://user:****@example.com:8443/cb?x=1'
    >>> mask_url_password("https://example.com/cb")
    'https://example.com/cb'
    """
    found = _userinfo(url)
    if found is None:
        return url
    start, end, userinfo = found
    user, colon, password = userinfo.partition(":")
    if not colon or not password:
        return url
    return url[:start] + user + ":" + MASK + url[end:]


def url_password(url: str) -> str | None:
    """The password of ``url``'s userinfo as written (percent-encoded), or None."""
    found = _userinfo(url)
    if found is None:
        return None
    _, colon, password = found[2].partition(":")
    return password if colon and password else None


def scrub_password(text: str, url: str) -> str:
    """``text`` (an error message, say) with ``url``'s password masked wherever it appears,
    as written or decoded."""
    password = url_password(url)
    if password is None:
        return text
    text = text.replace(url, mask_url_password(url))
    for form in {password, unquote(password)}:
        if form:
            text = text.replace(form, MASK)
    return text


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic (RFC 7617, UTF-8 credentials);
    ``username`` and ``password`` already percent-decoded."""
    credentials = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


_CHALLENGE = re.compile(r"^\s*basic(?:\s+|$)(?P<params>.*)$", re.IGNORECASE)
_REALM = re.compile(r"(?:^|,)\s*realm\s*=", re.IGNORECASE)


def basic_challenge(www_authenticate: str) -> bool:
    """Whether a ``WWW-Authenticate`` value is a Basic challenge with a realm
    (``Basic realm="My Realm"``): what Twilio's docs say makes it send a URL's credentials.

    >>> basic_challenge('Basic realm="My Realm"')
    True
    >>> basic_challenge('Digest realm="x", nonce="y"'), basic_challenge("Basic")
    (False, False)
    """
    match = _CHALLENGE.match(www_authenticate)
    return match is not None and _REALM.search(match.group("params")) is not None
