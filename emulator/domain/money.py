"""Currencies and charge amounts: ISO 4217 codes with their minor units (pure)."""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "CURRENCY_DECIMALS",
    "MAX_CHARGE",
    "AmountError",
    "parse_charge_amount",
    "payment_error",
]

# ISO 4217 currencies in use, with the number of digits after the decimal point.
# Codes without minor units (gold, SDR, test codes) are not payment currencies and are left out.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS "
    "VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)
CURRENCY_DECIMALS: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}

MAX_CHARGE = Decimal(1_000_000)  # exclusive

_AMOUNT = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


class AmountError(ValueError):
    """The text is not a charge amount Twilio accepts (the message says why). ``amount`` is
    the number it is, when it is one (out of range, or too many decimals), else None."""

    def __init__(self, message: str, amount: Decimal | None = None) -> None:
        super().__init__(message)
        self.amount = amount


def payment_error(text: str) -> str:
    """A refused amount as ``<Pay>``'s ``PaymentError`` shows a validation error
    (https://www.twilio.com/docs/voice/twiml/pay, "PaymentError": "Validation error for
    incorrect <Pay> verb attribute. Example value: paymentAmount='-0.59' (not a number between
    0.00 - 1,000,000.00)")."""
    return f"paymentAmount='{text.strip()}' (not a number between 0.00 - 1,000,000.00)"


def parse_charge_amount(text: str, currency: str) -> Decimal | None:
    """``ChargeAmount`` -> a positive amount to charge, or None to tokenize (blank or zero).

    Refused: anything but a plain decimal number, a negative amount, one of 1,000,000 or more,
    and more decimals than ``currency`` has.
    """
    text = text.strip()
    if not text:
        return None
    if not _AMOUNT.match(text):
        raise AmountError(f"ChargeAmount '{text}' is not a number")
    amount = Decimal(text)
    if amount < 0:
        raise AmountError(f"ChargeAmount '{text}' is negative", amount)
    if amount >= MAX_CHARGE:
        raise AmountError(f"ChargeAmount '{text}' is not below 1,000,000", amount)
    if amount == 0:
        return None
    decimals = CURRENCY_DECIMALS[currency]
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > decimals:
        raise AmountError(
            f"ChargeAmount '{text}' has more than {decimals} decimals for {currency}", amount
        )
    return amount
