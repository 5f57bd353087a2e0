"""Pay Connectors: what a connector can do, and how it settles a completed session. Pure.

``Default`` exists on every account and can do everything; fixtures declare others per
account. At create, a request the connector cannot serve is refused (64013, 64007, 64005,
64006, 64011). At complete, the connector answers like Stripe's test mode: magic card
numbers decline (64012) or find the processor unavailable (64002); anything else succeeds
with a confirmation code when charging, or a token (and a customer id for reusable tokens)
when tokenizing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from emulator.errors import (
    ConnectorCannotCharge,
    ConnectorCannotTokenize,
    ConnectorCurrencyUnsupported,
    ConnectorPaymentMethodUnsupported,
    ConnectorTokenTypeUnsupported,
)
from emulator.payments.machine import Result, Settlement
from emulator.payments.vocabulary import ACH_DEBIT, PAYMENT_METHODS, TOKEN_TYPES

__all__ = ["DEFAULT_CONNECTOR", "Connector", "check_request", "settle"]


@dataclass(frozen=True, slots=True)
class Connector:
    name: str
    charge: bool = True
    tokenize: bool = True
    currencies: tuple[str, ...] | None = None  # None: any currency
    payment_methods: tuple[str, ...] = PAYMENT_METHODS
    token_types: tuple[str, ...] = TOKEN_TYPES


DEFAULT_CONNECTOR: Final = Connector("Default")


def check_request(
    connector: Connector, payment_method: str, charging: bool, currency: str, token_type: str
) -> None:
    """Refuse, with Twilio's code, a session this connector cannot serve."""
    if payment_method not in connector.payment_methods:
        raise ConnectorPaymentMethodUnsupported(
            f"Pay: Connector '{connector.name}' does not support PaymentMethod {payment_method}"
        )
    if charging and not connector.charge:
        raise ConnectorCannotCharge(
            f"Pay: Connector '{connector.name}' does not support creating charge"
        )
    if not charging and not connector.tokenize:
        raise ConnectorCannotTokenize(
            f"Pay: Connector '{connector.name}' does not support tokenization"
            " (ChargeAmount is 0 or absent)"
        )
    if not charging and token_type not in connector.token_types:
        raise ConnectorTokenTypeUnsupported(
            f"Pay: Connector '{connector.name}' does not support TokenType {token_type}"
        )
    if charging and connector.currencies is not None and currency not in connector.currencies:
        raise ConnectorCurrencyUnsupported(
            f"Pay: Connector '{connector.name}' does not support the currency {currency}"
        )


def settle(
    payment_method: str,
    charging: bool,
    token_type: str,
    card_outcome: str | None,
    new_id: Callable[[], str],
) -> Settlement:
    """The connector's answer to ``Status=complete``; ``new_id`` makes 32 random hex digits."""
    if payment_method != ACH_DEBIT and card_outcome == "declined":
        return Settlement(
            Result.PAYMENT_CONNECTOR_ERROR,
            error="card is declined",
            pay_error_code=64012,
            connector_error="card_declined",
        )
    if payment_method != ACH_DEBIT and card_outcome == "unavailable":
        return Settlement(
            Result.PAYMENT_CONNECTOR_ERROR,
            error="payment processor is unavailable, try again later",
            pay_error_code=64002,
            connector_error="processing_error",
        )
    if charging:
        prefix = "py_" if payment_method == ACH_DEBIT else "ch_"
        return Settlement(Result.SUCCESS, confirmation_code=prefix + new_id()[:24])
    if token_type == "payment-method":
        return Settlement(Result.SUCCESS, token="pm_" + new_id()[:24])
    if token_type == "reusable":
        return Settlement(
            Result.SUCCESS, token="tok_" + new_id()[:24], profile_id="cus_" + new_id()[:14]
        )
    return Settlement(Result.SUCCESS, token="tok_" + new_id()[:24])
