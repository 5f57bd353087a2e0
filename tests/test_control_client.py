"""``emulator.testing.ControlClient``: a method for every control-plane endpoint, each against
a real emulator; ``wait_until_ended`` without callback counts."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.testing import Account, ControlClient, ControlError, EmulatorServer
from tests.flows import CARD_VALUES, Flow
from tests.receiver import Receiver

# Each endpoint of the control plane (from its OpenAPI document), and the method that calls it.
METHODS = {
    ("GET", "/_emulator/health"): "health",
    ("POST", "/_emulator/reset"): "reset",
    ("POST", "/_emulator/accounts"): "create_account",
    ("POST", "/_emulator/calls"): "create_call",
    ("POST", "/_emulator/calls/{call_sid}/hangup"): "hang_up",
    ("POST", "/_emulator/calls/{call_sid}/caller"): "set_caller",
    ("GET", "/_emulator/calls/{call_sid}"): "call",
    ("POST", "/_emulator/calls/{call_sid}/digits"): "key_in_call",
    ("POST", "/_emulator/payments/{payment_sid}/input"): "key_in",
    ("POST", "/_emulator/phones"): "set_phone",
    ("GET", "/_emulator/phones"): "phones",
    ("DELETE", "/_emulator/phones"): "remove_phones",
    ("GET", "/_emulator/payments/{payment_sid}"): "payment",
    ("POST", "/_emulator/payments/{payment_sid}/outcome"): "set_outcome",
    ("POST", "/_emulator/connectors"): "create_connector",
    ("GET", "/_emulator/callbacks"): "callbacks",
    ("POST", "/_emulator/callbacks/{callback_id}/redeliver"): "redeliver",
    ("GET", "/_emulator/requests"): "requests",
    ("POST", "/_emulator/faults"): "add_fault",
    ("GET", "/_emulator/faults"): "faults",
    ("DELETE", "/_emulator/faults"): "clear_faults",
    ("DELETE", "/_emulator/faults/{rule_id}"): "delete_fault",
    ("GET", "/_emulator/clock"): "clock",
    ("POST", "/_emulator/clock"): "set_clock",
    ("GET", "/_emulator/events"): "wait_for_change",
    ("GET", "/_emulator/changes"): "changes",
    ("GET", "/_emulator/metrics"): "metrics",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def test_every_endpoint_has_a_documented_method(server: EmulatorServer) -> None:
    schema = httpx.get(server.base_url + "/openapi.json").json()
    endpoints = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert endpoints == set(METHODS)
    public = {
        name
        for name, member in inspect.getmembers(ControlClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert set(METHODS.values()) <= public
    for name in public:
        doc = inspect.getdoc(getattr(ControlClient, name)) or ""
        assert doc, f"ControlClient.{name} has no docstring"
        parameters = list(inspect.signature(getattr(ControlClient, name)).parameters)
        if len(parameters) > 1:  # self, and something to say about
            assert "Args:" in doc, name


def test_a_decline_forced_and_waited_for(server: EmulatorServer, account: Account) -> None:
    control = server.control
    flow = Flow(server, account)
    flow.start(charge_amount=12)
    flow.capture_all(CARD_VALUES)
    view = control.set_outcome(
        flow.sid,
        result="payment-connector-error",
        pay_error_code=64012,
        payment_error="card is declined",
        connector_error="card_declined",
    )
    assert view["forced_outcome"] == {
        "result": "payment-connector-error",
        "pay_error_code": 64012,
        "payment_error": "card is declined",
        "connector_error": "card_declined",
    }
    flow.finish()
    ended = control.wait_until_ended(flow.sid, timeout=20)
    assert (ended["state"], ended["result"]) == ("completed", "payment-connector-error")
    callbacks = control.callbacks(payment_sid=flow.sid)
    assert len(callbacks) == len(ended["history"]) == 10
    assert all(c["attempts"] > 0 for c in callbacks)
    final = callbacks[-1]["params"]
    assert (final["PayErrorCode"], final["ConnectorError"]) == ("64012", "card_declined")


def test_wait_until_ended_waits_for_an_end_that_comes_later(
    server: EmulatorServer, account: Account
) -> None:
    flow = Flow(server, account)
    flow.start()
    hang_up = threading.Timer(0.5, server.control.hang_up, [flow.call_sid])
    hang_up.start()
    started = time.monotonic()
    ended = server.control.wait_until_ended(flow.sid, timeout=20)
    hang_up.join()
    assert ended["state"] == "ended"
    assert ended["result"] == "caller-hung-up"
    assert 0.4 < time.monotonic() - started < 10


def test_wait_until_ended_times_out_and_says_where_the_session_is(
    server: EmulatorServer, account: Account
) -> None:
    flow = Flow(server, account)
    flow.start()
    flow.capture("payment-card-number")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not end within 0\.5 s: it is active, capturing"):
        server.control.wait_until_ended(flow.sid, timeout=0.5)
    assert time.monotonic() - started < 5


def test_errors_carry_the_emulators_explanation(server: EmulatorServer) -> None:
    with pytest.raises(ControlError) as caught:
        server.control.wait_until_ended("PK" + "0" * 32)
    error = caught.value
    assert isinstance(error, httpx.HTTPStatusError)  # what callers caught before
    assert error.response.status_code == 404
    assert error.detail == f"payment session PK{'0' * 32} does not exist"
    assert "answered 404: payment session PK" in str(error)


def test_connectors_built_in_and_generic(server: EmulatorServer, account: Account) -> None:
    control = server.control
    built_in = control.create_connector(
        account.account_sid, "tokens_only", charge=False, currencies=["USD"]
    )
    assert built_in == {
        "account_sid": account.account_sid,
        "name": "tokens_only",
        "charge": False,
        "tokenize": True,
        "currencies": ["USD"],
        "payment_methods": ["credit-card", "ach-debit"],
        "token_types": ["one-time", "reusable", "payment-method"],
        "generic": None,
    }
    generic = control.create_connector(
        account.account_sid,
        "gpc",
        generic={"endpoint_url": "http://127.0.0.1:9/pay", "username": "u", "password": "p"},
    )
    assert generic["generic"]["password"] == "****"
    with pytest.raises(ControlError) as caught:
        control.create_connector(account.account_sid, "bad", payment_methods=["cash"])
    assert caught.value.response.status_code == 422


def test_redeliver(server: EmulatorServer, account: Account, receiver: Receiver) -> None:
    flow = Flow(server, account, callback=receiver.url())
    flow.start()
    (first,) = server.control.callbacks(payment_sid=flow.sid, wait_for=1)
    again = server.control.redeliver(first["id"])
    assert again["id"] == first["id"]
    receiver.wait_for(2)
    assert server.control.callbacks(payment_sid=flow.sid, wait_for=1)[0]["attempts"] >= 1


def test_faults_one_by_one(server: EmulatorServer, account: Account) -> None:
    control = server.control
    one = control.add_fault("error", status=503, code=20503, account_sid=account.account_sid)
    two = control.add_fault("delay", delay_ms=1, account_sid=account.account_sid)
    left = control.delete_fault(one["id"])
    assert [rule["id"] for rule in left if rule["id"] in (one["id"], two["id"])] == [two["id"]]
    with pytest.raises(ControlError):
        control.delete_fault(one["id"])
    control.delete_fault(two["id"])


def test_clock_changes_and_metrics(server: EmulatorServer, account: Account) -> None:
    control = server.control
    assert set(control.clock()) == {"now", "frozen"}
    version = control.changes()
    threading.Timer(0.3, control.create_call, [account.account_sid]).start()
    assert control.wait_for_change(version, timeout=10) > version
    assert "payments_emulator_requests_total" in control.metrics()


def test_a_client_closes_as_a_context_manager(server: EmulatorServer) -> None:
    with ControlClient(server.base_url) as control:
        assert control.health()["status"] == "ok"
    assert control.http.is_closed


def test_wait_for_change_gives_up_in_time(tmp_path: Path) -> None:
    with EmulatorServer(database=tmp_path / "quiet.db") as quiet:  # nothing changes there
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"did not change within 0\.5 s"):
            quiet.control.wait_for_change(timeout=0.5)
        assert time.monotonic() - started < 3
