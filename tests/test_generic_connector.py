"""A Generic Pay Connector driven as Twilio drives it: twilio-python on the agent's side, the
caller keying through the control plane, a GPC endpoint of the tests' own on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from emulator.testing import Account, EmulatorServer
from tests.flows import ACH_VALUES, CARD_VALUES, Flow
from tests.gpc_endpoint import (
    PASSWORD,
    USERNAME,
    GpcEndpoint,
    Reply,
    answer,
    card_body,
    install,
    reply,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MALFORMED_CHARGE = (
    "Payment Gateway rejected charge creation. Got malformed response from Payment Provider."
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    return server.control.create_account()


@pytest.fixture
def endpoint() -> Iterator[GpcEndpoint]:
    with GpcEndpoint().running() as running:
        yield running


def card_session(server: EmulatorServer, account: Account, **params: Any) -> Flow:
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", **params)
    flow.capture_all(CARD_VALUES)
    return flow


def completed(flow: Flow) -> dict[str, str]:
    """Status=complete, answered at once; then the final callback, once the endpoint answered."""
    flow.finish()
    flow.made += 1
    return flow.last()


def test_charge_by_card(server: EmulatorServer, account: Account, endpoint: GpcEndpoint) -> None:
    view = install(server, account, endpoint.url())
    assert view["generic"]["password"] == "****"
    endpoint.push(Reply(delay_s=0.3, body=answer(charge_id="ch_merchant_1")))
    flow = card_session(
        server, account, charge_amount=10.5, description="order 42", parameter={"store": "7"}
    )
    flow.finish()
    assert flow.view()["state"] == "processing"  # answered 202 before the endpoint did
    flow.made += 1
    done = flow.last()
    assert (done["Result"], done["PaymentConfirmationCode"], done["PaymentToken"]) == (
        "success",
        "ch_merchant_1",
        "",
    )
    (seen,) = endpoint.requests
    assert seen.path == "/gpc"
    assert seen.headers["authorization"] == endpoint.expected_authorization
    assert seen.headers["content-type"] == "application/json"
    body = seen.json
    assert UUID.match(body["transaction_id"])
    assert body == card_body(
        "charge",
        body["transaction_id"],
        cardnumber="4111111111111111",
        cvv="123",
        expiry_month="12",
        expiry_year="30",
        postal_code="94105",
        amount="10.5",
        currency_code="USD",
        description="order 42",
        parameters={"store": "7"},
    )
    requests = flow.view()["connector_requests"]
    assert len(requests) == 1
    assert requests[0]["status_code"] == 200
    assert requests[0]["request_body"]["cardnumber"] == "xxxxxxxxxxxx1111"
    assert requests[0]["request_body"]["cvv"] == "xxx"


def test_tokenize_a_bank_account(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url())
    endpoint.push(reply(token_id="tok_ach_9"))
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", payment_method="ach-debit", parameter={"AVSName": "Jo"})
    flow.capture_all(ACH_VALUES)
    done = completed(flow)
    assert (done["Result"], done["PaymentToken"], done["BankAccountNumber"]) == (
        "success",
        "tok_ach_9",
        "*******89",
    )
    body = endpoint.requests[0].json
    assert body["method"] == "tokenize"
    assert (body["bankaccountnumber"], body["routingnumber"]) == ("123456789", "121000358")
    assert "amount" not in body
    assert body["parameters"] == {"AVSName": "Jo"}


@pytest.mark.parametrize(
    ("answer_with", "charging", "expected"),
    [
        (
            reply(error_code="card_declined", error_message="Do not honor"),
            True,
            ("payment-connector-error", "64008", "Do not honor", "card_declined"),
        ),
        (
            reply(error_code="token_failed"),
            False,
            (
                "payment-connector-error",
                "64010",
                "Payment Gateway rejected token creation.",
                "token_failed",
            ),
        ),
        (
            Reply(body=b"<html>oops</html>", content_type="text/html"),
            True,
            ("payment-connector-error", "64008", MALFORMED_CHARGE, ""),
        ),
        (
            Reply(status=500, body=answer(charge_id="ch_1")),
            True,
            ("payment-connector-error", "64008", MALFORMED_CHARGE, ""),
        ),
        (reply(token_id="tok_1"), True, ("payment-connector-error", "64008", MALFORMED_CHARGE, "")),
    ],
)
def test_what_the_endpoint_answers_decides_the_callback(
    server: EmulatorServer,
    account: Account,
    endpoint: GpcEndpoint,
    answer_with: Reply,
    charging: bool,
    expected: tuple[str, str, str, str],
) -> None:
    install(server, account, endpoint.url())
    endpoint.push(answer_with)
    flow = card_session(server, account, **({"charge_amount": 3} if charging else {}))
    done = completed(flow)
    assert (
        done["Result"],
        done["PayErrorCode"],
        done["PaymentError"],
        done["ConnectorError"],
    ) == expected


def test_wrong_credentials_are_a_malformed_answer(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url(), password="wrong")
    done = completed(card_session(server, account, charge_amount=3))
    assert (done["Result"], done["PaymentError"]) == ("payment-connector-error", MALFORMED_CHARGE)
    assert len(endpoint.requests) == 1


def test_retries_keep_the_transaction_id(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url(), timeout_s=0.3, retries=2)
    endpoint.push(Reply(hang=True), Reply(hang=True), Reply(hang=True))
    flow = card_session(server, account, charge_amount=3)
    done = completed(flow)
    assert done["PaymentError"].endswith("No response from Payment Provider.")
    seen = endpoint.wait_for(3)
    assert len({r.json["transaction_id"] for r in seen}) == 1
    attempts = flow.view()["connector_requests"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert all(a["status_code"] is None for a in attempts)


def test_a_retry_that_succeeds(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url(), timeout_s=0.3, retries=5)
    endpoint.push(Reply(hang=True), reply(charge_id="ch_second"))
    done = completed(card_session(server, account, charge_amount=3))
    assert (done["Result"], done["PaymentConfirmationCode"]) == ("success", "ch_second")


def test_legacy_paths(server: EmulatorServer, account: Account, endpoint: GpcEndpoint) -> None:
    install(server, account, endpoint.url(), legacy_paths=True)
    completed(card_session(server, account, charge_amount=3))
    (seen,) = endpoint.requests
    assert seen.path == "/gpc/charge"
    assert "method" not in seen.json


def test_test_mode_refuses_other_cards_without_a_request(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url())
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all({**CARD_VALUES, "payment-card-number": "4242424242424242"})
    done = completed(flow)
    assert (done["Result"], done["PayErrorCode"]) == ("payment-connector-error", "64022")
    assert endpoint.requests == []
    assert flow.view()["state"] == "completed"


def test_live_mode_forwards_any_card(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url(), mode="live")
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all({**CARD_VALUES, "payment-card-number": "4242424242424242"})
    assert completed(flow)["Result"] == "success"
    assert endpoint.requests[0].json["cardnumber"] == "4242424242424242"


def test_while_processing(server: EmulatorServer, account: Account, endpoint: GpcEndpoint) -> None:
    """Neither active nor ended: cancel and a new Capture are 64021; a hang-up ends the call
    but not the payment; the API answers other sessions meanwhile."""
    install(server, account, endpoint.url())
    endpoint.push(Reply(delay_s=30, body=answer(charge_id="ch_late")))
    flow = card_session(server, account, charge_amount=3)
    flow.finish()
    endpoint.wait_for(1)
    for params in ({"status": "cancel"}, {"capture": "postal-code"}, {"status": "complete"}):
        with pytest.raises(TwilioRestException) as caught:
            flow.update(**params)
        assert (caught.value.status, caught.value.code) == (400, 64021)
    other = Flow(server, account)
    other.start()
    other.capture("postal-code", "94105")
    assert flow.view()["state"] == "processing"  # the endpoint has not answered yet
    server.control.hang_up(flow.call_sid)
    assert flow.view()["state"] == "processing"


def test_a_forced_outcome_skips_the_endpoint(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url())
    flow = card_session(server, account, charge_amount=3)
    response = server.control.http.post(
        f"/_emulator/payments/{flow.sid}/outcome",
        json={"result": "payment-connector-error", "pay_error_code": "64002"},
    )
    assert response.status_code == 200
    done = completed(flow)
    assert (done["Result"], done["PayErrorCode"]) == ("payment-connector-error", "64002")
    assert endpoint.requests == []


def test_connectors_are_replaced_by_name_and_refused_for_unknown_accounts(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint.url())
    plain = server.control.http.post(
        "/_emulator/connectors",
        json={"account_sid": account.account_sid, "name": "gpc", "tokenize": False},
    )
    assert plain.status_code == 201
    assert plain.json()["generic"] is None
    flow = Flow(server, account)
    with pytest.raises(TwilioRestException) as caught:
        flow.start(payment_connector="gpc")  # tokenizing: this connector cannot
    assert caught.value.code == 64005
    missing = server.control.http.post(
        "/_emulator/connectors", json={"account_sid": "AC" + "0" * 32, "name": "x"}
    )
    assert missing.status_code == 404
    bad = server.control.http.post(
        "/_emulator/connectors",
        json={
            "account_sid": account.account_sid,
            "name": "x",
            "generic": {"endpoint_url": "ftp://x"},
        },
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_card_data_reaches_only_the_endpoint(tmp_path: Path, log_format: str) -> None:
    """The full card number and security code go to the merchant's endpoint, and nowhere
    else: not the database (and its WAL), the log (in either format), the journal, a
    callback or a view."""
    card, cvv = "5555555555554444", "987"
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer(
            "--caller",
            "manual",
            "--log-level",
            "debug",
            "--log-format",
            log_format,
            database=tmp_path / "e.db",
        ) as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint.url())
        endpoint.push(Reply(body=answer(charge_id=f"ch_{card}")))  # an endpoint that echoes
        flow = Flow(server, account)
        flow.start(payment_connector="gpc", charge_amount=20)
        flow.capture_all({**CARD_VALUES, "payment-card-number": card, "security-code": cvv})
        completed(flow)
        assert endpoint.requests[0].json["cardnumber"] == card
        assert endpoint.requests[0].json["cvv"] == cvv
        shown = json.dumps(
            [
                flow.view(),
                server.control.callbacks(account_sid=account.account_sid),
                server.control.requests(account_sid=account.account_sid),
            ]
        )
        assert card not in shown
        assert f'"{cvv}"' not in shown
        server.stop()
        log = server.log
    assert card not in log
    if log_format == "json":  # every line an object; the connector's request among them
        records = [json.loads(line) for line in log.splitlines()]
        assert any(r.get("event") == "connector.request" for r in records)
    for path in tmp_path.iterdir():
        if path.is_file():
            assert card.encode() not in path.read_bytes(), path
    with sqlite3.connect(tmp_path / "e.db") as conn:
        (stored,) = conn.execute("SELECT request_body FROM connector_attempts").fetchone()
    assert json.loads(stored)["cvv"] == "xxx"


def test_after_a_restart_the_digits_must_be_keyed_again(tmp_path: Path) -> None:
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint.url())
        flow = card_session(server, account, charge_amount=4)
        server.restart()
        flow.control = server.control
        flow.client.api.base_url = server.base_url  # a new port
        with pytest.raises(TwilioRestException) as caught:
            flow.finish()
        assert caught.value.code == 64019
        assert "payment-card-number" in caught.value.msg
        assert "security-code" in caught.value.msg
        assert endpoint.requests == []
        flow.capture("payment-card-number", CARD_VALUES["payment-card-number"])
        flow.capture("security-code", CARD_VALUES["security-code"])
        assert completed(flow)["Result"] == "success"


def test_a_request_cut_short_by_a_restart_ends_as_no_answer(tmp_path: Path) -> None:
    with (
        GpcEndpoint([Reply(hang=True)]).running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint.url(), timeout_s=60)
        flow = card_session(server, account, charge_amount=4)
        flow.finish()
        endpoint.wait_for(1)
        server.restart(kill=True)
        flow.control = server.control
        flow.made += 1
        done = flow.last()
        assert done["Result"] == "payment-connector-error"
        assert done["PaymentError"].endswith("No response from Payment Provider.")
        assert len(endpoint.requests) == 1  # not sent again: the digits are gone


def test_a_generic_connector_from_the_fixtures(tmp_path: Path) -> None:
    account_sid, token = "AC" + "7" * 32, "fixturetoken7"
    with GpcEndpoint([reply(token_id="tok_fixture")]).running() as endpoint:
        fixtures = tmp_path / "fixtures.json"
        fixtures.write_text(
            json.dumps(
                {
                    "accounts": [{"sid": account_sid, "auth_token": token}],
                    "connectors": [
                        {
                            "account_sid": account_sid,
                            "name": "Default",
                            "generic": {
                                "endpoint_url": endpoint.url("/pay"),
                                "username": USERNAME,
                                "password": PASSWORD,
                            },
                        }
                    ],
                }
            )
        )
        with EmulatorServer(
            "--fixtures", str(fixtures), "--caller", "manual", database=tmp_path / "e.db"
        ) as server:
            flow = Flow(server, Account(account_sid, token, "", ""))
            flow.start()
            flow.capture_all(CARD_VALUES)
            assert completed(flow)["PaymentToken"] == "tok_fixture"
            assert endpoint.requests[0].path == "/pay"
            assert httpx.get(server.base_url + "/_emulator/health").status_code == 200
