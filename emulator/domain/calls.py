"""Calls as Twilio's Calls resource knows them: statuses, the moves between them, and the
records the store keeps (pure, no I/O).

The statuses are the spec's ``call_enum_status``
(https://www.twilio.com/docs/voice/api/call-resource#call-status-values): ``queued``,
``ringing``, ``in-progress`` are live; ``completed``, ``busy``, ``failed``, ``no-answer`` and
``canceled`` are final. What ``Status=canceled|completed`` does to a call in each status is
:func:`requested_end` (the table of the fact sheet, from the 2025 spec's prose: "Specifying
`canceled` will attempt to hang up calls that are queued or ringing; however, it will not
affect calls already in progress. Specifying `completed` will attempt to hang up a call even
if it's already in progress.").

A call *runs TwiML* when it was placed through the Calls API or given a ``voice_url`` by the
control plane: its runner fetches and executes documents. Other calls (fixtures, control-plane
calls without a ``voice_url``, calls the Payments API registers) are in progress from the
start and stay so until hung up, as before calls had TwiML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from emulator.domain.masking import mask_card_numbers
from emulator.domain.urls import mask_url_password

__all__ = [
    "ANSWERED",
    "BUSY",
    "CALL_EVENTS",
    "CANCELED",
    "COMPLETED",
    "DEFAULT_EVENTS",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_TIME_LIMIT_S",
    "ENDED",
    "FAILED",
    "INBOUND",
    "INITIATED",
    "IN_PROGRESS",
    "LIVE",
    "MAX_BODY_CHARS",
    "MAX_DETAIL_CHARS",
    "MAX_TIMEOUT_S",
    "MAX_TIME_LIMIT_S",
    "NO_ANSWER",
    "OUTBOUND_API",
    "QUEUED",
    "RINGING",
    "STATUSES",
    "CallNotLive",
    "CallRecord",
    "CallStep",
    "CreateCall",
    "UpdateCall",
    "can_move",
    "duration_s",
    "event_of",
    "requested_end",
    "shown_step",
    "sip_response_code",
]

QUEUED: Final = "queued"
RINGING: Final = "ringing"
IN_PROGRESS: Final = "in-progress"
COMPLETED: Final = "completed"
BUSY: Final = "busy"
FAILED: Final = "failed"
NO_ANSWER: Final = "no-answer"
CANCELED: Final = "canceled"
STATUSES: Final = (QUEUED, RINGING, IN_PROGRESS, COMPLETED, BUSY, FAILED, NO_ANSWER, CANCELED)
"""The spec's ``call_enum_status``, in its order."""
LIVE: Final = frozenset({QUEUED, RINGING, IN_PROGRESS})
ENDED: Final = frozenset({COMPLETED, BUSY, FAILED, NO_ANSWER, CANCELED})

INBOUND: Final = "inbound"
OUTBOUND_API: Final = "outbound-api"

INITIATED: Final = "initiated"
ANSWERED: Final = "answered"
CALL_EVENTS: Final = (INITIATED, RINGING, ANSWERED, COMPLETED)
"""``StatusCallbackEvent`` values (the spec's ``call_enum_event``)."""
DEFAULT_EVENTS: Final = (COMPLETED,)
"""Without ``StatusCallbackEvent``: "If no `status_callback_event` is specified, we will send
the `completed` status" (the spec)."""

DEFAULT_TIMEOUT_S: Final = 60
MAX_TIMEOUT_S: Final = 600
DEFAULT_TIME_LIMIT_S: Final = 14_400
"""``TimeLimit``'s default: "The default 4-hour (14400 seconds) limit" (the Call resource)."""
MAX_TIME_LIMIT_S: Final = 86_400

_MOVES: Final[dict[str, frozenset[str]]] = {
    QUEUED: frozenset({RINGING, IN_PROGRESS, CANCELED, FAILED}),
    RINGING: frozenset({IN_PROGRESS, CANCELED, BUSY, NO_ANSWER, FAILED}),
    IN_PROGRESS: frozenset({COMPLETED}),
}


class CallNotLive(ValueError):
    """The call has ended: it cannot be redirected or ended again (Twilio's 21220)."""


def can_move(current: str, to: str) -> bool:
    """Whether a call in ``current`` may move to ``to``."""
    return to in _MOVES.get(current, frozenset())


def requested_end(current: str, requested: str) -> str | None:
    """What ``Status=canceled|completed`` does to a call in ``current``: the status it ends
    in, or None when it changes nothing (``canceled`` on a call in progress). Raises
    :class:`CallNotLive` for a call that has ended.

    ``completed`` on a call not yet answered ends it ``canceled``: it never was in progress,
    and Twilio's ``completed`` means "answered and has ended normally" (the emulator's
    inference; the docs do not say)."""
    if current not in LIVE:
        raise CallNotLive(current)
    if current == IN_PROGRESS:
        return COMPLETED if requested == COMPLETED else None
    return CANCELED


