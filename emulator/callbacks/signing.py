"""Twilio webhook request signing (``X-Twilio-Signature``), as a pure module.

Mirrors twilio-python's ``twilio.request_validator.RequestValidator``:

* the signed string is the full URL (query string included, exactly as configured) followed by
  every POST parameter as ``name + value`` with no separators, names sorted in plain code-point
  order; a name with several values contributes each *distinct* value, in sorted order;
* the header value is ``base64(HMAC-SHA1(key=auth token, msg=that string))`` (both UTF-8);
  the newer SharedKey variant uses HMAC-SHA256 over the same string;
* JSON-body webhooks are signed over the URL alone, after ``bodySHA256=<hex sha256 of body>``
  has been appended to its query string;
* validators accept a signature computed on the URL with or without the scheme's default port
  (``:443`` for https, ``:80`` for http) -- the "port quirk".

Standard library only; no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

__all__ = [
    "Params",
    "body_sha256",
    "compute_signature",
    "compute_signature_sha256",
    "signature_base",
    "url_with_body_hash",
    "validate_signature",
]

Params: TypeAlias = Sequence[tuple[str, str]] | Mapping[str, str]
"""POST parameters: a mapping (one value per name) or ``(name, value)`` pairs (names may repeat)."""

_DEFAULT_PORTS = {"https": 443, "http": 80}


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


def _sign(digestmod: str, auth_token: str, url: str, params: Params) -> str:
    mac = hmac.new(
        auth_token.encode("utf-8"), signature_base(url, params).encode("utf-8"), digestmod
    )
    return base64.b64encode(mac.digest()).decode("ascii")


def compute_signature(auth_token: str, url: str, params: Params) -> str:
    """Return the classic ``X-Twilio-Signature`` value: base64 HMAC-SHA1 of :func:`signature_base`."""
    return _sign("sha1", auth_token, url, params)


def compute_signature_sha256(auth_token: str, url: str, params: Params) -> str:
    """Return the HMAC-SHA256 variant (SharedKey webhooks) over the same signed string."""
    return _sign("sha256", auth_token, url, params)


def body_sha256(body: bytes) -> str:
    """Return the lowercase hex SHA-256 of a raw request body (the ``bodySHA256`` value)."""
    return hashlib.sha256(body).hexdigest()


def url_with_body_hash(url: str, body: bytes) -> str:
    """Return *url* with ``bodySHA256=<hex>`` appended to its query string (JSON-body webhooks).

    Uses ``?`` when the URL has no query, ``&`` otherwise (nothing if it already ends in ``?`` or
    ``&``); a ``#fragment``, if any, stays at the end. Sign the result with no params.
    """
    base, hash_mark, fragment = url.partition("#")
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&"
    return f"{base}{separator}bodySHA256={body_sha256(body)}{hash_mark}{fragment}"


def _port_variants(url: str) -> list[str]:
    """Return *url* plus, for http(s), the same URL with its default port added or removed.

    A URL without a port gets ``:443``/``:80`` added; one whose port is the scheme's default
    gets it removed. A non-default port is left alone (twilio-python would also try the URL with
    *any* port stripped; we deliberately do not accept that looser match).
    """
    variants = [url]
    scheme, sep, rest = url.partition("://")
    default_port = _DEFAULT_PORTS.get(scheme.lower())
    if not sep or default_port is None:
        return variants
    end = len(rest)
    for delimiter in "/?#":
        index = rest.find(delimiter)
        if index != -1:
            end = min(end, index)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    prefix = f"{scheme}://{userinfo}{at}"
    if ":" not in hostport or hostport.endswith("]"):  # no port (incl. bare "[v6]" literal)
        variants.append(f"{prefix}{hostport}:{default_port}{tail}")
    else:
        host, _, port = hostport.rpartition(":")
        if port.isascii() and port.isdigit() and int(port) == default_port:
            variants.append(f"{prefix}{host}{tail}")
    return variants


def validate_signature(auth_token: str, url: str, params: Params, signature: str) -> bool:
    """Return True if *signature* is the HMAC-SHA1 ``X-Twilio-Signature`` for this request.

    Tries *url* as given and with the scheme's default port added/removed (the port quirk);
    comparisons are constant-time. For a JSON-body webhook pass the URL carrying ``bodySHA256``
    and empty params, and compare :func:`body_sha256` of the body to that query value separately.
    """
    given = signature.encode("utf-8")
    matched = False
    for candidate in _port_variants(url):
        expected = compute_signature(auth_token, candidate, params).encode("ascii")
        matched |= hmac.compare_digest(expected, given)
    return matched
