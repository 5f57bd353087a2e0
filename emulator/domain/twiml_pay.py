"""``<Pay>``, its ``<Prompt>``s and ``<Parameter>``s, read from a TwiML document (pure).

https://www.twilio.com/docs/voice/twiml/pay lists the attributes and their defaults: ``input``
(``dtmf``), ``action`` (the current document's URL), ``statusCallback`` (none),
``paymentMethod`` (``credit-card``), ``bankAccountType`` (``consumer-checking``), ``timeout``
(5), ``maxAttempts`` (1, 2 or 3), ``securityCode`` and ``postalCode`` (``true``; the latter
may also be the postal code itself), ``minPostalCodeLength``, ``paymentConnector``
(``Default``), ``tokenType`` (``reusable``), ``chargeAmount`` ("A decimal (min: 0, max:
1,000,000)"; 0 or none tokenizes), ``currency`` (``usd``), ``language`` (``en-us``; a list for
cards, its English part for ACH), ``description``, ``validCardTypes`` (``visa mastercard
amex``, "Separate multiple values with a space"; twilio-python's docstring says comma
separated: both are read). twilio-python's ``pay()`` also takes ``statusCallbackMethod``.

What a bad value becomes:

* an attribute the call can still run with (``timeout``, ``maxAttempts``, ``input``,
  ``securityCode``, ``minPostalCodeLength``, ``statusCallbackMethod``): a 12200 warning and
  Twilio's default, as for the other verbs' attributes;
* an attribute that says what to charge or collect (``chargeAmount``, ``currency``,
  ``paymentMethod``, ``tokenType``, ``bankAccountType``, ``language``, ``validCardTypes``):
  a warning too, and :attr:`Pay.invalid`: the ``<Pay>`` ends with ``Result=validation-error``
  ("Invalid `<Pay>` verb attribute (Example: paymentAmount="-0.5")") and that
  ``PaymentError``, without asking the caller anything.

Its nested ``<Prompt>``s and ``<Parameter>``s are read by :mod:`emulator.domain.twiml_prompt`;
anything else nested is a warning (a verb: skipped) or 12200 (an unknown element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal, get_args

from emulator.domain.cards import KNOWN_CARD_BRANDS
from emulator.domain.money import CURRENCY_DECIMALS, AmountError, parse_charge_amount, payment_error
from emulator.domain.records import DEFAULT_CARD_TYPES
from emulator.domain.twiml_prompt import (
    MAX_TEXT,
    Parameter,
    Prompt,
    read_parameter,
    read_prompt,
)
from emulator.domain.twiml_read import VERBS, Attributes, Notice, unknown_element
from emulator.domain.twiml_xml import Element
from emulator.domain.vocabulary import (
    ACH_DEBIT,
    BANK_ACCOUNT_TYPES,
    BANK_ITEMS,
    CREDIT_CARD,
    PAYMENT_METHODS,
    TOKEN_TYPES,
)
from emulator.errors import (
    BankFieldsWithCreditCard,
    ChargeAmountInvalid,
    InvalidParameterValue,
)

__all__ = [
    "ACH_LANGUAGES",
    "CARD_LANGUAGES",
    "MAX_ATTEMPTS_MEANS",
    "MAX_PARAMETERS",
    "MAX_PROMPTS",
    "Invalid",
    "MaxAttemptsMeans",
    "Pay",
    "read_pay",
    "tries",
]

CARD_LANGUAGES: Final = (
    "en-AU",
    "en-CA",
    "en-GB",
    "en-IN",
    "en-US",
    "es-ES",
    "es-MX",
    "fr-CA",
    "fr-FR",
    "de-DE",
    "it-IT",
)
ACH_LANGUAGES: Final = CARD_LANGUAGES[:5]
""""For ACH, possible values are": the English ones."""
MaxAttemptsMeans = Literal["retries", "tries"]
MAX_ATTEMPTS_MEANS: Final[tuple[MaxAttemptsMeans, ...]] = get_args(MaxAttemptsMeans)


def tries(max_attempts: int, means: MaxAttemptsMeans = "retries") -> int:
    """How many tries the caller has at each item. The ``<Pay>`` page's ``maxAttempts``
    section reads as retries ("specifies the number of times <Pay> should retry", "The
    default of 1 means <Pay> retries once ... reprompts one more time", as twilio-python's
    "Maximum number of allowed retries"); its statusCallback's ``Attempt`` ("Possible values
    are 1, 2, or 3") reads as tries. ``means`` picks (the setting
    ``pay_max_attempts_means``)."""
    return max_attempts + 1 if means == "retries" else max_attempts


MAX_PROMPTS: Final = 100  # per <Pay>
MAX_PARAMETERS: Final = 100  # per <Pay>
_PROMPT_NESTABLE: Final = ("Say", "Play", "Pause")  # only in a <Prompt>
_LIST: Final = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why the ``<Pay>`` ends with ``validation-error``: its ``PayErrorCode`` and
    ``PaymentError``."""

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Pay:
    """A ``<Pay>``, Twilio's defaults filled in. ``action`` None: the current document's URL;
    ``postal_code_value``: the postal code given as ``postalCode`` (then none is asked);
    ``currency`` in capitals (as a connector gets it); ``invalid``: see the module's
    docstring."""

    input: str = "dtmf"
    action: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    payment_method: str = CREDIT_CARD
    bank_account_type: str = "consumer-checking"
    timeout: int = 5
    max_attempts: int = 1
    security_code: bool = True
    postal_code: bool = True
    postal_code_value: str | None = None
    min_postal_code_length: int | None = None
    payment_connector: str = "Default"
    token_type: str = "reusable"
    charge_amount: Decimal | None = None
    currency: str = "USD"
    language: str = "en-US"
    description: str = ""
    valid_card_types: tuple[str, ...] = DEFAULT_CARD_TYPES
    prompts: tuple[Prompt, ...] = ()
    parameters: tuple[Parameter, ...] = field(default=())
    invalid: Invalid | None = None

    @property
    def matching(self) -> tuple[str, ...]:
        """The steps the caller enters twice: a ``<Prompt requireMatchingInputs="true">`` for
        them ("only available for use for ACH payments/tokenizations at this time")."""
        steps = [
            prompt.for_
            for prompt in self.prompts
            if prompt.require_matching_inputs and prompt.for_ in BANK_ITEMS
        ]
        return tuple(dict.fromkeys(steps)) if self.payment_method == ACH_DEBIT else ()


