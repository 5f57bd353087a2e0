"""Copy as code replays: the inspector's Python and Node programs of a session, run as a user
copies them (the venv's python; node with tests/node's packages) against a fresh emulator,
end in the session's state with its Result. A success (the auto caller), a decline (a magic
card in the caller's script: the program forces the outcome instead), a manual caller keying
on the keypad (a partial entry, a refused expiry keyed again): each played again in both
languages. The programs hold no card number but published test numbers."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from emulator.domain import cards
from emulator.domain.fixtures import BUILT_IN_ACCOUNT_SID, BUILT_IN_AUTH_TOKEN
from emulator.testing import Account, EmulatorServer
from tests.inspector_support import CLOSED_PORT_CALLBACK, key

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
UI = "/_emulator/ui"
CARD_ITEMS = ("payment-card-number", "expiration-date", "security-code", "postal-code")
BUILT_IN = Account(BUILT_IN_ACCOUNT_SID, BUILT_IN_AUTH_TOKEN, "", "")


def luhn_completed(prefix: str) -> str:
    """``prefix`` and the check digit that makes it Luhn-valid."""
    for last in "0123456789":
        if cards.luhn_valid(prefix + last):
            return prefix + last
    raise AssertionError(prefix)


KEYED_CARD = luhn_completed("531234567890123")  # a mastercard no one publishes


@pytest.fixture(scope="module")
def original() -> Iterator[EmulatorServer]:
    """Where the sessions happen (the caller is auto unless a call says otherwise)."""
    with EmulatorServer() as running:
        yield running


@pytest.fixture(scope="module")
def fresh() -> Iterator[EmulatorServer]:
    """Where the programs play them again: nothing of the original's state is there."""
    with EmulatorServer() as running:
        yield running


class Agent:
    """The code under test: twilio-python, one session."""

    def __init__(self, server: EmulatorServer, account: Account, call_sid: str) -> None:
        self.client = Client(account.account_sid, account.auth_token)
        self.client.api.base_url = server.base_url
        self.control = server.control
        self.call_sid = call_sid
        self.sid = ""
        self.made = 0

    def start(self, **params: object) -> None:
        payment = self.client.calls(self.call_sid).payments.create(
            idempotency_key=key(), status_callback=CLOSED_PORT_CALLBACK, **params
        )
        self.sid = str(payment.sid)
        self.wait(1)

    def update(self, made: int, **params: object) -> None:
        self.client.calls(self.call_sid).payments(self.sid).update(
            idempotency_key=key(), status_callback=CLOSED_PORT_CALLBACK, **params
        )
        self.wait(made)

    def wait(self, made: int) -> None:
        self.made = made
        self.control.callbacks(payment_sid=self.sid, wait_for=made, timeout=20)


def auto_session(server: EmulatorServer, script: dict[str, str] | None = None) -> str:
    call_sid = server.control.create_call(BUILT_IN_ACCOUNT_SID, caller="auto", script=script)
    agent = Agent(server, BUILT_IN, call_sid)
    agent.start(charge_amount=12.5, description="order 42")
    for item in CARD_ITEMS:
        agent.update(agent.made + 2, capture=item)  # the Capture's callback, the caller's
    agent.update(agent.made + 1, status="complete")
    server.control.wait_until_ended(agent.sid)
    return agent.sid


def manual_session(server: EmulatorServer) -> str:
    """What a person does on the keypad (the keypad sends the same control-plane requests)."""
    account = server.control.create_account()
    call_sid = server.control.create_call(account.account_sid, caller="manual")
    agent = Agent(server, account, call_sid)
    agent.start(charge_amount=3, currency="EUR")
    control = server.control
    agent.update(2, capture="payment-card-number")
    control.key_in(agent.sid, KEYED_CARD[:6], partial=True)
    control.key_in(agent.sid, KEYED_CARD[6:])
    agent.update(5, capture="expiration-date")
    control.key_in(agent.sid, "1399")  # refused: invalid-date
    agent.update(7, capture="expiration-date")
    control.key_in(agent.sid, "1239")
    for item, digits in (("security-code", "321"), ("postal-code", "10001")):
        agent.update(agent.made + 2, capture=item)
        control.key_in(agent.sid, digits)
    agent.update(agent.made + 2, status="complete")
    control.wait_until_ended(agent.sid)
    return agent.sid


def snippet_of(server: EmulatorServer, sid: str, language: str) -> str:
    text = httpx.get(f"{server.base_url}{UI}/sessions/{sid}", timeout=30).text
    found = re.search(
        rf'<pre id="code-{language}" class="code"><code>(.*?)</code></pre>', text, re.S
    )
    assert found is not None
    return html.unescape(found.group(1))


def run_python(code: str, fresh: EmulatorServer) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env["PAYMENTS_EMULATOR_URL"] = fresh.base_url
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr + code
    return result.stdout


