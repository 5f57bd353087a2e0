"""The pytest plugin, used as a user would: a test file of its own, in a pytest subprocess.

The subprocess runs in a directory of its own (no conftest of ours), so what it sees is only
the installed plugin. (Not pytester: its in-process snapshots of ``sys.modules`` leave the
rest of the suite with copies of modules imported twice.)"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulator.testing import EmulatorServer

USER_TESTS = """
import json, os
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException

CALLBACK = "http://127.0.0.1:9/payments/status"  # a closed local port: a failed delivery
SEEN = Path(os.environ["PLUGIN_TEST_SEEN"])


def remember(payments_emulator, account):
    with SEEN.open("a") as seen:
        seen.write(json.dumps({"url": payments_emulator.base_url, "account": account.account_sid}) + "\\n")


@pytest.mark.parametrize("n", range(4))
def test_a_payment(payments_emulator, emulator_account, twilio_client, n):
    remember(payments_emulator, emulator_account)
    call_sid = payments_emulator.control.create_call(emulator_account.account_sid, caller="manual")
    payment = twilio_client.calls(call_sid).payments.create(idempotency_key="k", status_callback=CALLBACK)
    twilio_client.calls(call_sid).payments(payment.sid).update(
        idempotency_key="c", status_callback=CALLBACK, capture="payment-card-number"
    )
    view = payments_emulator.control.key_in(payment.sid, "4242424242424242")
    assert view["captured"]["payment-card-number"] == "xxxxxxxxxxxx4242"
    callbacks = payments_emulator.control.callbacks(payment_sid=payment.sid, wait_for=3)
    assert [c["event"] for c in callbacks] == ["create", "capture", "key-in"]


def test_faults_and_isolation(payments_emulator, emulator_account, twilio_client):
    remember(payments_emulator, emulator_account)
    payments_emulator.control.add_fault(
        "error", status=429, code=20429, times=1, account_sid=emulator_account.account_sid
    )
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.calls("CA" + "1" * 32).payments.create(idempotency_key="x", status_callback=CALLBACK)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    # the only sessions this account sees are its own
    assert payments_emulator.control.requests(account_sid=emulator_account.account_sid)[-1]["status"] == 429
"""


# A user's suite that forces a decline and a connector error and waits for each session's
# end through ControlClient methods alone (no callback counts, no raw HTTP), run with
# TWILIO_REGION and TWILIO_EDGE set (as a developer's shell may have them).
USER_OUTCOME_TESTS = """
CALLBACK = "http://127.0.0.1:9/payments/status"
CARD = {
    "payment-card-number": "4111111111111111",
    "expiration-date": "1230",
    "security-code": "123",
    "postal-code": "94105",
}


def pay(control, twilio_client, account, **create):
    call_sid = control.create_call(account.account_sid, caller="manual")
    session = twilio_client.calls(call_sid).payments.create(
        idempotency_key="create", status_callback=CALLBACK, charge_amount=10, **create
    )
    payment = twilio_client.calls(call_sid).payments(session.sid)
    for item, digits in CARD.items():
        payment.update(idempotency_key=item, status_callback=CALLBACK, capture=item)
        control.key_in(session.sid, digits)
    return session.sid, payment


def test_a_declined_card(payments_emulator, emulator_account, twilio_client):
    control = payments_emulator.control
    sid, payment = pay(control, twilio_client, emulator_account)
    control.set_outcome(
        sid, result="payment-connector-error", pay_error_code=64012,
        payment_error="card is declined", connector_error="card_declined",
    )
    payment.update(idempotency_key="complete", status_callback=CALLBACK, status="complete")
    view = control.wait_until_ended(sid)
    assert (view["state"], view["result"]) == ("completed", "payment-connector-error")
    final = control.callbacks(payment_sid=view["sid"])[-1]["params"]
    assert (final["PayErrorCode"], final["PaymentError"]) == ("64012", "card is declined")


