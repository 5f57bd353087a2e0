"""Form fields -> typed, validated requests, or Twilio's error for the first bad field.

Parameter names and values are Twilio's, as its OpenAPI spec and Payments docs give them. A missing required
parameter is 20001; a value that is misspelled or out of range is 64020 with a message that
names the parameter; the charge amount has its own code (64003), and bank fields on a card
session theirs (64017). Unknown parameters are ignored, as Twilio does.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import idna

from emulator.domain.cards import KNOWN_CARD_BRANDS
from emulator.domain.money import (
    CURRENCY_DECIMALS,
    AmountError,
    parse_charge_amount,
    payment_error,
)
from emulator.domain.records import DEFAULT_CARD_TYPES, CreatePayment, UpdatePayment
from emulator.domain.vocabulary import (
    ACH_DEBIT,
    BANK_ACCOUNT_TYPES,
    CAPTURE_ITEMS,
    CARD_ITEMS,
    CREDIT_CARD,
    PAYMENT_METHODS,
    STATUSES,
    TOKEN_TYPES,
)
from emulator.errors import (
    BankFieldsWithCreditCard,
    CaptureOrStatusRequired,
    ChargeAmountInvalid,
    InvalidParameterValue,
    MissingParameter,
)

__all__ = [
    "MAX_LENGTHS",
    "MAX_MIN_POSTAL_CODE_LENGTH",
    "MAX_TIMEOUT",
    "Form",
    "idempotency_key",
    "parse_create",
    "parse_update",
    "require",
    "valid_host",
]

Form = dict[str, str]

INPUTS: Final = ("dtmf",)
MAX_TIMEOUT: Final = 600
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
MAX_MIN_POSTAL_CODE_LENGTH: Final = 10

# The longest value each parameter may have (characters); Twilio documents none of these.
# Longer values are refused with 64020 (a 20001 for a missing one), so nothing a client sends
# is stored or echoed unbounded.
MAX_LENGTHS: Final[dict[str, int]] = {
    "IdempotencyKey": 255,
    "StatusCallback": 4096,
    "Description": 1024,
    "Parameter": 4096,
    "PaymentConnector": 64,
    "ValidCardTypes": 256,
    "RequireMatchingInputs": 256,
}
_DEFAULT_MAX_LENGTH: Final = 64  # every other (enum, number, boolean) parameter
_ECHOED: Final = 64  # how much of a refused value an error message shows


def _shown(value: str) -> str:
    """A refused value as an error message shows it: bounded, with invalid UTF-8 replaced."""
    text = value.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _ECHOED else text[:_ECHOED] + f"... ({len(text)} characters)"


def _invalid(name: str, value: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Pay: Invalid Parameter Value: {name} '{_shown(value)}' {why}")


def _check(name: str, value: str) -> str:
    """A present value within its parameter's length, and valid UTF-8 (the edge decodes
    invalid bytes as lone surrogates, so that distinct byte strings stay distinct)."""
    limit = MAX_LENGTHS.get(name, _DEFAULT_MAX_LENGTH)
    if len(value) > limit:
        raise _invalid(name, value, f"is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(name, value, "is not valid UTF-8") from None
    return value


def _get(form: Form, name: str) -> str | None:
    value = form.get(name)
    return None if value is None else _check(name, value)


def require(form: Form, name: str) -> str:
    value = _get(form, name)
    if not value:
        raise MissingParameter(name)
    return value


def idempotency_key(form: Form) -> str:
    """The request's IdempotencyKey (20001 when missing; 64020 when too long or not UTF-8)."""
    return require(form, "IdempotencyKey")


def _enum(form: Form, name: str, allowed: Sequence[str], default: str) -> str:
    """An enum's value: the default when absent; an empty value is not in the enum (64020)."""
    value = _get(form, name)
    if value is None:
        return default
    if value not in allowed:
        raise _invalid(name, value, "is not one of " + ", ".join(allowed))
    return value


def _boolean(form: Form, name: str, default: bool) -> bool:
    """``true`` or ``false`` in any case; the default when absent (an empty value is 64020)."""
    value = _get(form, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise _invalid(name, value, "is not true or false")
    return lowered == "true"


def _integer(form: Form, name: str, low: int, high: int) -> int | None:
    value = _get(form, name)
    if value is None or value == "":
        return None
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > len(str(high))  # no int() of a number thousands of digits long
        or not low <= int(value) <= high
    ):
        raise _invalid(name, value, f"is not a whole number from {low} to {high}")
    return int(value)


