"""The Generic Pay Connector protocol, Twilio's side of it: what is sent, how an answer is read.

Pure functions only (no I/O, no clock). :mod:`emulator.services.gpc_client` does the HTTP.

* :func:`request_body` builds the JSON object POSTed to the merchant's endpoint.
* :func:`refusal_in_test_mode` refuses, before any request, a card or bank account that a
  connector in TEST mode does not accept.
* :func:`settlement_from_answer` turns the endpoint's answer into the session's
  :class:`~emulator.domain.machine.Settlement`; :func:`no_answer_settlement` is the one for an
  endpoint that never answered.
* :func:`masked` and :func:`scrub` keep card digits out of everything but the request itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final, Literal, get_args

from emulator.domain import cards
from emulator.domain.machine import Result, Settlement
from emulator.domain.masking import mask_card_numbers
from emulator.domain.records import masked_parameter
from emulator.domain.vocabulary import ACH_DEBIT, PaymentMethod

__all__ = [
    "CHARGE_FAILED",
    "MAX_ANSWER_BYTES",
    "MODES",
    "TEST_BANK_ACCOUNTS",
    "TEST_BANK_ACCOUNT_REFUSED",
    "TEST_CARD_NUMBERS",
    "TEST_CARD_REFUSED",
    "TOKENIZE_FAILED",
    "ConnectorAttempt",
    "GenericConnector",
    "Mode",
    "PaymentData",
    "answer_parameters",
    "judge_answer",
    "masked",
    "no_answer_settlement",
    "refusal_in_test_mode",
    "request_body",
    "scrub",
    "settlement_from_answer",
]

Mode = Literal["test", "live"]
MODES: Final[tuple[Mode, ...]] = get_args(Mode)

MAX_ANSWER_BYTES: Final = 65536
"""The most of an answer that is read; a longer answer is malformed."""

CHARGE_FAILED: Final = 64008
TOKENIZE_FAILED: Final = 64010
TEST_CARD_REFUSED: Final = 64022
TEST_BANK_ACCOUNT_REFUSED: Final = 64023

TEST_CARD_NUMBERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "4111111111111111": "visa",
        "5555555555554444": "mastercard",
        "378282246310005": "amex",
        "6011111111111117": "discover",
        "3065930009020004": "diners-club",
        "3566002020360505": "jcb",
        "6200000000000005": "unionpay",
        "6771798021000008": "maestro",
    }
)
"""The only card numbers a connector in TEST mode forwards (any expiry, CVV, postal code)."""

TEST_BANK_ACCOUNTS: Final[frozenset[str]] = frozenset({"12345678", "123456789"})
"""The only bank account numbers a connector in TEST mode forwards (any routing number)."""

_TEXT_KEYS: Final = ("charge_id", "token_id", "error_code", "error_message")
MAX_PARAMETERS: Final = 50  # of an answer's parameters kept for <Pay>'s action
MAX_PARAMETER_CHARS: Final = 1024  # of a key or a value kept


@dataclass(frozen=True, slots=True)
class GenericConnector:
    """A Generic Pay Connector as configured in the console: where and how to reach the
    merchant's endpoint. ``legacy_paths``: POST to ``{url}/charge`` or ``{url}/tokenize`` and
    leave ``method`` out of the body (connectors made before Twilio's current protocol)."""

    endpoint_url: str
    username: str
    password: str = field(repr=False)
    mode: Mode = "test"
    timeout_s: float = 10.0
    retries: int = 5
    legacy_paths: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError("timeout_s must be a positive number of seconds")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError("retries must be a whole number, 0 or more")


@dataclass(frozen=True, slots=True, repr=False)
class PaymentData:
    """What the caller keyed and the session asked for, in clear: held in memory only.

    ``repr`` (and so ``str``) masks the card number, security code and bank account number
    (and card-like runs of digits in the description and parameters).
    ``expiration_date`` is ``MMYY``; ``amount`` is the session's ``ChargeAmount`` as a decimal
    string (``"10.00"``), sent only when ``charging``; ``parameters`` is the session's
    ``Parameter`` object.
    """

    charging: bool
    payment_method: PaymentMethod = "credit-card"
    card_number: str | None = None
    security_code: str | None = None
    expiration_date: str | None = None
    postal_code: str | None = None
    routing_number: str | None = None
    account_number: str | None = None
    amount: str | None = None
    currency: str = "USD"
    description: str | None = None
    parameters: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        def hidden(value: str | None, mask: Callable[[str], str]) -> str | None:
            return None if value is None else mask(value)

        shown: list[tuple[str, object]] = [
            ("charging", self.charging),
            ("payment_method", self.payment_method),
            ("card_number", hidden(self.card_number, cards.mask_card_number)),
            ("security_code", hidden(self.security_code, cards.mask_security_code)),
            ("expiration_date", self.expiration_date),
            ("postal_code", self.postal_code),
            ("routing_number", self.routing_number),
            ("account_number", hidden(self.account_number, cards.mask_bank_account)),
            ("amount", self.amount),
            ("currency", self.currency),
            ("description", hidden(self.description, mask_card_numbers)),
            ("parameters", masked_parameter(dict(self.parameters))),
        ]
        return "PaymentData(" + ", ".join(f"{name}={value!r}" for name, value in shown) + ")"

    __str__ = __repr__

    @property
    def method(self) -> Literal["charge", "tokenize"]:
        return "charge" if self.charging else "tokenize"


# --- the request ------------------------------------------------------------------------------


def _expiry(mmyy: str | None) -> tuple[str | None, str | None]:
    """``("MM", "YY")`` from ``MMYY`` (or ``MMYYYY``); nulls for anything else."""
    if mmyy is None:
        return None, None
    digits = "".join(c for c in mmyy if c.isascii() and c.isdigit())
    if len(digits) == 4:
        return digits[:2], digits[2:]
    if len(digits) == 6:
        return digits[:2], digits[4:]
    return None, None


def request_body(data: PaymentData, transaction_id: str, legacy: bool) -> dict[str, object]:
    """The JSON object POSTed to the endpoint (holds the card digits: send it, never keep it).

    Card: ``cardnumber``, ``cvv``, ``expiry_month``, ``expiry_year`` (2 digits each),
    ``postal_code``; ACH: ``bankaccountnumber``, ``routingnumber``. An item the session did not
    collect is ``null``. ``amount`` and ``currency_code`` (upper case) only when charging;
    ``description`` (``null`` when unset) and ``parameters`` (``{}`` when none) always;
    ``method`` except in legacy mode. No ``token_type``.
    """
    body: dict[str, object] = {}
    if not legacy:
        body["method"] = data.method
    body["transaction_id"] = transaction_id
    if data.payment_method == ACH_DEBIT:
        body["bankaccountnumber"] = data.account_number
        body["routingnumber"] = data.routing_number
    else:
        month, year = _expiry(data.expiration_date)
        body["cardnumber"] = data.card_number
        body["cvv"] = data.security_code
        body["expiry_month"] = month
        body["expiry_year"] = year
        body["postal_code"] = data.postal_code
    if data.charging:
        body["amount"] = data.amount
        body["currency_code"] = data.currency.upper()
    body["description"] = data.description
    body["parameters"] = dict(data.parameters)
    return body


def masked(body: Mapping[str, object]) -> dict[str, object]:
    """A copy of a request body fit to keep: ``cardnumber`` ``x`` but the last 4 digits,
    ``cvv`` all ``x``, ``bankaccountnumber`` ``*`` but the last 2, card-like runs of digits
    in ``description`` and ``parameters`` masked as the stored session has them."""
    copy = dict(body)
    for key, mask in (
        ("cardnumber", cards.mask_card_number),
        ("cvv", cards.mask_security_code),
        ("bankaccountnumber", cards.mask_bank_account),
    ):
        value = copy.get(key)
        if isinstance(value, str):
            copy[key] = mask(value)
        elif value is not None:
            copy[key] = "x"  # never expected: not a string, so nothing of it is kept
    description = copy.get("description")
    if isinstance(description, str):
        copy["description"] = mask_card_numbers(description)
    parameters = copy.get("parameters")
    if isinstance(parameters, Mapping):
        copy["parameters"] = masked_parameter(dict(parameters))
    return copy


def scrub(text: str, data: PaymentData) -> str:
    """``text`` with the card number, security code and bank account number masked wherever
    one appears as a run of digits of its own (an endpoint that echoes them back), and any
    other card number in it too (spaced, dashed, inside a longer run, in an echoed description
    or parameter: :mod:`emulator.domain.masking`)."""
    for secret, mask in (
        (data.card_number, cards.mask_card_number),
        (data.account_number, cards.mask_bank_account),
        (data.security_code, cards.mask_security_code),
    ):
        if secret and secret in text:
            text = re.sub(rf"(?<![0-9]){re.escape(secret)}(?![0-9])", mask(secret), text)
    return mask_card_numbers(text)


# --- TEST mode --------------------------------------------------------------------------------


def refusal_in_test_mode(connector: GenericConnector, data: PaymentData) -> Settlement | None:
    """In TEST mode, the settlement of a card or bank account that is not a test one (no
    request is made); ``None`` when the request may go ahead."""
    if connector.mode != "test":
        return None
    if data.payment_method == ACH_DEBIT:
        if data.account_number in TEST_BANK_ACCOUNTS:
            return None
        return Settlement(
            Result.PAYMENT_CONNECTOR_ERROR,
            error="Pay: Invalid Test Bank Account Number",
            pay_error_code=TEST_BANK_ACCOUNT_REFUSED,
        )
    if data.card_number in TEST_CARD_NUMBERS:
        return None
    return Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error="Pay: Invalid Test Card Number",
        pay_error_code=TEST_CARD_REFUSED,
    )


