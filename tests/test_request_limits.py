"""Bad input at the Twilio edge: bounded, refused in Twilio's shape, never a 500, nothing
stored by a refusal, nothing echoed unbounded, no card-like digits stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.vocabulary import CREATE_PARAMETERS, UPDATE_PARAMETERS
from emulator.errors import TwilioError
from emulator.testing import Account, EmulatorServer
from emulator.twilio_api.params import idempotency_key, parse_create, parse_update
from tests.api import CALLBACK, PaymentsApi, new_call_sid
from tests.conftest import basic

CARD = "4242424242424242"


def twilio_error(response: httpx.Response, status: int, code: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


def raw_create(api: PaymentsApi, call_sid: str, body: bytes) -> httpx.Response:
    return api.http.post(
        api.calls_path(call_sid) + "/Payments.json",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def form(**fields: str) -> bytes:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode()


@pytest.fixture
def api(server: EmulatorServer, account: Account, make_api) -> PaymentsApi:  # type: ignore[no-untyped-def]
    made: PaymentsApi = make_api(server, account)
    return made


def test_too_many_form_fields_is_413_and_creates_nothing(
    server: EmulatorServer, api: PaymentsApi
) -> None:
    call_sid = new_call_sid()
    body = form(IdempotencyKey="k", StatusCallback=CALLBACK) + b"".join(
        b"&x%d=1" % i for i in range(300)
    )
    twilio_error(raw_create(api, call_sid, body), 413, 20413)
    # the same key, within the limit, is a first use: nothing was stored against it
    assert api.create(call_sid, key="k").status_code == 201


def test_huge_idempotency_key_is_refused_without_echo(api: PaymentsApi) -> None:
    key = "k" * 60_000
    response = api.create(new_call_sid(), key=key)
    body = twilio_error(response, 400, 64020)
    assert "IdempotencyKey" in str(body["message"])
    assert len(response.content) < 1000


@pytest.mark.parametrize(
    "name",
    ["Description", "Parameter", "StatusCallback", "Currency", "PaymentMethod", "TokenType"],
)
def test_overlong_values_are_64020_and_not_echoed(api: PaymentsApi, name: str) -> None:
    response = api.create(new_call_sid(), **{name: "x" * 50_000})
    body = twilio_error(response, 400, 64020)
    assert name in str(body["message"])
    assert len(response.content) < 1000


def test_deeply_nested_parameter_is_64020_not_500(api: PaymentsApi) -> None:
    deep = "[" * 1000 + "]" * 1000
    twilio_error(api.create(new_call_sid(), Parameter='{"a": ' + deep + "}"), 400, 64020)
    twilio_error(api.create(new_call_sid(), Parameter=deep), 400, 64020)


@pytest.mark.parametrize("name", ["Timeout", "MinPostalCodeLength"])
def test_numbers_thousands_of_digits_long_are_64020_not_500(api: PaymentsApi, name: str) -> None:
    twilio_error(api.create(new_call_sid(), **{name: "9" * 5000}), 400, 64020)
    twilio_error(api.create(new_call_sid(), **{name: "0" * 40 + "5"}), 400, 64020)


@pytest.mark.parametrize("raw_key", [b"%FF%FE", b"%FE%FF", b"%C0%80", b"%80%80"])
def test_keys_that_are_not_utf8_are_refused_each_on_its_own(
    api: PaymentsApi, raw_key: bytes
) -> None:
    call_sid = new_call_sid()
    body = b"IdempotencyKey=" + raw_key + b"&" + form(StatusCallback=CALLBACK)
    response = raw_create(api, call_sid, body)
    message = str(twilio_error(response, 400, 64020)["message"])
    assert "IdempotencyKey" in message
    assert "UTF-8" in message
    # nothing was stored: a valid create on that call still works
    assert api.create(call_sid).status_code == 201


def test_invalid_utf8_in_a_value_is_refused_and_not_a_500(api: PaymentsApi) -> None:
    body = form(IdempotencyKey="u", StatusCallback=CALLBACK) + b"&Description=%FF%FE"
    twilio_error(raw_create(api, new_call_sid(), body), 400, 64020)


def test_empty_status_is_a_bad_value(api: PaymentsApi) -> None:
    call_sid, sid = api.start()
    twilio_error(api.update(call_sid, sid, Status=""), 400, 64020)


def test_405_lists_the_allowed_methods(http: httpx.Client, account: Account) -> None:
    path = f"/2010-04-01/Accounts/{account.account_sid}/Calls/{new_call_sid()}/Payments.json"
    response = http.get(path, headers=basic(account.account_sid, account.auth_token))
    twilio_error(response, 405, 20004)
    assert response.headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.test/" + "a" * 50_000,
        "http://☃.invalid/cb",
        "http://256.1.1.1/cb",
        "http://1.2.3/cb",
        "http://-bad-.example/cb",
        "http://" + "a" * 64 + ".example/cb",
    ],
)
def test_callback_urls_no_http_client_can_use_are_refused(api: PaymentsApi, url: str) -> None:
    response = api.create(new_call_sid(), StatusCallback=url)
    body = twilio_error(response, 400, 64020)
    assert "StatusCallback" in str(body["message"])
    assert len(response.content) < 1000


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/cb", "http://[::1]:9/cb", "http://bücher.example/cb", "cb/rel"]
)
def test_usable_callback_urls_are_accepted(api: PaymentsApi, url: str) -> None:
    assert api.create(new_call_sid(), StatusCallback=url).status_code == 201


def test_card_like_digits_in_description_and_parameter_are_never_stored(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with EmulatorServer("--caller", "manual", database=database) as server:
        account = server.control.create_account()
        api = PaymentsApi(server, account)
        try:
            response = api.create(
                new_call_sid(),
                Description=f"card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}",
                Parameter=f'{{"note": "{CARD}", "{CARD}": 1}}',
            )
            assert response.status_code == 201
            journal = server.control.requests(account_sid=account.account_sid)
        finally:
            api.http.close()
        server.stop()
    assert CARD not in str(journal)
    with sqlite3.connect(database) as conn:
        description, parameter = conn.execute(
            "SELECT description, parameter FROM payment_sessions"
        ).fetchone()
    assert description == "card xxxx xxxx xxxx 4242"
    assert CARD not in parameter
    assert "xxxxxxxxxxxx4242" in parameter
    for path in tmp_path.iterdir():  # the database, its WAL, and whatever else is there
        data = path.read_bytes()
        assert CARD.encode() not in data, path
        assert b"4242 4242 4242 4242" not in data, path


def test_password_in_callback_url_is_masked_where_shown(
    server: EmulatorServer, api: PaymentsApi
) -> None:
    url = "http://user:s3cret@127.0.0.1:9/cb"
    call_sid, sid = api.start(StatusCallback=url)
    view = server.control.payment(sid)
    assert view["status_callback"] == "http://user:****@127.0.0.1:9/cb"
    requests = server.control.requests(payment_sid=sid) + server.control.requests(call_sid=call_sid)
    assert requests
    assert "s3cret" not in str(requests)
    callbacks = server.control.callbacks(payment_sid=sid, wait_for=1)
    assert "s3cret" not in str([c["url"] for c in callbacks])


def test_journal_keeps_bounded_values(server: EmulatorServer, api: PaymentsApi) -> None:
    call_sid = new_call_sid()
    body = form(IdempotencyKey="b", StatusCallback=CALLBACK, Unknown="z" * 50_000)
    assert raw_create(api, call_sid, body).status_code == 201
    (entry,) = server.control.requests(call_sid=call_sid)
    assert len(entry["params"]["Unknown"]) < 1000


# --- the form parsers never fail with anything but Twilio's errors --------------------------

FIELDS = [*CREATE_PARAMETERS, *UPDATE_PARAMETERS[2:]]  # every form field of both requests
# Text as the edge hands it over: any code point, and lone surrogates for bytes that were not
# UTF-8; plus values close to the valid ones.
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=80)
NEAR_VALID = st.sampled_from(
    [
        "",
        "true",
        "FALSE",
        "10.5",
        "-1",
        "1e3",
        "USD",
        "ach-debit",
        "credit-card",
        "reusable",
        "visa amex",
        "payment-card-number",
        "complete",
        "{'AVSName': 'x'}",
        '{"a": {"b": 1}}',
        "[" * 50,
        "http://127.0.0.1:9/cb",
        "http://u:p@[::1]/x",
        "9" * 300,
        "\udcff\udcfe",
    ]
)
FORMS = st.dictionaries(st.sampled_from(FIELDS), ANY_TEXT | NEAR_VALID, max_size=len(FIELDS))


@settings(max_examples=400, deadline=None)
@given(FORMS)
def test_parsers_raise_only_twilio_errors(fields: dict[str, str]) -> None:
    for parse in (parse_create, parse_update, idempotency_key):
        refusal: TwilioError | None = None
        try:
            parse(fields)
        except TwilioError as error:
            refusal = error
        if refusal is not None:
            assert refusal.status == 400
            assert len(refusal.body()) < 2000  # nothing echoed unbounded
