"""Fault injection (``/_emulator/faults``): errors, latency and dropped connections on demand.

Rules are server-wide: on the shared ``server`` every rule is scoped to the test's own fresh
account (``account_sid=...``), so it can never fire for another test. Tests that need rules
for everyone, a full reset or ``DELETE /_emulator/faults`` use an emulator of their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.api import CALLBACK, PaymentsApi, error_code, new_call_sid


@pytest.fixture
def api(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, account: Account
) -> PaymentsApi:
    return make_api(server, account)


@pytest.fixture(scope="module")
def own_server() -> Iterator[EmulatorServer]:
    """An emulator of this module's own, for rules that match every account (seeded, so that
    the draws of ``probability`` rules are reproducible)."""
    with EmulatorServer("--caller", "manual", "--seed", "7") as running:
        yield running


def sdk_client(server: EmulatorServer, account: Account) -> Client:
    client = Client(account.account_sid, account.auth_token)
    client.api.base_url = server.base_url
    return client


def rule_view(server: EmulatorServer, rule_id: int) -> dict[str, Any]:
    (found,) = [rule for rule in server.control.faults() if rule["id"] == rule_id]
    return found


def assert_single_session_after_replay(api: PaymentsApi, call_sid: str, key: str) -> None:
    """The faulted request changed nothing: its key is unused and no session was started."""
    replay = api.create(call_sid, key=key, StatusCallback=CALLBACK)
    assert replay.status_code == 201, replay.text
    # the key now holds that 201: replaying it again gives the same answer
    again = api.create(call_sid, key=key, StatusCallback=CALLBACK)
    assert (again.status_code, again.content) == (201, replay.content)
    # one session only on the call: another key is refused with 64021
    assert error_code(api.create(call_sid, key=key + "-other")) == (400, 64021)


# --- the three actions, seen from twilio-python ------------------------------------------------


def test_error_rule_raises_in_the_sdk_and_changes_no_state(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    rule = server.control.add_fault(
        "error", status=429, code=20429, account_sid=account.account_sid, times=1
    )
    assert (rule["action"], rule["status"], rule["code"], rule["fired"]) == ("error", 429, 20429, 0)
    call_sid = new_call_sid()
    client = sdk_client(server, account)
    with pytest.raises(TwilioRestException) as caught:
        client.calls(call_sid).payments.create(
            idempotency_key="fault-429", status_callback=CALLBACK
        )
    assert (caught.value.status, caught.value.code) == (429, 20429)

    (entry,) = server.control.requests(account_sid=account.account_sid)
    assert entry["status"] == 429
    assert entry["call_sid"] is None  # answered before routing
    assert entry["params"]["IdempotencyKey"] == "fault-429"
    assert json.loads(entry["response"])["code"] == 20429
    assert_single_session_after_replay(api, call_sid, "fault-429")
    assert rule_view(server, rule["id"])["fired"] == 1


def test_error_answer_is_twilio_shaped_with_a_request_id(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    server.control.add_fault(
        "error", status=503, code=20503, message="down", account_sid=account.account_sid, times=1
    )
    answer = api.create(new_call_sid())
    assert answer.json() == {
        "code": 20503,
        "message": "down",
        "more_info": "https://www.twilio.com/docs/errors/20503",
        "status": 503,
    }
    request_id = answer.headers["twilio-request-id"]
    assert request_id.startswith("RQ")
    (entry,) = server.control.requests(account_sid=account.account_sid, status=503)
    assert entry["request_id"] == request_id


def test_delay_rule_adds_latency_then_answers_normally(
    server: EmulatorServer, account: Account
) -> None:
    server.control.add_fault("delay", delay_ms=400, account_sid=account.account_sid, times=1)
    call_sid = new_call_sid()
    client = sdk_client(server, account)
    started = time.monotonic()
    payment = client.calls(call_sid).payments.create(
        idempotency_key="slow", status_callback=CALLBACK
    )
    assert time.monotonic() - started >= 0.4
    assert payment.sid is not None
    assert payment.sid.startswith("PK")
    assert payment.call_sid == call_sid
    # the next one is not delayed (times=1)
    started = time.monotonic()
    client.calls(call_sid).payments(payment.sid).update(
        idempotency_key="fast", status_callback=CALLBACK, capture="postal-code"
    )
    assert time.monotonic() - started < 0.4
    delayed, fast = server.control.requests(account_sid=account.account_sid)
    assert (delayed["status"], fast["status"]) == (201, 202)
    assert delayed["duration_ms"] >= 400


def test_drop_rule_is_a_connection_error_and_changes_no_state(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    server.control.add_fault("drop", account_sid=account.account_sid, times=1)
    call_sid = new_call_sid()
    client = sdk_client(server, account)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.calls(call_sid).payments.create(idempotency_key="dropped", status_callback=CALLBACK)
    (entry,) = server.control.requests(account_sid=account.account_sid)
    assert (entry["status"], entry["response"]) == (0, "")
    assert entry["params"]["IdempotencyKey"] == "dropped"
    assert_single_session_after_replay(api, call_sid, "dropped")
    _forget_dropped_entries(server, account)


def test_drop_with_httpx_too(server: EmulatorServer, account: Account, api: PaymentsApi) -> None:
    server.control.add_fault("drop", account_sid=account.account_sid, times=1)
    with pytest.raises(httpx.TransportError):
        api.create(new_call_sid())
    assert api.create(new_call_sid()).status_code == 201
    _forget_dropped_entries(server, account)


def _forget_dropped_entries(server: EmulatorServer, account: Account) -> None:
    """A dropped request has no answer: its journal entry (status 0, empty response) is not
    something the session's contract check of every answer can validate, so forget it."""
    server.control.reset(account.account_sid)
    assert server.control.requests(account_sid=account.account_sid) == []


