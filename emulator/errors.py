"""Twilio's errors as small exception classes, and their JSON rendering.

Each class carries Twilio's error ``code``, the HTTP ``status`` and a default ``message``
as class attributes (moto's pattern); one function renders any of them to the body
Twilio sends: ``{"code", "message", "more_info", "status"}`` plus ``details`` when set.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = [
    "AchNeedsAvsName",
    "AuthenticationFailed",
    "BankFieldsWithCreditCard",
    "CallApplicationInvalid",
    "CallFromInvalid",
    "CallFromMissing",
    "CallMethodInvalid",
    "CallParameterInvalid",
    "CallStatusCallbackEventInvalid",
    "CallStatusCallbackInvalid",
    "CallTimeLimitInvalid",
    "CallTimeoutInvalid",
    "CallToInvalid",
    "CallToMissing",
    "CallTwimlTooLong",
    "CallUrlInvalid",
    "CaptureOrStatusRequired",
    "ChargeAmountInvalid",
    "ConfigError",
    "ConnectorCannotCharge",
    "ConnectorCannotTokenize",
    "ConnectorCurrencyUnsupported",
    "ConnectorPaymentMethodUnsupported",
    "ConnectorTokenTypeUnsupported",
    "ConnectorUnknown",
    "DatabaseFull",
    "Forbidden",
    "HttpBadRequest",
    "HttpBodyTooLarge",
    "HttpHeadersTooLarge",
    "HttpRequestTimeout",
    "IdempotencyKeyReused",
    "InternalServerError",
    "InvalidCallState",
    "InvalidParameterValue",
    "InvalidPayOperation",
    "MethodNotAllowed",
    "MissingParameter",
    "RequiredInformationIncomplete",
    "ResourceNotFound",
    "TooManyParameters",
    "TwilioError",
    "error_body",
]


class ConfigError(Exception):
    """Bad configuration found before the server starts: a short message, no traceback."""


class TwilioError(Exception):
    """An error answered to a client in Twilio's shape."""

    code: ClassVar[int] = 20500
    status: ClassVar[int] = 500
    message: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.text = message if message is not None else self.message
        self.details = details
        super().__init__(self.text)

    def body(self) -> bytes:
        return error_body(self.code, self.text, self.status, self.details)


