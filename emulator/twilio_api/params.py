"""Form fields -> typed, validated requests, or Twilio's error for the first bad field.

Parameter names and values are Twilio's, as its OpenAPI spec and Payments docs give them. A missing required
parameter is 20001; a value that is misspelled or out of range is 64020 with a message that
names the parameter; the charge amount has its own code (64003), and bank fields on a card
session theirs (64017). Unknown parameters are ignored, as Twilio does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from emulator.errors import (
    AchNeedsAvsName,
    BankFieldsWithCreditCard,
    CaptureOrStatusRequired,
    ChargeAmountInvalid,
    InvalidParameterValue,
    MissingParameter,
)
from emulator.payments.cards import KNOWN_CARD_BRANDS
from emulator.payments.model import DEFAULT_CARD_TYPES, CreatePayment, UpdatePayment
from emulator.payments.money import CURRENCY_DECIMALS, AmountError, parse_charge_amount
from emulator.payments.vocabulary import (
    ACH_DEBIT,
    BANK_ACCOUNT_TYPES,
    CAPTURE_ITEMS,
    CARD_ITEMS,
    CREDIT_CARD,
    PAYMENT_METHODS,
    STATUSES,
    TOKEN_TYPES,
)

__all__ = [
    "MAX_MIN_POSTAL_CODE_LENGTH",
    "MAX_TIMEOUT",
    "Form",
    "parse_create",
    "parse_update",
    "require",
]

Form = dict[str, str]

INPUTS: Final = ("dtmf",)
MAX_TIMEOUT: Final = 600
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
MAX_MIN_POSTAL_CODE_LENGTH: Final = 10


def require(form: Form, name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise MissingParameter(name)
    return value


def _invalid(name: str, value: str, why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Pay: Invalid Parameter Value: {name} '{value}' {why}")


def _enum(form: Form, name: str, allowed: Sequence[str], default: str) -> str:
    value = form.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _invalid(name, value, "is not one of " + ", ".join(allowed))
    return value


def _boolean(form: Form, name: str, default: bool) -> bool:
    value = form.get(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise _invalid(name, value, "is not true or false")
    return lowered == "true"


def _integer(form: Form, name: str, low: int, high: int) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
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
    return value


def _parameter(form: Form) -> dict[str, Any] | None:
    """A single-level JSON object; the spec's own example quotes it with ' so that is accepted."""
    value = form.get("Parameter")
    if value is None or value.strip() == "":
        return None
    parsed: Any = None
    for text in (value, value.replace("'", '"') if '"' not in value else None):
        if text is None:
            continue
        try:
            parsed = json.loads(text)
            break
        except ValueError:
            continue
    if not isinstance(parsed, dict):
        raise _invalid("Parameter", value, "is not a JSON object")
    if any(isinstance(v, dict | list) for v in parsed.values()):
        raise _invalid("Parameter", value, "is not a single-level JSON object")
    return parsed


def _card_types(form: Form) -> tuple[str, ...]:
    value = form.get("ValidCardTypes")
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
    value = form.get("RequireMatchingInputs")
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


def parse_create(form: Form) -> CreatePayment:
    status_callback = _status_callback(form)
    payment_method = _enum(form, "PaymentMethod", PAYMENT_METHODS, CREDIT_CARD)
    if payment_method == CREDIT_CARD and form.get("BankAccountType"):
        raise BankFieldsWithCreditCard()
    bank_account_type = _enum(form, "BankAccountType", BANK_ACCOUNT_TYPES, "consumer-checking")
    currency = form.get("Currency") or "USD"
    if currency.upper() not in CURRENCY_DECIMALS:
        raise _invalid("Currency", currency, "is not an ISO 4217 currency code")
    currency = currency.upper()
    try:
        charge_amount = parse_charge_amount(form.get("ChargeAmount", ""), currency)
    except AmountError as exc:
        raise ChargeAmountInvalid(f"Pay: Invalid charge amount: {exc}") from None
    config: dict[str, Any] = {
        "payment_method": payment_method,
        "security_code": _boolean(form, "SecurityCode", True),
        "postal_code": _boolean(form, "PostalCode", True),
    }
    timeout = _integer(form, "Timeout", 1, MAX_TIMEOUT)
    parameter = _parameter(form)
    if payment_method == ACH_DEBIT and not (parameter and parameter.get("AVSName")):
        raise AchNeedsAvsName()
    return CreatePayment(
        status_callback=status_callback,
        payment_method=payment_method,
        bank_account_type=bank_account_type if payment_method == ACH_DEBIT else None,
        charge_amount=charge_amount,
        currency=currency,
        description=form.get("Description", ""),
        input=_enum(form, "Input", INPUTS, "dtmf"),
        min_postal_code_length=_integer(form, "MinPostalCodeLength", 1, MAX_MIN_POSTAL_CODE_LENGTH),
        parameter=parameter,
        payment_connector=form.get("PaymentConnector") or "Default",
        postal_code=config["postal_code"],
        security_code=config["security_code"],
        timeout=5 if timeout is None else timeout,
        token_type=_enum(form, "TokenType", TOKEN_TYPES, "reusable"),
        valid_card_types=_card_types(form),
        require_matching_inputs=_matching_inputs(form, config),
        confirmation=_boolean(form, "Confirmation", False),
    )


def parse_update(form: Form) -> UpdatePayment:
    status_callback = _status_callback(form)
    capture = form.get("Capture") or None
    status = form.get("Status") or None
    if (capture is None) == (status is None):
        raise CaptureOrStatusRequired()
    if capture is not None and capture not in CAPTURE_ITEMS:
        raise _invalid("Capture", capture, "is not one of " + ", ".join(CAPTURE_ITEMS))
    if status is not None and status not in STATUSES:
        raise _invalid("Status", status, "is not one of " + ", ".join(STATUSES))
    return UpdatePayment(status_callback=status_callback, capture=capture, status=status)
