"""The request journal (``GET /_emulator/requests``): what it records, filters, hides, keeps."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.api import CALLBACK, PaymentsApi, basic, error_code, new_call_sid

FIELDS = {
    "request_id",
    "time",
    "method",
    "path",
    "params",
    "authenticated_as",
    "auth_failure",
    "account_sid",
    "call_sid",
    "payment_sid",
    "status",
    "response",
    "duration_ms",
}
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def api(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, account: Account
) -> PaymentsApi:
    return make_api(server, account)


def test_entries_newest_last_with_every_field(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    call_sid = new_call_sid()
    created = api.create(call_sid, key="j-create", ChargeAmount="12.50", Currency="usd")
    assert created.status_code == 201
    sid = created.json()["sid"]
    captured = api.update(call_sid, sid, key="j-capture", Capture="postal-code")
    assert captured.status_code == 202

    entries = server.control.requests(account_sid=account.account_sid)
    assert [e["request_id"] for e in entries] == [
        created.headers["twilio-request-id"],
        captured.headers["twilio-request-id"],
    ]
    first, second = entries
    for entry in entries:
        assert set(entry) == FIELDS
        assert ISO_MS.match(entry["time"])
        assert entry["method"] == "POST"
        assert entry["authenticated_as"] == account.account_sid
        assert entry["account_sid"] == account.account_sid
        assert entry["call_sid"] == call_sid
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] >= 0
    assert first["time"] <= second["time"]
    assert datetime.fromisoformat(first["time"]).year >= 2024

    assert first["path"] == api.calls_path(call_sid) + "/Payments.json"
    assert first["params"] == {
        "IdempotencyKey": "j-create",
        "StatusCallback": CALLBACK,
        "ChargeAmount": "12.50",
        "Currency": "usd",
    }
    assert first["payment_sid"] is None
    assert (first["status"], first["response"]) == (201, created.text)

    assert second["path"] == api.calls_path(call_sid) + f"/Payments/{sid}.json"
    assert second["params"] == {
        "IdempotencyKey": "j-capture",
        "StatusCallback": CALLBACK,
        "Capture": "postal-code",
    }
    assert second["payment_sid"] == sid
    assert (second["status"], second["response"]) == (202, captured.text)


def test_api_key_requests_record_the_key_sid(
    server: EmulatorServer, account: Account, make_api: Callable[..., PaymentsApi]
) -> None:
    keyed = make_api(server, account, use_api_key=True)
    answer = keyed.create(new_call_sid())
    assert answer.status_code == 201
    (entry,) = server.control.requests(account_sid=account.account_sid)
    assert entry["authenticated_as"] == account.api_key_sid


def test_request_id_is_the_answers_header_for_errors_too(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    call_sid, _ = api.start()
    refused = api.create(call_sid)
    assert error_code(refused) == (400, 64021)
    not_found = api.http.post(f"/2010-04-01/Accounts/{account.account_sid}/Nothing.json")
    assert not_found.status_code == 404
    wrong_method = api.http.get(api.calls_path(call_sid) + "/Payments.json")
    assert wrong_method.status_code == 405
    answers = [refused, not_found, wrong_method]
    entries = server.control.requests(account_sid=account.account_sid)[1:]
    assert [e["request_id"] for e in entries] == [a.headers["twilio-request-id"] for a in answers]
    assert [e["status"] for e in entries] == [400, 404, 405]
    assert [e["response"] for e in entries] == [a.text for a in answers]
    assert entries[1]["call_sid"] is None
    assert entries[2]["method"] == "GET"


def test_filters(server: EmulatorServer, account: Account, api: PaymentsApi) -> None:
    one, sid_one = api.start()
    two, sid_two = api.start()
    assert api.update(one, sid_one, Capture="postal-code").status_code == 202
    assert api.update(two, sid_two, Status="cancel").status_code == 202
    assert error_code(api.update(two, sid_two, Status="cancel")) == (400, 64021)
    assert error_code(api.create(one)) == (400, 64021)

    mine = server.control.requests(account_sid=account.account_sid)
    assert len(mine) == 6
    assert {e["account_sid"] for e in mine} == {account.account_sid}
    by_call = server.control.requests(call_sid=one)
    assert [e["status"] for e in by_call] == [201, 202, 400]
    assert {e["call_sid"] for e in by_call} == {one}
    by_payment = server.control.requests(payment_sid=sid_two)
    assert [e["status"] for e in by_payment] == [202, 400]
    assert {e["payment_sid"] for e in by_payment} == {sid_two}
    refused = server.control.requests(account_sid=account.account_sid, status=400)
    assert [(e["call_sid"], e["payment_sid"]) for e in refused] == [(two, sid_two), (one, None)]
    assert {e["status"] for e in server.control.requests(status=400)} == {400}
    assert server.control.requests(account_sid=account.account_sid, call_sid=two, status=201) == [
        mine[1]
    ]
    assert server.control.requests(account_sid="AC" + "0" * 32) == []


def test_failed_authentication_is_recorded_without_who(
    server: EmulatorServer, account: Account
) -> None:
    call_sid = new_call_sid()
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json"
    wrong_token = "b" * 32
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        wrong = http.post(
            path,
            data={"IdempotencyKey": "who", "StatusCallback": CALLBACK},
            headers=basic(account.account_sid, wrong_token),
        )
        anonymous = http.post(path, data={"IdempotencyKey": "nobody"})
    assert error_code(wrong) == (401, 20003)
    assert error_code(anonymous) == (401, 20003)
    entries = server.control.requests(account_sid=account.account_sid, status=401)
    assert [e["request_id"] for e in entries] == [
        wrong.headers["twilio-request-id"],
        anonymous.headers["twilio-request-id"],
    ]
    for entry in entries:
        assert entry["authenticated_as"] is None
        assert entry["account_sid"] == account.account_sid
        assert entry["call_sid"] == call_sid
    assert wrong_token not in json.dumps(server.control.requests())


def test_no_secret_or_authorization_header_in_the_journal(
    server: EmulatorServer, account: Account, make_api: Callable[..., PaymentsApi]
) -> None:
    with_token = make_api(server, account)
    with_key = make_api(server, account, use_api_key=True)
    call_sid, sid = with_token.start()
    assert with_key.update(call_sid, sid, Capture="postal-code").status_code == 202
    headers = [
        with_token.http.headers["authorization"],
        with_key.http.headers["authorization"],
    ]
    dump = json.dumps(server.control.requests())
    assert account.account_sid in dump
    assert account.api_key_sid in dump
    for secret in [account.auth_token, account.api_key_secret, *headers]:
        assert secret not in dump
    for header in headers:
        assert header.removeprefix("Basic ") not in dump


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("card 4111111111111111", "card xxxxxxxxxxxx1111"),
        ("4111111111111111", "xxxxxxxxxxxx1111"),
        ("1234567890128", "xxxxxxxxx0128"),  # 13 digits passing the Luhn check: masked
        ("123456789012", "123456789012"),  # no card number: an invoice number is kept
        ("12345678901", "12345678901"),
        ("a 5555555555554444 b 000123456789 c", "a xxxxxxxxxxxx4444 b 000123456789 c"),
        ("4111 1111 1111 1111", "xxxx xxxx xxxx 1111"),  # spaces between the digits
        ("4111-1111-1111-1111", "xxxx-xxxx-xxxx-1111"),  # or dashes
        ("4111.1111.1111.1111", "xxxx.xxxx.xxxx.1111"),  # or dots
        ("ref 00004111111111111111000", "ref 0xxxxxxxxxxxxxxxxxx1000"),  # inside a longer run
        ("order 42", "order 42"),
    ],
)
def test_card_numbers_are_masked_in_the_journal(
    server: EmulatorServer, account: Account, api: PaymentsApi, value: str, masked: str
) -> None:
    call_sid = new_call_sid()
    assert api.create(call_sid, Description=value).status_code == 201
    (entry,) = server.control.requests(account_sid=account.account_sid)
    assert entry["params"]["Description"] == masked
    if masked != value:
        assert value not in json.dumps(server.control.requests(account_sid=account.account_sid))


def test_masking_applies_to_every_form_value_and_to_refused_requests(
    server: EmulatorServer, account: Account, api: PaymentsApi
) -> None:
    call_sid = new_call_sid()
    refused = api.create(call_sid, key="4242424242424242", PaymentMethod="cash")
    assert error_code(refused) == (400, 64020)
    (entry,) = server.control.requests(account_sid=account.account_sid)
    assert entry["params"]["IdempotencyKey"] == "xxxxxxxxxxxx4242"
    assert entry["params"]["PaymentMethod"] == "cash"
    assert "4242424242424242" not in json.dumps(entry)


def test_journal_is_bounded() -> None:
    with EmulatorServer("--journal-size", "5", "--caller", "manual") as own:
        account = own.control.create_account()
        api = PaymentsApi(own, account)
        try:
            answers = [api.create(new_call_sid()) for _ in range(8)]
        finally:
            api.http.close()
        assert {a.status_code for a in answers} == {201}
        kept = own.control.requests()
        assert [e["request_id"] for e in kept] == [
            a.headers["twilio-request-id"] for a in answers[-5:]
        ]


def test_reset_of_an_account_removes_its_entries(
    server: EmulatorServer, account: Account, api: PaymentsApi, make_api: Callable[..., PaymentsApi]
) -> None:
    other = server.control.create_account()
    other_api = make_api(server, other)
    api.start()
    other_api.start()
    other_entries = server.control.requests(account_sid=other.account_sid)
    assert len(other_entries) == 1
    assert len(server.control.requests(account_sid=account.account_sid)) == 1

    server.control.reset(account.account_sid)
    assert server.control.requests(account_sid=account.account_sid) == []
    assert server.control.requests(account_sid=other.account_sid) == other_entries
    # the account is kept: its next requests are recorded again
    api.start()
    assert len(server.control.requests(account_sid=account.account_sid)) == 1
