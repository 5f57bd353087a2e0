"""The domain's records, as plain data: the two Payments requests (validated, Twilio's defaults
filled in), a stored session (an agent's, or a ``<Pay>`` verb's with its :class:`PayContext`),
a call, a StatusCallback. The store persists them; the services
and the edges pass them around; none of them holds card digits (but a parsed create request's
``Description`` and ``Parameter``, until :meth:`CreatePayment.stored` masks them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final

from emulator.domain.machine import Session, SessionConfig
from emulator.domain.masking import mask_card_numbers
from emulator.domain.vocabulary import CREDIT_CARD

__all__ = [
    "DEFAULT_CARD_TYPES",
    "REST",
    "TWIML",
    "Answer",
    "CallRow",
    "CallbackRecord",
    "CreatePayment",
    "ForcedOutcome",
    "NewCallback",
    "Params",
    "PayContext",
    "PendingCallback",
    "SessionRecord",
    "StoredAnswer",
    "UpdatePayment",
    "masked_parameter",
]

Params = tuple[tuple[str, str], ...]
"""A callback's form fields, in order."""

DEFAULT_CARD_TYPES: Final = ("visa", "mastercard", "amex")

REST: Final = "rest"
"""A session's origin: the Payments API (an agent's requests)."""
TWIML: Final = "twiml"
"""A session's origin: a ``<Pay>`` verb on a call running TwiML."""


def masked_parameter(parameter: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``Parameter`` object fit to store or show: card-like runs of digits masked in its
    keys and string values."""
    if parameter is None:
        return None
    return {
        mask_card_numbers(key): mask_card_numbers(value) if isinstance(value, str) else value
        for key, value in parameter.items()
    }


@dataclass(frozen=True, slots=True)
class CreatePayment:
    """A valid ``CreatePayments`` request, defaults filled in.

    As parsed, ``description`` and ``parameter`` are what the request gave (a Generic Pay
    Connector receives them so); :meth:`stored` is the copy kept and shown.
    """

    status_callback: str
    payment_method: str = CREDIT_CARD
    bank_account_type: str | None = None
    charge_amount: Decimal | None = None
    currency: str = "USD"
    description: str = ""
    input: str = "dtmf"
    min_postal_code_length: int | None = None
    parameter: dict[str, Any] | None = None
    payment_connector: str = "Default"
    postal_code: bool = True
    security_code: bool = True
    timeout: int = 5
    token_type: str = "reusable"
    valid_card_types: tuple[str, ...] = DEFAULT_CARD_TYPES
    require_matching_inputs: tuple[str, ...] = ()
    confirmation: bool = False
    # The PaymentError of the validation-error the session's complete is to end with: a
    # ChargeAmount out of range, accepted (invalid_charge_amount=validation-error). Not
    # stored as such: the create turns it into the session's forced outcome.
    validation_error: str = ""

    def stored(self) -> CreatePayment:
        """The request as the emulator keeps and shows it: card-like runs of digits in
        ``Description`` and ``Parameter`` masked."""
        return replace(
            self,
            description=mask_card_numbers(self.description),
            parameter=masked_parameter(self.parameter),
        )

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            payment_method=self.payment_method,
            security_code=self.security_code,
            postal_code=self.postal_code,
            matching=self.require_matching_inputs,
            valid_card_types=self.valid_card_types,
            min_postal_code_length=self.min_postal_code_length,
        )


@dataclass(frozen=True, slots=True)
class UpdatePayment:
    """A valid ``UpdatePayments`` request: exactly one of ``capture`` and ``status``."""

    status_callback: str
    capture: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ForcedOutcome:
    """What a test asked the next ``Status=complete`` to produce, whatever the card
    (``POST /_emulator/payments/{Sid}/outcome``): the complete callback's fields."""

    result: str
    pay_error_code: int | None = None
    payment_error: str = ""
    connector_error: str = ""


@dataclass(frozen=True, slots=True)
class PayContext:
    """What a session a ``<Pay>`` verb runs holds beyond an agent's: where its ``action`` and
    ``statusCallback`` go (absolute URLs), how many tries the caller has at each item, which
    try this is, and what the verb gave that a create request has no field for."""

    action: str
    status_callback: str | None = None
    status_callback_method: str = "POST"
    tries: int = 2
    attempt: int = 0  # of the item being asked (0: none yet)
    language: str = "en-US"
    postal_code: str | None = None  # given as postalCode="94105": none is asked


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session: its identity, the create request, and the machine's state;
    ``origin`` :data:`REST` (an agent's) or :data:`TWIML` (a ``<Pay>`` verb's, with its
    ``pay``)."""

    sid: str
    account_sid: str
    call_sid: str
    request: CreatePayment  # the create request
    session: Session
    status_callback: str  # of the latest accepted request
    caller: str  # "auto" or "manual"
    created_at_ms: int
    updated_at_ms: int
    input_deadline_ms: int | None = None  # when the caller's silence ends the prompt
    forced_outcome: ForcedOutcome | None = None
    origin: str = REST
    pay: PayContext | None = None


@dataclass(frozen=True, slots=True)
class CallRow:
    """A live call that Pay sessions run on, with its simulated caller's mode."""

    sid: str
    account_sid: str
    status: str
    url: str | None
    caller: str | None


@dataclass(frozen=True, slots=True)
class NewCallback:
    """A callback an event causes, before it is stored: where it goes, what it says.
    ``payment_sid`` is None for a call's status callback."""

    payment_sid: str | None
    account_sid: str
    call_sid: str
    event: str
    url: str  # as the request gave it (a relative URL is resolved at delivery)
    params: Params
    idempotency_token: str
    created_at_ms: int
    method: str = "POST"  # GET puts the params in the URL's query


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """What the delivery worker needs of a callback."""

    id: int
    payment_sid: str | None  # None: a call's status callback
    account_sid: str
    call_sid: str
    url: str  # as the request gave it (a relative URL is resolved at delivery)
    params: Params
    idempotency_token: str
    method: str = "POST"

    @property
    def queue(self) -> str:
        """Whose callbacks this one is delivered in order with: its session's, or for a call
        status callback its call's."""
        return self.payment_sid or self.call_sid


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """A callback as the control plane shows it, with its last attempt."""

    id: int
    payment_sid: str | None  # None: a call's status callback
    account_sid: str
    call_sid: str
    event: str
    url: str  # as the request gave it, the password masked
    params: Params
    idempotency_token: str
    state: str  # pending, delivered or failed
    attempts: int
    status_code: int | None
    error: str | None
    created_at_ms: int
    delivered_at_ms: int | None
    last_url: str | None  # the URL the last attempt went to (resolved; the password masked)
    last_headers: dict[str, str]  # the headers the last attempt sent (credentials masked)
    last_response: str = ""  # the start of the last answer
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to a Twilio API request, ready to send: HTTP status and body bytes."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer to an IdempotencyKey, with the fingerprint of the request's
    parameters it answered."""

    fingerprint: str
    status: int
    body: bytes
