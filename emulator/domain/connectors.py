"""Pay Connectors: what a connector can do, and how it settles a completed session. Pure.

``Default`` exists on every account and can do everything (the emulator's choice: an emulated
account comes with a connector installed; on Twilio a create without one is 64004); fixtures and the control plane
declare others per account. At create, a request the connector cannot serve is refused (64013,
64007, 64005, 64006, 64011). At complete, a built-in connector answers like Stripe's test
mode: magic card and bank account numbers are refused (:data:`REFUSALS`); anything else
succeeds with a confirmation code when charging, or a token (and a customer id for reusable
tokens) when tokenizing. A generic connector (Generic Pay Connector) answers later, from the
merchant's own endpoint (``emulator/gpc``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from emulator.domain.gpc import GenericConnector
from emulator.domain.machine import Result, Settlement
from emulator.domain.vocabulary import ACH_DEBIT, PAYMENT_METHODS, TOKEN_TYPES
from emulator.errors import (
    AchNeedsAvsName,
    ConnectorCannotCharge,
    ConnectorCannotTokenize,
    ConnectorCurrencyUnsupported,
    ConnectorPaymentMethodUnsupported,
    ConnectorTokenTypeUnsupported,
)

__all__ = ["DEFAULT_CONNECTOR", "REFUSALS", "Connector", "Refusal", "check_request", "settle"]


@dataclass(frozen=True, slots=True)
class Connector:
    name: str
    charge: bool = True
    tokenize: bool = True
    currencies: tuple[str, ...] | None = None  # None: any currency
    payment_methods: tuple[str, ...] = PAYMENT_METHODS
    token_types: tuple[str, ...] = TOKEN_TYPES
    generic: GenericConnector | None = None  # a Generic Pay Connector: the merchant's endpoint


DEFAULT_CONNECTOR: Final = Connector("Default")


def check_request(
    connector: Connector,
    payment_method: str,
    charging: bool,
    currency: str,
    token_type: str,
    parameter: Mapping[str, object] | None = None,
) -> None:
    """Refuse, with Twilio's code, a session this connector cannot serve.

    A built-in connector also needs ``AVSName`` in ``Parameter`` for ACH (64014: "Pay:
    ECP/ACH requires AVSName Parameter in the <Pay> verb."; ECP and AVSName are Chase
    Paymentech's terms, a branded connector the built-in ones stand in for). A Generic Pay
    Connector does not: the GPC page's ACH request has no such field.
    """
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
    avs_name = parameter.get("AVSName") if parameter else None
    if payment_method == ACH_DEBIT and connector.generic is None and not avs_name:
        raise AchNeedsAvsName()


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a built-in connector refuses a magic number: the complete callback's fields."""

    pay_error_code: int
    error: str  # PaymentError
    connector_error: str  # ConnectorError: what the gateway itself said
    charge: bool = True  # refused when charging
    tokenize: bool = True  # refused when tokenizing


# Each magic number's refusal (cards.MAGIC_CARDS, cards.MAGIC_BANK_ACCOUNTS name them). The
# codes are Twilio's (64012 the card is refused, 64002 the provider is unavailable, 64008 and
# 64010 the gateway refused the charge or the token, 64001 the connector's configuration);
# the PaymentError and ConnectorError texts are Stripe's decline codes and messages in
# spirit: the emulator's choice, since Twilio passes the gateway's own words through.
REFUSALS: Final[Mapping[str, Refusal]] = MappingProxyType(
    {
        "declined": Refusal(64012, "card is declined", "card_declined"),
        "unavailable": Refusal(
            64002, "payment processor is unavailable, try again later", "processing_error"
        ),
        "expired-card": Refusal(64012, "card is expired", "expired_card"),
        "incorrect-security-code": Refusal(64012, "security code is incorrect", "incorrect_cvc"),
        "insufficient-funds": Refusal(64012, "card has insufficient funds", "insufficient_funds"),
        "connector-error": Refusal(
            64001,
            "Pay: Configuration Error: the gateway refused the connector's credentials",
            "api_key_expired",
        ),
        "charge-refused": Refusal(
            64008, "Payment Gateway rejected charge creation.", "charge_refused", tokenize=False
        ),
        "token-refused": Refusal(
            64010, "Payment Gateway rejected token creation.", "token_refused", charge=False
        ),
        "no-account": Refusal(64008, "bank account could not be located", "no_account"),
        "ach-insufficient-funds": Refusal(
            64008, "bank account has insufficient funds", "insufficient_funds", tokenize=False
        ),
    }
)


def settle(
    payment_method: str,
    charging: bool,
    token_type: str,
    gateway_outcome: str | None,
    new_id: Callable[[], str],
) -> Settlement:
    """The built-in connector's answer to ``Status=complete``: a refusal for a magic number
    (``gateway_outcome``), else success; ``new_id`` makes 32 random hex digits."""
    refusal = REFUSALS.get(gateway_outcome or "")
    if refusal is not None and (refusal.charge if charging else refusal.tokenize):
        code = refusal.pay_error_code
        if code in (64008, 64010):  # the gateway refused what it was asked: charge or token
            code = 64008 if charging else 64010
        return Settlement(
            Result.PAYMENT_CONNECTOR_ERROR,
            error=refusal.error,
            pay_error_code=code,
            connector_error=refusal.connector_error,
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
