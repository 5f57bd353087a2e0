"""The caller and the StatusCallbacks end to end: twilio-python drives the agent's side, the
simulated caller keys in, a receiver of the test's own gets the callbacks and checks every
signature with twilio-python's RequestValidator and twilio-node's validateRequest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.receiver import Receiver
from tests.signatures import NODE_DIR, valid_in_node, valid_in_python

CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]
ACH_ITEMS = ["bank-routing-number", "bank-account-number"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def sdk(server: EmulatorServer, account: Account) -> Client:
    client = Client(account.api_key_sid, account.api_key_secret, account.account_sid)
    client.api.base_url = server.base_url
    return client


class Agent:
    """The agent's side of a payment, through twilio-python, waiting on the control plane."""

    def __init__(self, server: EmulatorServer, account: Account, call_sid: str, callback: str):
        self.control = server.control
        self.client = sdk(server, account)
        self.call_sid = call_sid
        self.callback = callback
        self.sid = ""
        self.expected = 0
        self._keys = 0

    def _key(self) -> str:
        self._keys += 1
        return f"agent-{self._keys}"

    def start(self, **params: Any) -> str:
        payment = self.client.calls(self.call_sid).payments.create(
            idempotency_key=self._key(), status_callback=self.callback, **params
        )
        self.sid = payment.sid
        self.expected = 1
        return self.sid

    def capture(self, item: str, entries: int = 1) -> list[dict[str, Any]]:
        """Ask for ``item``; wait for its callback and the caller's ``entries`` entries."""
        self.client.calls(self.call_sid).payments(self.sid).update(
            idempotency_key=self._key(), status_callback=self.callback, capture=item
        )
        self.expected += 1 + entries
        return self.wait()

    def key(self, digits: str, partial: bool = False) -> dict[str, Any]:
        """The caller keys ``digits`` (one callback); returns the session view."""
        view = self.control.key_in(self.sid, digits, partial)
        self.expected += 1
        return view

    def finish(self, status: str = "complete") -> dict[str, Any]:
        self.client.calls(self.call_sid).payments(self.sid).update(
            idempotency_key=self._key(), status_callback=self.callback, status=status
        )
        self.expected += 1
        return self.wait()[-1]

    def wait(self) -> list[dict[str, Any]]:
        callbacks = self.control.callbacks(payment_sid=self.sid, wait_for=self.expected)
        assert len(callbacks) == self.expected, [c["event"] for c in callbacks]
        return callbacks


def assert_signed(account: Account, receiver: Receiver, count: int) -> None:
    received = receiver.wait_for(count)
    assert all(valid_in_python(account.auth_token, receiver.base_url, received))
    assert all(valid_in_node(account.auth_token, receiver.base_url, received))
    for r in received:
        assert r.headers["User-Agent"] == "TwilioProxy/1.1"
        assert r.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert len(r.headers["I-Twilio-Idempotency-Token"]) >= 16


# --- the whole flow in auto mode ---------------------------------------------------------------


