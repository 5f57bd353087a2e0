"""Unit and property tests for emulator.domain.payloads (the StatusCallback form fields).

A :class:`SessionRecord` is driven through the pure state machine and ``payloads.build`` is
called after every event, as the service does; the fields are checked against what Twilio's
Payments docs and its observed payloads show: which fields each kind of callback carries, in
which order, and how captured values are masked. No server is involved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clock import format_iso_ms
from emulator.domain import cards, connectors, payloads
from emulator.domain.machine import (
    Event,
    EventKind,
    KeyedDigits,
    Session,
    State,
    cancel,
    capture,
    complete,
    hang_up,
    key_in,
    start,
)
from emulator.domain.records import CreatePayment, SessionRecord

Params = list[tuple[str, str]]

# Identifiers without digits, so that a digit in a callback can only come from captured data.
ACCOUNT = "AC" + "a" * 32
CALL = "CA" + "b" * 32
SID = "PK" + "c" * 32
CALLBACK_URL = "https://example.com/pay-status"

CREATED_MS = 1_628_567_753_408  # the observed first callback's DateCreated
CREATED_ISO = "2021-08-10T03:55:53.408Z"
STEP_MS = 1_000
TODAY = date(2026, 6, 15)

VISA = "4242424242424242"
AMEX = "378282246310005"
EXPIRY = "1229"
SECURITY_CODE = "123"
POSTAL = "94105"
ROUTING = "121000358"
BANK_ACCOUNT = "000123456789"

CARD_ORDER = "payment-card-number,expiration-date,security-code,postal-code"

COMMON = ["AccountSid", "CallSid", "Sid", "DateCreated", "PaymentConnector", "PaymentMethod"]
CAPTURE_KEYS = ["DateUpdated", "Capture", "PartialResult", "Required", "ErrorType"]
END_KEYS = [
    "DateUpdated",
    "Result",
    "PaymentConfirmationCode",
    "PaymentToken",
    "ProfileId",
    "PaymentError",
    "PayErrorCode",
    "ConnectorError",
]
CARD_KEYS = [
    "PaymentCardNumber",
    "PaymentCardType",
    "ExpirationDate",
    "SecurityCode",
    "PaymentCardPostalCode",
]
BANK_KEYS = ["BankRoutingNumber", "BankAccountNumber"]
NO_CARD_VALUES = dict.fromkeys(CARD_KEYS, "")

CHARGE = CreatePayment(status_callback=CALLBACK_URL, charge_amount=Decimal("9.99"))
TOKENIZE = CreatePayment(status_callback=CALLBACK_URL)  # no amount: a reusable token
ACH_CHARGE = CreatePayment(
    status_callback=CALLBACK_URL,
    payment_method="ach-debit",
    bank_account_type="consumer-checking",
    charge_amount=Decimal("25.00"),
)


def new_id() -> str:
    """Stands in for 32 random hex digits (no decimal digits, see ``ACCOUNT``)."""
    return "abcdef" * 5 + "ab"


def fingerprint(digits: str) -> str:
    return f"fp:{digits}"


class Flow:
    """A session record driven through the machine; the callback of every event is kept."""

    def __init__(self, request: CreatePayment, today: date = TODAY) -> None:
        session, event = start(request.session_config())
        self.today = today
        self.ms = CREATED_MS
        self.record = SessionRecord(
            sid=SID,
            account_sid=ACCOUNT,
            call_sid=CALL,
            request=request,
            session=session,
            status_callback=CALLBACK_URL,
            caller="manual",
            created_at_ms=CREATED_MS,
            updated_at_ms=CREATED_MS,
        )
        self.callbacks: list[Params] = [payloads.build(self.record, event)]

    @property
    def session(self) -> Session:
        return self.record.session

    def step(self, result: tuple[Session, Event], at_ms: int | None = None) -> Params:
        session, event = result
        self.ms = at_ms if at_ms is not None else self.ms + STEP_MS
        self.record = replace(self.record, session=session, updated_at_ms=self.ms)
        params = payloads.build(self.record, event)
        self.callbacks.append(params)
        return params

    def capture(self, item: str) -> Params:
        return self.step(capture(self.session, item))

    def key_in(self, digits: str, *, partial: bool = False) -> Params:
        entry = KeyedDigits(digits, partial=partial, fingerprint=fingerprint(digits))
        return self.step(key_in(self.session, entry, self.today))

    def key(self, item: str, digits: str) -> Params:
        self.capture(item)
        return self.key_in(digits)

    def settle(self, session: Session) -> connectors.Settlement:
        request = self.record.request
        return connectors.settle(
            request.payment_method,
            request.charge_amount is not None,
            request.token_type,
            session.gateway_outcome,
            new_id,
        )

    def complete(self, at_ms: int | None = None) -> Params:
        return self.step(complete(self.session, self.settle), at_ms)

    def key_card(
        self,
        number: str = VISA,
        security_code: str = SECURITY_CODE,
        postal: str = POSTAL,
        expiry: str = EXPIRY,
    ) -> None:
        self.key("payment-card-number", number)
        self.key("expiration-date", expiry)
        self.key("security-code", security_code)
        self.key("postal-code", postal)


def as_dict(params: Params) -> dict[str, str]:
    fields = dict(params)
    assert len(fields) == len(params), f"duplicate fields in {params}"
    return fields


def keys(params: Params) -> list[str]:
    return [name for name, _ in params]


def updated(flow: Flow) -> str:
    return format_iso_ms(flow.ms)


# --- create ---------------------------------------------------------------------------------


def test_create_callback_when_charging_is_exactly_the_common_fields() -> None:
    flow = Flow(CHARGE)
    assert flow.callbacks[0] == [
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("Sid", SID),
        ("DateCreated", CREATED_ISO),
        ("PaymentConnector", "Default"),
        ("PaymentMethod", "credit-card"),
        ("ChargeAmount", "9.99"),
    ]


@pytest.mark.parametrize("token_type", ["one-time", "reusable", "payment-method"])
def test_create_callback_when_tokenizing_has_token_type_and_no_amount(token_type: str) -> None:
    request = CreatePayment(
        status_callback=CALLBACK_URL, payment_connector="Stripe_Test", token_type=token_type
    )
    assert Flow(request).callbacks[0] == [
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("Sid", SID),
        ("DateCreated", CREATED_ISO),
        ("PaymentConnector", "Stripe_Test"),
        ("PaymentMethod", "credit-card"),
        ("TokenType", token_type),
    ]


def test_create_callback_for_ach_has_bank_account_type() -> None:
    assert Flow(ACH_CHARGE).callbacks[0] == [
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("Sid", SID),
        ("DateCreated", CREATED_ISO),
        ("PaymentConnector", "Default"),
        ("PaymentMethod", "ach-debit"),
        ("BankAccountType", "consumer-checking"),
        ("ChargeAmount", "25.00"),
    ]


def test_create_callback_for_ach_tokenizing() -> None:
    request = CreatePayment(
        status_callback=CALLBACK_URL,
        payment_method="ach-debit",
        bank_account_type="commercial-savings",
        token_type="one-time",
    )
    fields = as_dict(Flow(request).callbacks[0])
    assert keys(Flow(request).callbacks[0]) == [*COMMON, "BankAccountType", "TokenType"]
    assert fields["BankAccountType"] == "commercial-savings"
    assert fields["TokenType"] == "one-time"


def test_create_callback_has_the_keys_of_the_observed_real_payload() -> None:
    # A real first callback from Twilio: PaymentConnector=PGP_MOCK, DateCreated=2021-08-10T03:55:53.408Z,
    # PaymentMethod=credit-card, CallSid=CA…, ChargeAmount=9.99, AccountSid=AC…, Sid=PK…
    request = replace(CHARGE, payment_connector="PGP_MOCK")
    fields = as_dict(Flow(request).callbacks[0])
    assert set(fields) == {
        "PaymentConnector",
        "DateCreated",
        "PaymentMethod",
        "CallSid",
        "ChargeAmount",
        "AccountSid",
        "Sid",
    }
    assert fields["PaymentConnector"] == "PGP_MOCK"
    assert fields["DateCreated"] == "2021-08-10T03:55:53.408Z"
    assert fields["PaymentMethod"] == "credit-card"
    assert fields["ChargeAmount"] == "9.99"
    assert fields["CallSid"].startswith("CA")
    assert fields["AccountSid"].startswith("AC")
    assert fields["Sid"].startswith("PK")


@pytest.mark.parametrize(
    ("ms", "iso"),
    [
        (CREATED_MS, CREATED_ISO),
        (0, "1970-01-01T00:00:00.000Z"),
        (1_628_567_753_005, "2021-08-10T03:55:53.005Z"),
        (1_628_567_753_999, "2021-08-10T03:55:53.999Z"),
        (1_767_225_599_000, "2025-12-31T23:59:59.000Z"),
    ],
)
def test_date_created_is_iso_8601_utc_with_milliseconds(ms: int, iso: str) -> None:
    flow = Flow(CHARGE)
    record = replace(flow.record, created_at_ms=ms, updated_at_ms=ms)
    assert as_dict(payloads.build(record, Event(EventKind.CREATE)))["DateCreated"] == iso
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso)


# --- capture --------------------------------------------------------------------------------


def test_first_capture_callback_is_exact() -> None:
    flow = Flow(CHARGE)
    params = flow.capture("payment-card-number")
    assert params == [
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("Sid", SID),
        ("DateCreated", CREATED_ISO),
        ("PaymentConnector", "Default"),
        ("PaymentMethod", "credit-card"),
        ("ChargeAmount", "9.99"),
        ("DateUpdated", format_iso_ms(CREATED_MS + STEP_MS)),
        ("Capture", "payment-card-number"),
        ("PartialResult", "false"),
        ("Required", CARD_ORDER),
        ("ErrorType", ""),
        ("PaymentCardNumber", ""),
        ("PaymentCardType", ""),
        ("ExpirationDate", ""),
        ("SecurityCode", ""),
        ("PaymentCardPostalCode", ""),
    ]
    assert as_dict(params)["DateUpdated"] == "2021-08-10T03:55:54.408Z"


def test_capture_callback_when_tokenizing_has_the_same_shape() -> None:
    params = Flow(TOKENIZE).capture("expiration-date")
    assert keys(params) == [*COMMON, "TokenType", *CAPTURE_KEYS, *CARD_KEYS]
    assert as_dict(params)["Capture"] == "expiration-date"


def test_ach_capture_callback_has_bank_fields_and_no_card_fields() -> None:
    flow = Flow(ACH_CHARGE)
    params = flow.capture("bank-routing-number")
    assert params == [
        ("AccountSid", ACCOUNT),
        ("CallSid", CALL),
        ("Sid", SID),
        ("DateCreated", CREATED_ISO),
        ("PaymentConnector", "Default"),
        ("PaymentMethod", "ach-debit"),
        ("BankAccountType", "consumer-checking"),
        ("ChargeAmount", "25.00"),
        ("DateUpdated", updated(flow)),
        ("Capture", "bank-routing-number"),
        ("PartialResult", "false"),
        ("Required", "bank-routing-number,bank-account-number"),
        ("ErrorType", ""),
        ("BankRoutingNumber", ""),
        ("BankAccountNumber", ""),
    ]


@pytest.mark.parametrize(
    ("flags", "required"),
    [
        ({}, CARD_ORDER),
        ({"security_code": False}, "payment-card-number,expiration-date,postal-code"),
        ({"postal_code": False}, "payment-card-number,expiration-date,security-code"),
        ({"security_code": False, "postal_code": False}, "payment-card-number,expiration-date"),
        (
            {"require_matching_inputs": ("security-code", "payment-card-number")},
            CARD_ORDER + ",payment-card-number-matcher,security-code-matcher",
        ),
    ],
)
def test_required_follows_the_create_flags_in_twilio_order(
    flags: dict[str, object], required: str
) -> None:
    request = replace(CHARGE, **flags)
    params = Flow(request).capture("expiration-date")
    assert as_dict(params)["Required"] == required
    # The field list does not depend on the flags: every card field is always present.
    assert keys(params) == [*COMMON, "ChargeAmount", *CAPTURE_KEYS, *CARD_KEYS]


def test_capture_callback_shows_the_values_captured_so_far() -> None:
    flow = Flow(CHARGE)
    flow.key("payment-card-number", VISA)
    flow.key("expiration-date", EXPIRY)
    fields = as_dict(flow.capture("security-code"))
    assert fields["Capture"] == "security-code"
    assert fields["Required"] == "security-code,postal-code"
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert fields["PaymentCardType"] == "visa"
    assert fields["ExpirationDate"] == EXPIRY
    assert fields["SecurityCode"] == ""
    assert fields["PaymentCardPostalCode"] == ""


# --- caller input ---------------------------------------------------------------------------


def test_valid_card_entries_are_masked_and_required_shrinks() -> None:
    flow = Flow(CHARGE)
    steps = [
        (
            "payment-card-number",
            VISA,
            "expiration-date,security-code,postal-code",
            {"PaymentCardNumber": "xxxxxxxxxxxx4242", "PaymentCardType": "visa"},
        ),
        ("expiration-date", EXPIRY, "security-code,postal-code", {"ExpirationDate": EXPIRY}),
        ("security-code", SECURITY_CODE, "postal-code", {"SecurityCode": "xxx"}),
        ("postal-code", POSTAL, "", {"PaymentCardPostalCode": POSTAL}),
    ]
    shown = dict(NO_CARD_VALUES)
    for item, digits, required, values in steps:
        params = flow.key(item, digits)
        shown.update(values)
        assert params == [
            *flow.callbacks[0],
            ("DateUpdated", updated(flow)),
            ("Capture", item),
            ("PartialResult", "false"),
            ("Required", required),
            ("ErrorType", ""),
            *shown.items(),
        ]


def test_amex_entries_are_masked() -> None:
    flow = Flow(CHARGE)
    fields = as_dict(flow.key("payment-card-number", AMEX))
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxx0005"
    assert fields["PaymentCardType"] == "amex"
    fields = as_dict(flow.key("security-code", "1234"))
    assert fields["SecurityCode"] == "xxxx"
    assert fields["ErrorType"] == ""


def test_valid_ach_entries_are_masked_and_required_shrinks() -> None:
    flow = Flow(ACH_CHARGE)
    fields = as_dict(flow.key("bank-routing-number", ROUTING))
    assert fields["Required"] == "bank-account-number"
    assert fields["BankRoutingNumber"] == ROUTING  # the routing number is shown in clear
    assert fields["BankAccountNumber"] == ""
    params = flow.key("bank-account-number", BANK_ACCOUNT)
    assert params == [
        *flow.callbacks[0],
        ("DateUpdated", updated(flow)),
        ("Capture", "bank-account-number"),
        ("PartialResult", "false"),
        ("Required", ""),
        ("ErrorType", ""),
        ("BankRoutingNumber", ROUTING),
        ("BankAccountNumber", "**********89"),
    ]
    fields = as_dict(params)
    assert fields["Required"] == ""
    assert fields["BankAccountNumber"] == "**********89"
    assert not set(CARD_KEYS) & set(fields)


def test_twilios_bank_account_example_is_masked_except_the_last_two() -> None:
    flow = Flow(ACH_CHARGE)
    fields = as_dict(flow.key("bank-account-number", "508862392"))
    assert fields["BankAccountNumber"] == "*******92"
    assert fields["Required"] == "bank-routing-number"


@pytest.mark.parametrize(
    ("before", "item", "digits", "error_type"),
    [
        ([], "payment-card-number", "4242424242424241", "invalid-card-number"),
        ([], "payment-card-number", "1234", "invalid-card-number"),
        ([], "expiration-date", "1320", "invalid-date"),
        ([], "expiration-date", "0120", "invalid-date"),
        (
            [],
            "security-code",
            SECURITY_CODE,
            "invalid-card-number-security-code-capture-sequence",
        ),
        ([("payment-card-number", VISA)], "security-code", "12", "invalid-security-code"),
        ([("payment-card-number", AMEX)], "security-code", "123", "invalid-security-code"),
        ([], "postal-code", "", "invalid-postal-code"),
    ],
)
def test_invalid_card_entry_carries_its_error_type_and_required_is_unchanged(
    before: list[tuple[str, str]], item: str, digits: str, error_type: str
) -> None:
    flow = Flow(CHARGE)
    for earlier_item, earlier_digits in before:
        flow.key(earlier_item, earlier_digits)
    capture_fields = as_dict(flow.capture(item))
    fields = as_dict(flow.key_in(digits))
    assert fields["ErrorType"] == error_type
    assert fields["Capture"] == item
    assert fields["PartialResult"] == "false"
    assert fields["Required"] == capture_fields["Required"]
    # Nothing new is shown: the refused entry leaves the captured values as they were.
    assert {k: fields[k] for k in CARD_KEYS} == {k: capture_fields[k] for k in CARD_KEYS}


def test_invalid_card_type_is_refused() -> None:
    flow = Flow(replace(CHARGE, valid_card_types=("mastercard",)))
    fields = as_dict(flow.key("payment-card-number", VISA))
    assert fields["ErrorType"] == "invalid-card-type"
    assert fields["Required"] == CARD_ORDER
    assert fields["PaymentCardNumber"] == ""
    assert fields["PaymentCardType"] == ""


@pytest.mark.parametrize(
    ("item", "digits", "error_type"),
    [
        ("bank-routing-number", "123456789", "invalid-bank-routing-number"),
        ("bank-account-number", "123", "invalid-bank-account-number"),
    ],
)
def test_invalid_ach_entry_carries_its_error_type(item: str, digits: str, error_type: str) -> None:
    flow = Flow(ACH_CHARGE)
    fields = as_dict(flow.key(item, digits))
    assert fields["ErrorType"] == error_type
    assert fields["Required"] == "bank-routing-number,bank-account-number"
    assert fields["BankRoutingNumber"] == ""
    assert fields["BankAccountNumber"] == ""


def test_error_type_clears_on_the_next_event() -> None:
    flow = Flow(CHARGE)
    assert as_dict(flow.key("expiration-date", "1320"))["ErrorType"] == "invalid-date"
    assert as_dict(flow.key_in(EXPIRY))["ErrorType"] == ""


def test_partial_card_entries_show_the_partial_masked_value() -> None:
    flow = Flow(CHARGE)
    flow.capture("payment-card-number")
    fields = as_dict(flow.key_in("4242", partial=True))
    assert fields["PartialResult"] == "true"
    assert fields["Capture"] == "payment-card-number"
    assert fields["Required"] == CARD_ORDER
    assert fields["ErrorType"] == ""
    assert fields["PaymentCardNumber"] == "xxxx"
    assert fields["PaymentCardType"] == ""
    fields = as_dict(flow.key_in("42424242", partial=True))
    assert fields["PartialResult"] == "true"
    assert fields["PaymentCardNumber"] == "xxxx4242"
    fields = as_dict(flow.key_in(VISA))
    assert fields["PartialResult"] == "false"
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert fields["Required"] == "expiration-date,security-code,postal-code"


@pytest.mark.parametrize(
    ("item", "digits", "field", "shown"),
    [
        ("expiration-date", "12", "ExpirationDate", "12"),
        ("postal-code", "941", "PaymentCardPostalCode", "941"),
    ],
)
def test_partial_clear_entries_are_shown_as_keyed(
    item: str, digits: str, field: str, shown: str
) -> None:
    flow = Flow(CHARGE)
    flow.capture(item)
    fields = as_dict(flow.key_in(digits, partial=True))
    assert fields["PartialResult"] == "true"
    assert fields[field] == shown


def test_partial_security_code_is_all_masked() -> None:
    flow = Flow(CHARGE)
    flow.key("payment-card-number", VISA)
    flow.capture("security-code")
    fields = as_dict(flow.key_in("12", partial=True))
    assert fields["SecurityCode"] == "xx"
    assert fields["PartialResult"] == "true"


def test_partial_ach_entries_show_the_partial_masked_value() -> None:
    flow = Flow(ACH_CHARGE)
    flow.capture("bank-account-number")
    assert as_dict(flow.key_in("12", partial=True))["BankAccountNumber"] == "**"
    assert as_dict(flow.key_in("12345", partial=True))["BankAccountNumber"] == "***45"
    flow.capture("bank-routing-number")
    assert as_dict(flow.key_in("1210", partial=True))["BankRoutingNumber"] == "1210"


def test_partial_reentry_replaces_the_captured_value_only_while_typing() -> None:
    flow = Flow(CHARGE)
    flow.key("payment-card-number", VISA)
    flow.capture("payment-card-number")
    fields = as_dict(flow.key_in("55555", partial=True))
    assert fields["PaymentCardNumber"] == "x5555"
    # The entry is not yet accepted: Required and the brand are those of the first card.
    assert fields["Required"] == "expiration-date,security-code,postal-code"
    assert fields["PaymentCardType"] == "visa"


def test_new_card_number_drops_the_security_code() -> None:
    flow = Flow(CHARGE)
    flow.key_card()
    fields = as_dict(flow.key("payment-card-number", "5555555555554444"))
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4444"
    assert fields["PaymentCardType"] == "mastercard"
    assert fields["SecurityCode"] == ""
    assert fields["Required"] == "security-code"


def test_matcher_entries() -> None:
    flow = Flow(replace(CHARGE, require_matching_inputs=("payment-card-number",)))
    flow.key("payment-card-number", VISA)
    flow.capture("payment-card-number-matcher")
    fields = as_dict(flow.key_in("4242", partial=True))
    assert fields["Capture"] == "payment-card-number-matcher"
    assert fields["PaymentCardNumber"] == "xxxx"  # the partial second entry, in its base field
    fields = as_dict(flow.key_in("4000056655665556"))
    assert fields["ErrorType"] == "input-matching-failed"
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert "payment-card-number-matcher" in fields["Required"].split(",")
    fields = as_dict(flow.key_in(VISA))
    assert fields["ErrorType"] == ""
    assert fields["Required"] == "expiration-date,security-code,postal-code"
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4242"


# --- end of the session ---------------------------------------------------------------------


def test_complete_with_a_charge() -> None:
    flow = Flow(CHARGE)
    flow.key_card()
    params = flow.complete()
    assert params == [
        *flow.callbacks[0],
        ("DateUpdated", updated(flow)),
        ("Result", "success"),
        ("PaymentConfirmationCode", "ch_" + new_id()[:24]),
        ("PaymentToken", ""),
        ("ProfileId", ""),
        ("PaymentError", ""),
        ("PayErrorCode", ""),
        ("ConnectorError", ""),
        ("PaymentCardNumber", "xxxxxxxxxxxx4242"),
        ("PaymentCardType", "visa"),
        ("ExpirationDate", EXPIRY),
        ("SecurityCode", "xxx"),
        ("PaymentCardPostalCode", POSTAL),
    ]


def test_complete_with_a_reusable_token() -> None:
    flow = Flow(TOKENIZE)
    flow.key_card()
    fields = as_dict(flow.complete())
    assert keys(flow.callbacks[-1]) == [*COMMON, "TokenType", *END_KEYS, *CARD_KEYS]
    assert fields["TokenType"] == "reusable"
    assert fields["Result"] == "success"
    assert fields["PaymentConfirmationCode"] == ""
    assert fields["PaymentToken"] == "tok_" + new_id()[:24]
    assert fields["ProfileId"] == "cus_" + new_id()[:14]
    assert fields["PaymentError"] == fields["PayErrorCode"] == fields["ConnectorError"] == ""
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert fields["SecurityCode"] == "xxx"


def test_complete_matches_the_observed_real_payload() -> None:
    # A real complete(charge) callback published from Twilio (a 4111… card expiring 1225).
    flow = Flow(CHARGE, today=date(2021, 8, 10))
    flow.key_card(number="4111111111111111", expiry="1225")
    fields = as_dict(flow.complete(at_ms=1_628_567_907_290))
    observed = {
        "SecurityCode": "xxx",
        "PaymentCardType": "visa",
        "Result": "success",
        "ProfileId": "",
        "DateUpdated": "2021-08-10T03:58:27.290Z",
        "PaymentToken": "",
        "PaymentMethod": "credit-card",
        "PaymentCardNumber": "xxxxxxxxxxxx1111",
        "ExpirationDate": "1225",
    }
    assert {name: fields[name] for name in observed} == observed
    assert {"Sid", "CallSid", "AccountSid", "PaymentConfirmationCode"} <= set(fields)
    assert fields["PaymentConfirmationCode"].startswith("ch_")


def test_complete_ach_charge() -> None:
    flow = Flow(ACH_CHARGE)
    flow.key("bank-routing-number", ROUTING)
    flow.key("bank-account-number", BANK_ACCOUNT)
    params = flow.complete()
    assert keys(params) == [*COMMON, "BankAccountType", "ChargeAmount", *END_KEYS, *BANK_KEYS]
    fields = as_dict(params)
    assert fields["Result"] == "success"
    assert fields["PaymentConfirmationCode"] == "py_" + new_id()[:24]
    assert fields["BankRoutingNumber"] == ROUTING
    assert fields["BankAccountNumber"] == "**********89"


def test_declined_card() -> None:
    flow = Flow(CHARGE)
    flow.key_card(number=cards.DECLINE_CARD)
    assert flow.session.gateway_outcome == "declined"
    fields = as_dict(flow.complete())
    assert fields["Result"] == "payment-connector-error"
    assert fields["PayErrorCode"] == "64012"
    assert fields["PaymentError"] == "card is declined"
    assert fields["ConnectorError"] == "card_declined"
    assert fields["PaymentConfirmationCode"] == fields["PaymentToken"] == ""
    assert fields["ProfileId"] == ""
    assert fields["PaymentCardNumber"] == "xxxxxxxxxxxx0002"


def test_declined_settlement_given_directly() -> None:
    flow = Flow(CHARGE)
    flow.key_card()
    settlement = connectors.settle("credit-card", True, "reusable", "declined", new_id)
    fields = as_dict(flow.step(complete(flow.session, lambda _session: settlement)))
    assert fields["Result"] == "payment-connector-error"
    assert fields["PayErrorCode"] == "64012"
    assert fields["PaymentError"] == "card is declined"


def test_processor_unavailable() -> None:
    flow = Flow(TOKENIZE)
    flow.key_card(number=cards.UNAVAILABLE_CARD)
    fields = as_dict(flow.complete())
    assert fields["Result"] == "payment-connector-error"
    assert fields["PayErrorCode"] == "64002"
    assert fields["PaymentToken"] == fields["ProfileId"] == ""


def _do_cancel(flow: Flow) -> Params:
    return flow.step(cancel(flow.session))


def _do_hang_up(flow: Flow) -> Params:
    result = hang_up(flow.session)
    assert result is not None
    return flow.step(result)


def _do_star(flow: Flow) -> Params:
    flow.capture("postal-code")
    return flow.key_in("*")


@pytest.mark.parametrize(
    ("end", "result", "state"),
    [
        (_do_cancel, "transaction-cancelled", State.CANCELLED),
        (_do_hang_up, "caller-hung-up", State.ENDED),
        (_do_star, "caller-interrupted-with-star", State.ENDED),
    ],
    ids=["cancel", "hang-up", "star"],
)
def test_session_ended_without_settlement(
    end: Callable[[Flow], Params], result: str, state: State
) -> None:
    flow = Flow(CHARGE)
    flow.key("payment-card-number", VISA)
    flow.key("expiration-date", EXPIRY)
    flow.key("security-code", SECURITY_CODE)
    params = end(flow)
    assert flow.session.state is state
    assert params == [
        *flow.callbacks[0],
        ("DateUpdated", updated(flow)),
        ("Result", result),
        ("PaymentConfirmationCode", ""),
        ("PaymentToken", ""),
        ("ProfileId", ""),
        ("PaymentError", ""),
        ("PayErrorCode", ""),
        ("ConnectorError", ""),
        ("PaymentCardNumber", "xxxxxxxxxxxx4242"),
        ("PaymentCardType", "visa"),
        ("ExpirationDate", EXPIRY),
        ("SecurityCode", "xxx"),
        ("PaymentCardPostalCode", ""),
    ]


@pytest.mark.parametrize("end", [_do_cancel, _do_hang_up], ids=["cancel", "hang-up"])
def test_ach_session_ended(end: Callable[[Flow], Params]) -> None:
    flow = Flow(ACH_CHARGE)
    flow.key("bank-account-number", BANK_ACCOUNT)
    params = end(flow)
    assert keys(params) == [*COMMON, "BankAccountType", "ChargeAmount", *END_KEYS, *BANK_KEYS]
    assert as_dict(params)["BankAccountNumber"] == "**********89"


# --- every callback -------------------------------------------------------------------------


def _every_kind_of_flow() -> list[Flow]:
    flows = []
    flow = Flow(CHARGE)
    flow.capture("payment-card-number")
    flow.key_in("4242", partial=True)
    flow.key_in("4242424242424241")
    flow.key_in(VISA)
    flow.key_card()
    flow.complete()
    flows.append(flow)
    flow = Flow(TOKENIZE)
    flow.key_card(number=cards.DECLINE_CARD)
    flow.complete()
    flows.append(flow)
    flow = Flow(ACH_CHARGE)
    flow.key("bank-routing-number", ROUTING)
    flow.capture("bank-account-number")
    flow.key_in("12", partial=True)
    flow.key_in("*")
    flows.append(flow)
    return flows


def test_every_field_name_and_value_is_a_str() -> None:
    for flow in _every_kind_of_flow():
        for params in flow.callbacks:
            as_dict(params)
            for name, value in params:
                assert type(name) is str
                assert type(value) is str, (name, value)


def test_every_callback_starts_with_the_common_fields() -> None:
    for flow in _every_kind_of_flow():
        for params in flow.callbacks:
            assert params[: len(flow.callbacks[0])] == flow.callbacks[0]


# --- hygiene: the card number never leaks ---------------------------------------------------


def luhn_complete(body: str) -> str:
    """``body`` followed by its Luhn check digit."""
    for check in "0123456789":
        if cards.luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


visa_numbers = st.text("0123456789", min_size=14, max_size=14).map(
    lambda rest: luhn_complete("4" + rest)
)


def digit_runs(number: str, length: int = 5) -> set[str]:
    return {number[i : i + length] for i in range(len(number) - length + 1)}


@settings(max_examples=200, deadline=None)
@given(
    number=visa_numbers,
    security_code=st.text("0123456789", min_size=3, max_size=3),
    charging=st.booleans(),
    split=st.integers(min_value=1, max_value=15),
)
def test_no_callback_leaks_the_card_number(
    number: str, security_code: str, charging: bool, split: int
) -> None:
    assert len(number) == 16
    assert cards.luhn_valid(number)
    assert cards.card_brand(number) == "visa"
    flow = Flow(CHARGE if charging else TOKENIZE)
    flow.capture("payment-card-number")
    flow.key_in(number[:split], partial=True)
    flow.key_in(number)
    flow.capture("security-code")
    flow.key_in(security_code[:2], partial=True)
    flow.key_in(security_code)
    # Postal code and expiry without a run of 5 digits, so any such run would be a leak.
    flow.key("postal-code", "K1A0B1")
    flow.key("expiration-date", EXPIRY)
    flow.complete()
    assert flow.session.state is State.COMPLETED

    runs = digit_runs(number)
    for params in flow.callbacks:
        for name, value in params:
            assert number not in value, name
            leaked = [run for run in runs if run in value]
            assert not leaked, (name, value)
            if name == "SecurityCode":
                assert not re.search(r"\d", value), value
    last = as_dict(flow.callbacks[-1])
    assert last["PaymentCardNumber"] == "x" * 12 + number[-4:]
    assert last["SecurityCode"] == "xxx"


def test_a_cancels_result_is_the_setting_and_empty_leaves_it_out() -> None:
    """Twilio documents no Result for a cancel (emulator's choice: transaction-cancelled;
    the cancel_result setting gives another, or none)."""
    flow = Flow(CHARGE)
    session, event = cancel(flow.session)
    ended = replace(flow.record, session=session)
    assert ("Result", "transaction-cancelled") in payloads.build(ended, event)
    assert ("Result", "voided") in payloads.build(ended, event, cancel_result="voided")
    fields = dict(payloads.build(ended, event, cancel_result=""))
    assert "Result" not in fields
    assert fields["PaymentError"] == ""