# --- the answer -------------------------------------------------------------------------------


def _rejected(charging: bool) -> str:
    return f"Payment Gateway rejected {'charge' if charging else 'token'} creation."


def _failure(charging: bool, error: str, connector_error: str = "") -> Settlement:
    return Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error=error,
        pay_error_code=CHARGE_FAILED if charging else TOKENIZE_FAILED,
        connector_error=connector_error,
    )


def _malformed(charging: bool) -> Settlement:
    return _failure(
        charging, _rejected(charging) + " Got malformed response from Payment Provider."
    )


def no_answer_settlement(charging: bool) -> Settlement:
    """The settlement when the endpoint did not answer any of the attempts."""
    return _failure(charging, _rejected(charging) + " No response from Payment Provider.")


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates ("\ud800" in the JSON)
        return False
    return True


def _decode(body: bytes) -> tuple[dict[str, object] | None, str | None]:
    """The answer's JSON object, or why there is none."""
    if len(body) > MAX_ANSWER_BYTES:
        return None, f"the answer is longer than {MAX_ANSWER_BYTES} bytes"
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "the answer is not UTF-8"
    if not text.strip():
        return None, "the answer is empty"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None, "the answer is not JSON"
    if not isinstance(value, dict):
        return None, "the answer is not a JSON object"
    return value, None


