"""The fidelity ledger's decisions (docs/reference/behaviour.md), each played end to end: a
real emulator, twilio-python on the agent's side, a GPC endpoint or StatusCallback receiver
of the test's own. Each test would fail under the behaviour the ledger replaced."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from emulator.testing import Account, EmulatorServer
from tests.flows import ACH_VALUES, CARD_VALUES, Flow
from tests.gpc_endpoint import GpcEndpoint, Reply, install
from tests.receiver import Receiver

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


def completed(flow: Flow) -> dict[str, str]:
    """Status=complete; the final callback, once the endpoint answered."""
    flow.finish()
    flow.made += 1
    return flow.last()


# --- Description and Parameter reach the merchant as the API received them -------------------

INVOICE = "Invoice 4000 0566 5566 5556"  # a card number: masked wherever the emulator keeps it
PARAMETER = {"invoice": "378282246310005", "store": "7", "vip": True}


def test_description_and_parameter_reach_the_endpoint_unchanged(
    tmp_path: Path,
) -> None:
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint.url())
        echo = json.dumps({"charge_id": "ch_1", "error_code": None, "echo": INVOICE})
        endpoint.push(Reply(body=echo.encode()))  # an endpoint that echoes the description
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
        assert recorded["description"] == "Invoice xxxx xxxx xxxx 5556"
        assert recorded["parameters"]["invoice"] == "xxxxxxxxxxx0005"
        answer = flow.view()["connector_requests"][0]["response"]
        assert "Invoice xxxx xxxx xxxx 5556" in answer
        create = server.control.requests(call_sid=flow.call_sid)[0]
        assert create["params"]["Description"] == "Invoice xxxx xxxx xxxx 5556"
        assert json.loads(create["params"]["Parameter"])["invoice"] == "xxxxxxxxxxx0005"
        server.stop()
    for path in tmp_path.iterdir():
        if path.is_file():
            assert b"378282246310005" not in path.read_bytes(), path
            assert INVOICE.encode() not in path.read_bytes(), path
    with sqlite3.connect(tmp_path / "e.db") as conn:
        (description, parameter) = conn.execute(
            "SELECT description, parameter FROM payment_sessions"
        ).fetchone()
    assert description == "Invoice xxxx xxxx xxxx 5556"
    assert json.loads(parameter)["invoice"] == "xxxxxxxxxxx0005"


def test_after_a_restart_the_endpoint_gets_the_stored_values(tmp_path: Path) -> None:
    """The originals are held in memory only, like card digits: gone after a restart."""
    with (
        GpcEndpoint().running() as endpoint,
        EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server,
    ):
        account = server.control.create_account()
        install(server, account, endpoint.url())
        flow = Flow(server, account)
        flow.start(payment_connector="gpc", description=INVOICE, parameter=PARAMETER)
        server.restart()
        flow.control = server.control
        flow.client.api.base_url = server.base_url
        flow.capture_all(CARD_VALUES)
        assert completed(flow)["Result"] == "success"
        body = endpoint.requests[0].json
        assert body["description"] == "Invoice xxxx xxxx xxxx 5556"
        assert body["parameters"]["invoice"] == "xxxxxxxxxxx0005"


# --- what a Generic Pay Connector's answer means ---------------------------------------------


def test_an_error_answer_without_its_id_key_is_malformed_and_says_why(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    """The GPC page: "Twilio will expect to receive the charge_id field in the response for a
    charge error". The attempt's record names the missing key."""
    install(server, account, endpoint.url())
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
    install(server, account, endpoint.url(), legacy_paths=legacy)
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
    install(server, account, endpoint.url(), retries=5)
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
    install(server, account, endpoint.url())
    flow = Flow(server, account)
    flow.start(payment_connector="gpc", charge_amount=3)
    flow.capture_all(CARD_VALUES)
    completed(flow)
    body = endpoint.requests[0].json
    assert "description" in body
    assert body["description"] is None
    assert "token_type" not in body


# --- StatusCallbacks: connection overrides, the signed URL, credentials -----------------------