def test_a_connector_that_does_not_answer(payments_emulator, emulator_account, twilio_client):
    control = payments_emulator.control
    control.create_connector(
        emulator_account.account_sid, "gateway",
        generic={"endpoint_url": "http://127.0.0.1:9/pay", "mode": "live", "retries": 0},
    )
    sid, payment = pay(control, twilio_client, emulator_account, payment_connector="gateway")
    payment.update(idempotency_key="complete", status_callback=CALLBACK, status="complete")
    view = control.wait_until_ended(sid)
    assert view["result"] == "payment-connector-error"
    final = control.callbacks(payment_sid=view["sid"])[-1]["params"]
    assert final["PayErrorCode"] == "64008"
    assert final["PaymentError"].endswith("No response from Payment Provider.")
"""


@pytest.fixture
def user_suite(tmp_path: Path) -> Path:
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_user_suite.py").write_text(USER_TESTS)
    return tmp_path


def run_suite(suite: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, int]:
    """Run the user's suite in a pytest subprocess; returns its outcome counts."""
    env = {k: v for k, v in os.environ.items() if k != "PAYMENTS_EMULATOR_URL"} | (env or {})
    env["PLUGIN_TEST_SEEN"] = str(suite / "seen.jsonl")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=suite / "suite",
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {
        word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors)", summary)
    }
    assert result.returncode == 0, result.stdout + result.stderr
    return counts


def seen_by(suite: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (suite / "seen.jsonl").read_text().splitlines()]


def assert_stopped(url: str) -> None:
    """The server the plugin started is gone once the run is over (nothing listens)."""
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_fixtures_in_a_plain_run(user_suite: Path) -> None:
    assert run_suite(user_suite) == {"passed": 5}
    seen = seen_by(user_suite)
    assert len({s["url"] for s in seen}) == 1  # one server for the session
    assert len({s["account"] for s in seen}) == 5  # an account per test
    assert_stopped(seen[0]["url"])


def test_fixtures_under_xdist_share_one_server(user_suite: Path) -> None:
    assert run_suite(user_suite, "-n", "2") == {"passed": 5}
    seen = seen_by(user_suite)
    assert len({s["url"] for s in seen}) == 1  # both workers used the same server
    assert len({s["account"] for s in seen}) == 5
    assert_stopped(seen[0]["url"])


def test_fixtures_against_a_running_emulator(user_suite: Path) -> None:
    with EmulatorServer() as server:
        assert run_suite(user_suite, "--payments-emulator-url", server.base_url) == {"passed": 5}
        seen = seen_by(user_suite)
        assert {s["url"] for s in seen} == {server.base_url}
        accounts = {s["account"] for s in seen}
        assert {r["account_sid"] for r in server.control.requests()} <= accounts
        assert len(server.control.requests()) >= 5


def test_outcomes_forced_and_waited_for_with_a_region_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_outcomes.py").write_text(USER_OUTCOME_TESTS)
    env = {"TWILIO_REGION": "au1", "TWILIO_EDGE": "sydney"}
    assert run_suite(tmp_path, env=env) == {"passed": 2}


# --- EmulatorServer, as the plugin and the benchmark start it --------------------------------


def test_a_server_left_running_on_close(tmp_path: Path) -> None:
    """What the plugin's xdist mode relies on: a server in a session of its own, its output in
    a log file of the caller's choosing, still running once closed; stopped by whoever holds
    its PID."""
    log = tmp_path / "server.log"
    server = EmulatorServer(
        database=tmp_path / "e.db", log_file=log, new_session=True, stop_on_close=False
    )
    server.start()
    try:
        assert os.getsid(server.pid) == server.pid
        server.close()
        assert httpx.get(server.base_url + "/_emulator/health").status_code == 200
        assert f"listening on {server.base_url}" in log.read_text()
    finally:
        server.stop()
    assert_stopped(server.base_url)


def test_working_directory_clean_environment_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMULATOR_CALLER", "nobody")  # an invalid setting, if it were passed on
    with EmulatorServer(cwd=tmp_path, clean_env=True) as server:
        assert server.ready_after is not None
        assert Path(f"/proc/{server.pid}/cwd").resolve() == tmp_path.resolve()
    assert f"listening on {server.base_url}" in server.log  # kept once closed
