"""The Pay session state machine: states, events, guards and the Required set. Pure.

A session is an immutable :class:`Session`; each event is a function that takes a session
and returns the next one with the :class:`Event` it caused (what a StatusCallback reports),
or raises a :class:`~emulator.errors.TwilioError` and leaves the session as it was.

States: ``active`` until the session ends as ``completed`` (Status=complete), ``cancelled``
(Status=cancel) or ``ended`` (the caller hung up or pressed ``*``, or for a ``<Pay>`` the
caller's tries at an item ran out). Every update of a session that is no longer active is
``64021``.

The same machine runs the agent's sessions (the Payments API) and ``<Pay>``'s: the verb
captures each item in turn, as an agent would (:mod:`emulator.services.pay_verb`).

Nothing here does I/O or reads the clock: the caller of an event passes what it needs
(today's date, the connector's settlement, the keyed fingerprint of an entry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from emulator.domain import cards
from emulator.domain.vocabulary import (
    ACH_DEBIT,
    BANK_ITEMS,
    CAPTURE_ITEMS,
    CARD_ITEMS,
    CREDIT_CARD,
    MATCHER_SUFFIX,
)
from emulator.errors import (
    InvalidParameterValue,
    InvalidPayOperation,
    RequiredInformationIncomplete,
)

__all__ = [
    "STAR",
    "TRANSITIONS",
    "Captured",
    "ErrorType",
    "Event",
    "EventKind",
    "KeyedDigits",
    "NothingToCapture",
    "Result",
    "Session",
    "SessionConfig",
    "Settlement",
    "State",
    "attempts_exhausted",
    "cancel",
    "capture",
    "complete",
    "hang_up",
    "input_timeout",
    "key_in",
    "required",
    "settle",
    "start",
]

STAR: Final = "*"


class State(StrEnum):
    ACTIVE = "active"
    PROCESSING = "processing"  # completed by the agent, waiting for a Generic Pay Connector
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ENDED = "ended"


class Result(StrEnum):
    """``Result`` of a session that ended, as the complete/cancel StatusCallback reports it."""

    SUCCESS = "success"
    PAYMENT_CONNECTOR_ERROR = "payment-connector-error"
    CALLER_INTERRUPTED_WITH_STAR = "caller-interrupted-with-star"
    CALLER_HUNG_UP = "caller-hung-up"
    VALIDATION_ERROR = "validation-error"
    # <Pay>'s own: "Max attempts reached when capturing the payment information".
    TOO_MANY_FAILED_ATTEMPTS = "too-many-failed-attempts"
    # Undocumented: what a cancel reports. The session keeps this value; the callback sends
    # the cancel_result setting (payloads.build), by default this same value.
    CANCELLED = "transaction-cancelled"


class ErrorType(StrEnum):
    """``ErrorType`` of a caller entry that was refused (the values ``<Pay>`` documents)."""

    INVALID_CARD_NUMBER = "invalid-card-number"
    INVALID_CARD_TYPE = "invalid-card-type"
    INVALID_DATE = "invalid-date"
    INVALID_SECURITY_CODE = "invalid-security-code"
    INVALID_POSTAL_CODE = "invalid-postal-code"
    INVALID_BANK_ROUTING_NUMBER = "invalid-bank-routing-number"
    INVALID_BANK_ACCOUNT_NUMBER = "invalid-bank-account-number"
    CAPTURE_SEQUENCE = "invalid-card-number-security-code-capture-sequence"
    INPUT_MATCHING_FAILED = "input-matching-failed"
    INPUT_TIMEOUT = "input-timeout"


class EventKind(StrEnum):
    CREATE = "create"
    CAPTURE = "capture"
    KEY_IN = "key-in"
    INPUT_TIMEOUT = "input-timeout"  # the caller stopped keying for the session's Timeout
    PROCESS = "process"  # Status=complete handed to a connector that answers later
    COMPLETE = "complete"
    CANCEL = "cancel"
    HANG_UP = "hang-up"
    STAR = "star"
    ATTEMPTS_EXHAUSTED = "attempts-exhausted"  # <Pay>: the caller's tries at an item ran out


TRANSITIONS: Final[tuple[tuple[State | None, EventKind, State], ...]] = (
    (None, EventKind.CREATE, State.ACTIVE),
    (State.ACTIVE, EventKind.CAPTURE, State.ACTIVE),
    (State.ACTIVE, EventKind.KEY_IN, State.ACTIVE),
    (State.ACTIVE, EventKind.INPUT_TIMEOUT, State.ACTIVE),
    (State.ACTIVE, EventKind.COMPLETE, State.COMPLETED),
    (State.ACTIVE, EventKind.PROCESS, State.PROCESSING),
    (State.PROCESSING, EventKind.COMPLETE, State.COMPLETED),
    (State.ACTIVE, EventKind.CANCEL, State.CANCELLED),
    (State.ACTIVE, EventKind.HANG_UP, State.ENDED),
    (State.ACTIVE, EventKind.STAR, State.ENDED),
    (State.ACTIVE, EventKind.ATTEMPTS_EXHAUSTED, State.ENDED),
)
"""Every transition: (from, event, to); ``None`` is before the session exists. Pictures of
the machine (the inspector's) are drawn from this table."""


class NothingToCapture(Exception):
    """Caller input arrived while no item is being captured (or the session has ended)."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the create request fixed for the session's whole life."""

    payment_method: str = CREDIT_CARD
    security_code: bool = True
    postal_code: bool = True
    matching: tuple[str, ...] = ()  # card items the caller enters twice
    valid_card_types: tuple[str, ...] = ("visa", "mastercard", "amex")
    min_postal_code_length: int | None = None

    def items(self) -> tuple[str, ...]:
        """Every item the session needs, in the order Twilio lists them (the second entry
        of a matched item last: a ``-matcher`` item)."""
        if self.payment_method == ACH_DEBIT:  # matched bank items: <Pay>'s only
            return BANK_ITEMS + tuple(i + MATCHER_SUFFIX for i in BANK_ITEMS if i in self.matching)
        base = tuple(
            item
            for item in CARD_ITEMS
            if (item != "security-code" or self.security_code)
            and (item != "postal-code" or self.postal_code)
        )
        return base + tuple(i + MATCHER_SUFFIX for i in CARD_ITEMS if i in self.matching)


@dataclass(frozen=True, slots=True)
class Captured:
    """An item the caller entered validly: its masked form and, for an item entered twice,
    a keyed fingerprint of the digits (never the digits)."""

    value: str
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What the connector answered at ``Status=complete``."""

    result: Result
    confirmation_code: str = ""
    token: str = ""
    profile_id: str = ""
    error: str = ""
    pay_error_code: int | None = None
    connector_error: str = ""
    # A Generic Pay Connector's custom ``parameters`` (masked), which <Pay>'s action
    # receives as ``PayConnector_<key>``.
    parameters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class KeyedDigits:
    """Digits keyed by the caller for the item being captured.

    ``digits`` is the whole entry so far; ``partial`` is true while the caller is still typing.
    ``fingerprint`` is a keyed hash of the digits, made by the caller of :func:`key_in`.
    """

    digits: str
    partial: bool = False
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """What an event did, as a StatusCallback reports it."""

    kind: EventKind
    item: str | None = None  # the Capture value the event concerns
    partial: bool = False
    value: str | None = None  # masked value of a partial entry
    error_type: ErrorType | None = None
    payment_error: str | None = None  # what PaymentError says of a timed-out entry


_EMPTY: Mapping[str, Captured] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Session:
    config: SessionConfig
    state: State = State.ACTIVE
    capturing: str | None = None
    captured: Mapping[str, Captured] = field(default_factory=lambda: _EMPTY)
    card_brand: str | None = None
    # What the built-in connectors' simulated gateway does with the captured card or bank
    # account: "ok", or a magic number's outcome (cards.MAGIC_CARDS, MAGIC_BANK_ACCOUNTS).
    gateway_outcome: str | None = None
    settlement: Settlement | None = None

    @property
    def result(self) -> Result | None:
        return self.settlement.result if self.settlement else None


def required(session: Session) -> tuple[str, ...]:
    """The items still missing, in Twilio's order; empty when the session can complete."""
    return tuple(item for item in session.config.items() if item not in session.captured)


# --- events -------------------------------------------------------------------------------


def start(config: SessionConfig) -> tuple[Session, Event]:
    return Session(config=config), Event(EventKind.CREATE)


def _active(session: Session) -> None:
    if session.state is State.PROCESSING:
        raise InvalidPayOperation(
            "Pay: Invalid Operation: the payment is being processed by the Pay Connector"
        )
    if session.state is not State.ACTIVE:
        raise InvalidPayOperation(f"Pay: Invalid Operation: the payment session is {session.state}")


def capture(session: Session, item: str) -> tuple[Session, Event]:
    """``Capture=item``: ask the caller for one item (any order, any number of times)."""
    _active(session)
    if item not in CAPTURE_ITEMS and item not in session.config.items():
        raise InvalidParameterValue(
            f"Pay: Invalid Parameter Value: Capture '{item}' is not a capture item"
        )
    if item not in session.config.items():
        raise InvalidParameterValue(
            f"Pay: Invalid Parameter Value: Capture '{item}' is not collected by this session"
            f" ({_describe(session.config)})"
        )
    return replace(session, capturing=item), Event(EventKind.CAPTURE, item=item)


def _describe(config: SessionConfig) -> str:
    return "items: " + ", ".join(config.items())


def complete(
    session: Session, settle: Callable[[Session], Settlement | None]
) -> tuple[Session, Event]:
    """``Status=complete``: hand the captured data to the connector, which ``settle`` plays.

    ``settle`` answers at once (a built-in connector: the session is ``completed``) or
    returns None (a connector that answers later: the session is ``processing`` until
    :func:`settle` is given its answer).
    """
    _active(session)
    missing = required(session)
    if missing:
        raise RequiredInformationIncomplete(
            "Pay: Required payment information incomplete: missing " + ", ".join(missing)
        )
    settlement = settle(session)
    if settlement is None:
        return replace(session, state=State.PROCESSING, capturing=None), Event(EventKind.PROCESS)
    done = replace(session, state=State.COMPLETED, capturing=None, settlement=settlement)
    return done, Event(EventKind.COMPLETE)


def settle(session: Session, settlement: Settlement) -> tuple[Session, Event]:
    """The connector a ``processing`` session waits for has answered."""
    if session.state is not State.PROCESSING:
        raise InvalidPayOperation(f"Pay: Invalid Operation: the payment session is {session.state}")
    done = replace(session, state=State.COMPLETED, settlement=settlement)
    return done, Event(EventKind.COMPLETE)


def cancel(session: Session) -> tuple[Session, Event]:
    _active(session)
    done = replace(
        session, state=State.CANCELLED, capturing=None, settlement=Settlement(Result.CANCELLED)
    )
    return done, Event(EventKind.CANCEL)


def hang_up(session: Session) -> tuple[Session, Event] | None:
    """The call ended: an active session ends with ``caller-hung-up``; others are unchanged
    (a ``processing`` one still gets its connector's answer)."""
    if session.state is not State.ACTIVE:
        return None
    done = replace(
        session, state=State.ENDED, capturing=None, settlement=Settlement(Result.CALLER_HUNG_UP)
    )
    return done, Event(EventKind.HANG_UP)


def attempts_exhausted(session: Session, error: ErrorType) -> tuple[Session, Event]:
    """``<Pay>``: the caller's tries at the item being captured ran out, the last one with
    ``error``: the session ends with ``too-many-failed-attempts``, its PaymentError naming
    that error (as ``<Pay>``'s PaymentError examples name one: ``invalid-date``...)."""
    _active(session)
    item = session.capturing
    done = replace(
        session,
        state=State.ENDED,
        capturing=None,
        settlement=Settlement(Result.TOO_MANY_FAILED_ATTEMPTS, error=error.value),
    )
    return done, Event(EventKind.ATTEMPTS_EXHAUSTED, item=item, error_type=error)


def key_in(session: Session, entry: KeyedDigits, today: date) -> tuple[Session, Event]:
    """The caller keys digits into the item being captured (``*`` ends the session)."""
    item = session.capturing
    if session.state is not State.ACTIVE or item is None:
        raise NothingToCapture()
    if entry.digits == STAR:
        done = replace(
            session,
            state=State.ENDED,
            capturing=None,
            settlement=Settlement(Result.CALLER_INTERRUPTED_WITH_STAR),
        )
        return done, Event(EventKind.STAR, item=item)
    if entry.partial:
        return session, Event(
            EventKind.KEY_IN, item=item, partial=True, value=_mask(item, entry.digits)
        )
    error = _check(session, item, entry, today)
    if error is not None:
        return session, Event(EventKind.KEY_IN, item=item, error_type=error)
    return _accept(session, item, entry), Event(EventKind.KEY_IN, item=item)


def input_timeout(
    session: Session, keyed: KeyedDigits | None, today: date
) -> tuple[Session, Event]:
    """The caller stopped keying for the session's ``Timeout``: what was keyed so far
    (``keyed``: a partial entry, or None) is validated as it stands; with nothing keyed the
    event is ``input-timeout``, its PaymentError naming the item. Either way the prompt is
    over: no item is being captured until the agent captures one again (an item not accepted
    stays required). The Payments API has no MaxAttempts: this can happen any number of times.
    """
    item = session.capturing
    if session.state is not State.ACTIVE or item is None:
        raise NothingToCapture()
    if keyed is None or not keyed.digits:
        timed_out = replace(session, capturing=None)
        return timed_out, Event(
            EventKind.INPUT_TIMEOUT,
            item=item,
            error_type=ErrorType.INPUT_TIMEOUT,
            payment_error=item,
        )
    entry = replace(keyed, partial=False)
    error = _check(session, item, entry, today)
    if error is not None:
        return replace(session, capturing=None), Event(
            EventKind.KEY_IN, item=item, error_type=error, payment_error=error.value
        )
    return _accept(session, item, entry), Event(EventKind.KEY_IN, item=item)


def _mask(item: str, digits: str) -> str:
    base = item.removesuffix(MATCHER_SUFFIX)
    if base == "payment-card-number":
        return cards.mask_card_number(digits)
    if base == "security-code":
        return cards.mask_security_code(digits)
    if base == "bank-account-number":
        return cards.mask_bank_account(digits)
    return digits  # expiry, postal code and routing number are shown in clear


def _check(session: Session, item: str, entry: KeyedDigits, today: date) -> ErrorType | None:
    digits, config = entry.digits, session.config
    if item.endswith(MATCHER_SUFFIX):
        first = session.captured.get(item.removesuffix(MATCHER_SUFFIX))
        if first is None or first.fingerprint != entry.fingerprint:
            return ErrorType.INPUT_MATCHING_FAILED
        return None
    if item == "payment-card-number":
        brand = cards.card_brand(digits)
        if brand is None or not cards.luhn_valid(digits):
            return ErrorType.INVALID_CARD_NUMBER
        if brand not in config.valid_card_types:
            return ErrorType.INVALID_CARD_TYPE
        return None
    if item == "expiration-date":
        return None if cards.expiry_valid(digits, today) else ErrorType.INVALID_DATE
    if item == "security-code":
        if "payment-card-number" not in session.captured:
            return ErrorType.CAPTURE_SEQUENCE
        valid = cards.security_code_valid(digits, session.card_brand)
        return None if valid else ErrorType.INVALID_SECURITY_CODE
    if item == "postal-code":
        valid = cards.postal_code_valid(digits, config.min_postal_code_length)
        return None if valid else ErrorType.INVALID_POSTAL_CODE
    if item == "bank-routing-number":
        valid = cards.aba_routing_valid(digits)
        return None if valid else ErrorType.INVALID_BANK_ROUTING_NUMBER
    valid = cards.bank_account_valid(digits)
    return None if valid else ErrorType.INVALID_BANK_ACCOUNT_NUMBER


def _accept(session: Session, item: str, entry: KeyedDigits) -> Session:
    captured = dict(session.captured)
    matched = item in session.config.matching
    captured[item] = Captured(_mask(item, entry.digits), entry.fingerprint if matched else None)
    if matched:
        captured.pop(item + MATCHER_SUFFIX, None)  # a new first entry needs a new match
    brand, outcome = session.card_brand, session.gateway_outcome
    if item == "bank-account-number":
        outcome = cards.bank_account_outcome(entry.digits)
    if item == "payment-card-number":
        brand, outcome = cards.card_brand(entry.digits), cards.card_outcome(entry.digits)
        # The security code is checked against the card: a new card needs its own.
        captured.pop("security-code", None)
        captured.pop("security-code" + MATCHER_SUFFIX, None)
    return replace(
        session,
        capturing=None,
        captured=MappingProxyType(captured),
        card_brand=brand,
        gateway_outcome=outcome,
    )
