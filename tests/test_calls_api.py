"""The Calls resource through twilio-python (and raw forms where the SDK cannot send what a test
needs): create (201), fetch (200), update (200), Twilio's validation codes in Twilio's order,
404 and 21220. Every answer here is also checked against the spec (tests/contract.py)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from emulator.testing import Account, EmulatorServer
from tests.api import basic
from tests.voice_app import Page, VoiceApp, notices, twilio_client

HANG_UP = "<Response><Say>Hello</Say><Hangup/></Response>"
PARK = '<Response><Pause length="600"/></Response>'


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    with VoiceApp({"/voice": HANG_UP, "/park": PARK}).running() as running:
        yield running


def calls_path(account: Account, sid: str | None = None) -> str:
    base = f"/2010-04-01/Accounts/{account.account_sid}/Calls"
    return base + (f"/{sid}.json" if sid else ".json")


def post(
    http: httpx.Client, account: Account, form: object, sid: str | None = None
) -> httpx.Response:
    pairs = list(form.items()) if isinstance(form, dict) else list(form)  # type: ignore[call-overload]
    return http.post(
        calls_path(account, sid),
        content=urlencode(pairs),
        headers={
            **basic(account.account_sid, account.auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def code_of(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def test_create_answers_201_with_twilios_call_json(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/park"))
    assert call.sid.startswith("CA")
    assert len(call.sid) == 34
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert (call.to, call.to_formatted) == ("+14155550123", "(415) 555-0123")
    assert (call._from, call.from_formatted) == ("+14155550100", "(415) 555-0100")
    assert call.api_version == "2010-04-01"
    assert call.account_sid == account.account_sid
    assert call.duration is None
    assert call.end_time is None
    assert call.price is None
    assert call.price_unit == "USD"
    assert call.queue_time == "0"
    assert call.uri == calls_path(account, call.sid)
    assert call.subresource_uris["payments"] == calls_path(account, call.sid).replace(
        ".json", "/Payments.json"
    )
    assert call.date_created is not None
    server.control.wait_for_call(call.sid, waiting="pause")
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "in-progress"
    assert fetched.start_time is not None
    client.calls(call.sid).update(status="completed")


def test_fetch_follows_the_call_to_completed(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/voice"))
    server.control.wait_for_call(call.sid, status="completed")
    done = client.calls(call.sid).fetch()
    assert done.status == "completed"
    assert done.duration == "0"
    assert done.end_time is not None
    assert done.start_time is not None
    assert done.end_time >= done.start_time


def test_update_ends_a_call_or_leaves_it_as_twilio_says(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/park"))
    server.control.wait_for_call(call.sid, waiting="pause")
    # "canceled ... will not affect calls already in progress"
    assert client.calls(call.sid).update(status="canceled").status == "in-progress"
    ended = client.calls(call.sid).update(status="completed")
    assert ended.status == "completed"
    assert ended.duration is not None
    assert ended.end_time is not None
    with pytest.raises(TwilioRestException) as raised:
        client.calls(call.sid).update(status="completed")
    assert (raised.value.status, raised.value.code) == (400, 21220)
    assert raised.value.msg.endswith("Call is not in-progress. Cannot redirect.")
    with pytest.raises(TwilioRestException) as raised:
        client.calls(call.sid).update(twiml="<Response/>")
    assert raised.value.code == 21220


@pytest.mark.parametrize(
    ("form", "code", "words"),
    [
        ({}, 21201, "No 'To' number is specified"),
        ({"From": "+14155550100"}, 21201, "No 'To' number"),
        ({"To": "+14155550123"}, 21205, "Url parameter is required."),
        ({"To": "+14155550123", "Url": "http://127.0.0.1:9/x"}, 21213, "No 'From' number"),
        ({"To": "+14155550123", "Twiml": "<Response/>"}, 21213, "No 'From' number"),
        ({"To": "x", "From": "+14155550100", "Url": "nope"}, 21205, "Url is not a valid URL: nope"),
        (
            {"To": "hello", "From": "+1415", "Url": "http://127.0.0.1:9/"},
            21211,
            "'To' number hello",
        ),
        ({"To": "+14155550123", "From": "bob", "Url": "http://127.0.0.1:9/"}, 21212, "From is not"),
        ({"Method": "PUT"}, 21209, "Invalid Method"),
        ({"FallbackMethod": "DELETE"}, 21209, "FallbackMethod"),
        ({"StatusCallback": "/relative"}, 21609, "Invalid 'StatusCallback'"),
        ({"StatusCallback": "ftp://127.0.0.1/x"}, 21609, "StatusCallback"),
        ({"StatusCallbackEvent": "hungup"}, 21626, "Invalid 'StatusCallbackEvent'"),
        ({"StatusCallbackMethod": "HEAD"}, 21209, "StatusCallbackMethod"),
        ({"Timeout": "soon"}, 21208, "Invalid Timeout"),
        ({"Timeout": "0"}, 21208, "Invalid Timeout"),
        ({"TimeLimit": "-5"}, 13216, "Invalid TimeLimit"),
        ({"ApplicationSid": "AP" + "0" * 32}, 21218, "Invalid ApplicationSid"),
        ({"Twiml": "<Response><Say>" + "a" * 4000 + "</Say></Response>", "Url": ""}, 32018, "4000"),
        ({"FallbackUrl": "not a url"}, 21205, "FallbackUrl is not a valid URL"),
    ],
)
def test_validation_codes_in_twilios_order(
    http: httpx.Client, account: Account, form: dict[str, str], code: int, words: str
) -> None:
    full = {"To": "+14155550123", "From": "+14155550100", "Url": "http://127.0.0.1:9/voice"}
    missing = code in (21201, 21205, 21213) and "Url is not" not in words
    sent = form if missing else {**full, **form}  # the first three checks: what is missing
    response = post(http, account, sent)
    assert code_of(response) == (400, code), response.text
    assert words in response.json()["message"]


def test_values_twilio_accepts(
    server: EmulatorServer, http: httpx.Client, account: Account, app: VoiceApp
) -> None:
    form = [
        ("To", "client:alice"),
        ("From", "+1 (415) 555-0100"),
        ("Url", app.url("/park") + "#ct=1000&rc=2"),
        ("Timeout", "601"),  # "the maximum is 600": brought down to it
        ("StatusCallbackEvent", "initiated, ringing"),  # a list in one value
        ("StatusCallbackEvent", "answered"),
        ("StatusCallback", "http://127.0.0.1:9/status"),
        ("Record", "true"),  # accepted, not emulated
        ("MachineDetection", "Enable"),
    ]
    response = post(http, account, form)
    assert response.status_code == 201, response.text
    sid = response.json()["sid"]
    assert response.json()["to"] == "client:alice"
    server.control.wait_for_call(sid, waiting="pause")
    server.control.hang_up(sid)


def test_url_and_twiml_together_use_the_url_with_a_32019_warning(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(
        to="+14155550123",
        from_="+14155550100",
        url=app.url("/voice"),
        twiml="<Response><Say>ignored</Say></Response>",
    )
    view = server.control.wait_for_call(call.sid, status="completed")
    assert 32019 in notices(view)
    assert app.at("/voice")


def test_unknown_and_foreign_calls_are_404(
    server: EmulatorServer, http: httpx.Client, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    unknown = "CA" + "0" * 32
    for action in (
        lambda: client.calls(unknown).fetch(),
        lambda: client.calls(unknown).update(status="completed"),
    ):
        with pytest.raises(TwilioRestException) as raised:
            action()
        assert (raised.value.status, raised.value.code) == (404, 20404)
    other = server.control.create_account()
    theirs = twilio_client(server.base_url, other.account_sid, other.auth_token).calls.create(
        to="+14155550123", from_="+14155550100", url=app.url("/voice")
    )
    with pytest.raises(TwilioRestException) as raised:
        client.calls(theirs.sid).fetch()
    assert raised.value.status == 404
    # an unknown call is reported before a bad parameter
    assert code_of(post(http, account, {"Status": "later"}, unknown)) == (404, 20404)


def test_a_bad_update_is_refused(
    server: EmulatorServer, http: httpx.Client, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/park"))
    for form, code in (
        ({"Status": "later"}, 20001),
        ({"Url": "nope"}, 21205),
        ({"Method": "PUT", "Url": app.url("/voice")}, 21209),
        ({"Twiml": "<Response>" + "a" * 4000 + "</Response>"}, 32018),
    ):
        assert code_of(post(http, account, form, call.sid)) == (400, code)
    # StatusCallback alone: "it is required to set the Url in the same statement": ignored
    response = post(http, account, {"StatusCallback": "http://127.0.0.1:9/s"}, call.sid)
    assert response.status_code == 200
    client.calls(call.sid).update(status="completed")


def test_methods_the_resource_does_not_have_are_405(http: httpx.Client, account: Account) -> None:
    auth = basic(account.account_sid, account.auth_token)
    response = http.delete(calls_path(account, "CA" + "0" * 32), headers=auth)
    assert code_of(response) == (405, 20004)
    assert response.headers["allow"] == "GET, POST, OPTIONS"
    response = http.get(calls_path(account), headers=auth)
    assert code_of(response) == (405, 20004)
    assert response.headers["allow"] == "POST, OPTIONS"


def test_wrong_credentials_are_401(http: httpx.Client, account: Account) -> None:
    response = http.post(
        calls_path(account), data={"To": "+1"}, headers=basic(account.account_sid, "wrong")
    )
    assert code_of(response) == (401, 20003)


def test_calls_are_in_the_journal(server: EmulatorServer, account: Account, app: VoiceApp) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/voice"))
    server.control.wait_for_call(call.sid, status="completed")
    client.calls(call.sid).fetch()
    entries = server.control.requests(account_sid=account.account_sid)
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 201), ("GET", 200)]
    assert entries[1]["call_sid"] == call.sid
    assert entries[0]["params"]["Url"] == app.url("/voice")


def test_a_call_without_a_document_page_uses_twiml(
    server: EmulatorServer, account: Account
) -> None:
    with VoiceApp({"/x": Page("")}).running():
        client = twilio_client(server.base_url, account.account_sid, account.auth_token)
        call = client.calls.create(
            to="+14155550123", from_="+14155550100", twiml="<Response><Say>Hi</Say></Response>"
        )
        view = server.control.wait_for_call(call.sid, status="completed")
        requests = [step for step in view["steps"] if step["kind"] == "request"]
        assert requests[0]["name"] == "Twiml"
        assert "<Say>Hi</Say>" in requests[0]["body"]
