"""What every answer on the Twilio paths carries: JSON, the request id, CORS headers."""

from __future__ import annotations

import json
from dataclasses import dataclass

from emulator.clock import format_rfc2822

__all__ = ["CORS_HEADERS", "Answer", "Headers", "payment_body", "payment_uri", "response_headers"]

Headers = list[tuple[bytes, bytes]]

# The values api.twilio.com sends on its 2010 API (fact sheet section 5).
CORS_HEADERS: Headers = [
    (
        b"access-control-allow-headers",
        b"Accept, Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Match, "
        b"If-Unmodified-Since",
    ),
    (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
    (b"access-control-expose-headers", b"ETag"),
    (b"access-control-allow-credentials", b"true"),
]

_JSON = (b"content-type", b"application/json")


def response_headers(request_id: str, origin: bytes | None, body: bytes | None) -> Headers:
    """Headers for an answer; ``origin`` is the request's Origin header, echoed if present.

    Browsers refuse ``Access-Control-Allow-Origin: *`` together with credentials, so a request
    that names its origin gets that origin back (and ``Vary: Origin``).
    """
    headers: Headers = [(b"twilio-request-id", request_id.encode())]
    if body is not None:
        headers.append(_JSON)
        headers.append((b"content-length", str(len(body)).encode()))
    else:
        headers.append((b"content-length", b"0"))
    if origin:
        headers.append((b"access-control-allow-origin", origin))
        headers.append((b"vary", b"Origin"))
    else:
        headers.append((b"access-control-allow-origin", b"*"))
    headers.extend(CORS_HEADERS)
    return headers


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer ready to send: HTTP status and body bytes."""

    status: int
    body: bytes


def payment_uri(account_sid: str, call_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}/Payments/{sid}.json"


def payment_body(
    account_sid: str, call_sid: str, sid: str, created_at_ms: int, updated_at_ms: int
) -> bytes:
    """The Payments resource: the spec's six fields, in Twilio's key order and spacing."""
    return json.dumps(
        {
            "account_sid": account_sid,
            "call_sid": call_sid,
            "date_created": format_rfc2822(created_at_ms),
            "date_updated": format_rfc2822(updated_at_ms),
            "sid": sid,
            "uri": payment_uri(account_sid, call_sid, sid),
        }
    ).encode()
