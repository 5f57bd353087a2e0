"""Calls running TwiML, end to end: twilio-python places the call, an application of the
test's own (tests/voice_app.py, a real HTTP server) answers the signed voice webhooks, the
control plane keys digits and moves the clock, and the call's view says what happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.voice_app import (
    Page,
    VoiceApp,
    notices,
    signed_correctly,
    steps,
    twilio_client,
    verbs,
)

TO, FROM = "+14155550123", "+14155550100"
APPLICATION_ERROR = "We're sorry, an application error has occurred. Goodbye."


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    with VoiceApp().running() as running:
        yield running


@pytest.fixture
def client(server: EmulatorServer, account: Account) -> Client:
    return twilio_client(server.base_url, account.account_sid, account.auth_token)


def place(client: Client, app: VoiceApp, path: str, **params: object) -> str:
    call = client.calls.create(to=TO, from_=FROM, url=app.url(path), **params)
    return str(call.sid)


# --- the voice webhook ------------------------------------------------------------------------


def test_the_webhook_is_signed_and_carries_twilios_parameters(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/voice"] = "<Response><Hangup/></Response>"
    sid = place(client, app, "/voice?tenant=7")
    (request,) = app.wait_for("/voice")
    assert request.method == "POST"
    assert request.query == {"tenant": "7"}
    assert signed_correctly(account.auth_token, request, app.base_url)
    form = request.form
    assert form["CallSid"] == sid
    assert form["AccountSid"] == account.account_sid
    assert form["CallStatus"] == "in-progress"
    assert form["Direction"] == "outbound-api"
    assert (form["To"], form["Called"], form["From"], form["Caller"]) == (TO, TO, FROM, FROM)
    assert form["ApiVersion"] == "2010-04-01"
    assert form["FromCity"] == form["ToZip"] == ""
    assert request.headers["User-Agent"] == "TwilioProxy/1.1"
    assert request.headers["I-Twilio-Idempotency-Token"]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    server.control.wait_for_call(sid, status="completed")


def test_a_get_webhook_has_the_parameters_in_its_query(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/voice"] = "<Response/>"
    sid = place(client, app, "/voice?a=1", method="GET")
    (request,) = app.wait_for("/voice")
    assert request.method == "GET"
    assert request.query["a"] == "1"
    assert request.query["CallSid"] == sid
    assert signed_correctly(account.auth_token, request, app.base_url)
    server.control.wait_for_call(sid, status="completed")


# --- the verbs ------------------------------------------------------------------------------


def test_say_pause_gather_redirect_hangup(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages |= {
        "/ivr/start": """<?xml version="1.0" encoding="UTF-8"?>
            <Response>
              <Say voice="alice">Welcome</Say>
              <Pause length="30"/>
              <Gather numDigits="4" action="menu" timeout="10">
                <Say>Enter your account number</Say>
              </Gather>
              <Say>We did not get that</Say>
            </Response>""",
        "/ivr/menu": "<Response><Say>Thanks</Say><Redirect>../bye</Redirect></Response>",
        "/bye": "<Response><Say>Goodbye</Say><Hangup/><Say>never said</Say></Response>",
    }
    sid = place(client, app, "/ivr/start")
    server.control.wait_for_call(sid, waiting="pause")
    assert client.calls(sid).fetch().status == "in-progress"
    server.control.set_clock(advance_seconds=30)  # the pause runs on the emulator's clock
    server.control.wait_for_call(sid, waiting="gather")
    server.control.key_in_call(sid, "12345")  # numDigits: four are taken
    (menu,) = app.wait_for("/ivr/menu")
    assert menu.form["Digits"] == "1234"
    assert menu.form["FinishedOnKey"] == ""
    assert menu.form["msg"] == "Gather End"
    assert signed_correctly(account.auth_token, menu, app.base_url)
    app.wait_for("/bye")
    view = server.control.wait_for_call(sid, status="completed")
    assert client.calls(sid).fetch().status == "completed"
    assert verbs(view) == [
        "Say",
        "Pause",
        "Gather",
        "Say",
        "Say",
        "Redirect",
        "Say",
        "Hangup",
    ]
    (said,) = [s for s in steps(view, "verb") if s.get("text") == "Welcome"]
    assert said["voice"] == "alice"
    (keyed,) = steps(view, "input")
    assert keyed["digits"] == "1234"
    requests = steps(view, "request")
    assert [r["url"] for r in requests] == [
        app.url("/ivr/start"),
        app.url("/ivr/menu"),
        app.url("/bye"),
    ]
    assert all(r["status_code"] == 200 for r in requests)
    assert "<Gather" in str(requests[0]["body"])


def test_gather_finish_key_timeout_and_empty_result(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages |= {
        "/start": ('<Response><Gather action="/one" finishOnKey="#"/></Response>'),
        "/one": (
            '<Response><Gather timeout="5"><Say>again</Say></Gather>'
            '<Gather timeout="5" actionOnEmptyResult="true" action="/empty"/></Response>'
        ),
        "/empty": "<Response/>",
    }
    sid = place(client, app, "/start")
    server.control.wait_for_call(sid, waiting="gather")
    server.control.key_in_call(sid, "77#")
    (one,) = app.wait_for("/one")
    assert (one.form["Digits"], one.form["FinishedOnKey"]) == ("77", "#")
    server.control.wait_for_call(sid, waiting="gather")
    server.control.set_clock(advance_seconds=5)  # silence: the next verb runs
    view = server.control.wait_for_call(sid, waiting="gather")
    assert view["steps"][-1]["name"] == "Gather"
    server.control.set_clock(advance_seconds=5)  # silence again, and actionOnEmptyResult
    (empty,) = app.wait_for("/empty")
    assert "Digits" not in empty.form
    assert empty.form["FinishedOnKey"] == ""
    server.control.wait_for_call(sid, status="completed")


def test_gather_without_action_asks_the_current_document(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/menu"] = '<Response><Gather numDigits="1"/></Response>'
    sid = place(client, app, "/menu?step=1")
    server.control.wait_for_call(sid, waiting="gather")
    server.control.key_in_call(sid, "9")
    requests = app.wait_for("/menu", 2)
    assert requests[1].query == {"step": "1"}
    assert requests[1].form["Digits"] == "9"
    server.control.wait_for_call(sid, waiting="gather")
    server.control.hang_up(sid)


def test_keys_outside_a_gather_are_refused(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    from emulator.testing import ControlError

    app.pages["/park"] = '<Response><Pause length="600"/></Response>'
    sid = place(client, app, "/park")
    server.control.wait_for_call(sid, waiting="pause")
    with pytest.raises(ControlError) as raised:
        server.control.key_in_call(sid, "1")
    assert raised.value.response.status_code == 409
    server.control.hang_up(sid)
    assert client.calls(sid).fetch().status == "completed"


def test_the_auto_caller_keys_its_script_at_each_gather(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    app.pages |= {
        "/in": '<Response><Gather action="/a"><Say>First</Say></Gather></Response>',
        "/a": '<Response><Gather action="/b" numDigits="2"/></Response>',
        "/b": "<Response><Hangup/></Response>",
    }
    sid = server.control.create_call(
        account.account_sid,
        caller="auto",
        script={"gather": "42#", "gather-2": "0099"},
        voice_url=app.url("/in"),
        from_="+442071838750",
        to="+14155550199",
    )
    (first,) = app.wait_for("/in")
    assert first.form["CallStatus"] == "ringing"  # an inbound call's first request
    assert first.form["Direction"] == "inbound"
    assert first.form["From"] == "+442071838750"
    (a,) = app.wait_for("/a")
    assert (a.form["Digits"], a.form["FinishedOnKey"]) == ("42", "#")
    assert a.form["CallStatus"] == "in-progress"
    (b,) = app.wait_for("/b")
    assert b.form["Digits"] == "00"
    view = server.control.wait_for_call(sid, status="completed")
    assert view["direction"] == "inbound"


def test_not_emulated_verbs_are_recorded_and_passed_over(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/v"] = (
        '<Response><Dial timeout="10"><Number>+14155550000</Number></Dial>'
        '<Record maxLength="5"/><Say>after</Say></Response>'
    )
    sid = place(client, app, "/v")
    view = server.control.wait_for_call(sid, status="completed")
    assert verbs(view) == ["Dial", "Record", "Say"]
    dial = steps(view, "verb")[0]
    assert dial["timeout"] == "10"
    assert "not emulated" in str(dial["note"])


def test_plain_text_is_read_out_and_audio_played(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/text"] = Page("Our offices are closed.", content_type="text/plain")
    app.pages["/audio"] = Page(b"ID3", content_type="audio/mpeg")
    text = server.control.wait_for_call(place(client, app, "/text"), status="completed")
    assert [s.get("text") for s in steps(text, "verb")] == ["Our offices are closed.", None]
    audio = server.control.wait_for_call(place(client, app, "/audio"), status="completed")
    assert verbs(audio) == ["Play", "Hangup"]
    assert steps(audio, "verb")[0]["url"] == app.url("/audio")


def test_http_redirects_are_followed(server: EmulatorServer, client: Client, app: VoiceApp) -> None:
    app.pages["/old"] = Page("", status=302, headers=(("Location", "/new"),))
    app.pages["/new"] = "<Response><Say>moved</Say></Response>"
    view = server.control.wait_for_call(place(client, app, "/old"), status="completed")
    assert verbs(view) == ["Say"]
    assert app.at("/new")[0].method == "GET"  # a 302 to a POST is followed with a GET


def test_a_redirect_loop_ends_after_a_hundred_documents(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/loop"] = "<Response><Redirect>/loop</Redirect></Response>"
    view = server.control.wait_for_call(place(client, app, "/loop"), status="completed", timeout=30)
    assert len(app.at("/loop")) == 100
    assert "more than 100 documents" in str(steps(view, "note")[-1]["note"])


# --- status callbacks -------------------------------------------------------------------------


def test_status_callbacks_are_sent_when_asked_signed_in_order(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/v"] = "<Response><Say>hi</Say></Response>"
    app.pages["/status"] = Page("", status=204, content_type=None)
    sid = place(
        client,
        app,
        "/v",
        status_callback=app.url("/status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    sent = app.wait_for("/status", 4)
    assert [r.form["CallStatus"] for r in sent] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [r.form["SequenceNumber"] for r in sent] == ["0", "1", "2", "3"]
    assert all(signed_correctly(account.auth_token, r, app.base_url) for r in sent)
    completed = sent[-1].form
    assert completed["CallbackSource"] == "call-progress-events"
    assert completed["CallSid"] == sid
    assert completed["CallDuration"] == "0"
    assert completed["Duration"] == "0"
    assert completed["SipResponseCode"] == "200"
    assert completed["Timestamp"].endswith("+0000")
    view = server.control.wait_for_call(sid, status="completed")
    assert [c["event"] for c in view["status_callbacks"]] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]


def test_only_completed_by_default_and_get_when_asked(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/v"] = "<Response/>"
    app.pages["/status"] = Page("", status=200)
    place(client, app, "/v", status_callback=app.url("/status"), status_callback_method="GET")
    (sent,) = app.wait_for("/status")
    assert sent.method == "GET"
    assert sent.query["CallStatus"] == "completed"
    assert signed_correctly(account.auth_token, sent, app.base_url)


# --- an application that fails ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "code"),
    [
        (Page("this is not xml"), 12100),
        (Page("<Response><say>lower case</say></Response>"), 12200),
        (Page("<Response><Say>unclosed</Response>"), 12100),
        (Page("missing", status=404, content_type="text/plain"), 11200),
        (Page("<Response/>", status=500), 11200),
        (Page("<Response/>", content_type=None), 11200),
        (Page('{"say": "hi"}', content_type="application/json"), 12300),
        (Page("<Response><Say>" + "a" * 70_000 + "</Say></Response>"), 11750),
    ],
)
def test_invalid_twiml_ends_the_call_with_the_application_error(
    server: EmulatorServer, client: Client, app: VoiceApp, page: Page, code: int
) -> None:
    app.pages["/bad"] = page
    sid = place(client, app, "/bad")
    view = server.control.wait_for_call(sid, status="completed")
    assert notices(view) == [code]
    (said,) = steps(view, "verb")
    assert said["text"] == APPLICATION_ERROR
    assert client.calls(sid).fetch().status == "completed"
    assert server.control.health()["status"] == "ok"


def test_no_answer_in_time_is_11200_and_no_connection_11205(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/slow"] = Page("<Response/>", delay_s=2)
    slow = client.calls.create(to=TO, from_=FROM, url=app.url("/slow") + "#rt=300&tt=500")
    view = server.control.wait_for_call(slow.sid, status="completed")
    (notice,) = steps(view, "notice")
    assert notice["code"] == 11200
    assert "no answer" in str(notice["message"])
    closed = client.calls.create(to=TO, from_=FROM, url="http://127.0.0.1:9/voice")
    view = server.control.wait_for_call(closed.sid, status="completed")
    assert notices(view) == [11205]


def test_the_fallback_url_gets_the_error(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/fallback"] = "<Response><Say>Sorry, try later</Say></Response>"
    sid = place(client, app, "/missing", fallback_url=app.url("/fallback"))
    (fallback,) = app.wait_for("/fallback")
    assert fallback.form["ErrorCode"] == "11200"
    assert fallback.form["ErrorUrl"] == app.url("/missing")
    view = server.control.wait_for_call(sid, status="completed")
    assert [s["text"] for s in steps(view, "verb")] == ["Sorry, try later"]


def test_a_relative_url_in_twiml_given_inline_is_15004(
    server: EmulatorServer, client: Client
) -> None:
    call = client.calls.create(
        to=TO, from_=FROM, twiml='<Response><Gather action="/relative" numDigits="1"/></Response>'
    )
    server.control.wait_for_call(call.sid, waiting="gather")
    server.control.key_in_call(call.sid, "1")
    view = server.control.wait_for_call(call.sid, status="completed")
    assert notices(view) == [15004]


# --- the Calls API on a running call ---------------------------------------------------------


def test_update_with_twiml_redirects_a_parked_call(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/park"] = '<Response><Say>Hold on</Say><Pause length="600"/></Response>'
    sid = place(client, app, "/park")
    server.control.wait_for_call(sid, waiting="pause")
    updated = client.calls(sid).update(twiml="<Response><Say>Your agent is here</Say></Response>")
    assert updated.status == "in-progress"
    view = server.control.wait_for_call(sid, status="completed")
    assert [s.get("text") for s in steps(view, "verb")] == ["Hold on", None, "Your agent is here"]
    assert any(s["name"] == "redirect" for s in steps(view, "note"))


def test_update_with_a_url_redirects_a_call_waiting_in_a_gather(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/menu"] = "<Response><Gather/></Response>"
    app.pages["/elsewhere"] = "<Response><Say>moved on</Say></Response>"
    sid = place(client, app, "/menu")
    server.control.wait_for_call(sid, waiting="gather")
    client.calls(sid).update(url=app.url("/elsewhere"), method="POST")
    (moved,) = app.wait_for("/elsewhere")
    assert moved.form["CallStatus"] == "in-progress"
    server.control.wait_for_call(sid, status="completed")


def test_the_time_limit_ends_the_call(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    app.pages["/park"] = '<Response><Pause length="600"/></Response>'
    sid = place(client, app, "/park", time_limit=60)
    server.control.wait_for_call(sid, waiting="pause")
    server.control.set_clock(advance_seconds=61)
    view = server.control.wait_for_call(sid, status="completed")
    assert "TimeLimit" in str(steps(view, "note")[-1]["note"])


# --- inbound calls ---------------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "status"), [("busy", "busy"), ("rejected", "no-answer")])
def test_reject_leaves_an_inbound_call_unanswered(
    server: EmulatorServer, account: Account, app: VoiceApp, reason: str, status: str
) -> None:
    app.pages["/in"] = f'<Response><Reject reason="{reason}"/></Response>'
    app.pages["/status"] = Page("", status=204, content_type=None)
    sid = server.control.create_call(
        account.account_sid,
        voice_url=app.url("/in"),
        status_callback=app.url("/status"),
        status_callback_event=["answered", "completed"],
    )
    view = server.control.wait_for_call(sid, status=status)
    assert view["start_time"] is None
    (sent,) = app.wait_for("/status")
    assert sent.form["CallStatus"] == status
    assert sent.form["SipResponseCode"] == ("486" if status == "busy" else "487")


def test_an_inbound_call_hung_up_by_the_caller(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    app.pages["/in"] = '<Response><Pause length="600"/></Response>'
    sid = server.control.create_call(account.account_sid, voice_url=app.url("/in"), method="GET")
    assert app.wait_for("/in")[0].method == "GET"
    server.control.wait_for_call(sid, waiting="pause")
    server.control.hang_up(sid)
    view = server.control.call(sid)
    assert view["status"] == "completed"
    assert view["waiting"] is None


def test_a_call_is_never_sent_to_the_emulator_itself(
    server: EmulatorServer, account: Account, client: Client
) -> None:
    sid = server.control.create_call(account.account_sid)  # must survive
    call = client.calls.create(to=TO, from_=FROM, url=server.base_url + "/_emulator/reset")
    view = server.control.wait_for_call(call.sid, status="completed")
    (notice,) = steps(view, "notice")
    assert notice["code"] == 11200
    assert "own address" in str(notice["message"])
    assert server.control.call(sid)["status"] == "in-progress"


def test_a_host_that_does_not_resolve_is_11210_and_a_redirect_loop_11215(
    server: EmulatorServer, client: Client, app: VoiceApp
) -> None:
    # .invalid names fail at once, with no look-up (RFC 6761): nothing leaves the machine
    nowhere = client.calls.create(to=TO, from_=FROM, url="http://nowhere.invalid/voice")
    view = server.control.wait_for_call(nowhere.sid, status="completed")
    assert notices(view) == [11210]
    app.pages["/again"] = Page("", status=302, headers=(("Location", "/again"),))
    looping = place(client, app, "/again")
    view = server.control.wait_for_call(looping, status="completed")
    assert notices(view) == [11215]
    assert len(app.at("/again")) == 11


def test_update_with_a_url_replaces_what_a_ringing_call_is_fetching(
    server: EmulatorServer, account: Account, client: Client, app: VoiceApp
) -> None:
    app.pages["/slow"] = Page("<Response><Say>too late</Say></Response>", delay_s=1)
    app.pages["/now"] = "<Response><Say>right away</Say></Response>"
    sid = server.control.create_call(account.account_sid, voice_url=app.url("/slow"))
    app.wait_for("/slow")
    assert client.calls(sid).fetch().status == "ringing"
    client.calls(sid).update(url=app.url("/now"))
    (now,) = app.wait_for("/now")
    assert now.form["CallStatus"] == "ringing"
    view = server.control.wait_for_call(sid, status="completed")
    assert [s["text"] for s in steps(view, "verb")] == ["right away"]
