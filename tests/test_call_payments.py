"""The agent-assisted Payments API on calls that run TwiML: a session on a call parked in a
``<Pause>`` or a ``<Gather>``, placed by the Calls API or made inbound by the control plane;
such a call is a declared call under ``strict_calls``; the call's end ends the session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.testing import Account, EmulatorServer
from tests.flows import CARD_VALUES
from tests.voice_app import Page, VoiceApp, twilio_client

TO, FROM = "+14155550123", "+14155550100"
CLOSED = "http://127.0.0.1:9/pay"


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    pages = {
        "/park": '<Response><Say>Please hold</Say><Pause length="600"/></Response>',
        "/menu": '<Response><Gather numDigits="1" timeout="600"/></Response>',
        "/pay-status": Page("", status=204, content_type=None),
    }
    with VoiceApp(pages).running() as running:
        yield running


def key() -> str:
    return secrets.token_hex(8)


def test_a_session_on_a_call_parked_in_a_pause(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to=TO, from_=FROM, url=app.url("/park"))
    server.control.wait_for_call(call.sid, waiting="pause")
    payment = client.calls(call.sid).payments.create(
        idempotency_key=key(), status_callback=CLOSED, charge_amount="10.00"
    )
    for item in ("payment-card-number", "expiration-date", "security-code", "postal-code"):
        client.calls(call.sid).payments(payment.sid).update(
            idempotency_key=key(), status_callback=CLOSED, capture=item
        )
        server.control.key_in(payment.sid, CARD_VALUES[item])
    client.calls(call.sid).payments(payment.sid).update(
        idempotency_key=key(), status_callback=CLOSED, status="complete"
    )
    view = server.control.wait_until_ended(payment.sid)
    assert view["result"] == "success"
    assert server.control.call(call.sid)["waiting"] == "pause"  # the call holds on


def test_a_session_on_an_inbound_call_in_a_gather_ends_when_the_call_does(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    sid = server.control.create_call(account.account_sid, voice_url=app.url("/menu"))
    server.control.wait_for_call(sid, waiting="gather")
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    payment = client.calls(sid).payments.create(idempotency_key=key(), status_callback=CLOSED)
    client.calls(sid).update(status="completed")
    view = server.control.wait_until_ended(payment.sid)
    assert view["result"] == "caller-hung-up"


def test_a_relative_payment_callback_resolves_against_the_calls_document(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to=TO, from_=FROM, url=app.url("/park"))
    server.control.wait_for_call(call.sid, waiting="pause")
    client.calls(call.sid).payments.create(idempotency_key=key(), status_callback="pay-status")
    (sent,) = app.wait_for("/pay-status")
    assert sent.form["CallSid"] == call.sid
    client.calls(call.sid).update(status="completed")


def test_no_session_before_the_call_is_answered_or_after_it_ended(
    server: EmulatorServer, account: Account, app: VoiceApp
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    app.pages["/slow"] = Page("<Response/>", delay_s=1)
    sid = server.control.create_call(account.account_sid, voice_url=app.url("/slow"))
    with pytest.raises(TwilioRestException) as raised:  # ringing: it fetches its TwiML
        client.calls(sid).payments.create(idempotency_key=key(), status_callback=CLOSED)
    assert (raised.value.status, raised.value.code) == (400, 21220)
    server.control.wait_for_call(sid, status="completed")
    with pytest.raises(TwilioRestException) as raised:
        client.calls(sid).payments.create(idempotency_key=key(), status_callback=CLOSED)
    assert raised.value.code == 21220


def test_placed_calls_are_declared_calls_under_strict_calls(tmp_path: Path) -> None:
    with (
        EmulatorServer(
            "--strict-calls", "--caller", "manual", database=tmp_path / "e.db"
        ) as server,
        VoiceApp({"/park": '<Response><Pause length="600"/></Response>'}).running() as app,
    ):
        account = server.control.create_account()
        client: Client = twilio_client(server.base_url, account.account_sid, account.auth_token)
        call = client.calls.create(to=TO, from_=FROM, url=app.url("/park"))
        server.control.wait_for_call(call.sid, waiting="pause")
        payment = client.calls(call.sid).payments.create(
            idempotency_key=key(), status_callback=CLOSED
        )
        assert payment.call_sid == call.sid
        with pytest.raises(TwilioRestException) as raised:  # unknown CallSids: as before
            client.calls("CA" + "0" * 32).payments.create(
                idempotency_key=key(), status_callback=CLOSED
            )
        assert raised.value.status == 404


def test_calls_running_twiml_are_ended_at_the_next_start(tmp_path: Path) -> None:
    database = tmp_path / "e.db"
    with VoiceApp({"/park": '<Response><Pause length="600"/></Response>'}).running() as app:
        with EmulatorServer("--caller", "manual", database=database) as server:
            account = server.control.create_account()
            client = twilio_client(server.base_url, account.account_sid, account.auth_token)
            call = client.calls.create(to=TO, from_=FROM, url=app.url("/park"))
            server.control.wait_for_call(call.sid, waiting="pause")
        with EmulatorServer("--caller", "manual", database=database) as server:
            view = server.control.call(call.sid)
            assert view["status"] == "completed"
            notes = [s for s in view["steps"] if s["kind"] == "note"]
            assert "restarted" in str(notes[-1]["note"])
            assert len(app.at("/park")) == 1  # its document was not asked again