def run_node(code: str, fresh: EmulatorServer) -> str:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    assert (NODE_DIR / "node_modules" / "twilio-payments-emulator").exists(), (
        "run `npm ci --prefix tests/node`"
    )
    result = subprocess.run(
        [node, "-e", code],
        cwd=NODE_DIR,  # where twilio and twilio-payments-emulator are installed
        capture_output=True,
        text=True,
        env={"PATH": os.path.dirname(node), "PAYMENTS_EMULATOR_URL": fresh.base_url},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr + code
    return result.stdout


def assert_replayed(
    original: EmulatorServer, fresh: EmulatorServer, sid: str, output: str
) -> dict[str, object]:
    """The program printed its session, ended as the original did; the fresh emulator
    agrees."""
    before = original.control.payment(sid)
    again, state, result = output.split()
    assert again != sid
    assert (state, result) == (before["state"], before["result"])
    after = fresh.control.payment(again)
    assert (after["state"], after["result"]) == (before["state"], before["result"])
    return after


def assert_only_published_numbers(code: str) -> None:
    published = set(cards.TEST_CARDS.values()) | {cards.DEFAULT_BANK_ACCOUNT}
    for run in re.findall(r"(?<![0-9a-fA-F])\d{12,}(?![0-9a-fA-F])", code):  # not in a SID
        assert run in published, run


LANGUAGES = ["python", pytest.param("node", marks=pytest.mark.node)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_success_of_the_auto_caller_replays(
    original: EmulatorServer, fresh: EmulatorServer, language: str
) -> None:
    sid = auto_session(original)
    code = snippet_of(original, sid, language)
    assert BUILT_IN_AUTH_TOKEN in code  # the built-in account's public token, no variable
    assert "TWILIO_AUTH_TOKEN" not in code
    assert ('caller="auto"' in code) or ('caller: "auto"' in code)
    assert "set_outcome" not in code
    assert "setOutcome" not in code
    assert_only_published_numbers(code)
    run = run_python if language == "python" else run_node
    after = assert_replayed(original, fresh, sid, run(code, fresh))
    assert after["result"] == "success"
    assert len(after["history"]) == len(original.control.payment(sid)["history"])  # type: ignore[arg-type]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_scripted_decline_replays_with_a_forced_outcome(
    original: EmulatorServer, fresh: EmulatorServer, language: str
) -> None:
    sid = auto_session(original, script={"payment-card-number": cards.DECLINE_CARD})
    view = original.control.payment(sid)
    assert view["result"] == "payment-connector-error"
    code = snippet_of(original, sid, language)
    assert cards.DECLINE_CARD not in code  # the script's digits are not kept, nor copied
    assert '"64012"' in code
    assert "card is declined" in code
    assert_only_published_numbers(code)
    run = run_python if language == "python" else run_node
    after = assert_replayed(original, fresh, sid, run(code, fresh))
    callbacks = fresh.control.callbacks(payment_sid=str(after["sid"]))
    last = callbacks[-1]["params"]
    assert (last["PayErrorCode"], last["PaymentError"], last["ConnectorError"]) == (
        "64012",
        "card is declined",
        "card_declined",
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_manual_keypad_session_replays_with_published_numbers(
    original: EmulatorServer, fresh: EmulatorServer, language: str
) -> None:
    sid = manual_session(original)
    code = snippet_of(original, sid, language)
    for keyed in (KEYED_CARD, KEYED_CARD[:6], KEYED_CARD[6:], "1239", "321", "10001"):
        assert f'"{keyed}"' not in code  # nothing as the caller keyed it
    assert f'"{cards.TEST_CARDS["mastercard"][:8]}"' in code  # the brand's test number, in parts
    assert "create_account()" in code or "createAccount()" in code  # a fresh account
    assert_only_published_numbers(code)
    run = run_python if language == "python" else run_node
    after = assert_replayed(original, fresh, sid, run(code, fresh))
    before = original.control.payment(sid)
    assert [h["event"] for h in after["history"]] == [h["event"] for h in before["history"]]  # type: ignore[union-attr]
    refused = [h.get("error_type") for h in after["history"] if h.get("error_type")]  # type: ignore[union-attr]
    assert refused == ["invalid-date"]
    assert before["captured"]["payment-card-number"] == "xxxxxxxxxxxx" + KEYED_CARD[-4:]
    assert after["captured"]["payment-card-number"] == "xxxxxxxxxxxx4444"  # type: ignore[index]


def test_the_built_in_credentials_printed_are_the_fixture_files() -> None:
    import json

    from emulator.domain import fixtures

    built_in = json.loads((ROOT / "fixtures" / "default.json").read_text())
    (account,) = built_in["accounts"]
    (api_key,) = built_in["api_keys"]
    assert (account["sid"], account["auth_token"]) == (
        fixtures.BUILT_IN_ACCOUNT_SID,
        fixtures.BUILT_IN_AUTH_TOKEN,
    )
    assert (api_key["sid"], api_key["secret"]) == (
        fixtures.BUILT_IN_API_KEY_SID,
        fixtures.BUILT_IN_API_KEY_SECRET,
    )