_ATTRIBUTES: Final = (
    "input",
    "action",
    "statusCallback",
    "statusCallbackMethod",
    "paymentMethod",
    "bankAccountType",
    "timeout",
    "maxAttempts",
    "securityCode",
    "postalCode",
    "minPostalCodeLength",
    "paymentConnector",
    "tokenType",
    "chargeAmount",
    "currency",
    "language",
    "description",
    "validCardTypes",
)


class _Problems:
    """The first attribute value that makes the ``<Pay>`` a validation error."""

    def __init__(self, read: Attributes) -> None:
        self.read = read
        self.first: Invalid | None = None

    def add(self, code: int, message: str) -> None:
        self.read.warn(12200, f"{message}: the <Pay> ends with Result=validation-error")
        if self.first is None:
            self.first = Invalid(code, message)

    def enum(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.read.get(name)
        if value is None:
            return default
        if value not in allowed:
            self.add(
                InvalidParameterValue.code,
                f"{name}='{value[:64]}' (not one of {', '.join(allowed)})",
            )
            return default
        return value


def _url(read: Attributes, name: str) -> str | None:
    value = read.get(name)
    return value.strip() if value is not None and value.strip() else None


def _text(read: Attributes, name: str, default: str) -> str:
    value = read.get(name)
    if value is None:
        return default
    if len(value) > MAX_TEXT:
        read.warn(12200, f"{name} is longer than {MAX_TEXT} characters: cut there")
    return value[:MAX_TEXT]


def _language(problems: _Problems, method: str) -> str:
    value = problems.read.get("language")
    if value is None:
        return "en-US"
    allowed = ACH_LANGUAGES if method == ACH_DEBIT else CARD_LANGUAGES
    found = next((lang for lang in allowed if lang.lower() == value.strip().lower()), None)
    if found is None:
        what = "ACH" if method == ACH_DEBIT else "card"
        problems.add(
            InvalidParameterValue.code,
            f"language='{value[:32]}' (not one of {' '.join(allowed)} for {what} payments)",
        )
        return "en-US"
    return found


def _amount(problems: _Problems, currency: str) -> Decimal | None:
    text = problems.read.get("chargeAmount")
    if text is None:
        return None
    try:
        return parse_charge_amount(text[:64], currency)
    except AmountError:
        problems.add(ChargeAmountInvalid.code, payment_error(text[:64]))
        return None


def _card_types(problems: _Problems) -> tuple[str, ...]:
    value = problems.read.get("validCardTypes")
    if value is None or not value.strip():
        return DEFAULT_CARD_TYPES
    brands = [brand for brand in _LIST.split(value.strip()) if brand]
    unknown = [brand for brand in brands if brand not in KNOWN_CARD_BRANDS]
    if unknown:
        problems.add(
            InvalidParameterValue.code,
            f"validCardTypes='{value[:64]}' (unknown card type {unknown[0][:32]}; known:"
            f" {' '.join(sorted(KNOWN_CARD_BRANDS))})",
        )
        return DEFAULT_CARD_TYPES
    return tuple(dict.fromkeys(brands))


def _postal_code(read: Attributes) -> tuple[bool, str | None]:
    value = read.get("postalCode")
    if value is None:
        return True, None
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true", None
    if not text or len(text) > 10 or not text.replace(" ", "").replace("-", "").isalnum():
        read.warn(
            12200, f"postalCode '{value[:32]}' is not true, false or a postal code: true used"
        )
        return True, None
    return False, text  # "<Pay> passes 94105 to the Payment Gateway": none is asked


def read_pay(node: Element, notices: list[Notice]) -> Pay:
    """A ``<Pay>`` element, its attributes and its nested nouns."""
    read = Attributes(node, "Pay", notices)
    read.known(*_ATTRIBUTES)
    problems = _Problems(read)
    input_ = read.get("input")
    if input_ is not None and input_.strip() != "dtmf":
        read.warn(
            12200, f"input '{input_[:32]}' is not dtmf (\"It supports dtmf only\"): dtmf used"
        )
    method = problems.enum("paymentMethod", PAYMENT_METHODS, CREDIT_CARD)
    bank_account_type = problems.enum("bankAccountType", BANK_ACCOUNT_TYPES, "consumer-checking")
    if read.get("bankAccountType") is not None and method == CREDIT_CARD:
        problems.add(BankFieldsWithCreditCard.code, BankFieldsWithCreditCard.message)
    token_type = problems.enum("tokenType", TOKEN_TYPES, "reusable")
    currency = (read.get("currency") or "usd").strip().upper()
    if currency not in CURRENCY_DECIMALS:
        problems.add(
            InvalidParameterValue.code,
            f"currency='{(read.get('currency') or '')[:32]}' (not an ISO 4217 currency code)",
        )
        currency = "USD"
    charge_amount = _amount(problems, currency)
    language = _language(problems, method)
    card_types = _card_types(problems)
    max_attempts = read.number("maxAttempts", 1, 12200, most=3)
    postal_code, postal_code_value = _postal_code(read)
    min_length = None
    if read.get("minPostalCodeLength") is not None:
        min_length = read.number("minPostalCodeLength", 0, 12200, most=10) or None
    prompts, parameters = _children(node, notices, read)
    return Pay(
        input="dtmf",
        action=_url(read, "action"),
        status_callback=_url(read, "statusCallback"),
        status_callback_method=read.method(12200, "statusCallbackMethod"),
        payment_method=method,
        bank_account_type=bank_account_type,
        timeout=read.number("timeout", 5, 12200),
        max_attempts=max_attempts,
        security_code=read.flag("securityCode", True),
        postal_code=postal_code,
        postal_code_value=postal_code_value,
        min_postal_code_length=min_length,
        payment_connector=_text(read, "paymentConnector", "Default").strip() or "Default",
        token_type=token_type,
        charge_amount=charge_amount,
        currency=currency,
        language=language,
        description=_text(read, "description", ""),
        valid_card_types=card_types,
        prompts=prompts,
        parameters=parameters,
        invalid=problems.first,
    )


def _children(
    node: Element, notices: list[Notice], read: Attributes
) -> tuple[tuple[Prompt, ...], tuple[Parameter, ...]]:
    prompts: list[Prompt] = []
    parameters: list[Parameter] = []
    for child in node.elements():
        if child.name == "Prompt":
            prompt = read_prompt(child, notices, len(prompts))
            if prompt is not None and len(prompts) < MAX_PROMPTS:
                prompts.append(prompt)
        elif child.name == "Parameter":
            parameter = read_parameter(child, notices)
            if parameter is not None and len(parameters) < MAX_PARAMETERS:
                parameters.append(parameter)
        elif child.name in VERBS or child.name in _PROMPT_NESTABLE:
            read.warn(
                12200,
                f"<{child.name}> cannot be nested in <Pay> (only Prompt and Parameter can):"
                " skipped",
            )
        else:
            raise unknown_element(child, "inside <Pay>")
    return tuple(prompts), tuple(parameters)
