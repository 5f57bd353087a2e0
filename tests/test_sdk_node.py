"""The official twilio-node SDK (npm) drives the Payments flow against the emulator."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import Account, EmulatorServer
from tests.api import new_call_sid

NODE_DIR = Path(__file__).resolve().parent / "node"
CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]

pytestmark = pytest.mark.node


def run_flow(
    server: EmulatorServer, username: str, password: str, account_sid: str
) -> dict[str, Any]:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "twilio").is_dir():
        pytest.fail("twilio-node is not installed: run `npm ci --prefix tests/node`")
    config = {
        "baseUrl": server.base_url,
        "username": username,
        "password": password,
        "accountSid": account_sid,
        "callSid": new_call_sid(),
    }
    env = {"PATH": str(Path(shutil.which("node") or "node").parent)}  # no TWILIO_EDGE/REGION
    result = subprocess.run(
        ["node", "payments_flow.js", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    flow: dict[str, Any] = json.loads(result.stdout)
    return flow


def assert_error(step: dict[str, Any], status: int, code: int) -> None:
    assert step["error"] == "RestException", step
    assert (step["status"], step["code"]) == (status, code), step
    assert step["moreInfo"] == f"https://www.twilio.com/docs/errors/{code}"


@pytest.mark.parametrize("credential", ["auth_token", "api_key"])
def test_node_sdk_payment_flow(server: EmulatorServer, account: Account, credential: str) -> None:
    user, password = (
        (account.account_sid, account.auth_token)
        if credential == "auth_token"
        else (account.api_key_sid, account.api_key_secret)
    )
    flow = run_flow(server, user, password, account.account_sid)
    steps = flow["steps"]
    assert steps["create"]["status"] == 201
    assert steps["create"]["body"]["accountSid"] == account.account_sid
    for item in CARD_ITEMS:
        assert steps[f"capture {item}"]["status"] == 202
        assert steps[f"capture {item}"]["body"]["sid"] == flow["sid"]
    assert_error(steps["complete before input"], 400, 64019)
    assert_error(steps["neither capture nor status"], 400, 64018)
    assert_error(steps["misspelled capture"], 400, 64020)
    assert_error(steps["second create while active"], 400, 64021)
    assert steps["cancel"]["status"] == 202
    assert_error(steps["update after cancel"], 400, 64021)
    assert steps["create after cancel"]["status"] == 201
    assert steps["create after cancel"]["body"]["sid"] != flow["sid"]
    assert_error(steps["unknown session"], 404, 20404)
    assert_error(steps["bank account type on a card"], 400, 64017)
    assert_error(steps["wrong credentials"], 401, 20003)
    assert steps["misspelled capture"]["message"].startswith("Pay: Invalid Parameter Value")


def test_node_sdk_places_calls_that_run_the_apps_twiml(
    server: EmulatorServer, account: Account
) -> None:
    """twilio-node: calls.create(url) -> a signed webhook -> Say, Pause, Gather with an action,
    Redirect, Hangup; fetch() follows the call to completed; update(twiml) redirects a parked
    call, on which a Payments session was created; invalid TwiML ends the call."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "twilio").is_dir():
        pytest.fail("twilio-node is not installed: run `npm ci --prefix tests/node`")
    config = {
        "baseUrl": server.base_url,
        "accountSid": account.account_sid,
        "authToken": account.auth_token,
    }
    env = {"PATH": str(Path(shutil.which("node") or "node").parent)}
    result = subprocess.run(
        ["node", "calls_flow.js", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    flow = json.loads(result.stdout)
    assert flow["created"] == {"status": "queued", "direction": "outbound-api"}
    assert flow["ivr"]["status"] == "completed"
    assert flow["ivr"]["verbs"] == ["Say", "Pause", "Gather", "Say", "Redirect", "Say", "Hangup"]
    assert flow["payment"]["sid"].startswith("PK")
    assert flow["redirected"]["status"] == "in-progress"
    assert flow["redirected"]["final"] == "completed"
    assert flow["redirected"]["said"][-1] == "Redirected"
    assert flow["session"] == "caller-hung-up"
    assert flow["broken"] == {"status": "completed", "notices": [12100]}
    assert flow["health"] == "ok"
    received = flow["received"]
    assert all(request["signed"] for request in received), received
    menu = next(r for r in received if r["path"] == "/ivr/menu")
    assert (menu["digits"], menu["callStatus"]) == ("42", "in-progress")


def test_node_sdk_places_a_call_that_pays(server: EmulatorServer, account: Account) -> None:
    """twilio-node: calls.create(url) -> the app's <Pay> (built with twilio-node's
    VoiceResponse) -> the signed action with Result=success and a confirmation code, and
    statusCallbacks with For and Attempt; a manual caller keys through the call's keypad
    (waitForPay, keyInCall) and presses *."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "twilio").is_dir():
        pytest.fail("twilio-node is not installed: run `npm ci --prefix tests/node`")
    config = {
        "baseUrl": server.base_url,
        "accountSid": account.account_sid,
        "authToken": account.auth_token,
    }
    env = {"PATH": str(Path(shutil.which("node") or "node").parent)}
    result = subprocess.run(
        ["node", "pay_flow.js", json.dumps(config)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    flow = json.loads(result.stdout)
    paid = flow["paid"]
    assert paid["signed"] is True
    assert paid["Result"] == "success"
    assert paid["PaymentConfirmationCode"].startswith("ch_")
    assert paid["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert [(s["For"], s["Attempt"]) for s in flow["statuses"]] == [
        ("payment-card-number", "1"),
        ("expiration-date", "1"),
        ("security-code", "1"),
        ("postal-code", "1"),
        ("payment-processing", "1"),
    ]
    assert all(s["signed"] for s in flow["statuses"])
    assert flow["interrupted"] == {"session": "twiml", "Result": "caller-interrupted-with-star"}
