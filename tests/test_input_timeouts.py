"""A caller who goes quiet: the session's Timeout, on the emulator's controllable clock."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.testing import Account, EmulatorServer
from tests.flows import CLOSED, Flow

FROZEN = "2031-05-01T00:00:00Z"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A server of the test's own: the tests move its clock."""
    with EmulatorServer("--caller", "manual") as running:
        running.control.set_clock(freeze_at=FROZEN)
        yield running


@pytest.fixture
def from_capture() -> Iterator[EmulatorServer]:
    """A server whose Timeout runs from the accepted Capture (``--input-timeout-from
    capture``): a caller who keys nothing is timed out too."""
    with EmulatorServer("--caller", "manual", "--input-timeout-from", "capture") as running:
        running.control.set_clock(freeze_at=FROZEN)
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    return server.control.create_account()


def auto_flow(server: EmulatorServer, account: Account, script: dict[str, str]) -> Flow:
    flow = Flow(server, account)
    flow.call_sid = server.control.create_call(account.account_sid, caller="auto", script=script)
    return flow


def test_a_caller_who_stops_mid_entry_is_validated_as_keyed(
    server: EmulatorServer, account: Account
) -> None:
    flow = auto_flow(server, account, {"payment-card-number": "42424242..."})
    flow.start(charge_amount=9)
    flow.capture("payment-card-number")
    keyed = flow.callbacks(flow.made + 1)[-1]  # the caller keys half a card number
    assert keyed["event"] == "key-in"
    assert keyed["params"]["PartialResult"] == "true"
    assert keyed["params"]["PaymentCardNumber"] == "xxxx4242"
    flow.made += 1
    server.control.set_clock(advance_seconds=4.9)  # Timeout is 5 s: not yet
    assert flow.view()["capturing"] == "payment-card-number"
    server.control.set_clock(advance_seconds=0.2)
    done = flow.callbacks(flow.made + 1)[-1]
    assert done["event"] == "key-in"
    assert done["params"]["PartialResult"] == "false"
    assert done["params"]["ErrorType"] == "invalid-card-number"
    assert done["params"]["PaymentError"] == "invalid-card-number"
    view = flow.view()
    assert view["capturing"] is None  # the agent captures it again
    assert "payment-card-number" in view["required"]


def test_by_default_a_caller_who_says_nothing_is_never_timed_out(
    server: EmulatorServer, account: Account
) -> None:
    """Twilio's spec: Timeout is the wait "between each subsequent digit, after the first
    one". Before the first digit nothing runs out (a test that pauses gets no input-timeout);
    once a digit is keyed, the Timeout runs from each digit."""
    # the caller keys nothing by itself: every digit below is the test's
    flow = auto_flow(server, account, {"postal-code": "...", "expiration-date": "..."})
    flow.start(timeout=10)
    flow.capture("postal-code")
    server.control.set_clock(advance_seconds=3600)
    assert len(server.control.callbacks(payment_sid=flow.sid)) == flow.made
    view = flow.view()
    assert (view["capturing"], view["input_deadline"]) == ("postal-code", None)
    server.control.key_in(flow.sid, "9", partial=True)
    flow.made += 1
    assert flow.view()["input_deadline"] is not None
    server.control.set_clock(advance_seconds=9)
    assert flow.view()["capturing"] == "postal-code"
    server.control.set_clock(advance_seconds=1)
    done = flow.callbacks(flow.made + 1)[-1]
    assert (done["event"], done["params"]["PaymentCardPostalCode"]) == ("key-in", "9")
    # a refused whole entry: the next entry has not begun, so no Timeout runs
    flow.made += 1
    flow.capture("expiration-date", "1399")
    assert flow.last()["ErrorType"] == "invalid-date"
    assert flow.view()["input_deadline"] is None


def test_a_caller_who_says_nothing_times_out_naming_the_item(
    from_capture: EmulatorServer,
) -> None:
    server = from_capture
    account = server.control.create_account()
    flow = auto_flow(server, account, {"postal-code": "..."})
    flow.start(timeout=10)
    flow.capture("postal-code")
    server.control.set_clock(advance_seconds=9)
    assert len(server.control.callbacks(payment_sid=flow.sid)) == flow.made
    server.control.set_clock(advance_seconds=1)
    timed_out = flow.callbacks(flow.made + 1)[-1]
    flow.made += 1
    assert timed_out["event"] == "input-timeout"
    params = timed_out["params"]
    assert (params["Capture"], params["ErrorType"], params["PaymentError"]) == (
        "postal-code",
        "input-timeout",
        "postal-code",
    )
    assert params["PartialResult"] == "false"
    assert "postal-code" in params["Required"].split(",")
    # no MaxAttempts on the Payments API: it can time out again, and be captured again
    flow.capture("postal-code")
    server.control.set_clock(advance_seconds=10)
    assert flow.callbacks(flow.made + 1)[-1]["event"] == "input-timeout"
    flow.made += 1
    flow.capture("postal-code", "94105")
    assert flow.last()["ErrorType"] == ""
    assert "postal-code" not in flow.view()["required"]
    assert "too-many-failed-attempts" not in json.dumps(flow.callbacks())


