"""The Generic Pay Connector protocol's pure functions: the request body, masking, TEST mode and
how an answer becomes a settlement."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain import gpc
from emulator.domain.gpc import GenericConnector, PaymentData
from emulator.domain.machine import Result, Settlement

quick = settings(database=None, deadline=None)

TXN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

CARD_CHARGE = PaymentData(
    charging=True,
    card_number="4111111111111111",
    security_code="737",
    expiration_date="0830",
    postal_code="94105",
    amount="10.00",
    currency="usd",
    description="Order 42",
    parameters={"order": "42", "vip": True},
)
CARD_TOKENIZE = PaymentData(
    charging=False,
    card_number="5555555555554444",
    expiration_date="1231",
)
ACH_CHARGE = PaymentData(
    charging=True,
    payment_method="ach-debit",
    routing_number="121000358",
    account_number="123456789",
    amount="0.5",
    currency="eur",
    parameters={"AVSName": "Jane Doe"},
)

MALFORMED_CHARGE = (
    "Payment Gateway rejected charge creation. Got malformed response from Payment Provider."
)
MALFORMED_TOKEN = (
    "Payment Gateway rejected token creation. Got malformed response from Payment Provider."
)


def connector(**fields: Any) -> GenericConnector:
    return GenericConnector("https://pay.example/gpc", "merchant", "s3cr3t", **fields)


# --- the request body -------------------------------------------------------------------------


def test_card_charge_body() -> None:
    assert gpc.request_body(CARD_CHARGE, TXN, legacy=False) == {
        "method": "charge",
        "transaction_id": TXN,
        "cardnumber": "4111111111111111",
        "cvv": "737",
        "expiry_month": "08",
        "expiry_year": "30",
        "postal_code": "94105",
        "amount": "10.00",
        "currency_code": "USD",
        "description": "Order 42",
        "parameters": {"order": "42", "vip": True},
    }


def test_card_tokenize_body_has_nulls_and_no_amount() -> None:
    assert gpc.request_body(CARD_TOKENIZE, TXN, legacy=False) == {
        "method": "tokenize",
        "transaction_id": TXN,
        "cardnumber": "5555555555554444",
        "cvv": None,
        "expiry_month": "12",
        "expiry_year": "31",
        "postal_code": None,
        "description": None,
        "parameters": {},
    }


def test_ach_charge_body() -> None:
    assert gpc.request_body(ACH_CHARGE, TXN, legacy=False) == {
        "method": "charge",
        "transaction_id": TXN,
        "bankaccountnumber": "123456789",
        "routingnumber": "121000358",
        "amount": "0.5",  # as the session gives it
        "currency_code": "EUR",
        "description": None,
        "parameters": {"AVSName": "Jane Doe"},
    }


def test_legacy_body_has_no_method() -> None:
    body = gpc.request_body(CARD_CHARGE, TXN, legacy=True)
    assert "method" not in body
    assert body == {
        k: v for k, v in gpc.request_body(CARD_CHARGE, TXN, legacy=False).items() if k != "method"
    }


@pytest.mark.parametrize(
    ("expiry", "month", "year"),
    [("0830", "08", "30"), ("122031", "12", "31"), ("12/31", "12", "31"), ("1", None, None)],
)
def test_expiry_is_two_digits_each(expiry: str, month: str | None, year: str | None) -> None:
    data = PaymentData(charging=False, card_number="4111111111111111", expiration_date=expiry)
    body = gpc.request_body(data, TXN, legacy=False)
    assert (body["expiry_month"], body["expiry_year"]) == (month, year)


def test_body_parameters_are_a_copy() -> None:
    parameters = {"a": "1"}
    data = PaymentData(charging=False, card_number="4111111111111111", parameters=parameters)
    body = gpc.request_body(data, TXN, legacy=False)
    assert body["parameters"] == parameters
    assert body["parameters"] is not parameters


# --- masking ----------------------------------------------------------------------------------


def test_masked_body() -> None:
    body = gpc.request_body(CARD_CHARGE, TXN, legacy=False)
    assert gpc.masked(body) == {
        **body,
        "cardnumber": "xxxxxxxxxxxx1111",
        "cvv": "xxx",
    }
    assert body["cardnumber"] == "4111111111111111"  # the original is untouched
    ach = gpc.masked(gpc.request_body(ACH_CHARGE, TXN, legacy=False))
    assert ach["bankaccountnumber"] == "*******89"
    assert ach["routingnumber"] == "121000358"


def test_masked_keeps_nulls_and_hides_anything_else() -> None:
    assert gpc.masked({"cardnumber": None, "cvv": 123})["cardnumber"] is None
    assert gpc.masked({"cvv": 123})["cvv"] == "x"


def test_payment_data_repr_hides_digits() -> None:
    for data in (CARD_CHARGE, ACH_CHARGE):
        for text in (repr(data), str(data)):
            assert "4111111111111111" not in text
            assert "123456789" not in text
            assert not re.search(r"(?<!\d)737(?!\d)", text)
    assert "xxxxxxxxxxxx1111" in repr(CARD_CHARGE)
    assert "*******89" in repr(ACH_CHARGE)


def test_connector_repr_hides_password() -> None:
    assert "s3cr3t" not in repr(connector())


@pytest.mark.parametrize(
    "fields",
    [{"mode": "sandbox"}, {"timeout_s": 0}, {"timeout_s": float("nan")}, {"retries": -1}],
)
def test_connector_refuses_nonsense(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"^[a-z_]+ must"):
        connector(**fields)


def test_scrub_masks_the_secrets_and_any_card_number() -> None:
    """The session's own digits where they stand alone; any card number (Luhn-valid run of 12
    to 19 digits), inside a longer run or spaced, whatever it is."""
    text = "card 4111111111111111, cvv 737, acct 123456789; 97370 x41111111111111112"
    assert gpc.scrub(text, CARD_CHARGE) == (
        "card xxxxxxxxxxxx1111, cvv xxx, acct 123456789; 97370 xxxxxxxxxxxxxx1112"
    )
    assert gpc.scrub("declined: 4111 1111 1111 1111", CARD_CHARGE) == (
        "declined: xxxx xxxx xxxx 1111"
    )
    assert gpc.scrub("acct 123456789", ACH_CHARGE) == "acct *******89"


cards_digits = st.text(alphabet="0123456789", min_size=13, max_size=19)
accounts_digits = st.text(alphabet="0123456789", min_size=4, max_size=17)


@quick
@given(card=cards_digits, cvv=st.text(alphabet="0123456789", min_size=3, max_size=4))
def test_masked_card_body_never_holds_the_digits(card: str, cvv: str) -> None:
    data = PaymentData(
        charging=True, card_number=card, security_code=cvv, expiration_date="0830", amount="1.00"
    )
    text = json.dumps(gpc.masked(gpc.request_body(data, TXN, legacy=False)))
    assert card not in text
    assert json.loads(text)["cvv"] == "x" * len(cvv)
    assert card not in repr(data)


@quick
@given(account=accounts_digits)
def test_masked_ach_body_never_holds_the_digits(account: str) -> None:
    data = PaymentData(
        charging=False, payment_method="ach-debit", routing_number="x", account_number=account
    )
    masked = gpc.masked(gpc.request_body(data, TXN, legacy=False))
    assert masked["bankaccountnumber"] == "*" * (len(account) - 2) + account[-2:]
    assert account not in repr(data)


# --- TEST mode --------------------------------------------------------------------------------


@pytest.mark.parametrize("card", sorted(gpc.TEST_CARD_NUMBERS))
def test_test_mode_lets_test_cards_through(card: str) -> None:
    data = PaymentData(charging=True, card_number=card, amount="1.00")
    assert gpc.refusal_in_test_mode(connector(), data) is None


@pytest.mark.parametrize("card", ["4242424242424242", "4111111111111112", "", None])
def test_test_mode_refuses_other_cards(card: str | None) -> None:
    data = PaymentData(charging=True, card_number=card, amount="1.00")
    assert gpc.refusal_in_test_mode(connector(), data) == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error="Pay: Invalid Test Card Number", pay_error_code=64022
    )
    assert gpc.refusal_in_test_mode(connector(mode="live"), data) is None


@pytest.mark.parametrize("account", sorted(gpc.TEST_BANK_ACCOUNTS))
def test_test_mode_lets_test_bank_accounts_through(account: str) -> None:
    data = PaymentData(
        charging=False,
        payment_method="ach-debit",
        routing_number="121000358",
        account_number=account,
    )
    assert gpc.refusal_in_test_mode(connector(), data) is None


@pytest.mark.parametrize("account", ["000123456789", "1234567", "4111111111111111"])
def test_test_mode_refuses_other_bank_accounts(account: str) -> None:
    data = PaymentData(
        charging=False,
        payment_method="ach-debit",
        routing_number="121000358",
        account_number=account,
    )
    assert gpc.refusal_in_test_mode(connector(), data) == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error="Pay: Invalid Test Bank Account Number",
        pay_error_code=64023,
    )
    assert gpc.refusal_in_test_mode(connector(mode="live"), data) is None


# --- the answer -------------------------------------------------------------------------------


def answer(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "charge_id": None,
        "token_id": None,
        "error_code": None,
        "error_message": None,
        "parameters": {},
    }
    base.update(fields)
    return json.dumps(base).encode()


def test_charge_success() -> None:
    assert gpc.settlement_from_answer(True, 200, answer(charge_id="ch_1")) == Settlement(
        Result.SUCCESS, confirmation_code="ch_1"
    )
    assert gpc.settlement_from_answer(True, 201, answer(charge_id="ch_1")).result is Result.SUCCESS


def test_tokenize_success() -> None:
    assert gpc.settlement_from_answer(False, 200, answer(token_id="tok_1")) == Settlement(
        Result.SUCCESS, token="tok_1"
    )


def test_minimal_answers() -> None:
    """Only the method's id key is required; the others may be absent."""
    assert gpc.judge_answer(True, 200, b'{"charge_id": "ch_1"}') == (
        Settlement(Result.SUCCESS, confirmation_code="ch_1"),
        None,
    )
    assert gpc.judge_answer(False, 200, b'\xef\xbb\xbf{"token_id": "t"}')[0].token == "t"


