"""The inspector's call page in a real browser (Chromium, driven by Playwright): a call waiting
in a ``<Gather>`` is answered from the page, and the page follows the call live to its end
without a reload, its script breaking no policy. A screenshot goes to the artefacts folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from emulator.testing import Account, EmulatorServer
from tests.inspector_support import UI, assert_not_reloaded, chromium, mark_document, screenshot
from tests.voice_app import VoiceApp, twilio_client

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


@pytest.fixture(scope="module")
def inspector() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture(scope="module")
def browser(inspector: EmulatorServer) -> Iterator[BrowserContext]:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def console(message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")

    tab.on("console", console)
    yield tab
    tab.close()
    assert not problems, problems


@pytest.fixture
def app() -> Iterator[VoiceApp]:
    pages = {
        "/menu": (
            '<Response><Say>Welcome to the payment line</Say><Gather numDigits="4" action="/pay">'
            "<Say>Enter your account number</Say></Gather></Response>"
        ),
        "/pay": "<Response><Say>One moment</Say><Dial>+14155550000</Dial><Hangup/></Response>",
    }
    with VoiceApp(pages).running() as running:
        yield running


def test_keys_sent_from_the_call_page(page: Page, inspector: EmulatorServer, app: VoiceApp) -> None:
    from playwright.sync_api import expect

    account: Account = inspector.control.create_account()
    client = twilio_client(inspector.base_url, account.account_sid, account.auth_token)
    call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/menu"))
    inspector.control.wait_for_call(call.sid, waiting="gather")
    page.goto(f"{inspector.base_url}{UI}/calls/{call.sid}")
    expect(page.locator("#live")).to_have_attribute("data-mode", "live")
    mark_document(page)
    expect(page.locator("[data-waiting]")).to_have_attribute("data-waiting", "gather")
    page.locator("#call-digits").fill("1234")
    page.get_by_role("button", name="Key").click()
    expect(page.locator("#call-badge .badge")).to_have_text("completed")
    expect(page.locator('li[data-kind="input"]')).to_contain_text("1234")
    expect(page.locator('li[data-kind="verb"]').last).to_contain_text("<Hangup>")
    expect(page.locator('li[data-kind="verb"]').filter(has_text="<Dial>")).to_contain_text(
        "not emulated"
    )
    assert_not_reloaded(page)
    assert app.at("/pay")[0].form["Digits"] == "1234"
    screenshot(page, "call", full_page=False)


def test_a_pay_keyed_from_the_call_page(page: Page, inspector: EmulatorServer) -> None:
    """A <Pay> asking for a card number: the number keyed on the page with its #, the rest
    from the auto caller; the page follows the prompts and tries live, to the action."""
    from playwright.sync_api import expect

    pages = {
        "/pay": (
            '<Response><Pay chargeAmount="12.00" action="/paid" timeout="600">'
            '<Prompt for="payment-card-number"><Say>Please enter your card number</Say></Prompt>'
            "</Pay></Response>"
        ),
        "/paid": "<Response><Say>Thank you for your payment</Say></Response>",
    }
    with VoiceApp(pages).running() as app:
        account: Account = inspector.control.create_account()
        client = twilio_client(inspector.base_url, account.account_sid, account.auth_token)
        call = client.calls.create(to="+14155550123", from_="+14155550100", url=app.url("/pay"))
        inspector.control.wait_for_pay(call.sid, "payment-card-number")
        page.goto(f"{inspector.base_url}{UI}/calls/{call.sid}")
        expect(page.locator("#live")).to_have_attribute("data-mode", "live")
        mark_document(page)
        expect(page.locator("[data-waiting]")).to_have_attribute("data-waiting", "pay")
        expect(page.locator('li[data-kind="prompt"]')).to_contain_text(
            "Please enter your card number"
        )
        page.locator("#call-digits").fill("4242424242424242#")  # the server's caller: manual
        page.get_by_role("button", name="Key").click()
        expect(page.locator('li[data-kind="pay"][data-name="key-in"]')).to_contain_text(
            "the caller entered payment-card-number"
        )
        inspector.control.set_caller(call.sid, "auto")  # the rest from the script
        expect(page.locator("#call-badge .badge")).to_have_text("completed")
        expect(page.locator('li[data-kind="verb"]').last).to_contain_text("Thank you")
        assert_not_reloaded(page)
        screenshot(page, "call-pay", full_page=False)
    assert app.at("/paid")[0].form["Result"] == "success"
    assert "4242424242424242" not in page.content()