def event_of(status: str) -> str | None:
    """The ``StatusCallbackEvent`` a move to ``status`` is announced under."""
    if status == RINGING:
        return RINGING
    if status == IN_PROGRESS:
        return ANSWERED
    if status in ENDED:
        return COMPLETED
    return None


def sip_response_code(status: str) -> str:
    """The completed callback's ``SipResponseCode``: "a number that was unreachable will
    return 404. If the Timeout value was reached before the call connected, this code will be
    487" (the Call resource); 200 for an answered call and 486 (Busy Here) for ``busy`` are
    SIP's own codes (RFC 3261), the emulator's choice where Twilio documents none."""
    return {COMPLETED: "200", BUSY: "486", FAILED: "404"}.get(status, "487")


def duration_s(start_ms: int | None, end_ms: int | None) -> int | None:
    """Whole seconds from answer to end (None unless the call was answered and has ended)."""
    if start_ms is None or end_ms is None:
        return None
    return max(0, (end_ms - start_ms) // 1000)


@dataclass(frozen=True, slots=True)
class CreateCall:
    """A valid ``CreateCall`` request (Twilio's defaults filled in)."""

    to: str
    from_: str
    url: str | None = None
    twiml: str | None = None
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_events: tuple[str, ...] = DEFAULT_EVENTS
    status_callback_method: str = "POST"
    timeout: int = DEFAULT_TIMEOUT_S
    time_limit: int = DEFAULT_TIME_LIMIT_S
    warnings: tuple[tuple[int, str], ...] = ()  # (code, message): accepted with a warning


@dataclass(frozen=True, slots=True)
class UpdateCall:
    """A valid ``UpdateCall`` request: a redirect (``url`` or ``twiml``), an end
    (``status``), or both (the end wins)."""

    url: str | None = None
    twiml: str | None = None
    method: str = "POST"
    status: str | None = None
    fallback_url: str | None = None
    fallback_method: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None
    time_limit: int | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A stored call.

    ``url`` is the base of the call's relative URLs: the control plane's ``url``, and once the
    call runs TwiML the URL of the document it is executing (None for a document that came
    from a ``Twiml`` parameter). ``voice_url``/``twiml`` are what the call runs when answered
    (a redirect by the API changes them). ``sequence`` counts the status callbacks sent
    (``SequenceNumber``).
    """

    sid: str
    account_sid: str
    status: str
    created_at_ms: int
    updated_at_ms: int
    direction: str = INBOUND
    to: str | None = None
    from_: str | None = None
    caller: str | None = None  # "auto" or "manual"; None follows the emulator's setting
    url: str | None = None
    runs_twiml: bool = False
    voice_url: str | None = None
    voice_method: str = "POST"
    twiml: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = DEFAULT_EVENTS
    timeout: int = DEFAULT_TIMEOUT_S
    time_limit: int = DEFAULT_TIME_LIMIT_S
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    sequence: int = 0

    @property
    def live(self) -> bool:
        return self.status in LIVE

    @property
    def duration(self) -> int | None:
        return duration_s(self.start_time_ms, self.end_time_ms)


@dataclass(frozen=True, slots=True)
class CallStep:
    """One step on a call's timeline (see the store's ``call_steps``): ``kind`` is
    ``request`` (a TwiML document asked for), ``verb``, ``input`` (digits keyed), ``status``
    or ``notice`` (a notification, with its ``code``)."""

    call_sid: str
    at_ms: int
    kind: str
    name: str
    url: str | None = None
    status_code: int | None = None
    code: int | None = None
    detail: tuple[tuple[str, str], ...] = ()
    body: str = ""
    id: int = 0


MAX_BODY_CHARS: Final = 65_536  # of a document kept on the timeline
MAX_DETAIL_CHARS: Final = 4096  # of one detail value


def shown_step(
    call_sid: str,
    at_ms: int,
    kind: str,
    name: str,
    *,
    url: str | None = None,
    status_code: int | None = None,
    code: int | None = None,
    detail: Iterable[tuple[str, object]] = (),
    body: str = "",
) -> CallStep:
    """A step fit to keep and show: a URL's password masked, card numbers in its details and
    its document masked, its values bounded (a None detail is left out)."""
    shown = tuple(
        (key, mask_url_password(mask_card_numbers(str(value)))[:MAX_DETAIL_CHARS])
        for key, value in detail
        if value is not None
    )
    return CallStep(
        call_sid,
        at_ms,
        kind,
        name,
        url=mask_url_password(url) if url else None,
        status_code=status_code,
        code=code,
        detail=shown,
        body=mask_card_numbers(body[:MAX_BODY_CHARS]),
    )