@pytest.mark.parametrize(
    ("charging", "fields", "code", "message", "connector_error"),
    [
        (True, {"error_code": "card_declined", "error_message": "Declined"}, 64008, "Declined", "card_declined"),
        (True, {"error_code": "E1"}, 64008, "Payment Gateway rejected charge creation.", "E1"),
        (True, {"error_code": "E1", "error_message": ""}, 64008, "Payment Gateway rejected charge creation.", "E1"),
        (True, {"error_code": "", "charge_id": "ch_1"}, 64008, "Payment Gateway rejected charge creation.", ""),
        (False, {"error_code": "E2", "error_message": "No"}, 64010, "No", "E2"),
        (False, {"error_code": "E2"}, 64010, "Payment Gateway rejected token creation.", "E2"),
    ],
)  # fmt: skip
def test_merchant_errors(
    charging: bool, fields: dict[str, Any], code: int, message: str, connector_error: str
) -> None:
    settlement, problem = gpc.judge_answer(charging, 200, answer(**fields))
    assert problem is None
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error=message,
        pay_error_code=code,
        connector_error=connector_error,
    )


MALFORMED = [
    (200, b"", "the answer is empty"),
    (200, b"  \n", "the answer is empty"),
    (200, b"<html>nope</html>", "the answer is not JSON"),
    (200, b"\xff\xfe{}", "the answer is not UTF-8"),
    (200, b'["charge_id"]', "the answer is not a JSON object"),
    (200, b"null", "the answer is not a JSON object"),
    (200, b"[" * 100_000, "the answer is longer than 65536 bytes"),
    (200, b"[" * 60_000, "the answer is not JSON"),
    (200, b"{}", "{id} is missing"),
    (200, b'{"error_code": "x"}', '{id} is missing: Twilio expects it even in an error answer (send "{id}": null with the error_code)'),
    (200, answer(charge_id=1, token_id=1), "charge_id is not a string or null"),
    (200, answer(charge_id="", token_id=""), "{id} is null or empty and error_code is null"),
    (200, answer(), "{id} is null or empty and error_code is null"),
    (200, answer(charge_id="ch_1", token_id="t", error_code=5), "error_code is not a string or null"),
    (200, answer(charge_id="c", token_id="t", error_message=[]), "error_message is not a string or null"),
    (200, answer(charge_id="c", token_id="t", parameters="x"), "parameters is not an object or null"),
    (200, b'{"charge_id": "\\ud800", "token_id": "\\ud800"}', "charge_id is not valid Unicode text"),
    (200, b"{" + b'"a": 1, ' * 10_000 + b'"charge_id": "c", "token_id": "t"}', "the answer is longer than 65536 bytes"),
    (500, answer(charge_id="ch_1", token_id="t"), "HTTP 500"),
    (401, b'{"error": "unauthorized"}', "HTTP 401"),
    (302, b"", "HTTP 302"),
    (199, answer(charge_id="ch_1", token_id="t"), "HTTP 199"),
    (300, answer(charge_id="ch_1", token_id="t"), "HTTP 300"),
]  # fmt: skip


