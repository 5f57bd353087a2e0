"""Twilio webhook request signing (``X-Twilio-Signature``), as a pure module.

Mirrors twilio-python's ``twilio.request_validator.RequestValidator``:

* the signed string is the full URL (query string included, exactly as configured) followed by
  every POST parameter as ``name + value`` with no separators, names sorted in plain code-point
  order; a name with several values contributes each *distinct* value, in sorted order;
* the header value is ``base64(HMAC-SHA1(key=auth token, msg=that string))`` (both UTF-8).

What is signed is :func:`signed_url`: the URL as configured, without what Twilio leaves out
(https://www.twilio.com/docs/usage/security): "For voice callbacks over HTTPS: Twilio will drop
the username and password (if any) from the URL before computing the signature. Twilio will
also drop the port (if any)"; over HTTP it drops the username and password and keeps the port.
A connection override fragment (``#rc=2``) is left out too (Twilio's connection overrides page:
"these URL fragments do not make it into the signature computation").

Standard library only; no I/O. (The validators' side, the SharedKey HMAC-SHA256 variant and
JSON-body signing live with the tests, their only user: ``tests/signatures.py``.)
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

__all__ = ["Params", "compute_signature", "sign", "signature_base", "signed_url"]

Params: TypeAlias = Sequence[tuple[str, str]] | Mapping[str, str]
"""POST parameters: a mapping (one value per name) or ``(name, value)`` pairs (names may repeat)."""


# scheme://, then the authority (userinfo@host:port) up to / ? # or the end
_AUTHORITY = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")
_PORT = re.compile(r":[0-9]*$")


def signed_url(url: str) -> str:
    """The URL a StatusCallback's signature covers: ``url`` without its fragment and its
    username and password, and for an ``https`` URL without its port.

    >>> signed_url("https://user:pw@example.com:8443/cb?x=1#rc=2")
    'https://example.com/cb?x=1'
    >>> signed_url("http://user:pw@127.0.0.1:8080/cb")
    'http://127.0.0.1:8080/cb'
    """
    url = url.partition("#")[0]
    match = _AUTHORITY.match(url)
    if match is None:
        return url
    host = match.group("authority").rpartition("@")[2]
    if match.group("scheme").lower() == "https" and not host.endswith("]"):
        host = _PORT.sub("", host)  # not the colons of an IPv6 literal: "[::1]"
    return url[: match.start("authority")] + host + url[match.end("authority") :]


def signature_base(url: str, params: Params) -> str:
    """Return the string Twilio signs: *url* followed by the sorted ``name + value`` pairs.

    Names are sorted by code point; each name's values are de-duplicated and sorted, and each
    is appended as ``name + value`` -- exactly as ``RequestValidator.compute_signature`` does.
    """
    pairs: Iterable[tuple[str, str]] = params.items() if isinstance(params, Mapping) else params
    grouped: dict[str, set[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, set()).add(value)
    parts = [url]
    for name in sorted(grouped):
        for value in sorted(grouped[name]):
            parts.append(name)
            parts.append(value)
    return "".join(parts)


def sign(digestmod: str, auth_token: str, url: str, params: Params) -> str:
    """base64 of the HMAC (``digestmod``: ``sha1`` or ``sha256``) of :func:`signature_base`."""
    mac = hmac.new(
        auth_token.encode("utf-8"), signature_base(url, params).encode("utf-8"), digestmod
    )
    return base64.b64encode(mac.digest()).decode("ascii")


def compute_signature(auth_token: str, url: str, params: Params) -> str:
    """Return the classic ``X-Twilio-Signature`` value: base64 HMAC-SHA1 of :func:`signature_base`."""
    return sign("sha1", auth_token, url, params)
