"""What a ``<Pay>`` verb sends: its statusCallback's fields and its ``action`` request's (pure).

https://www.twilio.com/docs/voice/twiml/pay, "Twilio's POST request to your action URL": the
standard request parameters (:func:`emulator.domain.voice.webhook_params`) plus ``Result``,
``ProfileId``, ``PaymentToken``, ``PaymentConfirmationCode``, ``PaymentMethod``, the card's
fields (``PaymentCardNumber``, ``PaymentCardType``, ``ExpirationDate``, ``SecurityCode``,
``PaymentCardPostalCode``) or the bank account's (``BankAccountNumber``,
``BankRoutingNumber``, ``BankAccountType``), ``PaymentError``, ``PayErrorCode``,
``ConnectorError``; and a Generic Pay Connector's custom parameters, "with their names
prepended with PayConnector_" (the GPC page). Its statusCallback: "AccountSid", "CallSid",
"For", "ErrorType", "Attempt" and the same card or bank fields.

Masking is the Payments API's (the same engine): the card number ``xxxxxxxxxxxx1111``, the
security code ``xxx``, the account number ``*******92``; the expiry, postal code and routing
number in clear. The ``<Pay>`` page's own examples (``xxxx-xxxxxx-x4001``, ``***``) are the
Payments page's too, where real callbacks show the first form. Empty fields are sent empty,
as real Payments callbacks send them.
"""

from __future__ import annotations

from typing import Final

from emulator.domain.machine import Settlement
from emulator.domain.payloads import BANK_FIELDS, CARD_FIELDS, settlement_fields
from emulator.domain.records import SessionRecord
from emulator.domain.vocabulary import ACH_DEBIT, MATCHER_SUFFIX

__all__ = [
    "CONNECTOR_PREFIX",
    "PROCESSING",
    "Params",
    "action_params",
    "refusal_params",
    "status_params",
]

Params = list[tuple[str, str]]

PROCESSING: Final = "payment-processing"
"""The statusCallback's ``For`` while the connector processes the payment."""
CONNECTOR_PREFIX: Final = "PayConnector_"


def _values(record: SessionRecord) -> Params:
    """The method's fields, masked, as captured so far (empty when not)."""
    session = record.session
    ach = record.request.payment_method == ACH_DEBIT
    fields = BANK_FIELDS if ach else CARD_FIELDS
    values = {item: session.captured[item].value for item in fields if item in session.captured}
    pay = record.pay
    if not ach and pay is not None and pay.postal_code is not None:
        values["postal-code"] = pay.postal_code  # given as the attribute: not PCI data
    params = [(name, values.get(item, "")) for item, name in fields.items()]
    if ach:
        params.append(("BankAccountType", record.request.bank_account_type or ""))
    else:
        params.insert(1, ("PaymentCardType", session.card_brand or ""))
    return params


def status_params(
    record: SessionRecord,
    step: str,
    attempt: int,
    error_type: str = "",
    payment_error: str | None = None,
) -> Params:
    """The statusCallback at ``step`` (an item, or :data:`PROCESSING`): ``For``, ``Attempt``,
    ``ErrorType`` (empty when none), ``PaymentError`` for an entry the caller's silence ended
    ("See PaymentError for more details on the field the caller timed out on"), and the
    fields captured so far."""
    params: Params = [
        ("AccountSid", record.account_sid),
        ("CallSid", record.call_sid),
        ("For", step.removesuffix(MATCHER_SUFFIX)),
        ("ErrorType", error_type),
        ("Attempt", str(attempt)),
    ]
    if payment_error is not None:
        params.append(("PaymentError", payment_error))
    return params + _values(record)


def action_params(record: SessionRecord) -> Params:
    """What the ``action`` request adds to the standard parameters, for a session that
    ended."""
    settlement = record.session.settlement
    assert settlement is not None
    params: Params = [
        ("Result", settlement.result.value),
        ("PaymentMethod", record.request.payment_method),
        *_values(record),
        *settlement_fields(settlement),
    ]
    return params + connector_params(settlement)


def connector_params(settlement: Settlement) -> Params:
    """A Generic Pay Connector's custom parameters, ``PayConnector_<key>``."""
    return [(CONNECTOR_PREFIX + key, value) for key, value in settlement.parameters]


def refusal_params(
    result: str, payment_method: str, payment_error: str, pay_error_code: int | None
) -> Params:
    """The ``action`` request's additions for a ``<Pay>`` that collected nothing: an attribute
    Twilio refuses (``validation-error``), another session already on the call."""
    ach = payment_method == ACH_DEBIT
    values: Params = [(name, "") for name in (BANK_FIELDS if ach else CARD_FIELDS).values()]
    if ach:
        values.append(("BankAccountType", ""))
    else:
        values.insert(1, ("PaymentCardType", ""))
    return [
        ("Result", result),
        ("PaymentMethod", payment_method),
        *values,
        ("PaymentConfirmationCode", ""),
        ("PaymentToken", ""),
        ("ProfileId", ""),
        ("PaymentError", payment_error),
        ("PayErrorCode", str(pay_error_code or "")),
        ("ConnectorError", ""),
    ]
