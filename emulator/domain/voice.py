"""What a call sends and how it reads the answers: the voice webhook's parameters, the status
callbacks', the ``<Gather>`` action's, relative URLs and content types (pure, no I/O).

Sources: "Twilio's request to your application"
(https://www.twilio.com/docs/voice/twiml#request-parameters): "CallSid, AccountSid, From, To,
CallStatus, ApiVersion, Direction, ForwardedFrom ... CallerName ... ParentCallSid", and the
geographic fields "if available"; every real request also carries the legacy ``Called`` and
``Caller`` and their geographic fields (e.g. the GET webhook URL quoted in
bmlt-enabled/yap#150). A simulated call has no geography: those fields are sent empty, as
Twilio sends them when it knows nothing (``CallerZip=""`` in the same capture).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode, urljoin, urlsplit

from emulator.clock import format_rfc2822
from emulator.domain.calls import (
    COMPLETED,
    INITIATED,
    CallRecord,
    sip_response_code,
)

__all__ = [
    "API_VERSION",
    "APPLICATION_ERROR",
    "AUDIO",
    "MISSING",
    "PLAIN_TEXT",
    "TWIML",
    "UNSUPPORTED",
    "callback_status",
    "content_kind",
    "fallback_result",
    "gather_result",
    "is_absolute",
    "resolve",
    "status_callback_params",
    "webhook_params",
    "with_query",
]

API_VERSION: Final = "2010-04-01"
APPLICATION_ERROR: Final = "We're sorry, an application error has occurred. Goodbye."
"""What a caller hears when the application fails and there is no FallbackUrl: Twilio's
default message, as heard in many reports (twilio/voice-quickstart-ios#453, "We're sorry,
an application error occurred")."""

_GEO: Final = ("City", "Country", "State", "Zip")

TWIML: Final = "twiml"
PLAIN_TEXT: Final = "text"
AUDIO: Final = "audio"
MISSING: Final = "missing"
UNSUPPORTED: Final = "unsupported"


def webhook_params(call: CallRecord, call_status: str) -> list[tuple[str, str]]:
    """The standard parameters of every request about ``call`` (sorted by name)."""
    to, caller = call.to or "", call.from_ or ""
    params = [
        ("AccountSid", call.account_sid),
        ("ApiVersion", API_VERSION),
        ("CallSid", call.sid),
        ("CallStatus", call_status),
        ("Called", to),
        *((f"Called{geo}", "") for geo in _GEO),
        ("Caller", caller),
        *((f"Caller{geo}", "") for geo in _GEO),
        ("Direction", call.direction),
        ("From", caller),
        *((f"From{geo}", "") for geo in _GEO),
        ("To", to),
        *((f"To{geo}", "") for geo in _GEO),
    ]
    return sorted(params)


def gather_result(digits: str | None, finished_on_key: str) -> list[tuple[str, str]]:
    """What a ``<Gather>``'s action request adds to the standard parameters: ``Digits``
    ("The request doesn't include the `#`"; left out when nothing was keyed: what Twilio
    sends then is not documented), and ``FinishedOnKey`` and ``msg=Gather End``, as a real
    action request carries them (a captured Gather action body: ``Digits``,
    ``FinishedOnKey: ""``, ``msg: "Gather End"``)."""
    params = [] if digits is None else [("Digits", digits)]
    return [*params, ("FinishedOnKey", finished_on_key), ("msg", "Gather End")]


def fallback_result(code: int, failed_url: str) -> list[tuple[str, str]]:
    """What the FallbackUrl request adds: "Twilio will submit the ErrorCode and ErrorUrl
    parameters" (https://www.twilio.com/docs/usage/security/availability-reliability)."""
    return [("ErrorCode", str(code)), ("ErrorUrl", failed_url)]


def callback_status(event: str, status: str) -> str:
    """The ``CallStatus`` a status callback for ``event`` carries: ``initiated`` for the
    initiated event, else the call's status."""
    return INITIATED if event == INITIATED else status


def status_callback_params(
    call: CallRecord, event: str, now_ms: int, sequence: int
) -> list[tuple[str, str]]:
    """A call status callback: the standard parameters and "CallbackSource ... always
    `call-progress-events`", "SequenceNumber ... starting from `0`", "Timestamp" (RFC 2822);
    on ``completed`` also ``CallDuration`` (seconds), ``Duration`` ("duration in minutes")
    and ``SipResponseCode`` (the Call resource, "Parameters sent to your StatusCallback
    URL")."""
    status = callback_status(event, call.status)
    params = webhook_params(call, status)
    params += [
        ("CallbackSource", "call-progress-events"),
        ("SequenceNumber", str(sequence)),
        ("Timestamp", format_rfc2822(now_ms)),
    ]
    if event == COMPLETED:
        seconds = call.duration or 0
        params += [
            ("CallDuration", str(seconds)),
            ("Duration", str(-(-seconds // 60))),
            ("SipResponseCode", sip_response_code(call.status)),
        ]
    return params


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def resolve(base: str | None, ref: str) -> str | None:
    """``ref`` as an absolute URL: itself if absolute, else resolved against ``base`` (RFC
    3986, as a browser does: "<Redirect>../nextInstructions</Redirect>" is "relative to the
    current URL"); None when it is relative and there is no base (a document from a ``Twiml``
    parameter)."""
    if is_absolute(ref):
        return ref
    if base is None:
        return None
    resolved = urljoin(base, ref)
    return resolved if is_absolute(resolved) else None


def with_query(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` added to its query string (a GET request's parameters: "These
    will send as either POST parameters or URL query parameters"); the URL's own query is
    kept, and so is a connection-override fragment."""
    head, hash_sign, fragment = url.partition("#")
    if not params:
        return url
    joiner = "&" if "?" in head and not head.endswith(("?", "&")) else ("" if "?" in head else "?")
    return head + joiner + urlencode(params) + hash_sign + fragment


def content_kind(content_type: str | None) -> str:
    """What an answer's ``Content-Type`` makes of its body: TwiML (``text/xml``,
    ``application/xml``, ``text/html``), plain text (TwiML if it parses, else read out),
    audio (played, then the call hangs up), missing (11200) or unsupported (12300)
    (https://www.twilio.com/docs/voice/twiml, "MIME types")."""
    if content_type is None or not content_type.strip():
        return MISSING
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/xml", "application/xml", "text/html"):
        return TWIML
    if kind == "text/plain":
        return PLAIN_TEXT
    if kind.startswith("audio/"):
        return AUDIO
    return UNSUPPORTED
