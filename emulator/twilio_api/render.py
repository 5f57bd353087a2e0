"""What every answer on the Twilio paths carries: JSON, the request id, CORS headers."""

from __future__ import annotations

import json

from emulator.clock import format_rfc2822
from emulator.domain.records import SessionRecord

__all__ = ["CORS_HEADERS", "Headers", "payment_body", "payment_uri", "response_headers"]

Headers = list[tuple[bytes, bytes]]

# The values api.twilio.com is seen sending on its 2010 API responses.
CORS_HEADERS: Headers = [
    (b"access-control-allow-origin", b"*"),
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


def response_headers(request_id: str, body: bytes | None) -> Headers:
    """Headers for an answer: the request id, the body's type and length, and the CORS
    headers api.twilio.com sends, ``Access-Control-Allow-Origin: *`` included whatever the
    request's ``Origin`` (no origin is ever reflected, ``null`` included: a browser page may
    call the API with an ``Authorization`` header it sets itself, never with the browser's
    own credentials)."""
    headers: Headers = [(b"twilio-request-id", request_id.encode())]
    if body is not None:
        headers.append(_JSON)
        headers.append((b"content-length", str(len(body)).encode()))
    else:
        headers.append((b"content-length", b"0"))
    headers.extend(CORS_HEADERS)
    return headers


def payment_uri(account_sid: str, call_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}/Payments/{sid}.json"


def payment_body(record: SessionRecord) -> bytes:
    """The Payments resource: the spec's six fields, in Twilio's key order and spacing."""
    return json.dumps(
        {
            "account_sid": record.account_sid,
            "call_sid": record.call_sid,
            "date_created": format_rfc2822(record.created_at_ms),
            "date_updated": format_rfc2822(record.updated_at_ms),
            "sid": record.sid,
            "uri": payment_uri(record.account_sid, record.call_sid, record.sid),
        }
    ).encode()
