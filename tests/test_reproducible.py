"""Reproducible runs (``--seed``) and the controllable clock (``/_emulator/clock``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator.testing import Account, EmulatorServer
from tests.api import PaymentsApi, error_code, new_call_sid

CALL_SIDS = [f"CA{n:032x}" for n in (0xC0FFEE01, 0xC0FFEE02, 0xC0FFEE03)]
CAPTURES = ["payment-card-number", "expiration-date"]


@dataclass(frozen=True)
class Run:
    """What the emulator made up while answering the fixed sequence of requests."""

    account: Account
    payment_sids: tuple[str, ...]
    request_ids: tuple[str, ...]
    bodies: tuple[bytes, ...]


def fixed_sequence(server: EmulatorServer) -> Run:
    """Create an account, start a session on each fixed call, capture two items on each."""
    account = server.control.create_account()
    api = PaymentsApi(server, account)
    payment_sids: list[str] = []
    answers = []
    try:
        for n, call_sid in enumerate(CALL_SIDS):
            created = api.create(call_sid, key=f"create-{n}", ChargeAmount="10.00")
            assert created.status_code == 201, created.text
            sid = created.json()["sid"]
            payment_sids.append(sid)
            answers.append(created)
            for item in CAPTURES:
                captured = api.update(call_sid, sid, key=f"capture-{n}-{item}", Capture=item)
                assert captured.status_code == 202, captured.text
                answers.append(captured)
    finally:
        api.http.close()
    return Run(
        account=account,
        payment_sids=tuple(payment_sids),
        request_ids=tuple(a.headers["twilio-request-id"] for a in answers),
        bodies=tuple(a.content for a in answers),
    )


def run_once(*args: str) -> Run:
    with EmulatorServer(*args, "--caller", "manual") as server:
        return fixed_sequence(server)


@dataclass(frozen=True)
class Reference:
    """The first run with ``--seed 1234``: the sequence after start, and again after a full
    reset of the same server; kept, to compare other runs with."""

    after_start: Run
    after_reset: Run
    after_account_reset: Account


@functools.cache
def reference_run() -> Reference:
    with EmulatorServer("--seed", "1234", "--caller", "manual") as server:
        after_start = fixed_sequence(server)
        server.control.reset()
        after_reset = fixed_sequence(server)
        # a reset of one account is not a restart: the streams go on
        server.control.reset(after_reset.account.account_sid)
        account = server.control.create_account()
    return Reference(after_start, after_reset, account)


def generated(run: Run) -> list[str]:
    """Every identifier and secret the emulator generated in a run."""
    account = run.account
    return [
        account.account_sid,
        account.auth_token,
        account.api_key_sid,
        account.api_key_secret,
        *run.payment_sids,
        *run.request_ids,
    ]


def undated(run: Run) -> list[dict[str, Any]]:
    """The answers' bodies without their dates (real time differs between runs)."""
    bodies = [json.loads(body) for body in run.bodies]
    return [{k: v for k, v in body.items() if not k.startswith("date_")} for body in bodies]


def test_same_seed_same_identifiers_other_seed_other_ones() -> None:
    first = reference_run().after_start
    second = run_once("--seed", "1234")
    assert generated(second) == generated(first)
    assert undated(second) == undated(first)
    assert len(set(generated(first))) == len(generated(first))
    other = run_once("--seed", "99")
    assert set(generated(other)).isdisjoint(generated(first))


def test_without_a_seed_runs_differ() -> None:
    first, second = run_once(), run_once()
    assert set(generated(first)).isdisjoint(generated(second))


def test_full_reset_restarts_the_seeded_streams() -> None:
    reference = reference_run()
    assert generated(reference.after_reset) == generated(reference.after_start)
    assert undated(reference.after_reset) == undated(reference.after_start)
    assert reference.after_account_reset.account_sid not in generated(reference.after_start)


