"""The webhook side: check received StatusCallbacks as an application would, with each SDK."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from twilio.request_validator import RequestValidator

from emulator.domain.signing import Params, compute_signature, sign
from tests.receiver import Received

NODE_DIR = Path(__file__).resolve().parent / "node"


def valid_in_python(token: str, base_url: str, received: Sequence[Received]) -> list[bool]:
    validator = RequestValidator(token)
    return [
        validator.validate(base_url + r.path, r.form, r.headers["X-Twilio-Signature"])
        for r in received
    ]


def valid_in_node(token: str, base_url: str, received: Sequence[Received]) -> list[bool]:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    payload = {
        "token": token,
        "requests": [
            {
                "url": base_url + r.path,
                "params": r.form,
                "signature": r.headers["X-Twilio-Signature"],
            }
            for r in received
        ],
    }
    result = subprocess.run(
        [node, "validate_signatures.js"],
        input=json.dumps(payload),
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers: list[bool] = json.loads(result.stdout)
    return answers


# --- the validators' side of X-Twilio-Signature, written from twilio-python's -------------


_DEFAULT_PORTS = {"https": 443, "http": 80}


def compute_signature_sha256(auth_token: str, url: str, params: Params) -> str:
    """Return the HMAC-SHA256 variant (SharedKey webhooks) over the same signed string."""
    return sign("sha256", auth_token, url, params)


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
