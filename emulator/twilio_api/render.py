"""What every answer on the Twilio paths carries: JSON, the request id, CORS headers."""

from __future__ import annotations

import json
import re

from emulator.clock import format_rfc2822
from emulator.domain.calls import COMPLETED, CallRecord
from emulator.domain.records import SessionRecord
from emulator.domain.voice import API_VERSION

__all__ = [
    "CORS_HEADERS",
    "Headers",
    "call_body",
    "call_uri",
    "payment_body",
    "payment_uri",
    "response_headers",
]

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


def call_uri(account_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json"


# The spec's example of subresource_uris, in its order.
_SUBRESOURCES = (
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("payments", "Payments"),
    ("events", "Events"),
    ("siprec", "Siprec"),
    ("streams", "Streams"),
    ("transcriptions", "Transcriptions"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("user_defined_messages", "UserDefinedMessages"),
)
_NANP = re.compile(r"\+1([2-9][0-9]{2})([0-9]{3})([0-9]{4})")


def _formatted(number: str | None) -> str | None:
    """A number "formatted for display": ``(415) 555-0100`` for North America, else as is
    (the spec: "Non-North American phone numbers are in E.164 format")."""
    if number is None:
        return None
    match = _NANP.fullmatch(number)
    return f"({match[1]}) {match[2]}-{match[3]}" if match else number


def _date(ms: int | None) -> str | None:
    return format_rfc2822(ms) if ms is not None else None


def call_body(call: CallRecord) -> bytes:
    """The Call resource: every field of the spec's ``api.v2010.account.call``, keys in
    alphabetical order as Twilio prints them. ``duration`` and ``end_time`` only for a call
    that completed ("This value is empty for busy, failed, unanswered, or ongoing calls";
    "Empty if the call did not complete successfully"); no price (nothing is billed)."""
    base = f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}"
    completed = call.status == COMPLETED
    body = {
        "account_sid": call.account_sid,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": format_rfc2822(call.created_at_ms),
        "date_updated": format_rfc2822(call.updated_at_ms),
        "direction": call.direction,
        "duration": str(call.duration) if completed and call.duration is not None else None,
        "end_time": _date(call.end_time_ms) if completed else None,
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": _formatted(call.from_),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": call.sid,
        "start_time": _date(call.start_time_ms),
        "status": call.status,
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in _SUBRESOURCES},
        "to": call.to,
        "to_formatted": _formatted(call.to),
        "trunk_sid": None,
        "uri": base + ".json",
    }
    return json.dumps(body).encode()