# --- matching ----------------------------------------------------------------------------------


def test_times_fires_exactly_that_often(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    rule = server.control.add_fault(
        "error", status=500, code=20500, account_sid=account.account_sid, times=2
    )
    assert rule["remaining"] == 2
    call_sid = new_call_sid()
    answers = [api.create(call_sid, key="k-times").status_code for _ in range(3)]
    assert answers == [500, 500, 201]
    view = rule_view(server, rule["id"])
    assert (view["fired"], view["remaining"]) == (2, 0)
    assert api.create(new_call_sid()).status_code == 201
    assert rule_view(server, rule["id"])["fired"] == 2


def test_method_matching(server: EmulatorServer, account: Account, api: PaymentsApi) -> None:
    get_rule = server.control.add_fault(
        "error", method="GET", status=503, code=20503, account_sid=account.account_sid
    )
    call_sid = new_call_sid()
    assert api.create(call_sid).status_code == 201  # a POST: not matched
    path = api.calls_path(call_sid) + "/Payments.json"
    assert error_code(api.http.get(path)) == (503, 20503)
    assert rule_view(server, get_rule["id"])["fired"] == 1
    # the method is compared case-insensitively
    server.control.add_fault(
        "error", method="post", status=502, code=20502, account_sid=account.account_sid, times=1
    )
    assert error_code(api.create(new_call_sid())) == (502, 20502)


def test_path_regex_matching(server: EmulatorServer, account: Account, api: PaymentsApi) -> None:
    rule = server.control.add_fault(
        "error", path=r"Payments/PK", status=503, code=20503, account_sid=account.account_sid
    )
    call_sid, sid = api.start()  # Payments.json: not matched
    assert error_code(api.update(call_sid, sid, Capture="postal-code")) == (503, 20503)
    assert error_code(api.update(call_sid, sid, Status="cancel")) == (503, 20503)
    assert rule_view(server, rule["id"])["fired"] == 2
    # nothing was changed by the faulted updates: the session is still active
    assert server.control.payment(sid)["state"] == "active"
    assert server.control.payment(sid)["capturing"] is None


def test_account_matching(
    server: EmulatorServer,
    account: Account,
    api: PaymentsApi,
    make_api: Callable[..., PaymentsApi],
) -> None:
    other = server.control.create_account()
    rule = server.control.add_fault("error", status=503, code=20503, account_sid=other.account_sid)
    assert api.create(new_call_sid()).status_code == 201
    assert rule_view(server, rule["id"])["fired"] == 0
    assert error_code(make_api(server, other).create(new_call_sid())) == (503, 20503)
    assert rule_view(server, rule["id"])["fired"] == 1


def test_first_matching_rule_wins(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    first = server.control.add_fault(
        "error", status=503, code=20503, account_sid=account.account_sid, times=1
    )
    second = server.control.add_fault(
        "error", status=502, code=20502, account_sid=account.account_sid, times=1
    )
    assert error_code(api.create(new_call_sid())) == (503, 20503)
    assert error_code(api.create(new_call_sid())) == (502, 20502)
    assert api.create(new_call_sid()).status_code == 201
    assert rule_view(server, first["id"])["fired"] == rule_view(server, second["id"])["fired"] == 1


def test_probability_fires_about_that_often(own_server: EmulatorServer) -> None:
    account = own_server.control.create_account()
    rule = own_server.control.add_fault("error", status=503, code=20503, probability=0.5)
    assert (rule["probability"], rule["times"], rule["remaining"]) == (0.5, None, None)
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    auth = (account.account_sid, account.auth_token)
    with httpx.Client(base_url=own_server.base_url, auth=auth, timeout=30) as http:
        statuses = [http.get(path).status_code for _ in range(100)]
    assert set(statuses) <= {405, 503}  # a GET is 405 when the rule does not fire
    fired = statuses.count(503)
    assert 20 <= fired <= 80
    assert rule_view(own_server, rule["id"])["fired"] == fired
    own_server.control.clear_faults()


def _firing_pattern(server: EmulatorServer, count: int = 40) -> str:
    """A fresh account, a rule firing with probability 0.5, and which of ``count`` GETs it hit."""
    account = server.control.create_account()
    server.control.add_fault("error", status=503, code=20503, probability=0.5)
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    auth = (account.account_sid, account.auth_token)
    with httpx.Client(base_url=server.base_url, auth=auth, timeout=30) as http:
        return "".join("x" if http.get(path).status_code == 503 else "." for _ in range(count))


def test_full_reset_restarts_the_seeded_probability_draws(own_server: EmulatorServer) -> None:
    own_server.control.reset()
    after_first_reset = _firing_pattern(own_server)
    own_server.control.reset()
    after_second_reset = _firing_pattern(own_server)
    own_server.control.reset()
    assert after_second_reset == after_first_reset


# --- the rules list, clearing, refusals ----------------------------------------------------------


def test_rules_are_listed_with_fired_and_remaining(own_server: EmulatorServer) -> None:
    own_server.control.clear_faults()
    account = own_server.control.create_account()
    limited = own_server.control.add_fault(
        "error", status=500, code=20500, times=3, account_sid=account.account_sid
    )
    endless = own_server.control.add_fault(
        "delay", delay_ms=1, method="POST", path="Payments", account_sid=account.account_sid
    )
    assert endless["id"] > limited["id"]
    http = own_server.control.http
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    http.post(path, auth=(account.account_sid, account.auth_token))
    listed = own_server.control.faults()
    assert [rule["id"] for rule in listed] == [limited["id"], endless["id"]]
    assert listed[0] | {"fired": 0, "remaining": 3} == limited
    assert (listed[0]["fired"], listed[0]["remaining"]) == (1, 2)
    assert listed[1] == endless  # the first matching rule fired, not this one
    assert (listed[1]["fired"], listed[1]["remaining"], listed[1]["times"]) == (0, None, None)
    assert set(listed[1]) == {
        "id",
        "action",
        "method",
        "path",
        "account_sid",
        "status",
        "code",
        "message",
        "delay_ms",
        "times",
        "probability",
        "fired",
        "remaining",
    }


def test_delete_clears_every_rule(own_server: EmulatorServer) -> None:
    account = own_server.control.create_account()
    own_server.control.add_fault("error", status=503, code=20503)
    own_server.control.add_fault("drop", account_sid=account.account_sid)
    assert len(own_server.control.faults()) >= 2
    answer = own_server.control.http.delete("/_emulator/faults")
    assert (answer.status_code, answer.json()) == (200, {"faults": []})
    assert own_server.control.faults() == []
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    form = {"IdempotencyKey": "after-clear", "StatusCallback": CALLBACK}
    auth = (account.account_sid, account.auth_token)
    assert own_server.control.http.post(path, data=form, auth=auth).status_code == 201


def test_full_reset_clears_the_rules(own_server: EmulatorServer) -> None:
    own_server.control.add_fault("error", status=503, code=20503)
    assert own_server.control.faults() != []
    own_server.control.reset()
    assert own_server.control.faults() == []
    account = own_server.control.create_account()
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    form = {"IdempotencyKey": "after-reset", "StatusCallback": CALLBACK}
    auth = (account.account_sid, account.auth_token)
    assert own_server.control.http.post(path, data=form, auth=auth).status_code == 201


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "error", "path": "Payments/("},
        {"action": "explode"},
        {"action": "error", "status": 200},
        {"action": "error", "status": 600},
        {"action": "delay", "delay_ms": -1},
        {"action": "error", "times": 0},
        {"action": "error", "probability": 0},
        {"action": "error", "probability": 1.5},
        {"action": "error", "account_sid": "AC123"},
        {"action": "error", "method": "GET /x"},
        {"action": "error", "colour": "red"},
        {},
    ],
)
def test_invalid_rules_are_422(server: EmulatorServer, rule: dict[str, Any]) -> None:
    before = len(server.control.faults())
    answer = server.control.http.post("/_emulator/faults", json=rule)
    assert answer.status_code == 422, answer.text
    assert "detail" in answer.json()
    assert len(server.control.faults()) == before