def test_a_manual_caller_times_out_too(server: EmulatorServer, account: Account) -> None:
    flow = Flow(server, account)
    flow.start()
    flow.capture("expiration-date", "12", partial=True)
    server.control.set_clock(advance_seconds=3)
    server.control.key_in(flow.sid, "3", partial=True)  # a digit restarts the timer
    flow.made += 1
    server.control.set_clock(advance_seconds=3)
    assert flow.view()["capturing"] == "expiration-date"
    server.control.set_clock(advance_seconds=2)
    done = flow.callbacks(flow.made + 1)[-1]
    assert (done["params"]["ErrorType"], done["params"]["ExpirationDate"]) == ("invalid-date", "")


def test_a_whole_entry_left_without_its_end_is_accepted(
    server: EmulatorServer, account: Account
) -> None:
    flow = Flow(server, account)
    flow.start()
    flow.capture("expiration-date", "1235", partial=True)
    server.control.set_clock(advance_seconds=5)
    done = flow.callbacks(flow.made + 1)[-1]
    assert (done["params"]["ErrorType"], done["params"]["ExpirationDate"]) == ("", "1235")


def test_no_timer_after_the_item_is_in(server: EmulatorServer, account: Account) -> None:
    flow = Flow(server, account)
    flow.start()
    flow.capture("postal-code", "94105")
    server.control.set_clock(advance_seconds=600)
    assert len(server.control.callbacks(payment_sid=flow.sid)) == flow.made


def test_a_pending_timer_survives_a_restart_but_not_the_half_keyed_digits(
    tmp_path: Path,
) -> None:
    """The deadline is stored; the digits keyed so far are not (card data): after a restart
    the timer fires and, with nothing left of the entry, reports input-timeout."""
    with EmulatorServer("--caller", "manual", database=tmp_path / "e.db") as server:
        account = server.control.create_account()
        flow = Flow(server, account)
        flow.start(timeout=2)
        flow.capture("payment-card-number", "4242", partial=True)
        server.restart(kill=True)
        flow.control = server.control
        timed_out = server.control.callbacks(payment_sid=flow.sid, wait_for=flow.made + 1)[-1]
        assert timed_out["event"] == "input-timeout"
        assert timed_out["params"]["PaymentError"] == "payment-card-number"


def test_settings_and_fixtures_can_script_silence(tmp_path: Path) -> None:
    account_sid, token = "AC" + "6" * 32, "fixturetoken6"
    call_sid = "CA" + "6" * 32
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(
        json.dumps(
            {
                "accounts": [{"sid": account_sid, "auth_token": token}],
                "calls": [
                    {
                        "sid": call_sid,
                        "account_sid": account_sid,
                        "caller": "auto",
                        "script": {"payment-card-number": "4242..."},
                    }
                ],
            }
        )
    )
    with EmulatorServer(
        "--fixtures",
        str(fixtures),
        "--caller-postal-code",
        "...",
        "--input-timeout-from",
        "capture",
        database=tmp_path / "e.db",
    ) as server:
        server.control.set_clock(freeze_at=FROZEN)
        from twilio.rest import Client

        client = Client(account_sid, token)
        client.api.base_url = server.base_url
        sid = (
            client.calls(call_sid).payments.create(idempotency_key="k", status_callback=CLOSED).sid
        )
        client.calls(call_sid).payments(sid).update(
            idempotency_key="p", status_callback=CLOSED, capture="postal-code"
        )
        server.control.set_clock(advance_seconds=5)
        last = server.control.callbacks(payment_sid=sid, wait_for=3)[-1]
        assert (last["event"], last["params"]["PaymentError"]) == ("input-timeout", "postal-code")
        client.calls(call_sid).payments(sid).update(
            idempotency_key="c", status_callback=CLOSED, capture="payment-card-number"
        )
        partial = server.control.callbacks(payment_sid=sid, wait_for=5)[-1]
        assert partial["params"]["PaymentCardNumber"] == "xxxx"
        assert partial["params"]["PartialResult"] == "true"


def test_a_held_clock_lets_a_person_type_and_release_resumes_from_there(
    server: EmulatorServer, account: Account
) -> None:
    """``hold`` stops the clock where it is (no Timeout passes, however long a person takes);
    ``release`` runs it on from that instant: the deadline is still ahead, not fired at once
    as a ``reset`` to real time would."""
    control = server.control
    assert control.release_clock()["frozen"] is False  # from the frozen moment, in 2031
    assert control.clock()["now"].startswith("2031-05-01T00:00:0")
    flow = Flow(server, account)
    flow.start(timeout=1)
    flow.capture("postal-code", "9", partial=True)
    assert flow.view()["input_deadline"] is not None
    held = control.hold_clock()
    assert held["frozen"] is True
    time.sleep(1.3)  # longer than the Timeout, in real time
    assert control.clock()["now"] == held["now"]
    assert len(control.callbacks(payment_sid=flow.sid)) == flow.made  # nothing timed out
    assert flow.view()["capturing"] == "postal-code"
    released = control.release_clock()
    assert released["frozen"] is False
    assert released["now"].startswith("2031-05-01T00:00:0")  # not real time
    done = flow.callbacks(flow.made + 1)[-1]  # the Timeout passes a moment later
    assert (done["event"], done["params"]["PaymentCardPostalCode"]) == ("key-in", "9")