def judge_answer(
    charging: bool,
    status_code: int,
    body: bytes,
    *,
    truncated: bool = False,
    legacy: bool = False,
) -> tuple[Settlement, str | None]:
    """The settlement of an answer, and what was wrong with it (``None`` for a well-formed
    answer, a success or the merchant's error). ``truncated``: more came than ``body`` holds
    (it was not read). ``legacy``: the connector posts to ``/charge`` and ``/tokenize``
    (before 2022), whose tokenize answers may name the token ``charge_id``. Never raises.

    Twilio's GPC page: "Twilio will expect to receive the charge_id field in the response
    for a charge error and the token_id field in the response for a tokenize error": an
    answer without its id key is malformed, an error answer too."""
    if not 200 <= status_code < 300:
        return _malformed(charging), f"HTTP {status_code}"
    if truncated:
        return _malformed(charging), f"the answer is longer than {MAX_ANSWER_BYTES} bytes"
    answer, problem = _decode(body)
    if answer is None:
        return _malformed(charging), problem
    for key in _TEXT_KEYS:
        value = answer.get(key)
        if value is not None and not isinstance(value, str):
            return _malformed(charging), f"{key} is not a string or null"
        if isinstance(value, str) and not _utf8(value):
            return _malformed(charging), f"{key} is not valid Unicode text"
    parameters = answer.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        return _malformed(charging), "parameters is not an object or null"
    returned = answer_parameters(parameters)
    id_key = "charge_id" if charging else "token_id"
    if id_key not in answer and legacy and not charging and "charge_id" in answer:
        id_key = "charge_id"  # what tokenize answers carried before 2022
    if id_key not in answer:
        return _malformed(charging), _missing(id_key, answer)
    error_code = answer.get("error_code")
    if isinstance(error_code, str):
        message = answer.get("error_message")
        text = message if isinstance(message, str) and message else _rejected(charging)
        failure = _failure(charging, text, error_code)
        return replace(failure, parameters=returned), None
    identifier = answer[id_key]
    if not isinstance(identifier, str) or not identifier:
        return _malformed(charging), f"{id_key} is null or empty and error_code is null"
    if charging:
        return Settlement(Result.SUCCESS, confirmation_code=identifier, parameters=returned), None
    return Settlement(Result.SUCCESS, token=identifier, parameters=returned), None