def test_a_fragment_sets_the_connection_overrides_and_is_neither_sent_nor_signed(
    server: EmulatorServer, account: Account
) -> None:
    """https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides: "#rc=2"
    retries twice; "these URL fragments do not make it into the signature computation"."""
    failing = Receiver(status=503)
    with failing.running():
        url = failing.url("/status?tenant=7") + "#rc=2&rp=5xx&ct=1000"
        flow = Flow(server, account, callback=url)
        flow.start()
        arrived = failing.wait_for(3)
        [callback] = flow.callbacks()
    assert (callback["state"], callback["attempts"]) == ("failed", 3)
    assert {r.path for r in arrived} == {"/status?tenant=7"}
    validator = RequestValidator(account.auth_token)
    plain = failing.url("/status?tenant=7")
    for request in arrived:
        assert validator.validate(plain, request.form, request.headers["X-Twilio-Signature"])
    assert len({r.headers["I-Twilio-Idempotency-Token"] for r in arrived}) == 1


def test_twilios_default_retries_a_failed_connection_once_and_nothing_else(
    server: EmulatorServer, account: Account
) -> None:
    """rc=1, rp=ct: one retry on a TCP connect or TLS handshake failure; a 5xx is final."""
    closed = Flow(server, account, callback="http://127.0.0.1:9/status")
    closed.start()
    failing = Receiver(status=500)
    with failing.running():
        answered = Flow(server, account, callback=failing.url())
        answered.start()
        [refused] = closed.callbacks()
        [five_hundred] = answered.callbacks()
        assert len(failing.received) == 1
    deadline = time.monotonic() + 10
    while refused["state"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.02)
        [refused] = server.control.callbacks(payment_sid=closed.sid)
    assert (refused["state"], refused["attempts"]) == ("failed", 2)
    assert (five_hundred["state"], five_hundred["attempts"]) == ("failed", 1)
    once = Flow(server, account, callback="http://127.0.0.1:9/status#rc=0")
    once.start()
    assert once.callbacks()[0]["attempts"] == 1


def test_credentials_in_a_callback_url_answer_a_challenge_and_are_not_signed(
    server: EmulatorServer, account: Account
) -> None:
    """https://www.twilio.com/docs/usage/security: Twilio "will first send a request with no
    Authorization header"; after a 401 with a Basic challenge, the same request with one.
    Over HTTP it "will drop the username and password (if any) from the URL before computing
    the signature"."""
    guarded = Receiver(challenge='Basic realm="My Realm"')
    with guarded.running():
        url = f"http://agent:pa55@127.0.0.1:{guarded.port}/status"
        flow = Flow(server, account, callback=url)
        flow.start()
        first, second = guarded.wait_for(2)
        [callback] = flow.callbacks()
    assert "Authorization" not in first.headers
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"agent:pa55").decode()
    assert first.body == second.body
    assert (callback["state"], callback["attempts"]) == ("delivered", 1)
    validator = RequestValidator(account.auth_token)
    plain = guarded.url("/status")
    assert validator.validate(plain, second.form, second.headers["X-Twilio-Signature"])


# --- answers and errors ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_readings() -> Iterator[EmulatorServer]:
    """The settings that pick the other reading: a ChargeAmount out of range reaches the
    complete as validation-error; a cancel's callback carries no Result."""
    with EmulatorServer(
        "--caller",
        "manual",
        "--invalid-charge-amount",
        "validation-error",
        "--cancel-result",
        "",
    ) as running:
        yield running


@pytest.mark.parametrize("amount", ["-0.59", "1000000", "10.001"])
def test_an_amount_out_of_range_is_refused_at_create_by_default(
    server: EmulatorServer, account: Account, amount: str
) -> None:
    flow = Flow(server, account)
    with pytest.raises(TwilioRestException) as caught:
        flow.start(charge_amount=amount)
    assert (caught.value.status, caught.value.code) == (400, 64003)


