"""The fidelity ledger's decisions (docs/reference/behaviour.md), each played end to end: a
real emulator, twilio-python on the agent's side, a GPC endpoint or StatusCallback receiver
of the test's own. Each test would fail under the behaviour the ledger replaced."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import Account, EmulatorServer
from tests.flows import CARD_VALUES, Flow
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint, Reply

MALFORMED_TOKEN = (
    "Payment Gateway rejected token creation. Got malformed response from Payment Provider."
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


def install(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint, **generic: Any
) -> None:
    body = {
        "account_sid": account.account_sid,
        "name": "gpc",
        "generic": {
            "endpoint_url": endpoint.url(),
            "username": USERNAME,
            "password": PASSWORD,
            **generic,
        },
    }
    response = server.control.http.post("/_emulator/connectors", json=body)
    assert response.status_code == 201, response.text


def completed(flow: Flow) -> dict[str, str]:
    """Status=complete; the final callback, once the endpoint answered."""
    flow.finish()
    flow.made += 1
    return flow.last()


# --- Description and Parameter reach the merchant as the API received them -------------------

INVOICE = "Invoice 4000 0012 3456 0123"  # card-like: masked wherever the emulator keeps it
PARAMETER = {"invoice": "100000000012345", "store": "7", "vip": True}


def test_description_and_parameter_reach_the_endpoint_unchanged(
    tmp_path: Path,
) -> None:
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint)
        flow = Flow(server, account)
        flow.start(
            payment_connector="gpc", charge_amount=5, description=INVOICE, parameter=PARAMETER
        )
        flow.capture_all(CARD_VALUES)
        assert completed(flow)["Result"] == "success"
        body = endpoint.requests[0].json
        assert (body["description"], body["parameters"]) == (INVOICE, PARAMETER)
        # what the emulator keeps and shows is masked
        recorded = flow.view()["connector_requests"][0]["request_body"]
        assert recorded["description"] == "Invoice xxxx xxxx xxxx 0123"
        assert recorded["parameters"]["invoice"] == "xxxxxxxxxxx2345"
        create = server.control.requests(call_sid=flow.call_sid)[0]
        assert create["params"]["Description"] == "Invoice xxxx xxxx xxxx 0123"
        assert json.loads(create["params"]["Parameter"])["invoice"] == "xxxxxxxxxxx2345"
        server.stop()
    for path in tmp_path.iterdir():
        if path.is_file():
            assert b"100000000012345" not in path.read_bytes(), path
            assert INVOICE.encode() not in path.read_bytes(), path
    with sqlite3.connect(tmp_path / "e.db") as conn:
        (description, parameter) = conn.execute(
            "SELECT description, parameter FROM payment_sessions"
        ).fetchone()
    assert description == "Invoice xxxx xxxx xxxx 0123"
    assert json.loads(parameter)["invoice"] == "xxxxxxxxxxx2345"


def test_after_a_restart_the_endpoint_gets_the_stored_values(tmp_path: Path) -> None:
    """The originals are held in memory only, like card digits: gone after a restart."""
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint)
        flow = Flow(server, account)
        flow.start(payment_connector="gpc", description=INVOICE, parameter=PARAMETER)
        server.restart()
        flow.control = server.control
        flow.client.api.base_url = server.base_url
        flow.capture_all(CARD_VALUES)
        assert completed(flow)["Result"] == "success"
        body = endpoint.requests[0].json
        assert body["description"] == "Invoice xxxx xxxx xxxx 0123"
        assert body["parameters"]["invoice"] == "xxxxxxxxxxx2345"


# --- what a Generic Pay Connector's answer means ---------------------------------------------


def test_an_error_answer_without_its_id_key_is_malformed_and_says_why(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    """The GPC page: "Twilio will expect to receive the charge_id field in the response for a
    charge error". The attempt's record names the missing key."""
    install(server, account, endpoint)
    endpoint.push(Reply(body=b'{"error_code": "card_declined", "error_message": "Declined"}'))
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all(CARD_VALUES)
    done = completed(flow)
    assert (done["Result"], done["PayErrorCode"], done["ConnectorError"]) == (
        "payment-connector-error",
        "64008",
        "",
    )
    [attempt] = flow.view()["connector_requests"]
    assert attempt["error"] == (
        'charge_id is missing: Twilio expects it even in an error answer (send "charge_id": null'
        " with the error_code)"
    )


@pytest.mark.parametrize("legacy", [True, False])
def test_a_tokenize_answer_naming_the_token_charge_id(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint, legacy: bool
) -> None:
    """Pre-2022 connectors (legacy_paths) answered /tokenize with charge_id; the current
    protocol's answer names token_id."""
    install(server, account, endpoint, legacy_paths=legacy)
    endpoint.push(Reply(body=b'{"charge_id": "T_a9dc", "error_code": null}'))
    flow = Flow(server, account)
    flow.start(payment_connector="gpc")
    flow.capture_all(CARD_VALUES)
    done = completed(flow)
    if legacy:
        assert (done["Result"], done["PaymentToken"]) == ("success", "T_a9dc")
        assert endpoint.requests[0].path == "/gpc/tokenize"
    else:
        assert (done["Result"], done["PaymentError"]) == (
            "payment-connector-error",
            MALFORMED_TOKEN,
        )
        assert "token_id is missing" in flow.view()["connector_requests"][0]["error"]


def test_a_non_2xx_answer_is_not_retried(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    """The GPC page retries only when the processor "fails to respond ... within 10
    seconds": a 503 is an answer, and final."""
    install(server, account, endpoint, retries=5)
    endpoint.push(Reply(status=503, body=b'{"charge_id": null, "error_code": "busy"}'))
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all(CARD_VALUES)
    assert completed(flow)["PayErrorCode"] == "64008"
    assert len(endpoint.requests) == 1
    assert [a["error"] for a in flow.view()["connector_requests"]] == ["HTTP 503"]


def test_an_unset_description_is_sent_as_null(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    install(server, account, endpoint)
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all(CARD_VALUES)
    completed(flow)
    body = endpoint.requests[0].json
    assert "description" in body
    assert body["description"] is None
    assert "token_type" not in body