def error_body(
    code: int, message: str, status: int, details: dict[str, Any] | None = None
) -> bytes:
    """Twilio's v2010 error body, printed as Twilio prints JSON (", " and ": " separators)."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if details is not None:
        body["details"] = details
    return json.dumps(body).encode()


# --- generic API errors ------------------------------------------------------------------


class MissingParameter(TwilioError):
    code, status, message = 20001, 400, "Missing required parameter"

    def __init__(self, name: str):
        super().__init__(f"Missing required parameter {name} in the post body")
        self.parameter = name


class AuthenticationFailed(TwilioError):
    """401. Its body carries ``detail`` as api.twilio.com's does: empty for wrong credentials,
    "Your AccountSid or AuthToken was incorrect." when none were sent. ``reason`` says which
    check failed, for the journal only: the body is Twilio's, whatever the reason."""

    code, status, message = 20003, 401, "Authenticate"
    NO_CREDENTIALS: ClassVar[str] = "Authentication Error - No credentials provided"

    @classmethod
    def no_credentials(cls) -> AuthenticationFailed:
        return cls(
            cls.NO_CREDENTIALS,
            detail="Your AccountSid or AuthToken was incorrect.",
            reason="no credentials: the request has no Authorization header",
        )

    def __init__(self, message: str | None = None, *, detail: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.detail = detail
        self.reason = reason

    def body(self) -> bytes:
        return json.dumps(
            {
                "code": self.code,
                "detail": self.detail,
                "message": self.text,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status,
            }
        ).encode()


class Forbidden(TwilioError):
    """Twilio's "Forbidden" (20403, in its error dictionary): here, a browser's request the
    emulator refuses for safety (a foreign ``Host``, a cross-site page)."""

    code, status, message = 20403, 403, "Forbidden"


class MethodNotAllowed(TwilioError):
    code, status, message = 20004, 405, "Method not allowed"


class ResourceNotFound(TwilioError):
    code, status, message = 20404, 404, "The requested resource was not found"

    def __init__(self, path: str):
        super().__init__(f"The requested resource {path} was not found")


class TooManyParameters(TwilioError):
    # Twilio's 20413 "Request Entity Too Large": "Request entity is larger than limits defined
    # by the server" (its error dictionary).
    code, status, message = 20413, 413, "Too many parameters"


class IdempotencyKeyReused(TwilioError):
    code, status, message = (
        20409,
        409,
        "The IdempotencyKey was already used with different parameters",
    )


class InternalServerError(TwilioError):
    code, status, message = 20500, 500, "Internal Server Error"


class DatabaseFull(TwilioError):
    """The emulator's SQLite database could not be written: its disk is full (SQLITE_FULL).

    Twilio's "Service Unavailable" code; the write was rolled back whole, reads still work,
    and writes work again once space is freed.
    """

    code, status, message = (
        20503,
        503,
        "Service Unavailable: the emulator's database is full (no space left on its disk); "
        "nothing was changed, reads still work, and writes resume once space is freed",
    )


class InvalidCallState(TwilioError):
    code, status, message = 21220, 400, "Invalid call state: the call is not in progress"

    @classmethod
    def not_redirectable(cls) -> InvalidCallState:
        """The Calls API's words (a real answer: "Call is not in-progress. Cannot
        redirect.", code 21220, HTTP 400)."""
        return cls("Call is not in-progress. Cannot redirect.")


# --- the Calls resource (21xxx): codes from Twilio's error dictionary; the messages observed in
# real answers where one was found (the fact sheet's table), else the dictionary's title ------


class CallToMissing(TwilioError):
    code, status, message = 21201, 400, "No 'To' number is specified"


class CallUrlInvalid(TwilioError):
    code, status, message = 21205, 400, "Url parameter is required."


class CallFromMissing(TwilioError):
    code, status, message = 21213, 400, "No 'From' number is specified"


class CallToInvalid(TwilioError):
    code, status, message = 21211, 400, "Invalid 'To' Phone Number"


class CallFromInvalid(TwilioError):
    code, status, message = 21212, 400, "Invalid From Number (caller ID)"


class CallMethodInvalid(TwilioError):
    code, status, message = 21209, 400, "Invalid Method"


class CallTimeoutInvalid(TwilioError):
    code, status, message = 21208, 400, "Invalid Timeout"


class CallApplicationInvalid(TwilioError):
    code, status, message = 21218, 400, "Invalid ApplicationSid"


class CallStatusCallbackInvalid(TwilioError):
    code, status, message = 21609, 400, "Invalid 'StatusCallback'"


class CallStatusCallbackEventInvalid(TwilioError):
    code, status, message = 21626, 400, "Invalid 'StatusCallbackEvent'"


class CallTwimlTooLong(TwilioError):
    code, status, message = (
        32018,
        400,
        "Twiml size exceeded maximum allowed value of 4000 characters",
    )


class CallTimeLimitInvalid(TwilioError):
    code, status, message = 13216, 400, "Invalid TimeLimit value"


class CallParameterInvalid(TwilioError):
    """A value Twilio's dictionary has no code of its own for (an update's ``Status`` outside
    ``canceled``/``completed``): its generic parameter code, the emulator's choice."""

    code, status, message = 20001, 400, "Invalid parameter"


# --- refused by the HTTP layer (emulator.server) ----------------------------------------------
# 20413 is in Twilio's error dictionary ("Request Entity Too Large"); 20400, 20408 and 20431
# are not: for them the emulator follows Twilio's pattern of 20000 + the HTTP status (20403,
# 20404, 20409, 20413, 20429 are in the dictionary). The emulator's choice.


class HttpBadRequest(TwilioError):
    code, status, message = 20400, 400, "Bad Request: the request is not valid HTTP/1.1"


class HttpRequestTimeout(TwilioError):
    code, status, message = 20408, 408, "Request Timeout"

    def __init__(self, seconds: float):
        super().__init__(
            f"Request Timeout: the request body was not complete within {seconds:g} seconds"
        )


class HttpBodyTooLarge(TwilioError):
    code, status, message = 20413, 413, "Request Entity Too Large"

    def __init__(self, limit: int):
        super().__init__(f"Request Entity Too Large: the request body exceeds {limit} bytes")


class HttpHeadersTooLarge(TwilioError):
    code, status, message = 20431, 431, "Request Header Fields Too Large"

    def __init__(self, limit: int):
        super().__init__(
            f"Request Header Fields Too Large: the request line and headers exceed {limit} bytes"
        )


# --- Twilio Pay errors (64xxx); their HTTP status is undocumented, we answer 400 ---------------


class ChargeAmountInvalid(TwilioError):
    code, status, message = 64003, 400, "Pay: Invalid charge amount."


class ConnectorUnknown(TwilioError):
    code, status, message = 64004, 400, "Pay: Invalid paymentConnector attribute in TwiML."


class ConnectorCannotTokenize(TwilioError):
    code, status, message = 64005, 400, "Pay: Connector does not support tokenization."


class ConnectorTokenTypeUnsupported(TwilioError):
    code, status, message = 64006, 400, "Pay: Connector does not support token type."


class ConnectorCannotCharge(TwilioError):
    code, status, message = 64007, 400, "Pay: Connector does not support creating charge."


class ConnectorCurrencyUnsupported(TwilioError):
    code, status, message = 64011, 400, "Pay: Connector does not support the requested currency."


class ConnectorPaymentMethodUnsupported(TwilioError):
    code, status, message = (
        64013,
        400,
        "Pay: Connector does not support supplied paymentMethod attribute.",
    )


class AchNeedsAvsName(TwilioError):
    code, status, message = (
        64014,
        400,
        "Pay: ECP/ACH requires AVSName Parameter in the <Pay> verb."
        ' Send Parameter={"AVSName": "..."}',
    )


class BankFieldsWithCreditCard(TwilioError):
    code, status, message = (
        64017,
        400,
        'Pay: BankAccountType Parameter not supported with PaymentMethod = "credit-card"',
    )


class CaptureOrStatusRequired(TwilioError):
    code, status, message = 64018, 400, "Pay: Value needed for either Capture or Status parameters"


class RequiredInformationIncomplete(TwilioError):
    code, status, message = 64019, 400, "Pay: Required payment information incomplete"


class InvalidParameterValue(TwilioError):
    code, status, message = 64020, 400, "Pay: Invalid Parameter Value"


class InvalidPayOperation(TwilioError):
    code, status, message = 64021, 400, "Pay: Invalid Operation"
