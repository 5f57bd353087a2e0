"""The Generic Pay Connector client against a real endpoint of the tests' own on 127.0.0.1:
the request on the wire, every row of the answer mapping, retries, TEST mode, card hygiene."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.certs import write_certificates
from emulator.domain import gpc
from emulator.domain.gpc import ConnectorAttempt, GenericConnector, PaymentData
from emulator.domain.machine import Result, Settlement
from emulator.outgoing.client import Outgoing
from emulator.outgoing.policy import HostPolicy
from emulator.services.gpc_client import endpoint_problem, run
from tests.gpc_endpoint import (
    PASSWORD,
    USERNAME,
    GpcEndpoint,
    Reply,
    ach_body,
    card_body,
    reply,
)

TXN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
NOW_MS = 1_767_225_600_000

CARD = PaymentData(
    charging=True,
    card_number="4111111111111111",
    security_code="737",
    expiration_date="0830",
    postal_code="94105",
    amount="10.00",
    currency="usd",
    description="Order 42",
    parameters={"order": "42", "vip": True, "nested": None},
)
CARD_TOKENIZE = PaymentData(
    charging=False, card_number="378282246310005", expiration_date="1231"
)  # SecurityCode=false, PostalCode=false
ACH = PaymentData(
    charging=True,
    payment_method="ach-debit",
    routing_number="121000358",
    account_number="123456789",
    amount="25",
    currency="Cad",
    parameters={"AVSName": "Jane Doe"},
)
ACH_TOKENIZE = dataclasses.replace(ACH, charging=False, amount=None, account_number="12345678")

MALFORMED_CHARGE = (
    "Payment Gateway rejected charge creation. Got malformed response from Payment Provider."
)
MALFORMED_TOKEN = (
    "Payment Gateway rejected token creation. Got malformed response from Payment Provider."
)
NO_ANSWER_CHARGE = "Payment Gateway rejected charge creation. No response from Payment Provider."
NO_ANSWER_TOKEN = "Payment Gateway rejected token creation. No response from Payment Provider."


@pytest.fixture
def endpoint() -> Iterator[GpcEndpoint]:
    with GpcEndpoint().running() as running:
        yield running


def connector(url: str, **fields: Any) -> GenericConnector:
    return GenericConnector(url, USERNAME, PASSWORD, **fields)


def play(
    connector: GenericConnector, data: PaymentData, **options: Any
) -> tuple[Settlement, list[ConnectorAttempt]]:
    attempts: list[ConnectorAttempt] = []
    settlement = asyncio.run(
        run(
            connector,
            data,
            now_ms=lambda: NOW_MS,
            on_attempt=attempts.append,
            new_transaction_id=lambda: TXN,
            **options,
        )
    )
    assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
    assert_no_digits(data, settlement, attempts)
    return settlement, attempts


def assert_no_digits(
    data: PaymentData, settlement: Settlement, attempts: list[ConnectorAttempt]
) -> None:
    """Neither the settlement nor any attempt record holds a card number, CVV or account."""
    # the latency is a float: its decimals (1.737) could look like a security code
    scanned = [dataclasses.replace(a, latency_ms=0.0) for a in attempts]
    texts = [repr(settlement), *(repr(a) for a in scanned)]
    texts += [json.dumps(dataclasses.asdict(a)) for a in scanned]
    for text in texts:
        for secret in (data.card_number, data.account_number):
            if secret:
                assert secret not in text
        if data.security_code:
            assert not re.search(rf"(?<!\d){data.security_code}(?!\d)", text)


def expected_body(data: PaymentData, *, legacy: bool = False) -> dict[str, Any]:
    return gpc.request_body(data, TXN, legacy)


# --- the request ------------------------------------------------------------------------------


def test_card_charge(endpoint: GpcEndpoint) -> None:
    settlement, attempts = play(connector(endpoint.url()), CARD)
    assert settlement == Settlement(Result.SUCCESS, confirmation_code="ch_123")
    [seen] = endpoint.requests
    assert seen.path == "/gpc"
    assert seen.json == card_body(
        "charge",
        TXN,
        cardnumber="4111111111111111",
        cvv="737",
        expiry_month="08",
        expiry_year="30",
        postal_code="94105",
        amount="10.00",
        currency_code="USD",
        description="Order 42",
        parameters={"order": "42", "vip": True, "nested": None},
    )
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == "TwilioProxy/1.1"
    assert "x-twilio-signature" not in seen.headers
    [attempt] = attempts
    assert attempt == ConnectorAttempt(
        url=endpoint.url(),
        transaction_id=TXN,
        attempt=1,
        status_code=200,
        latency_ms=attempt.latency_ms,
        error=None,
        request_body=json.dumps(gpc.masked(expected_body(CARD))),
        response_excerpt=seen_answer(endpoint, charge_id="ch_123"),
        started_at_ms=NOW_MS,
    )
    assert attempt.latency_ms > 0
    assert json.loads(attempt.request_body)["cardnumber"] == "xxxxxxxxxxxx1111"
    assert json.loads(attempt.request_body)["cvv"] == "xxx"


def seen_answer(endpoint: GpcEndpoint, **fields: Any) -> str:
    return reply(**fields).body.decode()  # type: ignore[union-attr]


def test_card_tokenize_sends_nulls(endpoint: GpcEndpoint) -> None:
    settlement, _ = play(connector(endpoint.url()), CARD_TOKENIZE)
    assert settlement == Settlement(Result.SUCCESS, token="tok_123")
    assert endpoint.requests[0].json == card_body(
        "tokenize",
        TXN,
        cardnumber="378282246310005",
        cvv=None,
        expiry_month="12",
        expiry_year="31",
        postal_code=None,
        description=None,
        parameters={},
    )


def test_ach_charge(endpoint: GpcEndpoint) -> None:
    settlement, attempts = play(connector(endpoint.url()), ACH)
    assert settlement == Settlement(Result.SUCCESS, confirmation_code="ch_123")
    assert endpoint.requests[0].json == ach_body(
        "charge",
        TXN,
        bankaccountnumber="123456789",
        routingnumber="121000358",
        amount="25",
        currency_code="CAD",
        description=None,
        parameters={"AVSName": "Jane Doe"},
    )
    assert json.loads(attempts[0].request_body)["bankaccountnumber"] == "*******89"


def test_ach_tokenize(endpoint: GpcEndpoint) -> None:
    settlement, _ = play(connector(endpoint.url()), ACH_TOKENIZE)
    assert settlement == Settlement(Result.SUCCESS, token="tok_123")
    assert endpoint.requests[0].json == ach_body(
        "tokenize",
        TXN,
        bankaccountnumber="12345678",
        routingnumber="121000358",
        description=None,
        parameters={"AVSName": "Jane Doe"},
    )


def test_basic_authorization_header_is_exact(endpoint: GpcEndpoint) -> None:
    play(connector(endpoint.url()), CARD)
    expected = "Basic " + base64.b64encode(b"merchant:s3cr3t:pa55").decode()
    assert endpoint.requests[0].headers["authorization"] == expected


def test_wrong_credentials_get_401_which_is_malformed(endpoint: GpcEndpoint) -> None:
    wrong = GenericConnector(endpoint.url(), USERNAME, "wrong")
    settlement, attempts = play(wrong, CARD)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error=MALFORMED_CHARGE, pay_error_code=64008
    )
    assert len(endpoint.requests) == 1  # an answer is final: no retry
    assert (attempts[0].status_code, attempts[0].error) == (401, "HTTP 401")


@pytest.mark.parametrize(
    ("base", "data", "path"),
    [
        ("/gpc", CARD, "/gpc/charge"),
        ("/gpc/", CARD, "/gpc/charge"),
        ("/gpc", CARD_TOKENIZE, "/gpc/tokenize"),
        ("/gpc//?shop=1", ACH_TOKENIZE, "/gpc/tokenize?shop=1"),
        ("", ACH, "/charge"),
    ],
)
def test_legacy_paths(endpoint: GpcEndpoint, base: str, data: PaymentData, path: str) -> None:
    settlement, attempts = play(connector(endpoint.url(base), legacy_paths=True), data)
    assert settlement.result is Result.SUCCESS
    [seen] = endpoint.requests
    assert seen.path == path
    assert seen.json == expected_body(data, legacy=True)
    assert "method" not in seen.json
    assert "content-type" not in seen.headers
    assert attempts[0].url == endpoint.base_url + path


def test_credentials_in_the_url_are_not_used_or_recorded(endpoint: GpcEndpoint) -> None:
    url = endpoint.url().replace("http://", "http://someone:hunter2@")
    settlement, attempts = play(connector(url), CARD)
    assert settlement.result is Result.SUCCESS
    assert attempts[0].url == endpoint.url()
    assert "hunter2" not in repr(attempts)


def test_requests_go_through_the_way_out_given_with_the_connectors_credentials(
    endpoint: GpcEndpoint,
) -> None:
    async def main() -> Settlement:
        outgoing = Outgoing()
        try:
            return await run(connector(endpoint.url()), CARD, now_ms=lambda: 0, outgoing=outgoing)
        finally:
            await outgoing.aclose()

    assert asyncio.run(main()).result is Result.SUCCESS
    [seen] = endpoint.requests
    assert seen.headers["authorization"].startswith("Basic ")
    assert seen.headers["authorization"] == endpoint.expected_authorization
    assert "cookie" not in seen.headers
    assert seen.json["transaction_id"] != TXN  # a fresh UUID4 by default
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}",
        seen.json["transaction_id"],
    )


# --- the answer mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "script", "expected"),
    [
        (CARD, reply(charge_id="ch_9"), Settlement(Result.SUCCESS, confirmation_code="ch_9")),
        (CARD_TOKENIZE, reply(token_id="tok_9"), Settlement(Result.SUCCESS, token="tok_9")),
        (
            CARD,
            reply(error_code="card_declined", error_message="Your card was declined."),
            Settlement(
                Result.PAYMENT_CONNECTOR_ERROR,
                error="Your card was declined.",
                pay_error_code=64008,
                connector_error="card_declined",
            ),
        ),
        (
            ACH,
            reply(error_code="R01"),
            Settlement(
                Result.PAYMENT_CONNECTOR_ERROR,
                error="Payment Gateway rejected charge creation.",
                pay_error_code=64008,
                connector_error="R01",
            ),
        ),
        (
            CARD_TOKENIZE,
            reply(error_code="invalid_card", error_message="Bad card"),
            Settlement(
                Result.PAYMENT_CONNECTOR_ERROR,
                error="Bad card",
                pay_error_code=64010,
                connector_error="invalid_card",
            ),
        ),
        (
            ACH_TOKENIZE,
            reply(error_code="E"),
            Settlement(
                Result.PAYMENT_CONNECTOR_ERROR,
                error="Payment Gateway rejected token creation.",
                pay_error_code=64010,
                connector_error="E",
            ),
        ),
    ],
)
def test_well_formed_answers(
    endpoint: GpcEndpoint, data: PaymentData, script: Reply, expected: Settlement
) -> None:
    endpoint.push(script)
    settlement, attempts = play(connector(endpoint.url()), data)
    assert settlement == expected
    assert [(a.status_code, a.error) for a in attempts] == [(200, None)]


MALFORMED_REPLIES = {
    "not JSON": (Reply(body=b"OK", content_type="text/plain"), "the answer is not JSON"),
    "not an object": (Reply(body=b'[{"charge_id": "ch_1"}]'), "the answer is not a JSON object"),
    "id missing": (Reply(body=b'{"error_code": null}'), "{id} is missing"),
    "id not a string": (
        Reply(body=b'{"charge_id": 7, "token_id": 7}'),
        "charge_id is not a string or null",
    ),
    "id empty": (reply(charge_id="", token_id=""), "{id} is null or empty and error_code is null"),
    "wrong types": (
        Reply(body=b'{"charge_id": "c", "token_id": "t", "error_code": 42}'),
        "error_code is not a string or null",
    ),
    "empty body": (Reply(body=b""), "the answer is empty"),
    "500": (Reply(status=500, body=b'{"charge_id": "c", "token_id": "t"}'), "HTTP 500"),
    "400 merchant error": (
        Reply(status=400, body=b'{"charge_id": null, "error_code": "x"}'),
        "HTTP 400",
    ),
    "204": (Reply(status=204, body=b""), "the answer is empty"),
    "redirect": (Reply(status=302, body=b""), "HTTP 302"),
    "over 64 KiB": (
        Reply(body=b'{"charge_id": "c", "token_id": "t", "x": "' + b"y" * 70_000 + b'"}'),
        "the answer is longer than 65536 bytes",
    ),
}


@pytest.mark.parametrize("charging", [True, False], ids=["charge", "tokenize"])
@pytest.mark.parametrize("case", MALFORMED_REPLIES)
def test_malformed_answers(endpoint: GpcEndpoint, case: str, charging: bool) -> None:
    script, problem = MALFORMED_REPLIES[case]
    endpoint.push(script)
    settlement, attempts = play(connector(endpoint.url()), CARD if charging else CARD_TOKENIZE)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR,
        error=MALFORMED_CHARGE if charging else MALFORMED_TOKEN,
        pay_error_code=64008 if charging else 64010,
        connector_error="",
    )
    assert len(endpoint.requests) == 1  # any answer is final
    [attempt] = attempts
    assert attempt.status_code == script.status
    assert attempt.error == problem.format(id="charge_id" if charging else "token_id")
    body = script.body or b""
    assert attempt.response_excerpt == body[:2048].decode()


def test_excerpt_is_bounded_and_decoded_with_replacement(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(body=b"\xff" + b"z" * 5000))
    _, [attempt] = play(connector(endpoint.url()), CARD)
    assert attempt.response_excerpt == "\ufffd" + "z" * 2047


def test_echoed_card_digits_are_masked(endpoint: GpcEndpoint) -> None:
    """An endpoint that echoes the digits back: neither the settlement nor the record keeps
    them."""
    endpoint.push(
        reply(
            error_code="4111111111111111",
            error_message="card 4111111111111111 cvv 737 refused",
        )
    )
    settlement, [attempt] = play(connector(endpoint.url()), CARD)
    assert settlement.error == "card xxxxxxxxxxxx1111 cvv xxx refused"
    assert settlement.connector_error == "xxxxxxxxxxxx1111"
    assert "card xxxxxxxxxxxx1111 cvv xxx refused" in attempt.response_excerpt


def test_echoed_account_digits_are_masked(endpoint: GpcEndpoint) -> None:
    endpoint.push(reply(charge_id="py_123456789"))
    settlement, [attempt] = play(connector(endpoint.url()), ACH)
    assert settlement == Settlement(Result.SUCCESS, confirmation_code="py_*******89")
    assert "123456789" not in attempt.response_excerpt


# --- no answer: retries -----------------------------------------------------------------------


def test_hanging_endpoint_is_retried_with_the_same_transaction_id(endpoint: GpcEndpoint) -> None:
    endpoint.push(*[Reply(hang=True)] * 6)
    settlement, attempts = play(connector(endpoint.url(), timeout_s=0.2), CARD)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error=NO_ANSWER_CHARGE, pay_error_code=64008
    )
    assert len(endpoint.requests) == 6  # the request and 5 retries (the default)
    assert {seen.json["transaction_id"] for seen in endpoint.requests} == {TXN}
    assert {seen.body for seen in endpoint.requests} == {endpoint.requests[0].body}
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (n, None, "timed out after 0.2 s") for n in range(1, 7)
    ]
    assert {a.transaction_id for a in attempts} == {TXN}


def test_retries_setting(endpoint: GpcEndpoint) -> None:
    endpoint.push(*[Reply(hang=True)] * 3)
    settlement, attempts = play(connector(endpoint.url(), timeout_s=0.2, retries=1), ACH_TOKENIZE)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error=NO_ANSWER_TOKEN, pay_error_code=64010
    )
    assert len(endpoint.requests) == len(attempts) == 2


def test_retry_then_success(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(hang=True), Reply(close=True), reply(charge_id="ch_late"))
    settlement, attempts = play(connector(endpoint.url(), timeout_s=0.2), CARD)
    assert settlement == Settlement(Result.SUCCESS, confirmation_code="ch_late")
    assert [(a.status_code, a.error) for a in attempts] == [
        (None, "timed out after 0.2 s"),
        (None, "connection closed without an answer"),
        (200, None),
    ]
    assert len({seen.json["transaction_id"] for seen in endpoint.requests}) == 1


def test_an_incomplete_answer_is_no_answer(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(hang_after_headers=True), Reply(close_mid_body=True), Reply(hang=True))
    settlement, attempts = play(connector(endpoint.url(), timeout_s=0.2, retries=2), CARD)
    assert settlement.error == NO_ANSWER_CHARGE
    assert [(a.status_code, a.error) for a in attempts] == [
        (None, "timed out after 0.2 s reading the answer (HTTP 200 received)"),
        (None, "connection closed reading the answer (HTTP 200 received)"),
        (None, "timed out after 0.2 s"),
    ]
    assert attempts[0].response_excerpt.startswith('{"charge_id": "ch_123"')


def test_a_slow_answer_within_the_timeout_counts(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(delay_s=0.05, body=reply(charge_id="ch_slow").body))
    settlement, attempts = play(connector(endpoint.url(), timeout_s=5), CARD)
    assert settlement.confirmation_code == "ch_slow"
    assert len(attempts) == 1


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/gpc"


def test_connection_refused_is_retried_then_no_answer(refusing_url: str) -> None:
    settlement, attempts = play(connector(refusing_url, timeout_s=2), CARD_TOKENIZE)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error=NO_ANSWER_TOKEN, pay_error_code=64010
    )
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (n, None, "connection refused") for n in range(1, 7)
    ]
    assert all(a.url == refusing_url for a in attempts)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://127.0.0.1/gpc", "the endpoint URL must start with http:// or https://"),
        ("not a url", "the endpoint URL must start with http:// or https://"),
        ("http://", "the endpoint URL has no host"),
        ("http://127.0.0.1:port/", "the endpoint URL is not a valid URL"),
        ("https://u:pw@127.0.0.1:port/", "the endpoint URL is not a valid URL"),
    ],
)
def test_an_unusable_url_is_one_failed_attempt(url: str, problem: str) -> None:
    settlement, attempts = play(connector(url), CARD)
    assert settlement.error == NO_ANSWER_CHARGE
    [attempt] = attempts
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (None, problem, "")
    assert "pw" not in attempt.url
    assert endpoint_problem(url) == problem


def test_endpoint_problem_accepts_http_and_https() -> None:
    assert endpoint_problem("https://pay.example/gpc?x=1") is None
    assert endpoint_problem("http://127.0.0.1:9/") is None


# --- TEST mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (dataclasses.replace(CARD, card_number="4242424242424242"), 64022, "Pay: Invalid Test Card Number"),
        (dataclasses.replace(ACH, account_number="000123456789"), 64023, "Pay: Invalid Test Bank Account Number"),
    ],
)  # fmt: skip
def test_test_mode_refuses_without_a_request(
    endpoint: GpcEndpoint, data: PaymentData, code: int, message: str
) -> None:
    settlement, attempts = play(connector(endpoint.url()), data)
    assert settlement == Settlement(
        Result.PAYMENT_CONNECTOR_ERROR, error=message, pay_error_code=code
    )
    assert attempts == []
    assert endpoint.requests == []
    settlement, attempts = play(connector(endpoint.url(), mode="live"), data)
    assert settlement.result is Result.SUCCESS
    assert len(endpoint.requests) == len(attempts) == 1


# --- the attempt callback, cancellation -----------------------------------------------------


def test_on_attempt_may_be_async_and_runs_before_the_next_attempt(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(close=True), Reply(close=True))
    seen_then: list[int] = []

    async def record(attempt: ConnectorAttempt) -> None:
        await asyncio.sleep(0)
        seen_then.append(len(endpoint.requests))
        assert attempt.attempt == len(endpoint.requests)

    clock = iter(range(1000, 2000, 10))
    asyncio.run(run(connector(endpoint.url()), CARD, now_ms=lambda: next(clock), on_attempt=record))
    assert seen_then == [1, 2, 3]


def test_started_at_comes_from_the_clock(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(close=True))
    clock = iter([1000, 2000])
    attempts: list[ConnectorAttempt] = []
    asyncio.run(
        run(
            connector(endpoint.url()),
            CARD,
            now_ms=lambda: next(clock),
            on_attempt=attempts.append,
        )
    )
    assert [a.started_at_ms for a in attempts] == [1000, 2000]


def test_cancellation_propagates(endpoint: GpcEndpoint) -> None:
    endpoint.push(Reply(hang=True))

    async def main() -> None:
        task = asyncio.create_task(run(connector(endpoint.url()), CARD, now_ms=lambda: 0))
        await asyncio.to_thread(endpoint.wait_for, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_an_exception_of_on_attempt_propagates(endpoint: GpcEndpoint) -> None:
    def boom(attempt: ConnectorAttempt) -> None:
        raise RuntimeError("recorder broke")

    with pytest.raises(RuntimeError, match="recorder broke"):
        asyncio.run(run(connector(endpoint.url()), CARD, now_ms=lambda: 0, on_attempt=boom))


# --- HTTPS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    files = write_certificates(tmp_path_factory.mktemp("gpc-tls"), ["127.0.0.1"])
    return files.server_cert, files.server_key, files.ca_cert


def test_https_endpoint(certificates: tuple[Path, Path, Path]) -> None:
    cert, key, ca = certificates
    with GpcEndpoint(tls=(cert, key)).running() as endpoint:

        async def main() -> Settlement:
            outgoing = Outgoing(ssl_context=ssl.create_default_context(cafile=str(ca)))
            try:
                return await run(
                    connector(endpoint.url()), CARD, now_ms=lambda: 0, outgoing=outgoing
                )
            finally:
                await outgoing.aclose()

        assert asyncio.run(main()) == Settlement(Result.SUCCESS, confirmation_code="ch_123")
        assert endpoint.requests[0].json["cardnumber"] == "4111111111111111"


def test_untrusted_certificate_is_no_answer(certificates: tuple[Path, Path, Path]) -> None:
    cert, key, _ = certificates
    with GpcEndpoint(tls=(cert, key)).running() as endpoint:
        settlement, attempts = play(connector(endpoint.url(), retries=1), CARD)
    assert settlement.error == NO_ANSWER_CHARGE
    assert len(attempts) == 2
    assert all(
        a.error is not None and a.error.startswith("TLS certificate not accepted") for a in attempts
    )
    assert endpoint.requests == []


def test_tls_to_a_plain_http_endpoint_is_no_answer(endpoint: GpcEndpoint) -> None:
    url = endpoint.url().replace("http://", "https://")
    settlement, attempts = play(connector(url, retries=0, timeout_s=2), CARD)
    assert settlement.error == NO_ANSWER_CHARGE
    [attempt] = attempts
    assert attempt.error is not None
    assert attempt.error.startswith("TLS failed")


def test_the_host_policy_of_the_one_way_out_applies_to_connector_requests(
    endpoint: GpcEndpoint,
) -> None:
    """callback_hosts holds for connector requests as for StatusCallbacks: a refused host is
    one final attempt (no retries), and nothing reaches it."""

    async def main() -> tuple[Settlement, list[ConnectorAttempt]]:
        attempts: list[ConnectorAttempt] = []
        outgoing = Outgoing(HostPolicy.of(["payments.test"]))
        try:
            settlement = await run(
                connector(endpoint.url()),
                CARD,
                now_ms=lambda: 0,
                on_attempt=attempts.append,
                outgoing=outgoing,
            )
        finally:
            await outgoing.aclose()
        return settlement, attempts

    settlement, attempts = asyncio.run(main())
    assert settlement.error == NO_ANSWER_CHARGE
    [attempt] = attempts
    assert attempt.status_code is None
    assert attempt.error == (
        "host '127.0.0.1' is not in callback_hosts (payments.test): not sent (no look-up,"
        " no connection)"
    )
    assert endpoint.requests == []
