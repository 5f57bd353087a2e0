"""StatusCallback payloads: what Twilio POSTs for each session event. Pure.

Field names and masking follow Twilio's Payments docs and the payloads seen from it (README,
"StatusCallbacks"): the common fields on every
callback; on capture updates ``Capture``, ``PartialResult``, ``Required``, ``ErrorType`` and the
values captured so far (masked); when the session ends ``Result`` and the connector's fields.
Empty fields are sent as empty strings. Dates are ISO 8601 UTC with milliseconds, as in the
real payloads.
"""

from __future__ import annotations

from emulator.clock import format_iso_ms
from emulator.domain.machine import Event, EventKind, Session, Settlement, required
from emulator.domain.records import SessionRecord
from emulator.domain.vocabulary import ACH_DEBIT, MATCHER_SUFFIX

__all__ = ["BANK_FIELDS", "CANCEL_RESULT", "CARD_FIELDS", "build", "settlement_fields"]

CANCEL_RESULT = "transaction-cancelled"
"""The ``Result`` a cancel reports by default. Twilio documents none (its Result table has no
cancel value); this is the value a community type definition of the callback lists."""

Params = list[tuple[str, str]]

# Callback field for each captured item.
CARD_FIELDS = {
    "payment-card-number": "PaymentCardNumber",
    "expiration-date": "ExpirationDate",
    "security-code": "SecurityCode",
    "postal-code": "PaymentCardPostalCode",
}
BANK_FIELDS = {
    "bank-routing-number": "BankRoutingNumber",
    "bank-account-number": "BankAccountNumber",
}

_CAPTURE_EVENTS = (EventKind.CAPTURE, EventKind.KEY_IN, EventKind.INPUT_TIMEOUT)
_END_EVENTS = (EventKind.COMPLETE, EventKind.CANCEL, EventKind.HANG_UP, EventKind.STAR)


def build(record: SessionRecord, event: Event, *, cancel_result: str = CANCEL_RESULT) -> Params:
    """The form fields of the callback ``event`` causes, for a session now in ``record``.
    ``cancel_result``: the ``Result`` of a cancel (empty: no ``Result`` field)."""
    params = _common(record)
    if event.kind is EventKind.CREATE:
        return params
    params.append(("DateUpdated", format_iso_ms(record.updated_at_ms)))
    if event.kind in _CAPTURE_EVENTS:
        params += [
            ("Capture", event.item or ""),
            ("PartialResult", "true" if event.partial else "false"),
            ("Required", ",".join(required(record.session))),
            ("ErrorType", event.error_type.value if event.error_type else ""),
        ]
        if event.payment_error is not None:  # a prompt that ended with the caller's silence
            params.append(("PaymentError", event.payment_error))
        params += _values(record, event)
    elif event.kind in _END_EVENTS:
        settlement = record.session.settlement
        assert settlement is not None
        result = cancel_result if event.kind is EventKind.CANCEL else settlement.result.value
        if result:
            params.append(("Result", result))
        params += settlement_fields(settlement)
        params += _values(record, event)
    return params


def settlement_fields(settlement: Settlement) -> Params:
    """The connector's fields of a complete (or cancel) callback, empty ones included."""
    return [
        ("PaymentConfirmationCode", settlement.confirmation_code),
        ("PaymentToken", settlement.token),
        ("ProfileId", settlement.profile_id),
        ("PaymentError", settlement.error),
        ("PayErrorCode", str(settlement.pay_error_code or "")),
        ("ConnectorError", settlement.connector_error),
    ]


def _common(record: SessionRecord) -> Params:
    request = record.request
    params: Params = [
        ("AccountSid", record.account_sid),
        ("CallSid", record.call_sid),
        ("Sid", record.sid),
        ("DateCreated", format_iso_ms(record.created_at_ms)),
        ("PaymentConnector", request.payment_connector),
        ("PaymentMethod", request.payment_method),
    ]
    if request.payment_method == ACH_DEBIT:
        params.append(("BankAccountType", request.bank_account_type or ""))
    if request.charge_amount is not None:
        params.append(("ChargeAmount", str(request.charge_amount)))
    else:
        params.append(("TokenType", request.token_type))
    return params


def _values(record: SessionRecord, event: Event) -> Params:
    """The masked values captured so far; a partial entry shows in its item's field."""
    session: Session = record.session
    fields = BANK_FIELDS if record.request.payment_method == ACH_DEBIT else CARD_FIELDS
    values = {item: session.captured[item].value for item in fields if item in session.captured}
    if event.partial and event.item is not None and event.value is not None:
        item = event.item.removesuffix(MATCHER_SUFFIX)
        if item in fields:
            values[item] = event.value
    params = [(field, values.get(item, "")) for item, field in fields.items()]
    if fields is CARD_FIELDS:
        params.insert(1, ("PaymentCardType", session.card_brand or ""))
    return params
