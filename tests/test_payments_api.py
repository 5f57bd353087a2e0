"""The Payments endpoints over plain HTTP: answers, validation, calls, connectors, the rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emulator.testing import Account, ControlClient, EmulatorServer
from tests.api import PaymentsApi, error_code, new_call_sid
from tests.conftest import basic

SID = re.compile(r"^PK[0-9a-f]{32}$")
RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
CARD_ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]


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


# --- answers ------------------------------------------------------------------------------


def test_create_answers_201_with_the_six_fields(api: PaymentsApi) -> None:
    call_sid = new_call_sid()
    response = api.create(call_sid, ChargeAmount="10.50")
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["account_sid", "call_sid", "date_created", "date_updated", "sid", "uri"]
    assert body["account_sid"] == api.account.account_sid
    assert body["call_sid"] == call_sid
    assert SID.match(body["sid"])
    assert RFC2822.match(body["date_created"])
    assert body["date_updated"] == body["date_created"]
    assert (
        body["uri"]
        == f"/2010-04-01/Accounts/{api.account.account_sid}/Calls/{call_sid}/Payments/{body['sid']}.json"
    )
    assert response.text.startswith('{"account_sid": "AC')  # Twilio's ", " and ": " spacing


def test_update_answers_202_and_moves_date_updated(api: PaymentsApi, clock: ControlClient) -> None:
    clock.set_clock(freeze_at="2030-01-01T00:00:00Z")
    call_sid, sid = api.start()
    clock.set_clock(advance_seconds=1)  # RFC 2822 dates have whole seconds
    response = api.update(call_sid, sid, Capture="payment-card-number")
    assert response.status_code == 202
    body = response.json()
    assert body["sid"] == sid
    assert body["date_updated"] != body["date_created"]
    assert body["date_created"] == "Tue, 01 Jan 2030 00:00:00 +0000"
    assert body["date_updated"] == "Tue, 01 Jan 2030 00:00:01 +0000"
    assert body["uri"].endswith(f"/Payments/{sid}.json")


def test_answers_carry_cors_headers_and_request_id(api: PaymentsApi) -> None:
    response = api.create(new_call_sid())
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET, POST, DELETE, OPTIONS"
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "ETag"
    assert re.match(r"^RQ[0-9a-f]{32}$", response.headers["twilio-request-id"])


def test_api_key_credentials(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, account: Account
) -> None:
    api = make_api(server, account, use_api_key=True)
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, Status="cancel").status_code == 202


def test_wrong_method_is_405(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    path = api.calls_path(call_sid) + f"/Payments/{sid}.json"
    for method in ("GET", "DELETE", "PUT"):
        response = api.http.request(method, path)
        assert error_code(response) == (405, 20004)
    assert error_code(api.http.get(api.calls_path(call_sid) + "/Payments.json")) == (405, 20004)


# --- create: validation ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["IdempotencyKey", "StatusCallback"])
def test_create_missing_required_parameter(api: PaymentsApi, missing: str) -> None:
    response = api.create(new_call_sid(), **{missing: ""})
    assert error_code(response) == (400, 20001)
    assert response.json()["message"] == f"Missing required parameter {missing} in the post body"


@pytest.mark.parametrize(
    ("params", "code", "named"),
    [
        ({"PaymentMethod": "cash"}, 64020, "PaymentMethod"),
        ({"TokenType": "forever"}, 64020, "TokenType"),
        ({"Input": "speech"}, 64020, "Input"),
        ({"PostalCode": "maybe"}, 64020, "PostalCode"),
        ({"Timeout": "601"}, 64020, "Timeout"),
        ({"MinPostalCodeLength": "0"}, 64020, "MinPostalCodeLength"),
        ({"ValidCardTypes": "visa bitcoin"}, 64020, "ValidCardTypes"),
        ({"RequireMatchingInputs": "pin"}, 64020, "RequireMatchingInputs"),
        ({"Currency": "ABC"}, 64020, "Currency"),
        ({"StatusCallback": "ftp://127.0.0.1/x"}, 64020, "StatusCallback"),
        ({"Parameter": "not json"}, 64020, "Parameter"),
        ({"Confirmation": "sure"}, 64020, "Confirmation"),
        ({"ChargeAmount": "-5"}, 64003, "ChargeAmount"),
        ({"ChargeAmount": "1000000"}, 64003, "ChargeAmount"),
        ({"ChargeAmount": "9.999"}, 64003, "ChargeAmount"),
        ({"ChargeAmount": "100.5", "Currency": "JPY"}, 64003, "ChargeAmount"),
        ({"BankAccountType": "consumer-savings"}, 64017, "BankAccountType"),
        ({"PaymentMethod": "ach-debit"}, 64014, "AVSName"),
        ({"PaymentConnector": "nope"}, 64004, "nope"),
    ],
)
def test_create_refuses_bad_values(
    api: PaymentsApi, params: dict[str, str], code: int, named: str
) -> None:
    call_sid = new_call_sid()
    response = api.create(call_sid, **params)
    assert error_code(response) == (400, code)
    assert named in response.json()["message"]
    # nothing was stored: a valid create on the same call starts the first session
    assert api.create(call_sid).status_code == 201


def test_create_accepts_every_parameter(api: PaymentsApi) -> None:
    response = api.create(
        new_call_sid(),
        ChargeAmount="12.00",
        Currency="eur",
        Description="api testing",
        Input="dtmf",
        Parameter="{'name':'foobar'}",
        PaymentConnector="Default",
        PaymentMethod="credit-card",
        PostalCode="true",
        SecurityCode="true",
        StatusCallback="/relative/status",
        ValidCardTypes="visa amex",
        Timeout="600",
        MinPostalCodeLength="5",
        RequireMatchingInputs="payment-card-number,postal-code",
        Confirmation="false",
        TokenType="one-time",
    )
    assert response.status_code == 201, response.text
    ach = api.create(
        new_call_sid(),
        PaymentMethod="ach-debit",
        BankAccountType="commercial-checking",
        Parameter=json.dumps({"AVSName": "Jane Doe"}),
    )
    assert ach.status_code == 201, ach.text


# --- calls ------------------------------------------------------------------------------------


def test_unknown_call_is_registered_at_first_use(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, Capture="expiration-date").status_code == 202


def test_second_create_while_active_is_64021_and_allowed_after_cancel(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    again = api.create(call_sid)
    assert error_code(again) == (400, 64021)
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    _, second = api.start(call_sid)
    assert second != sid


def test_call_of_another_account_is_404(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, api: PaymentsApi
) -> None:
    call_sid, _ = api.start()
    other = make_api(server, server.control.create_account())
    response = other.create(call_sid)
    assert error_code(response) == (404, 20404)
    assert (
        response.json()["message"]
        == f"The requested resource {other.calls_path(call_sid)}/Payments.json was not found"
    )


@pytest.fixture(scope="module")
def fixture_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmulatorServer, Account]]:
    """A strict-calls server whose fixtures declare calls and connectors."""
    directory = tmp_path_factory.mktemp("fixtures")
    account_sid, token = "AC" + "1" * 32, "token1"
    fixtures = {
        "accounts": [{"sid": account_sid, "auth_token": token}],
        "calls": [
            {"sid": "CA" + "1" * 32, "account_sid": account_sid},
            {"sid": "CA" + "2" * 32, "account_sid": account_sid, "status": "completed"},
            {"sid": "CA" + "3" * 32, "account_sid": account_sid, "status": "ringing"},
        ]
        + [{"sid": f"CA{i:032x}", "account_sid": account_sid} for i in range(10, 20)],
        "connectors": [
            {"account_sid": account_sid, "name": "charge_only", "tokenize": False},
            {
                "account_sid": account_sid,
                "name": "tokens_only",
                "charge": False,
                "token_types": ["one-time"],
            },
            {
                "account_sid": account_sid,
                "name": "usd_cards",
                "currencies": ["USD"],
                "payment_methods": ["credit-card"],
            },
            {"account_sid": account_sid, "name": "Default", "currencies": ["EUR"]},
        ],
    }
    path = Path(directory) / "fixtures.json"
    path.write_text(json.dumps(fixtures))
    with EmulatorServer(
        "--strict-calls", "--fixtures", str(path), database=Path(directory) / "e.db"
    ) as server:
        yield server, Account(account_sid, token, "", "")


def test_strict_calls_refuses_unknown_call(
    make_api: Callable[..., PaymentsApi], fixture_server: tuple[EmulatorServer, Account]
) -> None:
    api = make_api(*fixture_server)
    assert error_code(api.create(new_call_sid())) == (404, 20404)
    assert api.create("CA" + "1" * 32, ChargeAmount="1", Currency="EUR").status_code == 201


@pytest.mark.parametrize("call", ["CA" + "2" * 32, "CA" + "3" * 32])
def test_call_not_in_progress_is_21220(
    make_api: Callable[..., PaymentsApi], fixture_server: tuple[EmulatorServer, Account], call: str
) -> None:
    api = make_api(*fixture_server)
    assert error_code(api.create(call)) == (400, 21220)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"PaymentConnector": "charge_only"}, 64005),
        ({"PaymentConnector": "tokens_only", "ChargeAmount": "5"}, 64007),
        ({"PaymentConnector": "tokens_only", "TokenType": "reusable"}, 64006),
        ({"PaymentConnector": "usd_cards", "ChargeAmount": "5", "Currency": "GBP"}, 64011),
        (
            {
                "PaymentConnector": "usd_cards",
                "PaymentMethod": "ach-debit",
                "Parameter": '{"AVSName": "J"}',
            },
            64013,
        ),
        ({"ChargeAmount": "5", "Currency": "USD"}, 64011),  # the account's own Default: EUR only
        ({"PaymentConnector": "missing"}, 64004),
    ],
)
def test_connector_capabilities(
    make_api: Callable[..., PaymentsApi],
    fixture_server: tuple[EmulatorServer, Account],
    params: dict[str, str],
    code: int,
) -> None:
    api = make_api(*fixture_server)
    assert error_code(api.create(f"CA{10:032x}", **params)) == (400, code)


def test_connector_that_can_serves(
    make_api: Callable[..., PaymentsApi], fixture_server: tuple[EmulatorServer, Account]
) -> None:
    api = make_api(*fixture_server)
    call_sid, sid = api.start(f"CA{11:032x}", PaymentConnector="usd_cards", ChargeAmount="5")
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    call_sid, sid = api.start(f"CA{11:032x}", PaymentConnector="tokens_only", TokenType="one-time")
    assert api.update(call_sid, sid, Status="cancel").status_code == 202


# --- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"Capture": "payment-card-number", "Status": "complete"}, {"Capture": "", "Status": ""}],
)
def test_update_needs_exactly_one_of_capture_or_status(
    api: PaymentsApi, params: dict[str, str]
) -> None:
    call_sid, sid = api.start()
    assert error_code(api.update(call_sid, sid, **params)) == (400, 64018)


@pytest.mark.parametrize("params", [{"Capture": "card-number"}, {"Status": "completed"}])
def test_update_bad_enum_is_64020(api: PaymentsApi, params: dict[str, str]) -> None:
    call_sid, sid = api.start()
    response = api.update(call_sid, sid, **params)
    assert error_code(response) == (400, 64020)
    assert next(iter(params)) in response.json()["message"]


@pytest.mark.parametrize(
    ("create", "capture"),
    [
        ({}, "bank-routing-number"),
        ({}, "bank-account-number"),
        ({"SecurityCode": "false"}, "security-code"),
        ({"PostalCode": "false"}, "postal-code"),
        ({}, "payment-card-number-matcher"),
        ({"RequireMatchingInputs": "expiration-date"}, "postal-code-matcher"),
        ({"PaymentMethod": "ach-debit", "Parameter": '{"AVSName": "J"}'}, "payment-card-number"),
        ({"PaymentMethod": "ach-debit", "Parameter": '{"AVSName": "J"}'}, "security-code"),
    ],
)
def test_capture_that_does_not_fit_the_session(
    api: PaymentsApi, create: dict[str, str], capture: str
) -> None:
    call_sid, sid = api.start(**create)
    assert error_code(api.update(call_sid, sid, Capture=capture)) == (400, 64020)


def test_capture_every_item_in_any_order_and_again(api: PaymentsApi) -> None:
    call_sid, sid = api.start(RequireMatchingInputs="payment-card-number,security-code")
    items = [*CARD_ITEMS, "payment-card-number-matcher", "security-code-matcher"]
    for item in [*reversed(items), *items]:
        assert api.update(call_sid, sid, Capture=item).status_code == 202
    ach_call, ach = api.start(PaymentMethod="ach-debit", Parameter='{"AVSName": "J"}')
    for item in ["bank-account-number", "bank-routing-number"]:
        assert api.update(ach_call, ach, Capture=item).status_code == 202


def test_complete_before_input_is_64019_and_changes_nothing(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    api.update(call_sid, sid, Capture="payment-card-number")
    response = api.update(call_sid, sid, Status="complete")
    assert error_code(response) == (400, 64019)
    assert "payment-card-number" in response.json()["message"]
    # still active: it can capture, be refused again, and be cancelled
    assert api.update(call_sid, sid, Capture="postal-code").status_code == 202
    assert error_code(api.update(call_sid, sid, Status="complete")) == (400, 64019)
    assert api.update(call_sid, sid, Status="cancel").status_code == 202


@pytest.mark.parametrize(
    "params", [{"Status": "cancel"}, {"Status": "complete"}, {"Capture": "postal-code"}]
)
def test_any_update_after_cancel_is_64021(api: PaymentsApi, params: dict[str, str]) -> None:
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, Status="cancel").status_code == 202
    assert error_code(api.update(call_sid, sid, **params)) == (400, 64021)


def test_unknown_or_foreign_session_is_404(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer, api: PaymentsApi
) -> None:
    call_sid, sid = api.start()
    assert error_code(api.update(call_sid, "PK" + "0" * 32, Status="cancel")) == (404, 20404)
    other_call, _ = api.start()
    assert error_code(api.update(other_call, sid, Status="cancel")) == (404, 20404)
    stranger = make_api(server, server.control.create_account())
    foreign = stranger.update(call_sid, sid, Status="cancel")  # own path, someone else's session
    assert error_code(foreign) == (404, 20404)
    assert api.update(call_sid, sid, Status="cancel").status_code == 202  # untouched


def test_bad_form_encoding_is_answered_not_crashed(api: PaymentsApi) -> None:
    call_sid = new_call_sid()
    response = api.http.post(
        api.calls_path(call_sid) + "/Payments.json",
        content=b"IdempotencyKey=%FF%FE&StatusCallback=%zz&&=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (201, 400)
    assert "code" in response.json() or "sid" in response.json()


def test_subaccount_session_through_parent_credentials(
    make_api: Callable[..., PaymentsApi], server: EmulatorServer
) -> None:
    parent = server.control.create_account()
    child = server.control.create_account(parent_account_sid=parent.account_sid)
    api = make_api(server, child)
    api.http.headers.update(basic(parent.account_sid, parent.auth_token))
    call_sid, sid = api.start()
    assert api.update(call_sid, sid, Status="cancel").json()["account_sid"] == child.account_sid
