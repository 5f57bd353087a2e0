"""The inspector's call page (``/_emulator/ui/calls/{CallSid}``) without a browser: the
documents a call asked for with their TwiML (escaped), the verbs it ran, the keys, the
notifications, its status callbacks with their attempts; linked from the account page; no
card data; the pages' strict Content-Security-Policy."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.voice_app import Page, VoiceApp, twilio_client

UI = "/_emulator/ui"
CARD = "4111111111111111"


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    pages = {
        "/voice": (
            "<Response><Say>Card &lt;script&gt;alert(1)&lt;/script&gt; " + CARD + "</Say>"
            '<Gather numDigits="16" action="/done"><Say>Key it</Say></Gather></Response>'
        ),
        "/done": "<Response><Say>bye</Say><Dial>+1</Dial><Hangup/></Response>",
        "/status": Page("", status=204, content_type=None),
    }
    with VoiceApp(pages).running() as running:
        yield running


@pytest.fixture
def ui(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def test_the_call_page_shows_the_calls_timeline(
    server: EmulatorServer, account: Account, app: VoiceApp, ui: httpx.Client
) -> None:
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(
        to="+14155550123",
        from_="+14155550100",
        url=app.url("/voice"),
        status_callback=app.url("/status"),
    )
    server.control.wait_for_call(call.sid, waiting="gather")
    waiting = ui.get(f"{UI}/calls/{call.sid}")
    assert 'data-waiting="gather"' in waiting.text
    assert 'data-action="call-digits"' in waiting.text
    server.control.key_in_call(call.sid, CARD)
    server.control.wait_for_call(call.sid, status="completed")
    app.wait_for("/status")
    page = ui.get(f"{UI}/calls/{call.sid}")
    assert page.status_code == 200
    text = page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert app.url("/voice") in text
    assert app.url("/done") in text
    assert "&lt;Gather" in text  # the TwiML, escaped
    assert "<script>alert" not in text
    assert html.escape("<Dial>") in text
    assert "not emulated" in text
    assert 'data-event="completed"' in text  # its status callback, with its attempts
    assert 'data-attempts="1"' in text
    assert CARD not in text  # said, keyed and sent: masked everywhere
    assert "xxxxxxxxxxxx1111" in text
    assert not re.search(r"<script(?! src=)", text)
    assert " style=" not in text


def test_the_account_page_links_to_its_calls(
    server: EmulatorServer, account: Account, ui: httpx.Client
) -> None:
    sid = server.control.create_call(account.account_sid)
    page = ui.get(f"{UI}/accounts/{account.account_sid}")
    assert f'href="{UI}/calls/{sid}"' in page.text
    call_page = ui.get(f"{UI}/calls/{sid}")
    assert "runs no TwiML" in call_page.text


def test_an_unknown_call_is_404(ui: httpx.Client) -> None:
    page = ui.get(f"{UI}/calls/CA" + "0" * 32)
    assert page.status_code == 404
    assert "does not exist" in page.text


def test_the_call_page_shows_the_pays_prompts_tries_and_callbacks(
    server: EmulatorServer, account: Account, app: VoiceApp, ui: httpx.Client
) -> None:
    """A <Pay>: its verb, the prompt chosen for each try (what it says), each try's error,
    its statusCallbacks with their attempts, the action request; the session page draws its
    path from the same steps; no card data on either page."""
    app.pages["/pay"] = (
        '<Response><Pay chargeAmount="7.50" action="/done" statusCallback="/status" timeout="600">'
        '<Prompt for="payment-card-number"><Say>Your card, please</Say></Prompt>'
        '<Prompt for="payment-card-number" errorType="invalid-card-number">'
        "<Say>That card number is not valid</Say></Prompt></Pay></Response>"
    )
    client = twilio_client(server.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/pay"))
    session = server.control.wait_for_pay(call.sid, "payment-card-number", attempt=1)
    waiting = ui.get(f"{UI}/calls/{call.sid}").text
    assert 'data-waiting="pay"' in waiting
    assert "Key into the &lt;Pay&gt;" in waiting
    server.control.key_in_call(call.sid, "4111111111111112#")  # fails the Luhn check
    server.control.wait_for_pay(call.sid, "payment-card-number", attempt=2)
    server.control.set_caller(call.sid, "auto", {"payment-card-number": CARD})
    app.wait_for("/done")
    server.control.wait_for_call(call.sid, status="completed")
    text = ui.get(f"{UI}/calls/{call.sid}").text
    assert "&lt;Pay&gt;" in text
    assert "Your card, please" in text
    assert "That card number is not valid" in text
    assert "errorType=&#34;invalid-card-number&#34;&gt;" in text  # the prompt chosen
    assert "asks for payment-card-number (try 2 of 2)" in text
    assert 'data-kind="pay" data-name="key-in"' in text
    assert "invalid-card-number" in text
    assert 'data-event="pay-status"' in text
    assert "For=payment-processing" in text
    assert app.url("/done") in text  # the action request, with its parameters
    assert CARD not in text
    assert "4111111111111112" not in text
    page = ui.get(f"{UI}/sessions/{session['sid']}").text
    assert "run by" in page
    assert 'data-kind="prompt"' in page
    assert "attempts-exhausted" in page  # on the picture, not taken
    assert 'data-state="completed"' in page
    assert "there are no agent requests to replay" in page
    assert CARD not in page