def test_or_ends_the_complete_with_validation_error(other_readings: EmulatorServer) -> None:
    """The Payment resource's Result table: "validation-error: An invalid parameter value,
    e.g., chargeAmount="-0.5""; <Pay>'s PaymentError: "paymentAmount='-0.59' (not a number
    between 0.00 - 1,000,000.00)"."""
    account = other_readings.control.create_account()
    flow = Flow(other_readings, account)
    flow.start(charge_amount="-0.59")
    flow.capture_all(CARD_VALUES)
    flow.finish()
    flow.made += 1
    done = flow.last()
    assert (done["Result"], done["PayErrorCode"], done["PaymentError"]) == (
        "validation-error",
        "64003",
        "paymentAmount='-0.59' (not a number between 0.00 - 1,000,000.00)",
    )
    assert done["ChargeAmount"] == "-0.59"
    with pytest.raises(TwilioRestException) as caught:  # not a number at all: still refused
        Flow(other_readings, account).start(charge_amount="ten")
    assert caught.value.code == 64003


def test_a_cancel_ends_with_the_cancel_result_setting(
    server: EmulatorServer, account: Account, other_readings: EmulatorServer
) -> None:
    flow = Flow(server, account)
    flow.start()
    flow.finish("cancel")
    flow.made += 1
    assert flow.last()["Result"] == "transaction-cancelled"
    omitted = Flow(other_readings, other_readings.control.create_account())
    omitted.start()
    omitted.finish("cancel")
    omitted.made += 1
    last = omitted.last()
    assert "Result" not in last
    assert last["PaymentError"] == ""  # the other fields of a session's end are there


def test_ach_through_a_generic_connector_needs_no_avs_name(
    server: EmulatorServer, account: Account, endpoint: GpcEndpoint
) -> None:
    """The GPC page's ACH request has no AVSName; 64014 ("ECP/ACH requires AVSName Parameter
    in the <Pay> verb") stays with the built-in connectors, which stand in for branded ones."""
    install(server, account, endpoint.url())
    flow = Flow(server, account)
    flow.start(
        payment_connector="gpc",
        payment_method="ach-debit",
        charge_amount=5,
        bank_account_type="commercial-checking",
    )
    flow.capture_all(ACH_VALUES)
    done = completed(flow)
    assert (done["Result"], done["BankAccountType"]) == ("success", "commercial-checking")
    body = endpoint.requests[0].json
    assert body["parameters"] == {}
    # BankAccountType is echoed in the callbacks, not sent: the GPC page's ACH request
    assert set(body) == {
        "method",
        "transaction_id",
        "bankaccountnumber",
        "routingnumber",
        "amount",
        "currency_code",
        "description",
        "parameters",
    }
    with pytest.raises(TwilioRestException) as caught:
        Flow(server, account).start(payment_method="ach-debit")
    assert (caught.value.status, caught.value.code) == (400, 64014)


def test_an_unknown_connector_is_64004_with_twilios_title(
    server: EmulatorServer, account: Account
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        Flow(server, account).start(payment_connector="Stripe_1")
    assert caught.value.code == 64004
    message = caught.value.msg.removeprefix("Unable to create record: ")  # the SDK's prefix
    assert message.startswith("Pay: Invalid paymentConnector attribute in TwiML.")
    assert "Stripe_1" in caught.value.msg


def test_twilios_listed_diners_test_card_fails_the_luhn_check(
    server: EmulatorServer, account: Account
) -> None:
    """The GPC page lists Diner's Club 3065930009020004: it fails the Luhn check (and
    Twilio's own diners-club prefix rule), so keying it is invalid-card-number."""
    flow = Flow(server, account)
    flow.start(valid_card_types="visa diners-club")
    flow.capture("payment-card-number", "3065930009020004")
    assert flow.last()["ErrorType"] == "invalid-card-number"


def test_confirmation_is_accepted_and_the_caller_confirms(
    server: EmulatorServer, account: Account
) -> None:
    """The Payment resource: the caller "must press 1 to confirm or 2 to cancel"; what a 2
    produces is undocumented: the simulated caller confirms."""
    flow = Flow(server, account)
    flow.start(charge_amount=5, confirmation="true")
    flow.capture_all({**CARD_VALUES, "payment-card-number": "4242424242424242"})
    flow.finish()
    flow.made += 1
    assert flow.last()["Result"] == "success"
