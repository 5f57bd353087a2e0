"""Generic Pay Connector: Twilio's side of the GPC protocol, played against a merchant's endpoint.

At ``Status=complete`` of a session whose connector is a Generic Pay Connector, Twilio POSTs
the captured payment data as JSON to the merchant's endpoint (HTTP Basic authentication with
the connector's credentials) and reads the answer:
``{"charge_id", "token_id", "error_code", "error_message", "parameters"}``.
:func:`run` does that, with Twilio's timeout and retries, and returns the
:class:`~emulator.payments.machine.Settlement` the final StatusCallback reports.

Card data hygiene: the card number, security code and bank account number go only into the
request body sent to the endpoint. :class:`PaymentData` hides them from ``repr``; attempt
records (:class:`ConnectorAttempt`) carry a masked copy of the body, and anything the endpoint
echoes back is masked before it is recorded or returned.
"""

from emulator.gpc.client import (
    EXCERPT_BYTES,
    USER_AGENT,
    ConnectorAttempt,
    endpoint_problem,
    request_url,
    run,
)
from emulator.gpc.protocol import (
    CHARGE_FAILED,
    MAX_ANSWER_BYTES,
    MODES,
    TEST_BANK_ACCOUNT_REFUSED,
    TEST_BANK_ACCOUNTS,
    TEST_CARD_NUMBERS,
    TEST_CARD_REFUSED,
    TOKENIZE_FAILED,
    GenericConnector,
    Mode,
    PaymentData,
    judge_answer,
    masked,
    no_answer_settlement,
    refusal_in_test_mode,
    request_body,
    scrub,
    settlement_from_answer,
)

__all__ = [
    "CHARGE_FAILED",
    "EXCERPT_BYTES",
    "MAX_ANSWER_BYTES",
    "MODES",
    "TEST_BANK_ACCOUNTS",
    "TEST_BANK_ACCOUNT_REFUSED",
    "TEST_CARD_NUMBERS",
    "TEST_CARD_REFUSED",
    "TOKENIZE_FAILED",
    "USER_AGENT",
    "ConnectorAttempt",
    "GenericConnector",
    "Mode",
    "PaymentData",
    "endpoint_problem",
    "judge_answer",
    "masked",
    "no_answer_settlement",
    "refusal_in_test_mode",
    "request_body",
    "request_url",
    "run",
    "scrub",
    "settlement_from_answer",
]