@pytest.mark.parametrize("charging", [True, False])
@pytest.mark.parametrize(("status", "body", "problem"), MALFORMED)
def test_malformed_answers(charging: bool, status: int, body: bytes, problem: str) -> None:
    settlement, found = gpc.judge_answer(charging, status, body)
    assert found == problem.format(id="charge_id" if charging else "token_id")
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error=MALFORMED_CHARGE if charging else MALFORMED_TOKEN,
        pay_error_code=64008 if charging else 64010,
    )
    assert settlement.connector_error == ""


def test_the_other_id_does_not_count() -> None:
    assert gpc.judge_answer(True, 200, answer(token_id="tok_1"))[1] == (
        "charge_id is null or empty and error_code is null"
    )
    assert gpc.judge_answer(False, 200, b'{"charge_id": "ch_1"}')[1] == (
        "token_id is missing: a tokenize answer names the token token_id (charge_id is taken"
        " for it only from a legacy connector, legacy_paths: true)"
    )


def test_a_legacy_connector_may_name_the_token_charge_id() -> None:
    """Before 2022 a connector's /tokenize answered the token as charge_id (a Twilio SE's
    mock, deshartman/pgp-functions, changed it to token_id in September 2021): a legacy
    connector's answer is taken so; the current protocol's is malformed."""
    legacy = gpc.judge_answer(False, 200, b'{"charge_id": "T_1", "error_code": null}', legacy=True)
    assert legacy == (Settlement(Result.SUCCESS, token="T_1"), None)
    declined = b'{"charge_id": null, "error_code": "E", "error_message": "No"}'
    assert gpc.judge_answer(False, 200, declined, legacy=True) == (
        Settlement(
            Result.PAYMENT_CONNECTOR_ERROR, error="No", pay_error_code=64010, connector_error="E"
        ),
        None,
    )
    # token_id, when there, is what counts; a charge's answer is not affected
    both = b'{"charge_id": "c", "token_id": "t"}'
    assert gpc.judge_answer(False, 200, both, legacy=True)[0].token == "t"
    assert (
        gpc.judge_answer(True, 200, b'{"token_id": "t"}', legacy=True)[1] == "charge_id is missing"
    )
    assert gpc.judge_answer(False, 200, b'{"charge_id": "T_1"}')[0].result is (
        Result.PAYMENT_CONNECTOR_ERROR
    )