def test_add_fault_helper_raises_on_a_refused_rule(server: EmulatorServer) -> None:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        server.control.add_fault("error", path="[unclosed")
    assert caught.value.response.status_code == 422


# --- the journal records faulted requests ---------------------------------------------------------


def test_journal_records_faulted_requests(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    server.control.add_fault(
        "error", status=429, code=20429, account_sid=account.account_sid, times=1
    )
    call_sid = new_call_sid()
    refused = api.create(call_sid, key="journal-429")
    assert error_code(refused) == (429, 20429)
    assert api.create(call_sid, key="journal-429").status_code == 201
    server.control.add_fault("drop", account_sid=account.account_sid, times=1)
    with pytest.raises(httpx.TransportError):
        api.create(call_sid, key="journal-drop")

    entries = server.control.requests(account_sid=account.account_sid)
    assert [e["status"] for e in entries] == [429, 201, 0]
    faulted, _, dropped = entries
    assert faulted["request_id"] == refused.headers["twilio-request-id"]
    assert faulted["response"] == refused.text
    assert faulted["method"] == "POST"
    assert faulted["path"] == api.calls_path(call_sid) + "/Payments.json"
    assert faulted["account_sid"] == account.account_sid
    assert faulted["params"]["IdempotencyKey"] == "journal-429"
    assert dropped["params"]["IdempotencyKey"] == "journal-drop"
    assert dropped["response"] == ""
    assert [e["request_id"] for e in server.control.requests(status=429) if e in entries] == [
        faulted["request_id"]
    ]
    assert server.control.requests(account_sid=account.account_sid, status=0) == [dropped]
    _forget_dropped_entries(server, account)
