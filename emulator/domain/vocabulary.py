"""Twilio's words for payments, each defined once: the enums of the Payments resource and the
emulator's own small vocabulary (caller modes, what a keypad can send).

Each set is a ``Literal`` type (for pydantic models: fixtures, settings, the control plane)
and the tuple of its values (for the code), the tuple derived from the type.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "ACH_DEBIT",
    "AUTO",
    "BANK_ACCOUNT_TYPES",
    "BANK_ITEMS",
    "CALLER_MODES",
    "CAPTURE_ITEMS",
    "CARD_BRANDS",
    "CARD_ITEMS",
    "CREATE_PARAMETERS",
    "CREDIT_CARD",
    "KEYPAD_PATTERN",
    "MANUAL",
    "MATCHER_SUFFIX",
    "PAYMENT_METHODS",
    "SILENCE",
    "STATUSES",
    "TOKEN_TYPES",
    "UPDATE_PARAMETERS",
    "BankAccountType",
    "CallerMode",
    "CaptureItem",
    "PaymentMethod",
    "Status",
    "TokenType",
]

CREATE_PARAMETERS: Final = (
    "IdempotencyKey",
    "StatusCallback",
    "BankAccountType",
    "ChargeAmount",
    "Currency",
    "Description",
    "Input",
    "MinPostalCodeLength",
    "Parameter",
    "PaymentConnector",
    "PaymentMethod",
    "PostalCode",
    "SecurityCode",
    "Timeout",
    "TokenType",
    "ValidCardTypes",
    "RequireMatchingInputs",
    "Confirmation",
)
"""The form fields of a Payments create, in the order of Twilio's spec (CreatePaymentsRequest)."""
UPDATE_PARAMETERS: Final = ("IdempotencyKey", "StatusCallback", "Capture", "Status")
"""The form fields of a Payments update (UpdatePaymentsRequest)."""

CARD_BRANDS: Final = (
    "visa",
    "mastercard",
    "amex",
    "maestro",
    "discover",
    "optima",
    "jcb",
    "diners-club",
    "enroute",
)
"""The card types ``ValidCardTypes`` accepts, spelled as Twilio spells them."""

PaymentMethod = Literal["credit-card", "ach-debit"]
PAYMENT_METHODS: Final[tuple[PaymentMethod, ...]] = get_args(PaymentMethod)
CREDIT_CARD: Final = "credit-card"
ACH_DEBIT: Final = "ach-debit"

BankAccountType = Literal["consumer-checking", "consumer-savings", "commercial-checking"]
BANK_ACCOUNT_TYPES: Final[tuple[str, ...]] = get_args(BankAccountType)

TokenType = Literal["one-time", "reusable", "payment-method"]
TOKEN_TYPES: Final[tuple[TokenType, ...]] = get_args(TokenType)

Status = Literal["complete", "cancel"]
STATUSES: Final[tuple[str, ...]] = get_args(Status)

CaptureItem = Literal[
    "payment-card-number",
    "expiration-date",
    "security-code",
    "postal-code",
    "bank-routing-number",
    "bank-account-number",
    "payment-card-number-matcher",
    "expiration-date-matcher",
    "security-code-matcher",
    "postal-code-matcher",
]
CAPTURE_ITEMS: Final[tuple[str, ...]] = get_args(CaptureItem)
CARD_ITEMS: Final = CAPTURE_ITEMS[:4]
BANK_ITEMS: Final = CAPTURE_ITEMS[4:6]
MATCHER_SUFFIX: Final = "-matcher"

CallerMode = Literal["auto", "manual"]
"""``auto``: the simulated caller keys its script after each Capture; ``manual``: only when a
test tells it to."""
CALLER_MODES: Final[tuple[str, ...]] = get_args(CallerMode)
AUTO: Final = "auto"
MANUAL: Final = "manual"

SILENCE: Final = "..."
"""At the end of a caller's scripted value: the caller keys what comes before, then stops
(``"42424242..."``); alone, the caller says nothing at all for the item."""

KEYPAD_PATTERN: Final = r"^(?:[0-9A-Za-z*#]{1,32}|[0-9A-Za-z*#]{0,32}\.\.\.)$"
"""What a caller's script may hold for one item: up to 32 keypad characters, possibly
followed by :data:`SILENCE`."""
