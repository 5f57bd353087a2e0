"""IdempotencyKey: replays byte for byte, conflicts, scope, concurrency, restarts, expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from emulator.testing import Account, ControlClient, EmulatorServer
from tests.api import CALLBACK, PaymentsApi, basic, error_code, new_call_sid


@pytest.fixture
def api(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, account: Account
) -> PaymentsApi:
    return make_api(server, account)


@pytest.fixture
def clock(server: EmulatorServer) -> Iterator[ControlClient]:
    """The shared server's control plane, for its clock; the clock is server-wide, so it is
    given back to real time after the test."""
    yield server.control
    server.control.set_clock(reset=True)


def test_create_replay_is_byte_for_byte_and_starts_nothing(api: PaymentsApi) -> None:
    call_sid = new_call_sid()
    first = api.create(call_sid, key="k-create", ChargeAmount="5")
    replay = api.create(call_sid, key="k-create", ChargeAmount="5")
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["twilio-request-id"] != first.headers["twilio-request-id"]
    sid = first.json()["sid"]
    # one session only: once it is cancelled, the call is free again
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    assert api.create(call_sid).status_code == 201


def test_update_replay_makes_no_second_state_change(api: PaymentsApi, clock: ControlClient) -> None:
    clock.set_clock(freeze_at="2030-01-01T00:00:00Z")
    call_sid, sid = api.start()
    first = api.update(call_sid, sid, key="k-cancel", Status="cancel")
    assert first.status_code == 202
    assert first.json()["date_updated"] == "Tue, 01 Jan 2030 00:00:00 +0000"
    clock.set_clock(advance_seconds=60)  # a second state change would move date_updated
    replay = api.update(call_sid, sid, key="k-cancel", Status="cancel")
    assert (replay.status_code, replay.content) == (202, first.content)


def test_error_answers_are_stored_and_replayed(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    refused = api.update(call_sid, sid, key="k-complete", Status="complete")
    assert error_code(refused) == (400, 64019)
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    # the session is cancelled now (a fresh request would be 64021), the key still says 64019
    replay = api.update(call_sid, sid, key="k-complete", Status="complete")
    assert (replay.status_code, replay.content) == (400, refused.content)
    assert error_code(api.update(call_sid, sid, Status="complete")) == (400, 64021)


def test_parameter_errors_are_stored_too(api: PaymentsApi) -> None:
    call_sid = new_call_sid()
    refused = api.create(call_sid, key="k-bad", PaymentMethod="cash")
    assert error_code(refused) == (400, 64020)
    assert api.create(call_sid, key="k-bad", PaymentMethod="cash").content == refused.content


def test_same_key_with_other_parameters_is_409(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, key="k-1", Capture="postal-code").status_code == 202
    conflict = api.update(call_sid, sid, key="k-1", Status="cancel")
    assert error_code(conflict) == (409, 20409)
    # nothing changed: the session is still active
    assert api.update(call_sid, sid, Capture="expiration-date").status_code == 202
    other_callback = api.update(
        call_sid, sid, key="k-1", Capture="postal-code", StatusCallback=CALLBACK + "2"
    )
    assert error_code(other_callback) == (409, 20409)


def test_parameter_order_does_not_matter(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    path = api.calls_path(call_sid) + f"/Payments/{sid}.json"
    first = api.http.post(
        path,
        content=f"IdempotencyKey=o&StatusCallback={CALLBACK}&Capture=postal-code",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    second = api.http.post(
        path,
        content=f"Capture=postal-code&IdempotencyKey=o&StatusCallback={CALLBACK}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert first.status_code == 202
    assert second.content == first.content


def test_keys_are_scoped_to_account_and_resource(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, api: PaymentsApi
) -> None:
    one, two = new_call_sid(), new_call_sid()
    a = api.create(one, key="shared")
    b = api.create(two, key="shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["sid"] != b.json()["sid"]
    # the same key on two sessions
    assert api.update(one, a.json()["sid"], key="shared-u", Status="cancel").status_code == 202
    assert api.update(two, b.json()["sid"], key="shared-u", Status="cancel").status_code == 202
    # the same key and call in another account
    other = make_api(server, server.control.create_account())
    assert other.create(new_call_sid(), key="shared").status_code == 201


async def _burst(
    base_url: str, account: Account, path: str, forms: list[dict[str, str]]
) -> list[httpx.Response]:
    headers = basic(account.account_sid, account.auth_token)
    limits = httpx.Limits(max_connections=len(forms))
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        return list(await asyncio.gather(*(client.post(path, data=form) for form in forms)))


def test_twenty_identical_requests_at_once_make_one_change(
    api: PaymentsApi, server: EmulatorServer
) -> None:
    call_sid = new_call_sid()
    form = {"IdempotencyKey": "burst", "StatusCallback": CALLBACK}
    answers = asyncio.run(
        _burst(
            server.base_url, api.account, api.calls_path(call_sid) + "/Payments.json", [form] * 20
        )
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    sid = answers[0].json()["sid"]
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    assert api.create(call_sid).status_code == 201  # there was only that one session


def test_twenty_different_creates_at_once_start_one_session(
    api: PaymentsApi, server: EmulatorServer
) -> None:
    call_sid = new_call_sid()
    forms = [{"IdempotencyKey": f"k{i}", "StatusCallback": CALLBACK} for i in range(20)]
    answers = asyncio.run(
        _burst(server.base_url, api.account, api.calls_path(call_sid) + "/Payments.json", forms)
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [400] * 19
    assert {a.json()["code"] for a in answers if a.status_code == 400} == {64021}


def test_two_processes_on_one_database_honour_one_key(tmp_path: Path) -> None:
    """The guarantee is the database's (unique key in the transaction), not a process lock."""
    database = tmp_path / "shared.db"
    with EmulatorServer(database=database) as first, EmulatorServer(database=database) as second:
        account = first.control.create_account()
        call_sid = new_call_sid()
        path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json"
        form = {"IdempotencyKey": "two-processes", "StatusCallback": CALLBACK}

        async def both() -> list[httpx.Response]:
            batches = await asyncio.gather(
                _burst(first.base_url, account, path, [form] * 10),
                _burst(second.base_url, account, path, [form] * 10),
            )
            return [answer for batch in batches for answer in batch]

        answers = asyncio.run(both())
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1


def test_records_survive_a_restart(tmp_path: Path, make_api: Callable[..., PaymentsApi]) -> None:
    with EmulatorServer(database=tmp_path / "e.db") as server:
        account = server.control.create_account()
        api = make_api(server, account)
        call_sid = new_call_sid()
        first = api.create(call_sid, key="durable")
        server.restart(kill=True)
        api.http.base_url = httpx.URL(server.base_url)
        assert api.create(call_sid, key="durable").content == first.content


def test_records_expire(tmp_path: Path, make_api: Callable[..., PaymentsApi]) -> None:
    """Kept ``--idempotency-ttl-hours``, then forgotten; on an emulator of its own, whose clock
    the test moves."""
    with EmulatorServer("--idempotency-ttl-hours", "1", database=tmp_path / "e.db") as server:
        api = make_api(server, server.control.create_account())
        server.control.set_clock(freeze_at="2030-01-01T00:00:00Z")
        call_sid = new_call_sid()
        assert api.create(call_sid, key="short-lived").status_code == 201
        server.control.set_clock(advance_seconds=3599)
        assert api.create(call_sid, key="short-lived").status_code == 201  # replay
        server.control.set_clock(advance_seconds=2)  # an hour and a second after the answer
        # forgotten: the same key is a new request, refused because a session is active
        assert error_code(api.create(call_sid, key="short-lived")) == (400, 64021)