# --- the clock ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock_server() -> Iterator[EmulatorServer]:
    """An emulator of this module's own: its clock is server-wide."""
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture
def clocked(clock_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The module's emulator, given back to real time after each test."""
    yield clock_server
    clock_server.control.set_clock(reset=True)


@pytest.fixture
def clocked_api(
    clocked: EmulatorServer, make_api: Callable[..., PaymentsApi]
) -> tuple[EmulatorServer, PaymentsApi]:
    return clocked, make_api(clocked, clocked.control.create_account())


def test_frozen_clock_dates_answers_and_callbacks(
    clocked_api: tuple[EmulatorServer, PaymentsApi],
) -> None:
    server, api = clocked_api
    state = server.control.set_clock(freeze_at="2030-01-01T00:00:00Z")
    assert state == {"now": "2030-01-01T00:00:00.000Z", "frozen": True}
    call_sid = new_call_sid()
    created = api.create(call_sid)
    assert created.status_code == 201
    body = created.json()
    assert body["date_created"] == body["date_updated"] == "Tue, 01 Jan 2030 00:00:00 +0000"

    state = server.control.set_clock(advance_seconds=3600)
    assert state == {"now": "2030-01-01T01:00:00.000Z", "frozen": True}
    updated = api.update(call_sid, body["sid"], Capture="postal-code")
    assert updated.status_code == 202
    assert updated.json()["date_created"] == "Tue, 01 Jan 2030 00:00:00 +0000"
    assert updated.json()["date_updated"] == "Tue, 01 Jan 2030 01:00:00 +0000"

    created_cb, capture_cb = server.control.callbacks(payment_sid=body["sid"])
    assert created_cb["params"]["DateCreated"] == "2030-01-01T00:00:00.000Z"
    assert capture_cb["params"]["DateCreated"] == "2030-01-01T00:00:00.000Z"
    assert capture_cb["params"]["DateUpdated"] == "2030-01-01T01:00:00.000Z"

    journal = server.control.requests(account_sid=api.account.account_sid)
    assert [e["time"] for e in journal] == ["2030-01-01T00:00:00.000Z", "2030-01-01T01:00:00.000Z"]

    state = server.control.set_clock(reset=True)
    assert state["frozen"] is False
    this_year = datetime.now(UTC).year
    assert datetime.fromisoformat(state["now"]).year == this_year
    later = api.create(new_call_sid())
    assert later.status_code == 201
    assert f" {this_year} " in later.json()["date_created"]


def test_clock_state_is_readable(clocked: EmulatorServer) -> None:
    answer = clocked.control.http.get("/_emulator/clock")
    assert answer.status_code == 200
    assert answer.json()["frozen"] is False
    clocked.control.set_clock(freeze_at="2030-01-01T02:00:00+02:00")  # a zone other than UTC
    assert clocked.control.http.get("/_emulator/clock").json() == {
        "now": "2030-01-01T00:00:00.000Z",
        "frozen": True,
    }


def test_advance_without_freezing_shifts_real_time(clocked: EmulatorServer) -> None:
    state = clocked.control.set_clock(advance_seconds=366 * 24 * 3600)
    assert state["frozen"] is False
    assert datetime.fromisoformat(state["now"]).year > datetime.now(UTC).year


def test_the_clock_drives_the_expiry_check(clocked_api: tuple[EmulatorServer, PaymentsApi]) -> None:
    server, api = clocked_api
    server.control.set_clock(freeze_at="2030-06-15T12:00:00Z")
    call_sid = server.control.create_call(api.account.account_sid, caller="manual")
    _, sid = api.start(call_sid)
    assert api.update(call_sid, sid, Capture="expiration-date").status_code == 202

    server.control.key_in(sid, "1229")  # December 2029: past, in June 2030
    refused = server.control.callbacks(payment_sid=sid)[-1]["params"]
    assert (refused["PartialResult"], refused["ErrorType"]) == ("false", "invalid-date")
    assert "expiration-date" in server.control.payment(sid)["required"]

    view = server.control.key_in(sid, "0731")  # July 2031: ahead
    accepted = server.control.callbacks(payment_sid=sid)[-1]["params"]
    assert (accepted["ErrorType"], accepted["ExpirationDate"]) == ("", "0731")
    assert "expiration-date" not in view["required"]


def test_the_clock_drives_idempotency_expiry(
    clocked_api: tuple[EmulatorServer, PaymentsApi],
) -> None:
    server, api = clocked_api
    server.control.set_clock(freeze_at="2030-03-01T00:00:00Z")
    call_sid = new_call_sid()
    first = api.create(call_sid, key="old-key")
    assert first.status_code == 201
    server.control.set_clock(advance_seconds=23 * 3600)
    assert api.create(call_sid, key="old-key").content == first.content  # still kept
    server.control.set_clock(advance_seconds=2 * 3600)  # 25 h after the first answer
    # forgotten: a new request, refused because the session is still active
    assert error_code(api.create(call_sid, key="old-key")) == (400, 64021)


def test_freeze_at_needs_a_time_zone(clocked: EmulatorServer) -> None:
    answer = clocked.control.http.post(
        "/_emulator/clock", json={"freeze_at": "2030-01-01T00:00:00"}
    )
    assert answer.status_code == 400
    assert "time zone" in answer.json()["detail"]
    assert clocked.control.http.get("/_emulator/clock").json()["frozen"] is False