def answer_parameters(parameters: object) -> tuple[tuple[str, str], ...]:
    """An answer's ``parameters`` object as ``<Pay>``'s action gets it, ``PayConnector_<key>``
    (the GPC page: "These custom parameters will then be added as properties (with their names
    prepended with PayConnector_) on the POST request body to your action URL"): string
    values as they are, other values as JSON
    (the emulator's choice: Twilio's examples have strings only); card-like digits masked, as
    everything the emulator keeps; at most :data:`MAX_PARAMETERS`, each cut to
    :data:`MAX_PARAMETER_CHARS`."""
    if not isinstance(parameters, dict):
        return ()
    kept = []
    for key, value in list(parameters.items())[:MAX_PARAMETERS]:
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        kept.append(
            (
                mask_card_numbers(str(key)[:MAX_PARAMETER_CHARS]),
                mask_card_numbers(text[:MAX_PARAMETER_CHARS]),
            )
        )
    return tuple(kept)


def _missing(id_key: str, answer: Mapping[str, object]) -> str:
    """Why an answer without its id key is malformed, and what to send instead."""
    problem = f"{id_key} is missing"
    if isinstance(answer.get("error_code"), str):
        return (
            f"{problem}: Twilio expects it even in an error answer"
            f' (send "{id_key}": null with the error_code)'
        )
    if id_key == "token_id" and "charge_id" in answer:
        return (
            f"{problem}: a tokenize answer names the token token_id (charge_id is taken"
            " for it only from a legacy connector, legacy_paths: true)"
        )
    return problem


def settlement_from_answer(
    charging: bool, status_code: int, body: bytes, *, legacy: bool = False
) -> Settlement:
    """The settlement of an answer the endpoint gave (any status, any bytes). Never raises."""
    return judge_answer(charging, status_code, body, legacy=legacy)[0]


@dataclass(frozen=True, slots=True)
class ConnectorAttempt:
    """One POST to the endpoint, fit to keep and show: nothing in it holds card digits.

    ``status_code`` is ``None`` when no complete answer came (then ``error`` says why).
    ``error`` is also set for an answer that is malformed (``"HTTP 500"``, ``"the answer is
    not JSON"``...); it is ``None`` for a well-formed answer, a success or the merchant's own
    error. ``request_body`` is the masked JSON sent; ``response_excerpt`` the first
    :data:`EXCERPT_BYTES` of the answer (or of what came of it), decoded with replacement.
    """

    url: str
    transaction_id: str
    attempt: int
    status_code: int | None
    latency_ms: float
    error: str | None
    request_body: str
    response_excerpt: str
    started_at_ms: int