def test_charge_flow_in_auto_mode(
    server: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    call_sid = server.control.create_call(account.account_sid, caller="auto")
    agent = Agent(server, account, call_sid, receiver.url("/pay?flow=charge"))
    agent.start(charge_amount=10.5, currency="USD", description="order 42")
    for item in CARD_ITEMS:
        callbacks = agent.capture(item)
        entered = callbacks[-1]["params"]
        assert (entered["Capture"], entered["PartialResult"], entered["ErrorType"]) == (
            item,
            "false",
            "",
        )
    done = agent.finish()["params"]
    assert done["Result"] == "success"
    assert done["PaymentConfirmationCode"].startswith("ch_")
    assert done["PaymentToken"] == ""
    assert done["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert done["PaymentCardType"] == "visa"
    assert done["SecurityCode"] == "xxx"
    assert done["PaymentCardPostalCode"] == "94105"
    assert done["ChargeAmount"] == "10.5"

    events = [c["event"] for c in agent.wait()]
    assert events == ["create"] + ["capture", "key-in"] * 4 + ["complete"]
    assert_signed(account, receiver, len(events))
    assert [r.form["Sid"] for r in receiver.received] == [agent.sid] * len(events)
    assert server.control.payment(agent.sid)["state"] == "completed"


def test_tokenize_flow_in_auto_mode(
    server: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    call_sid = server.control.create_call(account.account_sid, caller="auto")
    agent = Agent(server, account, call_sid, receiver.url())
    agent.start(token_type="reusable", postal_code=False)
    for item in ["payment-card-number", "expiration-date", "security-code"]:
        agent.capture(item)
    done = agent.finish()["params"]
    assert done["Result"] == "success"
    assert done["TokenType"] == "reusable"
    assert "ChargeAmount" not in done
    assert done["PaymentToken"].startswith("tok_")
    assert done["ProfileId"].startswith("cus_")
    assert done["PaymentConfirmationCode"] == ""
    assert_signed(account, receiver, 8)


def test_ach_debit_flow_in_auto_mode(
    server: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    call_sid = server.control.create_call(
        account.account_sid, caller="auto", script={"bank-account-number": "508862392"}
    )
    agent = Agent(server, account, call_sid, receiver.url())
    agent.start(
        payment_method="ach-debit",
        bank_account_type="consumer-savings",
        charge_amount=25,
        parameter={"AVSName": "Jane Doe"},
    )
    for item in ACH_ITEMS:
        agent.capture(item)
    done = agent.finish()["params"]
    assert done["Result"] == "success"
    assert done["BankAccountType"] == "consumer-savings"
    assert done["BankAccountNumber"] == "*******92"  # Twilio's docs' own example
    assert done["BankRoutingNumber"] == "121000358"
    assert "PaymentCardNumber" not in done
    assert_signed(account, receiver, 6)


def test_relative_callback_resolves_against_the_call_url(
    server: EmulatorServer, account: Account, receiver: Receiver
) -> None:
    call_sid = server.control.create_call(
        account.account_sid, caller="auto", url=receiver.url("/voice/answer")
    )
    agent = Agent(server, account, call_sid, "status?relative=1")
    agent.start()
    agent.capture("payment-card-number")
    received = receiver.wait_for(3)
    assert {r.path for r in received} == {"/voice/status?relative=1"}
    assert all(valid_in_python(account.auth_token, receiver.base_url, received))


def test_relative_callback_without_a_base_is_recorded_as_failed(
    server: EmulatorServer, account: Account
) -> None:
    call_sid = server.control.create_call(account.account_sid, caller="manual")
    agent = Agent(server, account, call_sid, "/status")
    agent.start()
    [callback] = agent.wait()
    assert callback["state"] == "failed"
    assert "cannot be resolved" in callback["error"]
    assert callback["status_code"] is None


def test_fixture_script_and_call_url(tmp_path: Any, receiver: Receiver) -> None:
    """A call declared in a fixture file, with its URL and script (an amex card)."""
    account_sid, token = "AC" + "5" * 32, "fixturetoken"
    call_sid = "CA" + "5" * 32
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(
        json.dumps(
            {
                "accounts": [{"sid": account_sid, "auth_token": token}],
                "calls": [
                    {
                        "sid": call_sid,
                        "account_sid": account_sid,
                        "url": receiver.url("/app/voice"),
                        "caller": "auto",
                        "script": {"payment-card-number": "378282246310005"},
                    }
                ],
            }
        )
    )
    with EmulatorServer("--fixtures", str(fixtures), "--caller", "manual") as server:
        client = Client(account_sid, token)
        client.api.base_url = server.base_url
        payments = client.calls(call_sid).payments
        payment = payments.create(
            idempotency_key="f1", status_callback="cb", valid_card_types="amex"
        )
        for n, item in enumerate(["payment-card-number", "security-code"]):
            payments_instance = client.calls(call_sid).payments(payment.sid)
            payments_instance.update(idempotency_key=f"f-{n}", status_callback="cb", capture=item)
            server.control.callbacks(payment_sid=payment.sid, wait_for=3 + 2 * n)
        view = server.control.payment(payment.sid)
        assert view["captured"]["payment-card-number"] == "xxxxxxxxxxx0005"
        assert view["captured"]["security-code"] == "xxxx"  # amex: the default code gets 4 digits
        assert view["card_type"] == "amex"
        assert {r.path for r in receiver.wait_for(5)} == {"/app/cb"}
        assert all(valid_in_python(token, receiver.base_url, receiver.received))


# --- manual input: what the caller's digits are checked against ----------------------------


@pytest.fixture
def manual(server: EmulatorServer, account: Account) -> Agent:
    call_sid = server.control.create_call(account.account_sid, caller="manual")
    return Agent(server, account, call_sid, "http://127.0.0.1:9/never")  # a closed local port


ERROR_CASES = [
    ({}, [], "payment-card-number", "4242424242424241", "invalid-card-number"),
    ({}, [], "payment-card-number", "1234567812345670", "invalid-card-number"),
    (
        {"valid_card_types": "visa"},
        [],
        "payment-card-number",
        "5555555555554444",
        "invalid-card-type",
    ),
    ({}, [], "expiration-date", "0120", "invalid-date"),
    ({}, [], "expiration-date", "1399", "invalid-date"),
    (
        {},
        [("payment-card-number", "4242424242424242")],
        "security-code",
        "12",
        "invalid-security-code",
    ),
    (
        {},
        [("payment-card-number", "378282246310005")],
        "security-code",
        "123",
        "invalid-security-code",
    ),
    ({}, [], "security-code", "123", "invalid-card-number-security-code-capture-sequence"),
    ({"min_postal_code_length": 5}, [], "postal-code", "941", "invalid-postal-code"),
    (
        {"require_matching_inputs": "payment-card-number"},
        [("payment-card-number", "4242424242424242")],
        "payment-card-number-matcher",
        "4111111111111111",
        "input-matching-failed",
    ),
]
ACH = {"payment_method": "ach-debit", "parameter": {"AVSName": "J"}}
ERROR_CASES += [
    (ACH, [], "bank-routing-number", "123456789", "invalid-bank-routing-number"),
    (ACH, [], "bank-account-number", "123", "invalid-bank-account-number"),
    (ACH, [], "bank-account-number", "1" * 18, "invalid-bank-account-number"),
]


@pytest.mark.parametrize(("create", "before", "item", "digits", "error_type"), ERROR_CASES)
def test_every_error_type(
    manual: Agent,
    create: dict[str, Any],
    before: list[tuple[str, str]],
    item: str,
    digits: str,
    error_type: str,
) -> None:
    manual.start(**create)
    for earlier, value in before:
        manual.capture(earlier, entries=0)
        manual.key(value)
    manual.capture(item, entries=0)
    view = manual.key(digits)
    entry = manual.wait()[-1]["params"]
    assert entry["ErrorType"] == error_type
    assert entry["PartialResult"] == "false"
    assert item in entry["Required"].split(",")
    assert view["capturing"] == item  # the item stays required and asked for
    assert view["history"][-1]["error_type"] == error_type
    if len(digits) >= 9:  # long entries (card and account numbers) are never shown
        assert digits not in json.dumps(view)


def test_matching_entry_is_accepted(manual: Agent) -> None:
    manual.start(require_matching_inputs="payment-card-number")
    manual.capture("payment-card-number", entries=0)
    manual.key("4242424242424242")
    manual.capture("payment-card-number-matcher", entries=0)
    view = manual.key("4242424242424242")
    assert "payment-card-number-matcher" not in view["required"]
    assert view["captured"]["payment-card-number-matcher"] == "xxxxxxxxxxxx4242"


def test_partial_entries_add_up(manual: Agent) -> None:
    manual.start()
    manual.capture("payment-card-number", entries=0)
    manual.key("4242", partial=True)
    manual.key("42424242", partial=True)
    view = manual.key("4242")  # 4 + 8 + 4 digits: the whole number
    entries = [c["params"] for c in manual.wait()[-3:]]
    assert [(e["PartialResult"], e["PaymentCardNumber"]) for e in entries] == [
        ("true", "xxxx"),
        ("true", "xxxxxxxx4242"),
        ("false", "xxxxxxxxxxxx4242"),
    ]
    assert view["captured"]["payment-card-number"] == "xxxxxxxxxxxx4242"
    assert view["capturing"] is None


def test_input_when_nothing_is_captured_is_409(manual: Agent) -> None:
    manual.start()
    response = manual.control.http.post(
        f"/_emulator/payments/{manual.sid}/input", json={"digits": "1"}
    )
    assert response.status_code == 409
    unknown = manual.control.http.post(
        f"/_emulator/payments/PK{'0' * 32}/input", json={"digits": "1"}
    )
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("card", "code", "error"),
    [
        ("4000000000000002", "64012", "card is declined"),
        ("4000000000000119", "64002", "unavailable"),
    ],
)
def test_magic_cards_fail_at_complete(manual: Agent, card: str, code: str, error: str) -> None:
    manual.start(charge_amount="5", security_code=False, postal_code=False)
    for item, value in [("payment-card-number", card), ("expiration-date", "1240")]:
        manual.capture(item, entries=0)
        manual.key(value)
    done = manual.finish()["params"]
    assert done["Result"] == "payment-connector-error"
    assert done["PayErrorCode"] == code
    assert error in done["PaymentError"]
    assert done["PaymentConfirmationCode"] == ""
    assert manual.control.payment(manual.sid)["state"] == "completed"


def test_star_ends_the_session(manual: Agent) -> None:
    manual.start()
    manual.capture("expiration-date", entries=0)
    view = manual.key("*")
    assert view["state"] == "ended"
    assert view["result"] == "caller-interrupted-with-star"
    last = manual.wait()[-1]
    assert (last["event"], last["params"]["Result"]) == ("star", "caller-interrupted-with-star")


def test_hang_up_ends_the_session_and_the_call(manual: Agent) -> None:
    manual.start()
    manual.capture("postal-code", entries=0)
    manual.control.hang_up(manual.call_sid)
    manual.expected += 1
    last = manual.wait()[-1]
    assert (last["event"], last["params"]["Result"]) == ("hang-up", "caller-hung-up")
    assert manual.control.payment(manual.sid)["state"] == "ended"
    # the call is over: no new session on it
    with pytest.raises(TwilioRestException) as caught:
        manual.start()
    assert (caught.value.status, caught.value.code) == (400, 21220)


def test_switching_the_caller_to_auto_keys_the_item_being_captured(manual: Agent) -> None:
    manual.start()
    manual.capture("payment-card-number", entries=0)
    assert manual.control.payment(manual.sid)["caller"] == "manual"
    switched = manual.control.set_caller(manual.call_sid, "auto")
    assert switched == {"call_sid": manual.call_sid, "caller": "auto"}
    manual.expected += 1  # the auto caller keys the card number now
    keyed = manual.wait()[-1]
    assert (keyed["event"], keyed["params"]["PaymentCardNumber"]) == ("key-in", "xxxxxxxxxxxx4242")
    assert manual.control.payment(manual.sid)["caller"] == "auto"
    manual.control.set_caller(manual.call_sid, "manual")
    assert manual.control.payment(manual.sid)["caller"] == "manual"
    missing = manual.control.http.post(
        "/_emulator/calls/CA" + "0" * 32 + "/caller", json={"mode": "auto"}
    )
    assert missing.status_code == 404


def test_cancel_result(manual: Agent) -> None:
    manual.start()
    done = manual.finish("cancel")["params"]
    assert done["Result"] == "transaction-cancelled"


def test_control_plane_refuses_bad_calls_without_echoing_digits(
    server: EmulatorServer, account: Account
) -> None:
    http = server.control.http
    assert http.post("/_emulator/calls", json={"account_sid": "AC" + "9" * 32}).status_code == 404
    secret_card = "4242424242424242"
    bad_item = http.post(
        "/_emulator/calls",
        json={"account_sid": account.account_sid, "script": {"pin": secret_card}},
    )
    assert bad_item.status_code == 400
    assert secret_card not in bad_item.text
    bad_value = http.post(
        "/_emulator/calls",
        json={
            "account_sid": account.account_sid,
            "script": {"payment-card-number": secret_card + "-"},
        },
    )
    assert bad_value.status_code == 400
    assert secret_card not in bad_value.text
    invalid = http.post(
        "/_emulator/payments/PK1/input", json={"digits": 4242424242424242, "extra": secret_card}
    )
    assert invalid.status_code == 422
    assert secret_card not in invalid.text


# --- the same flows through twilio-node ----------------------------------------------------


@pytest.mark.node
@pytest.mark.parametrize(
    ("create", "items", "expect"),
    [
        ({"chargeAmount": 10.5}, CARD_ITEMS, {"PaymentConfirmationCode": "ch_"}),
        ({"tokenType": "reusable"}, CARD_ITEMS, {"PaymentToken": "tok_", "ProfileId": "cus_"}),
        (
            {
                "paymentMethod": "ach-debit",
                "chargeAmount": 20,
                "parameter": {"AVSName": "Jane Doe"},
            },
            ACH_ITEMS,
            {"PaymentConfirmationCode": "py_"},
        ),
    ],
    ids=["charge", "tokenize", "ach-debit"],
)
def test_node_sdk_flow_in_auto_mode(
    server: EmulatorServer,
    account: Account,
    receiver: Receiver,
    create: dict[str, Any],
    items: list[str],
    expect: dict[str, str],
) -> None:
    call_sid = server.control.create_call(account.account_sid, caller="auto")
    config = {
        "baseUrl": server.base_url,
        "username": account.api_key_sid,
        "password": account.api_key_secret,
        "accountSid": account.account_sid,
        "callSid": call_sid,
        "statusCallback": receiver.url("/node"),
        "create": create,
        "items": items,
    }
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "auto_flow.js", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.path.dirname(node)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    flow = json.loads(result.stdout)
    callbacks = flow["callbacks"]
    assert [c["event"] for c in callbacks] == ["create"] + ["capture", "key-in"] * len(items) + [
        "complete"
    ]
    done = callbacks[-1]["params"]
    assert done["Result"] == "success"
    for field, prefix in expect.items():
        assert done[field].startswith(prefix), (field, done)
    assert_signed(account, receiver, len(callbacks))
