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
