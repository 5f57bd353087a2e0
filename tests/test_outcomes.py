"""Outcomes a test can ask for: the built-in connectors' magic numbers, and
``POST /_emulator/payments/{Sid}/outcome`` (whatever the card)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.flows import Flow

VISA = "4242424242424242"
CARD = {"expiration-date": "1230", "security-code": "123", "postal-code": "94105"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    return server.control.create_account()


def card_flow(server: EmulatorServer, account: Account, number: str, **params: object) -> Flow:
    flow = Flow(server, account)
    flow.start(**params)
    flow.capture("payment-card-number", number)
    flow.capture_all(CARD)
    return flow


def ended(flow: Flow) -> dict[str, str]:
    flow.finish()
    flow.made += 1
    return flow.last()


def fields(params: dict[str, str]) -> tuple[str, str, str, str]:
    return (
        params["Result"],
        params["PayErrorCode"],
        params["PaymentError"],
        params["ConnectorError"],
    )


# The README's table of magic numbers, row by row: (number, charging?, the four fields).
CARD_ROWS = [
    (
        "4000000000000002",
        True,
        ("payment-connector-error", "64012", "card is declined", "card_declined"),
    ),
    (
        "4000000000000119",
        True,
        (
            "payment-connector-error",
            "64002",
            "payment processor is unavailable, try again later",
            "processing_error",
        ),
    ),
    (
        "4000000000000069",
        True,
        ("payment-connector-error", "64012", "card is expired", "expired_card"),
    ),
    (
        "4000000000000127",
        True,
        ("payment-connector-error", "64012", "security code is incorrect", "incorrect_cvc"),
    ),
    (
        "4000000000009995",
        True,
        ("payment-connector-error", "64012", "card has insufficient funds", "insufficient_funds"),
    ),
    (
        "4000000000000259",
        True,
        (
            "payment-connector-error",
            "64001",
            "Pay: Configuration Error: the gateway refused the connector's credentials",
            "api_key_expired",
        ),
    ),
    (
        "4100000000000019",
        True,
        (
            "payment-connector-error",
            "64008",
            "Payment Gateway rejected charge creation.",
            "charge_refused",
        ),
    ),
    ("4100000000000019", False, ("success", "", "", "")),
    (
        "4000000000000341",
        False,
        (
            "payment-connector-error",
            "64010",
            "Payment Gateway rejected token creation.",
            "token_refused",
        ),
    ),
    ("4000000000000341", True, ("success", "", "", "")),
    (VISA, True, ("success", "", "", "")),
]


@pytest.mark.parametrize(("number", "charging", "expected"), CARD_ROWS)
def test_magic_card_numbers(
    server: EmulatorServer,
    account: Account,
    number: str,
    charging: bool,
    expected: tuple[str, str, str, str],
) -> None:
    params = {"charge_amount": 12.5} if charging else {}
    done = ended(card_flow(server, account, number, **params))
    assert fields(done) == expected
    if expected[0] == "success":
        code = done["PaymentConfirmationCode"] if charging else done["PaymentToken"]
        assert code.startswith("ch_" if charging else "tok_")


ACH_ROWS = [
    (
        "000111111116",
        True,
        ("payment-connector-error", "64008", "bank account could not be located", "no_account"),
    ),
    (
        "000111111116",
        False,
        ("payment-connector-error", "64010", "bank account could not be located", "no_account"),
    ),
    (
        "000222222227",
        True,
        (
            "payment-connector-error",
            "64008",
            "bank account has insufficient funds",
            "insufficient_funds",
        ),
    ),
    ("000222222227", False, ("success", "", "", "")),
    ("000123456789", True, ("success", "", "", "")),
]


@pytest.mark.parametrize(("number", "charging", "expected"), ACH_ROWS)
def test_magic_bank_accounts(
    server: EmulatorServer,
    account: Account,
    number: str,
    charging: bool,
    expected: tuple[str, str, str, str],
) -> None:
    flow = Flow(server, account)
    params: dict[str, object] = {"charge_amount": 30} if charging else {}
    flow.start(payment_method="ach-debit", parameter={"AVSName": "Jo Doe"}, **params)
    flow.capture("bank-routing-number", "121000358")
    flow.capture("bank-account-number", number)
    done = ended(flow)
    assert fields(done) == expected
    assert done["BankAccountNumber"] == "*" * (len(number) - 2) + number[-2:]


def test_a_forced_outcome_wins_over_the_card(server: EmulatorServer, account: Account) -> None:
    flow = card_flow(server, account, "4000000000000002", charge_amount=5)  # a declined card
    forced = flow.control.http.post(
        f"/_emulator/payments/{flow.sid}/outcome", json={"result": "success"}
    )
    assert forced.status_code == 200
    assert forced.json()["forced_outcome"]["result"] == "success"
    done = ended(flow)
    assert fields(done) == ("success", "", "", "")
    assert done["PaymentConfirmationCode"].startswith("ch_")


def test_a_forced_failure_carries_the_fields_given(
    server: EmulatorServer, account: Account
) -> None:
    flow = card_flow(server, account, VISA)
    body = {
        "result": "payment-connector-error",
        "pay_error_code": "64009",
        "payment_error": "Twilio is no longer authorized",
        "connector_error": "account_revoked",
    }
    response = flow.control.http.post(f"/_emulator/payments/{flow.sid}/outcome", json=body)
    assert response.status_code == 200
    done = ended(flow)
    assert fields(done) == (
        "payment-connector-error",
        "64009",
        "Twilio is no longer authorized",
        "account_revoked",
    )
    assert done["PaymentToken"] == ""


def test_outcome_refusals(server: EmulatorServer, account: Account) -> None:
    flow = card_flow(server, account, VISA)
    http = flow.control.http
    unknown = http.post(f"/_emulator/payments/{flow.sid}/outcome", json={"result": "declined"})
    assert unknown.status_code == 400
    assert "success, payment-connector-error, validation-error" in unknown.json()["detail"]
    assert (
        http.post(
            f"/_emulator/payments/{flow.sid}/outcome", json={"result": "too-many-failed-attempts"}
        ).status_code
        == 400
    )
    missing = http.post(
        "/_emulator/payments/PK" + "0" * 32 + "/outcome", json={"result": "success"}
    )
    assert missing.status_code == 404
    ended(flow)
    late = http.post(f"/_emulator/payments/{flow.sid}/outcome", json={"result": "success"})
    assert late.status_code == 409
    # nothing changed by the refusals: the session completed as the card said
    assert flow.view()["result"] == "success"


def test_outcome_needs_json_fields(server: EmulatorServer, account: Account) -> None:
    flow = card_flow(server, account, VISA)
    response = httpx.post(
        f"{server.base_url}/_emulator/payments/{flow.sid}/outcome",
        json={"result": "success", "pay_error_code": "not a number"},
    )
    assert response.status_code == 422