def test_no_answer_settlements() -> None:
    assert gpc.no_answer_settlement(True) == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error="Payment Gateway rejected charge creation. No response from Payment Provider.",
        pay_error_code=64008,
    )
    assert gpc.no_answer_settlement(False).error == (
        "Payment Gateway rejected token creation. No response from Payment Provider."
    )
    assert gpc.no_answer_settlement(False).pay_error_code == 64010


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
answer_keys = st.sampled_from(
    ["charge_id", "token_id", "error_code", "error_message", "parameters"]
)


def _check(settlement: Settlement, problem: str | None, charging: bool) -> None:
    assert settlement.result in (Result.SUCCESS, Result.PAYMENT_CONNECTOR_ERROR)
    if settlement.result is Result.SUCCESS:
        assert problem is None
        assert (settlement.confirmation_code if charging else settlement.token) != ""
    else:
        assert settlement.pay_error_code == (64008 if charging else 64010)
        assert settlement.error
    for text in (settlement.error, settlement.connector_error, settlement.token):
        text.encode("utf-8")  # always storable


@quick
@given(charging=st.booleans(), status=st.integers(-(10**6), 10**6), body=st.binary(max_size=2048))
def test_any_bytes_and_status_settle(charging: bool, status: int, body: bytes) -> None:
    settlement, problem = gpc.judge_answer(charging, status, body)
    _check(settlement, problem, charging)
    assert gpc.settlement_from_answer(charging, status, body) == settlement


@quick
@given(
    charging=st.booleans(),
    status=st.sampled_from([200, 201, 204, 299, 400, 500]),
    answer=st.dictionaries(answer_keys | st.text(max_size=5), json_values, max_size=6),
)
def test_any_json_answer_settles(charging: bool, status: int, answer: dict[str, Any]) -> None:
    settlement, problem = gpc.judge_answer(charging, status, json.dumps(answer).encode())
    _check(settlement, problem, charging)
    id_key = "charge_id" if charging else "token_id"
    success = (
        200 <= status < 300
        and all(
            answer.get(k) is None or isinstance(answer[k], str)
            for k in ("charge_id", "token_id", "error_message")
        )
        and answer.get("error_code") is None
        and isinstance(answer.get("parameters", {}), dict | None)
        and isinstance(answer.get(id_key), str)
        and answer[id_key] != ""
    )
    assert (settlement.result is Result.SUCCESS) is success