def _status_callback(form: Form) -> str:
    """An absolute http(s) URL, or a relative one (resolved later against the call's URL)."""
    value = require(form, "StatusCallback")
    if _NOT_IN_URL.search(value):
        raise _invalid("StatusCallback", value, "is not a URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _invalid("StatusCallback", value, "is not a URL") from None
    if parts.scheme:
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise _invalid("StatusCallback", value, "is not an http(s) URL or a relative URL")
    elif not parts.path and not parts.netloc and not parts.query:
        raise _invalid("StatusCallback", value, "is not an http(s) URL or a relative URL")
    if parts.hostname and not valid_host(parts.hostname):
        raise _invalid("StatusCallback", value, "does not name a valid host")
    return value


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@functools.lru_cache(maxsize=1024)  # most requests of a suite name the same few hosts
def valid_host(host: str) -> bool:
    """An IP address, or a DNS name whose labels are letters, digits and hyphens once
    encoded with IDNA (what an HTTP client can connect to)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):  # looks like IPv4 but is not one (256.1.1.1)
        return False
    if not host.isascii():
        # IDNA's mapping silently drops invisible characters (a zero-width space, a soft
        # hyphen): a host holding one is not the host it looks like, so it is refused.
        if any(unicodedata.category(char)[0] in "CZ" for char in host):
            return False
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return False
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _parameter(form: Form) -> dict[str, Any] | None:
    """A single-level JSON object; the spec's own example quotes it with ' so that is accepted.

    Returned as the request gave it: a Generic Pay Connector receives it unchanged (what is
    stored is masked by :meth:`~emulator.domain.records.CreatePayment.stored`).
    """
    value = _get(form, "Parameter")
    if value is None or value.strip() == "":
        return None
    parsed: Any = None
    for text in (value, value.replace("'", '"') if '"' not in value else None):
        if text is None:
            continue
        try:
            parsed = json.loads(text)
            break
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            continue
    if not isinstance(parsed, dict):
        raise _invalid("Parameter", value, "is not a JSON object")
    if any(isinstance(v, dict | list) for v in parsed.values()):
        raise _invalid("Parameter", value, "is not a single-level JSON object")
    return parsed


def _card_types(form: Form) -> tuple[str, ...]:
    value = _get(form, "ValidCardTypes")
    if value is None or value.strip() == "":
        return DEFAULT_CARD_TYPES
    brands = value.split()
    unknown = [b for b in brands if b not in KNOWN_CARD_BRANDS]
    if unknown:
        raise _invalid(
            "ValidCardTypes",
            value,
            f"names unknown card type {unknown[0]} (known: {' '.join(sorted(KNOWN_CARD_BRANDS))})",
        )
    return tuple(dict.fromkeys(brands))


def _matching_inputs(form: Form, config: dict[str, Any]) -> tuple[str, ...]:
    value = _get(form, "RequireMatchingInputs")
    if value is None or value.strip() == "":
        return ()
    items = [item.strip() for item in value.split(",")]
    for item in items:
        if item not in CARD_ITEMS:
            raise _invalid(
                "RequireMatchingInputs",
                value,
                f"names '{item}', not one of {', '.join(CARD_ITEMS)}",
            )
        if config["payment_method"] == ACH_DEBIT:
            raise _invalid(
                "RequireMatchingInputs", value, "names card items for an ach-debit payment"
            )
        if item == "security-code" and not config["security_code"]:
            raise _invalid(
                "RequireMatchingInputs", value, "names security-code but SecurityCode is false"
            )
        if item == "postal-code" and not config["postal_code"]:
            raise _invalid(
                "RequireMatchingInputs", value, "names postal-code but PostalCode is false"
            )
    return tuple(item for item in CARD_ITEMS if item in items)


def parse_create(form: Form, invalid_charge_amount: str = "refuse") -> CreatePayment:
    """A create request, or Twilio's error for its first bad parameter. A ``ChargeAmount``
    that is a number out of range is refused (64003), or with ``invalid_charge_amount``
    ``validation-error`` accepted, the request carrying the ``validation_error`` its session's
    complete reports."""
    status_callback = _status_callback(form)
    payment_method = _enum(form, "PaymentMethod", PAYMENT_METHODS, CREDIT_CARD)
    if payment_method == CREDIT_CARD and _get(form, "BankAccountType"):
        raise BankFieldsWithCreditCard()
    bank_account_type = _enum(form, "BankAccountType", BANK_ACCOUNT_TYPES, "consumer-checking")
    currency = _get(form, "Currency") or "USD"
    if currency.upper() not in CURRENCY_DECIMALS:
        raise _invalid("Currency", currency, "is not an ISO 4217 currency code")
    currency = currency.upper()
    validation_error = ""
    text = _get(form, "ChargeAmount") or ""
    try:
        charge_amount = parse_charge_amount(text, currency)
    except AmountError as exc:
        if invalid_charge_amount != "validation-error" or exc.amount is None:
            raise ChargeAmountInvalid(f"Pay: Invalid charge amount: {exc}") from None
        charge_amount, validation_error = exc.amount, payment_error(text)
    config: dict[str, Any] = {
        "payment_method": payment_method,
        "security_code": _boolean(form, "SecurityCode", True),
        "postal_code": _boolean(form, "PostalCode", True),
    }
    timeout = _integer(form, "Timeout", 1, MAX_TIMEOUT)
    parameter = _parameter(form)
    return CreatePayment(
        status_callback=status_callback,
        payment_method=payment_method,
        bank_account_type=bank_account_type if payment_method == ACH_DEBIT else None,
        charge_amount=charge_amount,
        currency=currency,
        description=_get(form, "Description") or "",
        input=_enum(form, "Input", INPUTS, "dtmf"),
        min_postal_code_length=_integer(form, "MinPostalCodeLength", 1, MAX_MIN_POSTAL_CODE_LENGTH),
        parameter=parameter,
        payment_connector=_get(form, "PaymentConnector") or "Default",
        postal_code=config["postal_code"],
        security_code=config["security_code"],
        timeout=5 if timeout is None else timeout,
        token_type=_enum(form, "TokenType", TOKEN_TYPES, "reusable"),
        valid_card_types=_card_types(form),
        require_matching_inputs=_matching_inputs(form, config),
        confirmation=_boolean(form, "Confirmation", False),
        validation_error=validation_error,
    )


def parse_update(form: Form) -> UpdatePayment:
    status_callback = _status_callback(form)
    capture = _get(form, "Capture")
    status = _get(form, "Status")
    if (capture is None) == (status is None):
        raise CaptureOrStatusRequired()
    if capture is not None and capture not in CAPTURE_ITEMS:
        raise _invalid("Capture", capture, "is not one of " + ", ".join(CAPTURE_ITEMS))
    if status is not None and status not in STATUSES:
        raise _invalid("Status", status, "is not one of " + ", ".join(STATUSES))
    return UpdatePayment(status_callback=status_callback, capture=capture, status=status)
